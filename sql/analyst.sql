-- The relations analysts' SQL files read (see sql/README.md for the contract): `results`,
-- `daily` (portable.sql's block, shared with the Spark engine), `summary` and `rules`. They are built after the summary, before the analyst files run
-- with external access off and the configuration locked.

-- name: create_results
-- `results`: one row per accepted input row in scope (dated on or before $as_of, when given),
-- with typed, trimmed columns, the parsed status, the row's file and line, and every extra
-- input column as read (from `input_row`, the raw row as a struct). A second pass over the
-- input: statuses are parsed once per distinct results text.
CREATE OR REPLACE TEMP TABLE results AS
WITH checked AS (
    SELECT * FROM dqs_checked_rows(CAST(NULL AS DATE), CAST($as_of AS DATE)) WHERE in_scope
),
statuses AS (
    SELECT results, dqs_status(results) AS status FROM (SELECT DISTINCT results FROM checked)
)
SELECT
    dqs_trim(c.source) AS source,
    dqs_trim(c.tenant_id) AS tenant_id,
    dqs_trim(c.dataset_uuid) AS dataset_uuid,
    dqs_trim(c.dataset_name) AS dataset_name,
    dqs_trim(c.rule_code) AS rule_code,
    c.business_date,
    c.results,
    s.status,
    nullif(dqs_trim(c.level_of_execution), '') AS level_of_execution,
    nullif(dqs_trim(c.attribute_name), '') AS attribute_name,
    c.dataset_record_count,
    c.filtered_record_count,
    f.path AS input_file,
    c.line_number AS input_line,
    input_row.* EXCLUDE (source, tenant_id, dataset_uuid, dataset_name, rule_code, business_date, results,
                         level_of_execution, attribute_name, dataset_record_count, filtered_record_count,
                         _dqs_file_index, _dqs_line_number)
FROM checked AS c
JOIN statuses AS s ON s.results = c.results
JOIN input_files AS f ON f.file_index = c.file_index

-- name: no_rows
-- The columns and types of `raw_rows`, without its rows (`dqs sql check` binds against them).
SELECT * FROM raw_rows LIMIT 0

-- name: drop_internals
-- The engine's working tables (of a one-shot run or of a run from the store), dropped so that
-- analyst files see only the documented relations.
DROP VIEW IF EXISTS rejected;
DROP VIEW IF EXISTS group_counts;
DROP VIEW IF EXISTS group_statuses;
DROP TABLE IF EXISTS statuses;
DROP TABLE IF EXISTS staged;
DROP TABLE IF EXISTS summary_state

-- name: lock_down
-- Analyst SQL runs after this: no file system, no extensions, no Python objects, errors with
-- positions (JSON), and a configuration nobody can change.
SET enable_external_access = false;
SET autoinstall_known_extensions = false;
SET autoload_known_extensions = false;
SET python_enable_replacements = false;
SET errors_as_json = true;
SET lock_configuration = true

-- name: write_output_csv
-- An analyst output as CSV (streamed from the locked connection as `analyst_output`).
COPY analyst_output TO $path (FORMAT csv, HEADER true)

-- name: write_output_parquet
-- An analyst output as Parquet, with the types the SELECT produced.
COPY analyst_output TO $path (FORMAT parquet)
