-- The health summary of SPEC §4, one row per (source, tenant_id, dataset_uuid, dataset_name,
-- rule_code): `group_counts` (per group pass / fail counts and the latest row) with `rules`
-- (metadata). A one-shot run makes `group_counts` from the staging pass (below); a run from
-- the history store makes it from the store's summary state (store.sql). Both then run the one
-- `summary` block.

-- name: group_counts
-- Per group: pass and fail rows over the whole history and in the rolling windows (window counts
-- come from the staging pass, taken relative to the reference date R), and the latest row's
-- values: greatest business date, then input order.
CREATE OR REPLACE TEMP VIEW group_counts AS
SELECT
    source,
    tenant_id,
    dataset_uuid,
    dataset_name,
    rule_code,
    DATE '0001-01-01' + CAST(max(latest_position) >> 80 AS INTEGER) AS business_date_latest,
    arg_max_null(latest_dataset_record_count, latest_position) AS dataset_record_count_latest,
    arg_max_null(latest_filtered_record_count, latest_position) AS filtered_record_count_latest,
    arg_max(latest_level_of_execution, latest_position) AS level_of_execution_latest,
    CAST(coalesce(sum(row_count) FILTER (WHERE status = 'pass'), 0) AS BIGINT) AS pass_count_total,
    CAST(coalesce(sum(row_count) FILTER (WHERE status = 'fail'), 0) AS BIGINT) AS fail_count_total,
    CAST(coalesce(sum(rows_in_1m) FILTER (WHERE status = 'pass'), 0) AS BIGINT) AS pass_count_1m,
    CAST(coalesce(sum(rows_in_1m) FILTER (WHERE status = 'fail'), 0) AS BIGINT) AS fail_count_1m,
    CAST(coalesce(sum(rows_in_3m) FILTER (WHERE status = 'pass'), 0) AS BIGINT) AS pass_count_3m,
    CAST(coalesce(sum(rows_in_3m) FILTER (WHERE status = 'fail'), 0) AS BIGINT) AS fail_count_3m,
    CAST(coalesce(sum(rows_in_12m) FILTER (WHERE status = 'pass'), 0) AS BIGINT) AS pass_count_12m,
    CAST(coalesce(sum(rows_in_12m) FILTER (WHERE status = 'fail'), 0) AS BIGINT) AS fail_count_12m
FROM group_statuses
GROUP BY source, tenant_id, dataset_uuid, dataset_name, rule_code

-- name: summary
-- The 27 contract columns, sorted by the five key columns (byte order = code point order). Not
-- a TEMP table: the output files are written from it by several connections at once.
CREATE OR REPLACE TABLE summary AS
WITH rated AS (
    SELECT
        *,
        CASE WHEN pass_count_total + fail_count_total = 0 THEN CAST(0 AS DOUBLE)
             ELSE fail_count_total / (pass_count_total + fail_count_total) END AS fail_rate_total,
        CASE WHEN pass_count_1m + fail_count_1m = 0 THEN CAST(0 AS DOUBLE)
             ELSE fail_count_1m / (pass_count_1m + fail_count_1m) END AS fail_rate_1m,
        CASE WHEN pass_count_3m + fail_count_3m = 0 THEN CAST(0 AS DOUBLE)
             ELSE fail_count_3m / (pass_count_3m + fail_count_3m) END AS fail_rate_3m,
        CASE WHEN pass_count_12m + fail_count_12m = 0 THEN CAST(0 AS DOUBLE)
             ELSE fail_count_12m / (pass_count_12m + fail_count_12m) END AS fail_rate_12m
    FROM group_counts
),
keyed_rules AS (
    SELECT dqs_rule_key(rule_code) AS rule_key, rule_name, rule_type, dimension, rule_description, category
    FROM rules
)
SELECT
    g.source,
    g.tenant_id,
    g.dataset_uuid,
    g.dataset_name,
    g.rule_code,
    r.rule_name,
    r.rule_type,
    r.dimension,
    r.rule_description,
    r.category,
    g.business_date_latest,
    g.dataset_record_count_latest,
    g.filtered_record_count_latest,
    g.pass_count_total,
    g.fail_count_total,
    g.pass_count_1m,
    g.fail_count_1m,
    g.pass_count_3m,
    g.fail_count_3m,
    g.pass_count_12m,
    g.fail_count_12m,
    CAST(g.fail_rate_total AS DOUBLE) AS fail_rate_total,
    CAST(g.fail_rate_1m AS DOUBLE) AS fail_rate_1m,
    CAST(g.fail_rate_3m AS DOUBLE) AS fail_rate_3m,
    CAST(g.fail_rate_12m AS DOUBLE) AS fail_rate_12m,
    CASE WHEN g.fail_rate_1m - g.fail_rate_3m > 0.05 THEN 'up'
         WHEN g.fail_rate_1m - g.fail_rate_3m < -0.05 THEN 'down'
         ELSE 'equal' END AS trend_flag,
    dqs_trim(g.level_of_execution_latest) AS last_execution_level
FROM rated AS g
LEFT JOIN keyed_rules AS r ON r.rule_key = dqs_rule_key(g.rule_code)
ORDER BY g.source, g.tenant_id, g.dataset_uuid, g.dataset_name, g.rule_code

-- name: unknown_rule_codes
-- Rule codes in the summary that the rules metadata does not describe.
SELECT DISTINCT rule_code FROM summary WHERE rule_name IS NULL ORDER BY rule_code

-- name: count_groups
-- Number of summary rows.
SELECT count(*) FROM summary
