-- Daily series for forecasting: one series per (dataset_uuid, rule_code).

-- name: daily_texts
-- One pass over the validated rows: per series, business day and results text, the runs and the
-- latest source, tenant and dataset name in input order (keys are trimmed afterwards). Written
-- to a Parquet file that the next blocks read as `daily_texts` (DuckDB spills an aggregation
-- past its memory limit, not an in-memory table).
SELECT
    dataset_uuid,
    rule_code,
    business_date,
    results,
    hash(dqs_trim(dataset_uuid)) AS series_hash,
    count(*) AS runs,
    max(row_position) AS latest_position,
    arg_max(source, row_position) AS source,
    arg_max(tenant_id, row_position) AS tenant_id,
    arg_max(dataset_name, row_position) AS dataset_name
FROM dqs_checked_rows(CAST(NULL AS DATE), CAST(NULL AS DATE))
WHERE accepted
GROUP BY dataset_uuid, rule_code, business_date, results

-- name: daily_texts_rows
-- How many rows `daily_texts` has (the next block runs in parts of about the same size).
SELECT count(*) FROM daily_texts

-- name: text_statuses
-- The status of each distinct results text (a few dozen rows: the join below builds on them).
CREATE OR REPLACE TEMP TABLE text_statuses AS
SELECT results, dqs_status(results) AS status FROM (SELECT DISTINCT results FROM daily_texts)

-- name: daily_series
-- Per series and day: passes, fails, unknown statuses and runs (in no order: readers sort), for
-- the series whose trimmed dataset_uuid hashes to part $part of $parts (every part holds whole
-- series: one aggregation of tens of millions of groups does not fit a small memory limit).
SELECT
    dqs_trim(d.dataset_uuid) AS dataset_uuid,
    dqs_trim(d.rule_code) AS rule_code,
    d.business_date,
    CAST(coalesce(sum(d.runs) FILTER (WHERE t.status = 'pass'), 0) AS BIGINT) AS passes,
    CAST(coalesce(sum(d.runs) FILTER (WHERE t.status = 'fail'), 0) AS BIGINT) AS fails,
    CAST(coalesce(sum(d.runs) FILTER (WHERE t.status = 'unknown'), 0) AS BIGINT) AS unknown,
    CAST(sum(d.runs) AS BIGINT) AS runs
FROM daily_texts AS d
JOIN text_statuses AS t ON t.results = d.results
WHERE d.series_hash % $parts = $part
GROUP BY 1, 2, 3

-- name: series_latest
-- Per series: source, tenant and dataset name of its latest row (read by `series_attributes`).
CREATE OR REPLACE TEMP VIEW series_latest AS
SELECT
    dqs_trim(dataset_uuid) AS dataset_uuid,
    dqs_trim(rule_code) AS rule_code,
    dqs_trim(arg_max(source, latest_position)) AS source,
    dqs_trim(arg_max(tenant_id, latest_position)) AS tenant_id,
    dqs_trim(arg_max(dataset_name, latest_position)) AS dataset_name
FROM daily_texts
GROUP BY 1, 2

-- name: series_attributes
-- Per series: `series_latest` (from a log or a store) and the rule metadata.
WITH keyed_rules AS (
    SELECT dqs_rule_key(rule_code) AS rule_key, rule_type, dimension, category FROM rules
)
SELECT l.*, r.rule_type, r.dimension, r.category
FROM series_latest AS l
LEFT JOIN keyed_rules AS r ON r.rule_key = dqs_rule_key(l.rule_code)
ORDER BY l.dataset_uuid, l.rule_code

-- name: store_daily_rows
-- How many rows the store's daily table has.
SELECT count(*) FROM store_daily

-- name: store_daily_series
-- `daily_series` from a history store: `store_daily` is the store's daily table (one row per
-- file, group and business day, keys already trimmed and statuses parsed at ingest), summed over
-- files and groups per series and day; part $part of $parts, as for `daily_series`.
SELECT
    dataset_uuid,
    rule_code,
    business_date,
    CAST(sum(passes) AS BIGINT) AS passes,
    CAST(sum(fails) AS BIGINT) AS fails,
    CAST(sum(unknown) AS BIGINT) AS unknown,
    CAST(sum(runs) AS BIGINT) AS runs
FROM store_daily
WHERE hash(dataset_uuid) % $parts = $part
GROUP BY 1, 2, 3

-- name: store_series_latest
-- `series_latest` from a history store: source, tenant and dataset name of each series' latest
-- row, the greatest (business date, file, line) as `row_position` orders raw rows (a daily row
-- carries its latest line).
CREATE OR REPLACE TEMP VIEW series_latest AS
SELECT
    dataset_uuid,
    rule_code,
    arg_max(source, (business_date, file_id, latest_line)) AS source,
    arg_max(tenant_id, (business_date, file_id, latest_line)) AS tenant_id,
    arg_max(dataset_name, (business_date, file_id, latest_line)) AS dataset_name
FROM store_daily
GROUP BY 1, 2

-- name: training_span
-- The first and last day with a pass or fail, over every series (the origins follow them).
SELECT min(business_date) AS first_day, max(business_date) AS last_day, count(*) AS observed_days
FROM series_daily
WHERE passes + fails > 0

