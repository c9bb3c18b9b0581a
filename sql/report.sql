-- The health report (`dqs report`, engine/report/): what the HTML page embeds, read from one
-- store snapshot after summary.sql's `summary` (the same rows as full_summary.csv). `summary`
-- is in key order; a group's place in that order (`group_index`, from 0) is how the page and
-- every block below refer to it. `report_daily_rows` is the store's `daily` table (the Parquet
-- files of the pinned version that may hold days of the report's window).

-- name: report_groups
-- Every summary row's place in key order, with its key.
CREATE OR REPLACE TEMP TABLE report_groups AS
SELECT
    CAST(row_number() OVER (ORDER BY source, tenant_id, dataset_uuid, dataset_name, rule_code) - 1 AS INTEGER)
        AS group_index,
    source, tenant_id, dataset_uuid, dataset_name, rule_code
FROM summary

-- name: report_columns
-- The summary columns the page shows, in key order; rates are not sent (the page divides the
-- counts, as summary.sql does), dates as days since 1970-01-01.
SELECT
    source, tenant_id, dataset_uuid, dataset_name, rule_code,
    coalesce(rule_name, '') AS rule_name,
    coalesce(rule_type, '') AS rule_type,
    coalesce(dimension, '') AS dimension,
    coalesce(rule_description, '') AS rule_description,
    coalesce(category, '') AS category,
    coalesce(last_execution_level, '') AS last_execution_level,
    trend_flag,
    CAST(business_date_latest - DATE '1970-01-01' AS INTEGER) AS business_date_latest,
    dataset_record_count_latest, filtered_record_count_latest,
    pass_count_total, fail_count_total, pass_count_1m, fail_count_1m,
    pass_count_3m, fail_count_3m, pass_count_12m, fail_count_12m
FROM summary
ORDER BY source, tenant_id, dataset_uuid, dataset_name, rule_code

-- name: report_daily
-- Per group and business day from $first to $reference: pass, fail and unknown-status rows
-- (a day with rows in several files has one daily row per file: they are added up).
CREATE OR REPLACE TEMP TABLE report_daily AS
SELECT
    source, tenant_id, dataset_uuid, dataset_name, rule_code, business_date,
    CAST(sum(passes) AS BIGINT) AS passes,
    CAST(sum(fails) AS BIGINT) AS fails,
    CAST(sum(unknown) AS BIGINT) AS unknown
FROM report_daily_rows
WHERE business_date >= CAST($first AS DATE) AND business_date <= CAST($reference AS DATE)
GROUP BY source, tenant_id, dataset_uuid, dataset_name, rule_code, business_date

-- name: report_series_days
-- The cells of the per-group history: group, day (0 = $first, the first day of `report_daily`)
-- and the day's counts.
SELECT
    g.group_index,
    CAST(d.business_date - CAST($first AS DATE) AS INTEGER) AS day,
    d.passes, d.fails, d.unknown
FROM report_daily AS d
JOIN report_groups AS g USING (source, tenant_id, dataset_uuid, dataset_name, rule_code)

-- name: report_overall_days
-- Every group together, per business day from $first to $reference: pass, fail and
-- unknown-status rows (straight from the daily rows: no per-group table).
SELECT
    strftime(business_date, '%Y-%m-%d') AS day,
    CAST(sum(passes) AS BIGINT) AS passes,
    CAST(sum(fails) AS BIGINT) AS fails,
    CAST(sum(unknown) AS BIGINT) AS unknown
FROM report_daily_rows
WHERE business_date >= CAST($first AS DATE) AND business_date <= CAST($reference AS DATE)
GROUP BY business_date
ORDER BY business_date

-- name: report_totals
-- The overview: groups, pass and fail rows over the whole history and the 1/3/12-month windows,
-- and groups per trend flag.
SELECT
    count(*) AS groups,
    CAST(coalesce(sum(pass_count_total), 0) AS BIGINT) AS pass_total,
    CAST(coalesce(sum(fail_count_total), 0) AS BIGINT) AS fail_total,
    CAST(coalesce(sum(pass_count_1m), 0) AS BIGINT) AS pass_1m,
    CAST(coalesce(sum(fail_count_1m), 0) AS BIGINT) AS fail_1m,
    CAST(coalesce(sum(pass_count_3m), 0) AS BIGINT) AS pass_3m,
    CAST(coalesce(sum(fail_count_3m), 0) AS BIGINT) AS fail_3m,
    CAST(coalesce(sum(pass_count_12m), 0) AS BIGINT) AS pass_12m,
    CAST(coalesce(sum(fail_count_12m), 0) AS BIGINT) AS fail_12m,
    count(*) FILTER (WHERE trend_flag = 'up') AS trend_up,
    count(*) FILTER (WHERE trend_flag = 'equal') AS trend_equal,
    count(*) FILTER (WHERE trend_flag = 'down') AS trend_down,
    count(*) FILTER (WHERE rule_name IS NULL) AS groups_without_rule
FROM summary

-- name: report_breakdown
-- Health per tenant, source, dimension and category (`facet`): groups, pass and fail rows in the
-- 1-month window and over the whole history, and groups whose trend went up. Missing rule
-- metadata is the empty text.
SELECT
    CASE WHEN GROUPING(source) = 0 THEN 'source'
         WHEN GROUPING(tenant_id) = 0 THEN 'tenant_id'
         WHEN GROUPING(dimension) = 0 THEN 'dimension'
         ELSE 'category' END AS facet,
    coalesce(source, tenant_id, dimension, category) AS value,
    count(*) AS groups,
    CAST(sum(pass_count_1m) AS BIGINT) AS pass_1m,
    CAST(sum(fail_count_1m) AS BIGINT) AS fail_1m,
    CAST(sum(pass_count_total) AS BIGINT) AS pass_total,
    CAST(sum(fail_count_total) AS BIGINT) AS fail_total,
    count(*) FILTER (WHERE trend_flag = 'up') AS trend_up
