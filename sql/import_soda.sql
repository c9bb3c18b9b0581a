-- Soda Core scan results (`soda scan ... -srf FILE`, v3): one row per entry of `checks`, read by
-- JSON path from `import_text` (import.sql).

-- name: soda_kinds
-- Per file: JSON or not, and whether it is a Soda scan result (checks plus scan timestamps).
SELECT
    file_index,
    path,
    json_valid(content) AS is_json,
    CASE WHEN json_valid(content) THEN json_type(content) END AS json_kind,
    CASE WHEN json_valid(content) AND json_type(content) = 'OBJECT' THEN
        json_type(content, '$.checks') = 'ARRAY' AND json_type(content, '$.scanStartTimestamp') = 'VARCHAR'
    END AS is_scan,
    CASE WHEN json_valid(content) AND json_type(content) = 'OBJECT'
         THEN coalesce(json_extract_string(content, '$.checks[0].source'), 'soda-core') END AS producer,
    CASE WHEN json_valid(content) AND json_type(content) = 'OBJECT'
         THEN coalesce(TRY_CAST(json_extract_string(content, '$.hasErrors') AS BOOLEAN), false) END AS has_errors
FROM import_text
ORDER BY file_index

-- name: soda_checks
-- One row per check, with the scan's row_count metric of its table.
CREATE OR REPLACE TEMP TABLE soda_checks AS
WITH scans AS (
    SELECT
        file_index,
        TRY_CAST(json_extract_string(content, '$.scanStartTimestamp') AS TIMESTAMPTZ) AS executed_at,
        json_extract_string(content, '$.defaultDataSource') AS default_data_source,
        coalesce(json_extract(content, '$.metrics'), '[]') AS metrics,
        unnest(generate_series(1, CAST(json_array_length(content, '$.checks') AS BIGINT))) AS position,
        unnest(from_json(json_extract(content, '$.checks'), '["JSON"]')) AS c
    FROM import_text
),
checks AS (
    SELECT
        file_index,
        position,
        executed_at,
        coalesce(c ->> 'dataSource', default_data_source) AS data_source,
        c ->> 'table' AS table_name,
        c ->> 'column' AS column_name,
        c ->> 'name' AS check_name,
        c ->> 'identity' AS identity,
        c ->> 'type' AS check_type,
        c ->> 'definition' AS definition,
        lower(c ->> 'outcome') AS outcome,
        c -> 'diagnostics' -> 'value' AS value,
        TRY_CAST(json_extract_string(c, '$.diagnostics.blocks[0].totalFailingRows') AS BIGINT) AS failing_rows,
        c -> 'outcomeReasons' AS outcome_reasons,
        metrics
    FROM scans
),
row_counts AS (
    -- the scan's row_count metric of each table: identity metric-<scan>-<data source>-<table>-row_count
    SELECT file_index, data_source, table_name,
           TRY_CAST(any_value(m ->> 'value') FILTER (WHERE m ->> 'metricName' = 'row_count'
               AND suffix(m ->> 'identity', '-' || data_source || '-' || table_name || '-row_count')) AS BIGINT) AS row_count
    FROM (SELECT DISTINCT file_index, data_source, table_name, metrics FROM checks),
         unnest(from_json(metrics, '["JSON"]')) AS t(m)
    GROUP BY ALL
)
SELECT c.*, r.row_count
FROM checks AS c
LEFT JOIN row_counts AS r USING (file_index, data_source, table_name)

-- name: soda_imported
-- Checks as imported rows (import.sql's `imported`). The dataset is the check's table, the rule
-- the check's text (its name); the table's row count comes from the scan's row_count metric.
-- (Parameters are bound here, in a statement without a WITH clause: DuckDB does not bind them
-- in CREATE TABLE AS WITH.)
CREATE OR REPLACE TEMP TABLE imported AS
SELECT
    c.file_index,
    c.position,
    coalesce($source, 'soda') AS source,
    coalesce($tenant, c.data_source, 'soda') AS tenant_id,
    concat_ws('.', c.data_source, c.table_name) AS dataset_uuid,
    coalesce(c.table_name, c.data_source) AS dataset_name,
    coalesce(c.check_name, c.identity) AS rule_code,
    coalesce(c.check_name, c.identity) AS rule_name,
    coalesce(regexp_extract(c.check_name, '^([a-z_]+)', 1), c.check_type) AS rule_type,
    CASE WHEN c.check_name LIKE 'missing%' THEN 'completeness'
         WHEN c.check_name LIKE 'duplicate%' THEN 'uniqueness'
         WHEN c.check_name LIKE 'row_count%' THEN 'volume'
         WHEN c.check_name LIKE 'freshness%' THEN 'timeliness'
         WHEN c.check_name LIKE 'schema%' THEN 'schema'
         ELSE 'validity' END AS dimension,
    coalesce(c.definition, c.check_name) AS rule_description,
    coalesce(c.check_type, 'generic') AS category,
    CASE WHEN c.column_name IS NOT NULL THEN 'ATTRIBUTE' ELSE 'DATASET' END AS level_of_execution,
    c.column_name AS attribute_name,
    c.executed_at,
    coalesce(c.outcome, 'not evaluated') AS tool_status,
    CASE WHEN c.outcome IN ('pass', 'fail') THEN c.outcome
         WHEN c.outcome = 'warn' THEN $warn_as
         ELSE 'unknown' END AS status,
    c.row_count AS dataset_record_count,
    CAST(NULL AS BIGINT) AS filtered_record_count,
    'soda' AS importer,
    to_json({
        'status': coalesce(c.outcome, 'not evaluated'), 'value': c.value, 'failing_rows': c.failing_rows,
        'outcome_reasons': c.outcome_reasons, 'check_id': c.identity
    }) AS details
FROM soda_checks AS c
