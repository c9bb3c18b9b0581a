-- The history store (engine/store/): what one ingest adds to its Delta tables, and the summary
-- state the daily run keeps up to date. Rows are validated by ingest.sql's `dqs_checked_rows`,
-- exactly as for a one-shot summary.
--
-- A row's place in input order is (file_id, line): file ids follow ingest order, then sorted
-- path within one invocation; a replaced file keeps its id. The latest row of a group is the
-- one with the greatest (business_date, file_id, line), packed into one HUGEINT as in
-- ingest.sql.

-- name: ingest_checked
-- Every row of the files being ingested (`raw_rows`), validated, with trimmed keys, once.
-- `ingest_files` maps each file's position in this invocation to its file id.
CREATE OR REPLACE TEMP TABLE ingest_checked AS
SELECT
    c.accepted,
    f.file_id,
    c.line_number AS line,
    CASE WHEN c.accepted THEN dqs_trim(c.source) END AS source,
    CASE WHEN c.accepted THEN dqs_trim(c.tenant_id) END AS tenant_id,
    CASE WHEN c.accepted THEN dqs_trim(c.dataset_uuid) END AS dataset_uuid,
    CASE WHEN c.accepted THEN dqs_trim(c.dataset_name) END AS dataset_name,
    CASE WHEN c.accepted THEN dqs_trim(c.rule_code) END AS rule_code,
    c.business_date,
    c.results,
    c.level_of_execution,
    c.attribute_name,
    c.dataset_record_count,
    c.filtered_record_count,
    c.reject_reason,
    c.rejected_values,
    -- extra input columns as read (only those: the whole raw row would double what is held)
    input_row.* EXCLUDE (source, tenant_id, dataset_uuid, dataset_name, rule_code, business_date, results,
                         level_of_execution, attribute_name, dataset_record_count, filtered_record_count,
                         _dqs_file_index, _dqs_line_number)
FROM dqs_checked_rows(CAST(NULL AS DATE), CAST(NULL AS DATE)) AS c
JOIN ingest_files AS f ON f.file_index = c.file_index

-- name: ingest_statuses
-- The status of each distinct results text of the ingest, parsed once.
CREATE OR REPLACE TEMP TABLE ingest_statuses AS
SELECT results, dqs_status(results) AS status
FROM (SELECT DISTINCT results FROM ingest_checked WHERE accepted)

-- name: ingest_file_counts
-- Per ingested file: rows read, accepted, rejected and with an unknown status.
SELECT
    f.file_id,
    CAST(count(c.line) AS BIGINT) AS rows_read,
    CAST(count(c.line) FILTER (WHERE c.accepted) AS BIGINT) AS rows_accepted,
    CAST(count(c.line) FILTER (WHERE NOT c.accepted) AS BIGINT) AS rows_rejected,
    CAST(count(c.line) FILTER (WHERE s.status = 'unknown') AS BIGINT) AS rows_unknown
FROM ingest_files AS f
LEFT JOIN ingest_checked AS c ON c.file_id = f.file_id
LEFT JOIN ingest_statuses AS s ON s.results = c.results AND c.accepted
GROUP BY f.file_id
ORDER BY f.file_id

-- name: ingest_rows
-- The `rows` table's new rows: one per accepted row, typed, with its status and any extra
-- input columns (as read), partitioned by business month.
SELECT
    c.file_id,
    c.line,
    c.source,
    c.tenant_id,
    c.dataset_uuid,
    c.dataset_name,
    c.rule_code,
    c.business_date,
    strftime(c.business_date, '%Y-%m') AS business_month,
    c.results,
    s.status,
    nullif(dqs_trim(c.level_of_execution), '') AS level_of_execution,
    nullif(dqs_trim(c.attribute_name), '') AS attribute_name,
    c.dataset_record_count,
    c.filtered_record_count,
    c.* EXCLUDE (accepted, file_id, line, source, tenant_id, dataset_uuid, dataset_name, rule_code, business_date,
                 results, level_of_execution, attribute_name, dataset_record_count, filtered_record_count,
                 reject_reason, rejected_values)
FROM ingest_checked AS c
JOIN ingest_statuses AS s ON s.results = c.results
WHERE c.accepted

