-- dbt: run_results.json (artifact schemas v1-v6), optionally with a manifest.json (v4-v12) that
-- names what each test tests. Files are read as text by `import_text` (import.sql); every field
-- is read by name, so the small differences between schema versions (a `failures` that is a
-- string in hand-edited files, `timing: []` on skipped nodes) need no per-version code.

-- name: dbt_kinds
-- Per file (each one a JSON object): which dbt artifact and schema version it says it is.
SELECT
    file_index,
    path,
    json_extract_string(content, '$.metadata.dbt_schema_version') AS schema_url,
    json_type(content, '$.results') AS results_kind
FROM import_text
ORDER BY file_index

-- name: dbt_manifest_nodes
-- The manifest's nodes and sources by unique id: what a test tests and how it is configured.
-- attached_node (v9+) names the tested model or source; older manifests only list
-- depends_on.nodes, of which the first is taken.
CREATE OR REPLACE TEMP TABLE dbt_manifest AS
WITH doc AS (
    SELECT content FROM read_text($manifest)
),
entries AS (
    SELECT unnest(map_keys(m)) AS unique_id, unnest(map_values(m)) AS node
    FROM (SELECT from_json(json_extract(content, '$.nodes'), '"MAP(VARCHAR, JSON)"') AS m FROM doc)
    UNION ALL
    SELECT unnest(map_keys(m)), unnest(map_values(m))
    FROM (SELECT from_json(coalesce(json_extract(content, '$.sources'), '{}'), '"MAP(VARCHAR, JSON)"') AS m FROM doc)
)
SELECT
    unique_id,
    node ->> 'resource_type' AS resource_type,
    CASE WHEN node ->> 'resource_type' = 'source'
         THEN concat_ws('.', node ->> 'source_name', node ->> 'name') ELSE node ->> 'name' END AS display_name,
    node ->> 'package_name' AS package_name,
    node ->> 'database' AS database_name,
    node -> 'test_metadata' ->> 'name' AS test_type,
    coalesce(node -> 'test_metadata' -> 'kwargs' ->> 'column_name', node ->> 'column_name') AS column_name,
    lower(node -> 'config' ->> 'severity') AS severity,
    coalesce(node ->> 'attached_node', json_extract_string(node, '$.depends_on.nodes[0]')) AS tested_node,
    nullif(node ->> 'description', '') AS description
FROM entries

-- name: dbt_no_manifest
-- Without a manifest: no test is described (each test is its own dataset).
CREATE OR REPLACE TEMP TABLE dbt_manifest AS
SELECT
    CAST(NULL AS VARCHAR) AS unique_id, CAST(NULL AS VARCHAR) AS resource_type,
    CAST(NULL AS VARCHAR) AS display_name, CAST(NULL AS VARCHAR) AS package_name,
    CAST(NULL AS VARCHAR) AS database_name, CAST(NULL AS VARCHAR) AS test_type,
    CAST(NULL AS VARCHAR) AS column_name, CAST(NULL AS VARCHAR) AS severity,
    CAST(NULL AS VARCHAR) AS tested_node, CAST(NULL AS VARCHAR) AS description
WHERE false

-- name: dbt_manifest_version
SELECT json_extract_string(content, '$.metadata.dbt_schema_version') FROM read_text($manifest)

