-- Soda Core scan results: v3's `soda scan ... -srf FILE`, and v4's scan results (the body that
-- `soda contract verify --publish` sends): one row per entry of `checks`, read by JSON path from
-- `import_text` (import.sql). v4 adds checkPath, checkType and row counts under diagnostics.v4.

-- name: soda_kinds
-- Per file (each one a JSON object): whether it is a Soda scan result (checks plus scan times).
SELECT
    file_index,
    path,
    json_type(content, '$.checks') = 'ARRAY' AND json_type(content, '$.scanStartTimestamp') = 'VARCHAR' AS is_scan,
    coalesce(json_extract_string(content, '$.checks[0].source'), json_extract_string(content, '$.sourceOwner'), 'soda-core')
        || ' v' || coalesce(json_extract_string(content, '$.version'), '3') AS producer,
    coalesce(TRY_CAST(json_extract_string(content, '$.hasErrors') AS BOOLEAN), false) AS has_errors
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
        nullif(array_to_string(from_json(coalesce(c -> 'datasetPrefix', '[]'), '["VARCHAR"]'), '.'), '') AS dataset_prefix,
        c ->> 'column' AS column_name,
        c ->> 'name' AS check_name,
        c ->> 'checkPath' AS check_path,
        coalesce(c ->> 'identity', c -> 'identities' ->> 'vc1') AS identity,
        c ->> 'type' AS check_type,
        c ->> 'checkType' AS check_kind,
        TRY_CAST(c -> 'diagnostics' -> 'v4' ->> 'datasetRowsTested' AS BIGINT) AS dataset_rows_tested,
        TRY_CAST(c -> 'diagnostics' -> 'v4' ->> 'checkRowsTested' AS BIGINT) AS check_rows_tested,
        c ->> 'definition' AS definition,
        lower(c ->> 'outcome') AS outcome,
        c -> 'diagnostics' -> 'value' AS value,
        coalesce(TRY_CAST(json_extract_string(c, '$.diagnostics.blocks[0].totalFailingRows') AS BIGINT),
                 TRY_CAST(c -> 'diagnostics' -> 'v4' ->> 'failedRowsCount' AS BIGINT)) AS failing_rows,
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

-- name: soda_unevaluated
-- Soda v3 leaves a check it could not evaluate out of `checks`; its scan summary in `logs` still
-- names it, under the table it belongs to ("    orders in dqs", then
-- "      <check> [NOT EVALUATED]"). Those checks are added with no outcome (an unknown status).
INSERT INTO soda_checks BY NAME
WITH lines AS (
    SELECT
        file_index,
        TRY_CAST(json_extract_string(content, '$.scanStartTimestamp') AS TIMESTAMPTZ) AS executed_at,
        unnest(from_json(coalesce(json_extract(content, '$.logs'), '[]'), '["JSON"]')) AS l
    FROM import_text
),
tagged AS (
    SELECT
        file_index,
        executed_at,
        TRY_CAST(l ->> 'index' AS BIGINT) AS log_index,
        l ->> 'message' AS message
    FROM lines
    WHERE l ->> 'level' = 'info'
),
headers AS (
    SELECT
        *,
        last_value(CASE WHEN regexp_matches(message, '^    \S+ in \S+$') THEN regexp_extract(message, '^    (\S+) in (\S+)$', 1) END IGNORE NULLS)
            OVER (PARTITION BY file_index ORDER BY log_index) AS table_name,
        last_value(CASE WHEN regexp_matches(message, '^    \S+ in \S+$') THEN regexp_extract(message, '^    (\S+) in (\S+)$', 2) END IGNORE NULLS)
            OVER (PARTITION BY file_index ORDER BY log_index) AS data_source
    FROM tagged
)
SELECT
    file_index,
    1000000 + log_index AS position,
    executed_at,
    data_source,
    table_name,
    regexp_extract(message, '^      (.*) \[NOT EVALUATED\]$', 1) AS check_name,
    'not evaluated' AS outcome
FROM headers
WHERE regexp_matches(message, '^      .* \[NOT EVALUATED\]$')

-- name: soda_imported
-- Checks as imported rows (import.sql's `imported`). The dataset is the check's table; the rule
-- is the check: its path in the contract (v4), else its text (v3 names say metric, column and
-- threshold). Row counts: v4's rows tested, else the scan's row_count metric of the table.
-- (Parameters are bound here, in a statement without a WITH clause: DuckDB does not bind them
-- in CREATE TABLE AS WITH.)
CREATE OR REPLACE TEMP TABLE imported AS
SELECT
    c.file_index,
    c.position,
    coalesce($source, 'soda') AS source,
    coalesce($tenant, c.data_source, 'soda') AS tenant_id,
    concat_ws('.', c.data_source, c.dataset_prefix, c.table_name) AS dataset_uuid,
    coalesce(c.table_name, c.data_source) AS dataset_name,
    coalesce(c.check_path, c.check_name, c.identity) AS rule_code,
    coalesce(c.check_name, c.identity)
        || CASE WHEN c.check_path IS NOT NULL AND c.column_name IS NOT NULL THEN ' (' || c.column_name || ')' ELSE '' END AS rule_name,
    coalesce(c.check_kind, regexp_extract(c.check_name, '^([a-z_]+)', 1), c.check_type) AS rule_type,
    CASE WHEN coalesce(c.check_kind, c.check_name) LIKE 'missing%' THEN 'completeness'
         WHEN coalesce(c.check_kind, c.check_name) LIKE 'duplicate%' THEN 'uniqueness'
         WHEN coalesce(c.check_kind, c.check_name) LIKE 'row_count%' THEN 'volume'
         WHEN coalesce(c.check_kind, c.check_name) LIKE 'freshness%' THEN 'timeliness'
         WHEN coalesce(c.check_kind, c.check_name) LIKE 'schema%' THEN 'schema'
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
    coalesce(c.dataset_rows_tested, c.row_count) AS dataset_record_count,
    c.check_rows_tested AS filtered_record_count,
    'soda' AS importer,
    to_json({
        'status': coalesce(c.outcome, 'not evaluated'),
        -- an unevaluated v4 check says value 0: not a measurement
        'value': CASE WHEN c.outcome IN ('pass', 'fail', 'warn') THEN c.value END,
        'failing_rows': c.failing_rows, 'outcome_reasons': c.outcome_reasons, 'check_id': c.identity
    }) AS details
FROM soda_checks AS c