-- name: training_series_stats
-- Per series, what the training sample is planned from: its observed days (with a pass or
-- fail), days below the risk threshold, days most of whose runs failed, and how many training
-- examples it gives: each observed day d pairs with every origin of the grid (every $step days
-- back from $last_origin, from $first_origin on) in [d - $horizon, d - 1] on or after the
-- series' first observed day.
WITH days AS (
    SELECT
        dataset_uuid,
        rule_code,
        business_date,
        100.0 * passes / (passes + fails) AS pass_pct,
        min(business_date) OVER (PARTITION BY dataset_uuid, rule_code) AS first_day
    FROM series_daily
    WHERE passes + fails > 0
),
windows AS (
    SELECT
        *,
        greatest(business_date - CAST($horizon AS INTEGER), first_day, CAST($first_origin AS DATE)) AS lo,
        least(business_date - 1, CAST($last_origin AS DATE)) AS hi
    FROM days
)
SELECT
    dataset_uuid,
    rule_code,
    min(business_date) AS first_day,
    max(business_date) AS last_day,
    CAST(count(*) AS BIGINT) AS observed_days,
    CAST(count(*) FILTER (WHERE pass_pct < $threshold) AS BIGINT) AS below_days,
    CAST(count(*) FILTER (WHERE pass_pct < 50) AS BIGINT) AS failing_days,
    CAST(coalesce(sum(
        CASE WHEN lo <= hi THEN
            date_diff('day', lo, CAST($last_origin AS DATE)) // $step
            - (date_diff('day', hi, CAST($last_origin AS DATE)) + $step - 1) // $step + 1
        ELSE 0 END
    ), 0) AS BIGINT) AS expected_examples
FROM windows
GROUP BY 1, 2
ORDER BY 1, 2

-- name: training_sampled_daily
-- The observed days of the series in the training sample (`training_sample`: the sampled
-- series' keys), ordered by series and day.
SELECT d.dataset_uuid, d.rule_code, d.business_date, d.passes, d.fails, d.unknown, d.runs
FROM series_daily AS d
SEMI JOIN training_sample AS s ON s.dataset_uuid = d.dataset_uuid AND s.rule_code = d.rule_code
WHERE d.passes + d.fails > 0
ORDER BY 1, 2, 3

-- name: write_training_history
-- The bundle's history: every series' observed days, as `dqs predict` reads them.
COPY (
    SELECT dataset_uuid, rule_code, business_date, passes, fails, unknown, runs
    FROM series_daily
    WHERE passes + fails > 0
    ORDER BY 1, 2, 3
) TO $path (FORMAT parquet, COMPRESSION zstd)

-- name: write_series_parts
-- The observed days of the series in `series_parts` (dataset_uuid, rule_code, part), one
-- Parquet folder per part under $path (`part=K/`), in no order (readers sort): a backtest or a
-- batch of predictions reads them a part at a time, so memory follows a part, not the history.
COPY (
    SELECT d.dataset_uuid, d.rule_code, d.business_date, d.passes, d.fails, d.unknown, d.runs, p.part
    FROM series_daily AS d
    JOIN series_parts AS p ON p.dataset_uuid = d.dataset_uuid AND p.rule_code = d.rule_code
    WHERE d.passes + d.fails > 0
) TO $path (FORMAT parquet, PARTITION_BY (part), COMPRESSION zstd)

-- name: write_truth_parts
-- The generator's true pass percentages (the Parquet file $truth: dataset_uuid, rule_code,
-- business_date, true_pass_percentage) of the series in `series_parts` on the days after
-- $after, one folder per part under $path, as `write_series_parts`.
COPY (
    SELECT
        CAST(t.dataset_uuid AS VARCHAR) AS dataset_uuid,
        CAST(t.rule_code AS VARCHAR) AS rule_code,
        CAST(t.business_date AS DATE) AS business_date,
        CAST(t.true_pass_percentage AS DOUBLE) AS true_pass_percentage,
        p.part
    FROM read_parquet($truth) AS t
    JOIN series_parts AS p
        ON p.dataset_uuid = CAST(t.dataset_uuid AS VARCHAR) AND p.rule_code = CAST(t.rule_code AS VARCHAR)
    WHERE CAST(t.business_date AS DATE) > $after
) TO $path (FORMAT parquet, PARTITION_BY (part), COMPRESSION zstd)

-- name: merge_newer_daily
-- `series_daily`: a bundle's days (`bundle_daily`) extended by newer results (`newer_daily`);
-- for a day with a pass or fail in both, the newer results win (they were read from that day's
-- full log).
CREATE OR REPLACE TEMP VIEW series_daily AS
SELECT b.dataset_uuid, b.rule_code, b.business_date, b.passes, b.fails, b.unknown, b.runs
FROM bundle_daily AS b
ANTI JOIN (SELECT * FROM newer_daily WHERE passes + fails > 0) AS n
    ON n.dataset_uuid = b.dataset_uuid AND n.rule_code = b.rule_code AND n.business_date = b.business_date
UNION ALL
SELECT dataset_uuid, rule_code, business_date, passes, fails, unknown, runs
FROM newer_daily

-- name: requested_series_days
-- Per series of `requested_series` (dataset_uuid, rule_code) that `series_daily` holds: its
-- observed days (with a pass or fail), which size the parts a batch of predictions is read in.
SELECT d.dataset_uuid, d.rule_code, CAST(count(*) AS BIGINT) AS observed_days
FROM series_daily AS d
SEMI JOIN requested_series AS r ON r.dataset_uuid = d.dataset_uuid AND r.rule_code = d.rule_code
WHERE d.passes + d.fails > 0
GROUP BY 1, 2