-- name: dbt_results
-- One row per node result of every run_results file, in file order, with the fields dqs uses.
-- Each document and each node is parsed once, into a struct of the fields read (a JSON path per
-- field would parse the node's text again for every field: six times slower on 10,000 files).
CREATE OR REPLACE TEMP TABLE dbt_results AS
WITH files AS (
    SELECT
        file_index,
        from_json(content, '{"metadata": {"generated_at": "VARCHAR", "invocation_id": "VARCHAR"}, "results": ["JSON"]}') AS doc
    FROM import_text
),
nodes AS (
    SELECT
        file_index,
        doc.metadata.generated_at AS generated_at,
        doc.metadata.invocation_id AS invocation_id,
        unnest(generate_series(1, len(doc.results))) AS position,
        from_json(unnest(doc.results), '{"unique_id": "VARCHAR", "status": "VARCHAR", "failures": "JSON",
            "message": "VARCHAR", "execution_time": "JSON", "timing": [{"name": "VARCHAR", "completed_at": "VARCHAR"}]}') AS node
    FROM files
)
SELECT
    file_index,
    CAST(position AS BIGINT) AS position,
    node.unique_id,
    split_part(node.unique_id, '.', 1) AS resource_type,
    split_part(node.unique_id, '.', 2) AS project,
    split_part(node.unique_id, '.', 3) AS test_name,
    lower(trim(node.status)) AS tool_status,
    -- when the test ran: its execute step's end, else any step's end, else the artifact's time
    TRY_CAST(coalesce(
        list_filter(node.timing, lambda t: t.name = 'execute')[1].completed_at,
        node.timing[1].completed_at,
        generated_at) AS TIMESTAMPTZ) AS executed_at,
    -- hand-edited files carry failures as a string
    TRY_CAST(json_extract_string(node.failures, '$') AS BIGINT) AS failures,
    node.message,
    TRY_CAST(json_extract_string(node.execution_time, '$') AS DOUBLE) AS execution_time,
    invocation_id
FROM nodes

-- name: dbt_left_out
-- What is not a test result: other node types, and test nodes that never ran (`success` from
-- dbt compile / docs generate). Counted per file and reason for the report.
SELECT
    file_index,
    CASE WHEN resource_type <> 'test' THEN resource_type || ' nodes'
         ELSE 'test nodes with status ' || tool_status || ' (not executed)' END AS reason,
    CAST(count(*) AS BIGINT) AS nodes
FROM dbt_results
WHERE resource_type <> 'test' OR tool_status NOT IN ('pass', 'fail', 'warn', 'error', 'skipped', 'runtime error')
GROUP BY ALL
ORDER BY file_index, reason

-- name: dbt_unknown_tests
-- Executed tests the manifest does not describe (a manifest of another project or run).
SELECT r.file_index, r.unique_id
FROM dbt_results AS r
LEFT JOIN dbt_manifest AS m ON m.unique_id = r.unique_id
WHERE r.resource_type = 'test' AND m.unique_id IS NULL
  AND r.tool_status IN ('pass', 'fail', 'warn', 'error', 'skipped', 'runtime error')
ORDER BY r.file_index, r.position
LIMIT 3

-- name: dbt_imported
-- Executed tests as imported rows (import.sql's `imported`). With a manifest, the dataset is the
-- tested model or source; without one, each test is its own dataset. The rule is the test.
CREATE OR REPLACE TEMP TABLE imported AS
SELECT
    r.file_index,
    r.position,
    coalesce($source, 'dbt') AS source,
    coalesce($tenant, nullif(r.project, ''), 'dbt') AS tenant_id,
    coalesce(t.unique_id, r.unique_id) AS dataset_uuid,
    coalesce(t.display_name, r.test_name, r.unique_id) AS dataset_name,
    r.unique_id AS rule_code,
    coalesce(m.display_name, r.test_name) AS rule_name,
    coalesce(m.test_type, CASE WHEN m.unique_id IS NOT NULL THEN 'singular' END) AS rule_type,
    CASE WHEN m.unique_id IS NULL THEN 'unknown'
         WHEN m.test_type = 'not_null' THEN 'completeness' WHEN m.test_type = 'unique' THEN 'uniqueness'
         WHEN m.test_type = 'accepted_values' THEN 'validity' WHEN m.test_type = 'relationships' THEN 'integrity'
         ELSE 'custom' END AS dimension,
    CASE WHEN m.unique_id IS NULL THEN 'dbt test ' || r.test_name
    ELSE coalesce(m.description, 'dbt test ' || coalesce(m.test_type, 'singular')
             || CASE WHEN m.column_name IS NOT NULL THEN ' on ' || m.column_name ELSE '' END
             || CASE WHEN t.display_name IS NOT NULL THEN ' of ' || t.display_name ELSE '' END) END AS rule_description,
    coalesce(m.severity, 'error') AS category,
    CASE WHEN m.column_name IS NOT NULL THEN 'ATTRIBUTE' ELSE 'DATASET' END AS level_of_execution,
    m.column_name AS attribute_name,
    r.executed_at,
    r.tool_status,
    CASE WHEN r.tool_status IN ('pass', 'fail') THEN r.tool_status
         WHEN r.tool_status = 'warn' THEN $warn_as
         ELSE 'unknown' END AS status,
    CAST(NULL AS BIGINT) AS dataset_record_count,
    CAST(NULL AS BIGINT) AS filtered_record_count,
    'dbt' AS importer,
    to_json({
        'status': r.tool_status, 'severity': m.severity,
        'failures': r.failures, 'message': r.message, 'test_id': r.unique_id,
        'invocation_id': r.invocation_id, 'execution_time': r.execution_time
    }) AS details
FROM dbt_results AS r
LEFT JOIN dbt_manifest AS m ON m.unique_id = r.unique_id
LEFT JOIN dbt_manifest AS t ON t.unique_id = m.tested_node
WHERE r.resource_type = 'test' AND r.tool_status IN ('pass', 'fail', 'warn', 'error', 'skipped', 'runtime error')
