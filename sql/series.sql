-- Daily series for forecasting: one series per (dataset_uuid, rule_code).

-- name: daily_texts
-- One pass over the validated rows: per series, business day and results text, the runs and the
-- latest source, tenant and dataset name in input order (keys are trimmed afterwards).
CREATE OR REPLACE TEMP TABLE daily_texts AS
SELECT
    dataset_uuid,
    rule_code,
    business_date,
    results,
    count(*) AS runs,
    max(row_position) AS latest_position,
    arg_max(source, row_position) AS source,
    arg_max(tenant_id, row_position) AS tenant_id,
    arg_max(dataset_name, row_position) AS dataset_name
FROM dqs_checked_rows(CAST(NULL AS DATE), CAST(NULL AS DATE))
WHERE accepted
GROUP BY dataset_uuid, rule_code, business_date, results

-- name: daily_series
-- Per series and day: passes, fails, unknown statuses and runs, ordered by series and day.
WITH texts AS (
    SELECT results, dqs_status(results) AS status FROM (SELECT DISTINCT results FROM daily_texts)
)
SELECT
    dqs_trim(d.dataset_uuid) AS dataset_uuid,
    dqs_trim(d.rule_code) AS rule_code,
    d.business_date,
    CAST(coalesce(sum(d.runs) FILTER (WHERE t.status = 'pass'), 0) AS BIGINT) AS passes,
    CAST(coalesce(sum(d.runs) FILTER (WHERE t.status = 'fail'), 0) AS BIGINT) AS fails,
    CAST(coalesce(sum(d.runs) FILTER (WHERE t.status = 'unknown'), 0) AS BIGINT) AS unknown,
    CAST(sum(d.runs) AS BIGINT) AS runs
FROM daily_texts AS d
JOIN texts AS t ON t.results = d.results
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3

-- name: series_attributes
-- Per series: source, tenant and dataset name of its latest row, and the rule metadata.
WITH latest AS (
    SELECT
        dqs_trim(dataset_uuid) AS dataset_uuid,
        dqs_trim(rule_code) AS rule_code,
        dqs_trim(arg_max(source, latest_position)) AS source,
        dqs_trim(arg_max(tenant_id, latest_position)) AS tenant_id,
        dqs_trim(arg_max(dataset_name, latest_position)) AS dataset_name
    FROM daily_texts
    GROUP BY 1, 2
),
keyed_rules AS (
    SELECT dqs_rule_key(rule_code) AS rule_key, rule_type, dimension, category FROM rules
)
SELECT l.*, r.rule_type, r.dimension, r.category
FROM latest AS l
LEFT JOIN keyed_rules AS r ON r.rule_key = dqs_rule_key(l.rule_code)
ORDER BY l.dataset_uuid, l.rule_code

-- name: store_daily_series
-- `daily_series` from a history store: `store_daily` is the store's daily table (one row per
-- file, group and business day, keys already trimmed and statuses parsed at ingest), summed over
-- files and groups per series and day.
SELECT
    dataset_uuid,
    rule_code,
    business_date,
    CAST(sum(passes) AS BIGINT) AS passes,
    CAST(sum(fails) AS BIGINT) AS fails,
    CAST(sum(unknown) AS BIGINT) AS unknown,
    CAST(sum(runs) AS BIGINT) AS runs
FROM store_daily
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3

-- name: store_series_attributes
-- `series_attributes` from a history store: source, tenant and dataset name of each series'
-- latest row, the greatest (business date, file, line) as `row_position` orders raw rows (a
-- daily row carries its latest line), and the rule metadata.
WITH latest AS (
    SELECT
        dataset_uuid,
        rule_code,
        arg_max(source, (business_date, file_id, latest_line)) AS source,
        arg_max(tenant_id, (business_date, file_id, latest_line)) AS tenant_id,
        arg_max(dataset_name, (business_date, file_id, latest_line)) AS dataset_name
    FROM store_daily
    GROUP BY 1, 2
),
keyed_rules AS (
    SELECT dqs_rule_key(rule_code) AS rule_key, rule_type, dimension, category FROM rules
)
SELECT l.*, r.rule_type, r.dimension, r.category
FROM latest AS l
LEFT JOIN keyed_rules AS r ON r.rule_key = dqs_rule_key(l.rule_code)
ORDER BY l.dataset_uuid, l.rule_code