-- name: ingest_rejects
-- The `rejects` table's new rows: file, line, reasons and the raw values of the checked columns.
SELECT
    file_id,
    line,
    reject_reason AS reason,
    rejected_values.source AS source,
    rejected_values.tenant_id AS tenant_id,
    rejected_values.dataset_uuid AS dataset_uuid,
    rejected_values.dataset_name AS dataset_name,
    rejected_values.rule_code AS rule_code,
    rejected_values.business_date AS business_date,
    rejected_values.dataset_record_count AS dataset_record_count,
    rejected_values.filtered_record_count AS filtered_record_count
FROM ingest_checked
WHERE NOT accepted
ORDER BY file_id, line

-- name: ingest_daily
-- The daily state of the ingested rows, the one definition of `daily`: per file, group and
-- business date, pass / fail / unknown rows and runs, and the values of the day's latest row
-- in that file (the greatest line). A (group, day) with rows in several files has one row per
-- file; readers add them up.
CREATE OR REPLACE TEMP TABLE arriving AS
SELECT
    c.file_id,
    c.source,
    c.tenant_id,
    c.dataset_uuid,
    c.dataset_name,
    c.rule_code,
    c.business_date,
    strftime(c.business_date, '%Y-%m') AS business_month,
    CAST(count(*) FILTER (WHERE s.status = 'pass') AS BIGINT) AS passes,
    CAST(count(*) FILTER (WHERE s.status = 'fail') AS BIGINT) AS fails,
    CAST(count(*) FILTER (WHERE s.status = 'unknown') AS BIGINT) AS unknown,
    CAST(count(*) AS BIGINT) AS runs,
    max(c.line) AS latest_line,
    arg_max_null(c.dataset_record_count, c.line) AS latest_dataset_record_count,
    arg_max_null(c.filtered_record_count, c.line) AS latest_filtered_record_count,
    arg_max(dqs_trim(c.level_of_execution), c.line) AS latest_level_of_execution
FROM ingest_checked AS c
JOIN ingest_statuses AS s ON s.results = c.results
WHERE c.accepted
GROUP BY c.file_id, c.source, c.tenant_id, c.dataset_uuid, c.dataset_name, c.rule_code, c.business_date
-- date order: the daily table's row groups then cover a few days each (read by their statistics)
ORDER BY c.business_date

-- name: drop_arriving
DROP TABLE IF EXISTS arriving

-- name: latest_arriving_date
-- The latest business date among the arriving daily rows.
SELECT max(business_date) FROM arriving