FROM (
    SELECT source, tenant_id, coalesce(dimension, '') AS dimension, coalesce(category, '') AS category,
           pass_count_1m, fail_count_1m, pass_count_total, fail_count_total, trend_flag
    FROM summary
)
GROUP BY GROUPING SETS ((source), (tenant_id), (dimension), (category))
ORDER BY facet, value

-- name: report_worst
-- Worst offenders: the $limit groups with the highest 1-month fail rate among those with at
-- least $min_runs pass or fail rows in that window (ties: more failures, then key order).
SELECT g.group_index
FROM summary AS s
JOIN report_groups AS g USING (source, tenant_id, dataset_uuid, dataset_name, rule_code)
WHERE s.pass_count_1m + s.fail_count_1m >= $min_runs AND s.fail_count_1m > 0
ORDER BY s.fail_rate_1m DESC, s.fail_count_1m DESC, g.group_index
LIMIT $limit

-- name: report_trend_up
-- Rules whose trend went up: the $limit groups flagged `up` with the largest rise of the
-- 1-month fail rate over the 3-month one (ties: key order).
SELECT g.group_index
FROM summary AS s
JOIN report_groups AS g USING (source, tenant_id, dataset_uuid, dataset_name, rule_code)
WHERE s.trend_flag = 'up'
ORDER BY s.fail_rate_1m - s.fail_rate_3m DESC, g.group_index
LIMIT $limit

-- name: report_series_of_groups
-- The forecast series (dataset_uuid, rule_code) of every group, numbered in the order of their
-- first group (so with one group per series, a group's number is its series'), with each
-- group's series number.
WITH series AS (
    SELECT dataset_uuid, rule_code,
           CAST(row_number() OVER (ORDER BY min(group_index)) - 1 AS INTEGER) AS series_index
    FROM report_groups
    GROUP BY dataset_uuid, rule_code
)
SELECT g.group_index, s.series_index, s.dataset_uuid, s.rule_code
FROM report_groups AS g
JOIN series AS s USING (dataset_uuid, rule_code)
ORDER BY g.group_index

-- name: report_forecast_days
-- The forecast history, as engine/forecast's `History.daily` after `merge_history`: per series
-- (dataset_uuid, rule_code) of the report and business day up to $reference with a pass or a
-- fail, the store's counts (every daily row of the snapshot, `report_all_daily_rows`), and the
-- model bundle's (`bundle_daily`) for days the store has no pass or fail for: newer results win.
-- Numbered by the series' `series_index` (report_series_of_groups), so batches of series are
-- ranges of it.
CREATE OR REPLACE TEMP TABLE report_forecast_days AS
WITH store_days AS (
    SELECT
        dataset_uuid, rule_code, business_date,
        CAST(sum(passes) AS BIGINT) AS passes,
        CAST(sum(fails) AS BIGINT) AS fails,
        CAST(sum(unknown) AS BIGINT) AS unknown,
        CAST(sum(runs) AS BIGINT) AS runs
    FROM report_all_daily_rows
    WHERE business_date <= CAST($reference AS DATE)
    GROUP BY dataset_uuid, rule_code, business_date
),
decided AS (
    SELECT dataset_uuid, rule_code, business_date FROM store_days WHERE passes + fails > 0
),
days AS (
    SELECT * FROM store_days
    UNION ALL
    SELECT b.dataset_uuid, b.rule_code, b.business_date, b.passes, b.fails, b.unknown, b.runs
    FROM bundle_daily AS b
    ANTI JOIN decided AS d USING (dataset_uuid, rule_code, business_date)
    WHERE b.business_date <= CAST($reference AS DATE)
)
SELECT s.series_index, d.dataset_uuid, d.rule_code, d.business_date, d.passes, d.fails, d.unknown, d.runs
FROM days AS d
JOIN report_forecast_series AS s USING (dataset_uuid, rule_code)
WHERE d.passes + d.fails > 0
ORDER BY s.series_index, d.business_date

-- name: report_forecast_origin
-- The forecast origin: the last day of the forecast history.
SELECT max(business_date) FROM report_forecast_days

-- name: report_forecast_batch
-- The forecast history of the series numbered $first to $last.
SELECT dataset_uuid, rule_code, business_date, passes, fails, unknown, runs
FROM report_forecast_days
WHERE series_index BETWEEN $first AND $last
ORDER BY series_index, business_date

-- name: report_forecast_attributes
-- The forecast attributes of each series, as series.sql's `series_attributes`: source, tenant
-- and dataset name of its latest group (greatest latest business date, then key order) and the
-- rule metadata.
SELECT
    dataset_uuid, rule_code,
    arg_max(source, (business_date_latest, source, tenant_id, dataset_name)) AS source,
    arg_max(tenant_id, (business_date_latest, source, tenant_id, dataset_name)) AS tenant_id,
    arg_max(dataset_name, (business_date_latest, source, tenant_id, dataset_name)) AS dataset_name,
    arg_max(rule_type, (business_date_latest, source, tenant_id, dataset_name)) AS rule_type,
    arg_max(dimension, (business_date_latest, source, tenant_id, dataset_name)) AS dimension,
    arg_max(category, (business_date_latest, source, tenant_id, dataset_name)) AS category
FROM summary
GROUP BY dataset_uuid, rule_code
ORDER BY dataset_uuid, rule_code
