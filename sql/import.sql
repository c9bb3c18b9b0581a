-- Importers (`dqs import`, `dqs ingest --from`): result files of dbt, Great Expectations, Soda
-- and Elementary become rows of the results log (SPEC §2). Each format's SQL file turns its
-- files into the table `imported`, with one row per executed check and these columns:
--   file_index, position (order within the file), source, tenant_id, dataset_uuid,
--   dataset_name, rule_code, rule_name, rule_type, dimension, rule_description, category,
--   level_of_execution, attribute_name, executed_at (TIMESTAMPTZ), tool_status, status
--   (pass / fail / unknown), dataset_record_count, filtered_record_count (NULL: unknown),
--   importer (the format) and details (a JSON object of tool facts kept in `results`).
-- The blocks here are shared by every format.

-- name: import_settings
-- Timestamps without an offset are UTC, whatever the machine's time zone.
SET TimeZone = 'UTC'

-- name: import_text
-- The input files' text, one row per file (`import_files` is registered by the engine).
CREATE OR REPLACE TEMP TABLE import_text AS
SELECT f.file_index, f.path, t.content
FROM import_files AS f
JOIN read_text($paths) AS t ON t.filename = f.path

-- name: import_json_valid
-- Which files are JSON at all (the JSON functions below fail on the others, even inside a CASE).
SELECT file_index, path FROM import_text WHERE NOT json_valid(content) ORDER BY file_index LIMIT 1

-- name: import_json_objects
-- Which JSON files are not an object (run once every file is JSON).
SELECT file_index, path, json_type(content) AS json_kind
FROM import_text WHERE json_type(content) <> 'OBJECT' ORDER BY file_index LIMIT 1

-- name: import_log
-- The imported rows in log order (file, then position in the file). The business date is the
-- check's execution time cut in $timezone, unless $business_date overrides it. `results` starts
-- with {"importer":"..." so that validation knows the counts may be empty (ingest.sql's
-- dqs_imported), then the mapped status as `result`, then the tool's details.
CREATE OR REPLACE TEMP TABLE imported_log AS
SELECT
    file_index,
    position,
    source,
    tenant_id,
    dataset_uuid,
    dataset_name,
    rule_code,
    coalesce(CAST($business_date AS DATE), CAST(timezone($timezone, executed_at) AS DATE)) AS business_date,
    '{"importer":' || to_json(importer) || ',"result":' || to_json(status)
        || CASE WHEN details IS NULL OR details = '{}' THEN '}' ELSE ',' || substring(details, 2) END AS results,
    level_of_execution,
    attribute_name,
    CAST(dataset_record_count AS BIGINT) AS dataset_record_count,
    CAST(filtered_record_count AS BIGINT) AS filtered_record_count,
    rule_name,
    rule_type,
    dimension,
    rule_description,
    category,
    status,
    tool_status
FROM imported
ORDER BY file_index, position

-- name: import_counts
-- Imported rows per file, mapped status and the tool's own status, for the report.
SELECT file_index, status, tool_status, CAST(count(*) AS BIGINT) AS rows
FROM imported_log
GROUP BY ALL
ORDER BY file_index, status, tool_status

-- name: import_file_rows
-- Imported rows per input file, every file (some have none), in file order.
SELECT f.file_index, CAST(count(l.file_index) AS BIGINT) AS rows
FROM import_files AS f
LEFT JOIN imported_log AS l ON l.file_index = f.file_index
GROUP BY f.file_index
ORDER BY f.file_index

-- name: import_undated
-- Rows without a business date (no execution time in the file, no --business-date).
SELECT count(*) FROM imported_log WHERE business_date IS NULL

-- name: import_rules
-- Rules metadata (SPEC §3) from what the tool describes, one entry per rule code: the values of
-- the code's last row in log order.
SELECT
    rule_code,
    arg_max(coalesce(rule_name, rule_code), (file_index, position)) AS rule_name,
    arg_max(coalesce(rule_type, 'unknown'), (file_index, position)) AS rule_type,
    arg_max(coalesce(dimension, 'unknown'), (file_index, position)) AS dimension,
    arg_max(coalesce(rule_description, rule_name, rule_code), (file_index, position)) AS rule_description,
    arg_max(coalesce(category, 'unknown'), (file_index, position)) AS category
FROM imported_log
GROUP BY rule_code
ORDER BY rule_code

-- name: import_log_rows
-- `log_rows`: the log's columns (SPEC §2), in log order; what every writer below reads.
CREATE OR REPLACE TEMP VIEW log_rows AS
SELECT
    source, tenant_id, dataset_uuid, dataset_name, rule_code, business_date, results,
    level_of_execution, attribute_name, dataset_record_count, filtered_record_count
FROM imported_log
ORDER BY file_index, position

-- name: write_log_csv
-- A results log as CSV: unknown counts are empty cells.
COPY (SELECT * FROM log_rows) TO $path (FORMAT csv, HEADER true)

-- name: write_log_parquet
-- A results log as Parquet: DATE, BIGINT (NULL: unknown) and VARCHAR columns.
COPY (SELECT * FROM log_rows) TO $path (FORMAT parquet)