-- name: fold_state
-- The summary state at the reference date $reference: per group, pass / fail / unknown rows over
-- the whole history, pass and fail rows in the rolling windows (dated on or after $reference
-- minus 30, 90 and 365 days), and the latest row, with the column names of summary.sql's
-- `group_counts` (plus the latest row's place in input order). It folds three relations:
--   `state_before`: the state at the earlier reference date $previous (empty for a rebuild);
--   `departing`: daily rows that were counted in `state_before` and may leave a window as the
--     reference date moves from $previous to $reference (a day d leaves the k-day window when
--     $previous - k <= d < $reference - k);
--   `arriving`: daily rows not counted yet (those dated after $as_of, when given, are left out).
-- So a daily update reads the new day, the state and the three days that leave the windows,
-- never the whole history; a rebuild folds every daily row into an empty state. Read as Arrow
-- (it is written to the store as it is): a TEMP table of it took twice as long as the fold.
WITH contributions AS (
    SELECT
        source, tenant_id, dataset_uuid, dataset_name, rule_code,
        pass_count_total, fail_count_total, unknown_count_total,
        pass_count_12m, fail_count_12m, pass_count_3m, fail_count_3m, pass_count_1m, fail_count_1m,
        (CAST(business_date_latest - DATE '0001-01-01' AS HUGEINT) << 80)
            + (CAST(latest_file_id AS HUGEINT) << 48) + latest_line AS position,
        dataset_record_count_latest, filtered_record_count_latest, level_of_execution_latest
    FROM state_before
    UNION ALL
    SELECT
        source, tenant_id, dataset_uuid, dataset_name, rule_code,
        0, 0, 0,
        CASE WHEN business_date < CAST($reference AS DATE) - 365 THEN -passes ELSE 0 END,
        CASE WHEN business_date < CAST($reference AS DATE) - 365 THEN -fails ELSE 0 END,
        CASE WHEN business_date >= CAST($previous AS DATE) - 90 AND business_date < CAST($reference AS DATE) - 90
             THEN -passes ELSE 0 END,
        CASE WHEN business_date >= CAST($previous AS DATE) - 90 AND business_date < CAST($reference AS DATE) - 90
             THEN -fails ELSE 0 END,
        CASE WHEN business_date >= CAST($previous AS DATE) - 30 AND business_date < CAST($reference AS DATE) - 30
             THEN -passes ELSE 0 END,
        CASE WHEN business_date >= CAST($previous AS DATE) - 30 AND business_date < CAST($reference AS DATE) - 30
             THEN -fails ELSE 0 END,
        NULL, NULL, NULL, NULL
    FROM departing
    -- only the days that leave a window: the files hold many more
    WHERE (business_date >= CAST($previous AS DATE) - 365 AND business_date < CAST($reference AS DATE) - 365)
       OR (business_date >= CAST($previous AS DATE) - 90 AND business_date < CAST($reference AS DATE) - 90)
       OR (business_date >= CAST($previous AS DATE) - 30 AND business_date < CAST($reference AS DATE) - 30)
    UNION ALL
    SELECT
        source, tenant_id, dataset_uuid, dataset_name, rule_code,
        passes, fails, unknown,
        CASE WHEN business_date >= CAST($reference AS DATE) - 365 THEN passes ELSE 0 END,
        CASE WHEN business_date >= CAST($reference AS DATE) - 365 THEN fails ELSE 0 END,
        CASE WHEN business_date >= CAST($reference AS DATE) - 90 THEN passes ELSE 0 END,
        CASE WHEN business_date >= CAST($reference AS DATE) - 90 THEN fails ELSE 0 END,
        CASE WHEN business_date >= CAST($reference AS DATE) - 30 THEN passes ELSE 0 END,
        CASE WHEN business_date >= CAST($reference AS DATE) - 30 THEN fails ELSE 0 END,
        (CAST(business_date - DATE '0001-01-01' AS HUGEINT) << 80)
            + (CAST(file_id AS HUGEINT) << 48) + latest_line,
        latest_dataset_record_count, latest_filtered_record_count, latest_level_of_execution
    FROM arriving
    WHERE $as_of IS NULL OR business_date <= CAST($as_of AS DATE)
),
folded AS (
    SELECT
        source, tenant_id, dataset_uuid, dataset_name, rule_code,
        CAST(sum(pass_count_total) AS BIGINT) AS pass_count_total,
        CAST(sum(fail_count_total) AS BIGINT) AS fail_count_total,
        CAST(sum(unknown_count_total) AS BIGINT) AS unknown_count_total,
        CAST(sum(pass_count_12m) AS BIGINT) AS pass_count_12m,
        CAST(sum(fail_count_12m) AS BIGINT) AS fail_count_12m,
        CAST(sum(pass_count_3m) AS BIGINT) AS pass_count_3m,
        CAST(sum(fail_count_3m) AS BIGINT) AS fail_count_3m,
        CAST(sum(pass_count_1m) AS BIGINT) AS pass_count_1m,
        CAST(sum(fail_count_1m) AS BIGINT) AS fail_count_1m,
        max(position) AS position,
        arg_max_null(dataset_record_count_latest, position) FILTER (WHERE position IS NOT NULL) AS dataset_record_count_latest,
        arg_max_null(filtered_record_count_latest, position) FILTER (WHERE position IS NOT NULL) AS filtered_record_count_latest,
        arg_max(level_of_execution_latest, position) FILTER (WHERE position IS NOT NULL) AS level_of_execution_latest
    FROM contributions
    GROUP BY source, tenant_id, dataset_uuid, dataset_name, rule_code
)
SELECT
    * EXCLUDE (position),
    DATE '0001-01-01' + CAST(position >> 80 AS INTEGER) AS business_date_latest,
    CAST((position >> 48) & 4294967295 AS INTEGER) AS latest_file_id,
    CAST(position & 281474976710655 AS BIGINT) AS latest_line
FROM folded

-- name: summary_state_from_portable
-- `summary_state` from portable.sql's store_state, folded by another engine (`portable_state`):
-- the latest row's position text back as date, file id and line.
CREATE OR REPLACE TEMP TABLE summary_state AS
SELECT
    source, tenant_id, dataset_uuid, dataset_name, rule_code,
    CAST(pass_count_total AS BIGINT) AS pass_count_total,
    CAST(fail_count_total AS BIGINT) AS fail_count_total,
    CAST(unknown_count_total AS BIGINT) AS unknown_count_total,
    CAST(pass_count_12m AS BIGINT) AS pass_count_12m,
    CAST(fail_count_12m AS BIGINT) AS fail_count_12m,
    CAST(pass_count_3m AS BIGINT) AS pass_count_3m,
    CAST(fail_count_3m AS BIGINT) AS fail_count_3m,
    CAST(pass_count_1m AS BIGINT) AS pass_count_1m,
    CAST(fail_count_1m AS BIGINT) AS fail_count_1m,
    CAST(dataset_record_count_latest AS BIGINT) AS dataset_record_count_latest,
    CAST(filtered_record_count_latest AS BIGINT) AS filtered_record_count_latest,
    level_of_execution_latest,
    CAST(left(latest_key, 10) AS DATE) AS business_date_latest,
    CAST(substring(latest_key, 11, 10) AS INTEGER) AS latest_file_id,
    CAST(substring(latest_key, 21, 19) AS BIGINT) AS latest_line
FROM portable_state

-- name: group_counts_from_state
-- `group_counts` (the relation summary.sql's `summary` reads) from `summary_state`: the state
-- the store keeps for its latest reference date, or one folded for another.
CREATE OR REPLACE TEMP VIEW group_counts AS
SELECT * EXCLUDE (unknown_count_total, latest_file_id, latest_line) FROM summary_state

-- name: state_totals
-- Pass, fail and unknown-status rows in a summary state, and its groups.
SELECT
    CAST(coalesce(sum(pass_count_total), 0) AS BIGINT) AS pass_rows,
    CAST(coalesce(sum(fail_count_total), 0) AS BIGINT) AS fail_rows,
    CAST(coalesce(sum(unknown_count_total), 0) AS BIGINT) AS unknown_rows,
    count(*) AS groups
FROM summary_state

-- name: rows_after_as_of
-- Accepted rows dated after $as_of (counted, never summarized).
SELECT CAST(coalesce(sum(runs), 0) AS BIGINT) FROM arriving WHERE business_date > CAST($as_of AS DATE)

-- name: store_rejects
-- `rejected` for outputs.sql: the store's rejects in input order, with their file's path.
CREATE OR REPLACE TEMP VIEW rejected AS
SELECT
    f.path AS file,
    r.line,
    r.reason,
    r.source,
    r.tenant_id,
    r.dataset_uuid,
    r.dataset_name,
    r.rule_code,
    r.business_date,
    r.dataset_record_count,
    r.filtered_record_count,
    r.file_id AS file_order
FROM store_rejects_table AS r
JOIN input_files AS f ON f.file_index = r.file_id

-- name: store_results
-- Analysts' `results` from the store: accepted rows in scope, their file's path and line, and
-- their extra input columns.
CREATE OR REPLACE TEMP TABLE results AS
SELECT
    r.source,
    r.tenant_id,
    r.dataset_uuid,
    r.dataset_name,
    r.rule_code,
    r.business_date,
    r.results,
    r.status,
    r.level_of_execution,
    r.attribute_name,
    r.dataset_record_count,
    r.filtered_record_count,
    f.path AS input_file,
    r.line AS input_line,
    r.* EXCLUDE (file_id, line, source, tenant_id, dataset_uuid, dataset_name, rule_code, business_date,
                 results, status, level_of_execution, attribute_name,
                 dataset_record_count, filtered_record_count)
FROM store_rows AS r
JOIN input_files AS f ON f.file_index = r.file_id
WHERE $as_of IS NULL OR r.business_date <= CAST($as_of AS DATE)

-- name: table_files
-- One store table as one version saw it: the Parquet files that version lists ($files; the
-- partition column is not in them). Files written before an extra column appeared lack it.
SELECT * FROM read_parquet($files, union_by_name = true)
