-- Elementary: an export (CSV or Parquet) of its `elementary_test_results` table, with the
-- table's own column names. The engine reads the files into `elementary_rows` (every column as
-- text, plus file_index and position).

-- name: elementary_columns
-- The columns the mapping reads, as text; an export lacking some of the optional ones gets them
-- empty (UNION ALL BY NAME with this empty table).
CREATE OR REPLACE TEMP TABLE elementary_columns (
    test_unique_id VARCHAR, status VARCHAR, detected_at VARCHAR, id VARCHAR, invocation_id VARCHAR,
    model_unique_id VARCHAR, created_at VARCHAR, database_name VARCHAR, schema_name VARCHAR,
    table_name VARCHAR, column_name VARCHAR, test_type VARCHAR, test_sub_type VARCHAR,
    test_results_description VARCHAR, test_name VARCHAR, test_short_name VARCHAR, severity VARCHAR,
    failures VARCHAR, failed_row_count VARCHAR
)

-- name: elementary_csv
-- One CSV export, in file order, with the mapping's columns as text.
SELECT c.* FROM elementary_columns AS c
UNION ALL BY NAME
SELECT * FROM read_csv($path, header = true, all_varchar = true)

-- name: elementary_parquet
-- One Parquet export, in file order, with the mapping's columns as text.
SELECT c.* FROM elementary_columns AS c
UNION ALL BY NAME
SELECT COLUMNS(*)::VARCHAR FROM read_parquet($path)

-- name: elementary_imported
-- Test results as imported rows (import.sql's `imported`): the dataset is the tested model, the
-- rule the dbt test (test_unique_id); statuses as dbt's.
CREATE OR REPLACE TEMP TABLE imported AS
SELECT
    file_index,
    position,
    coalesce($source, 'elementary') AS source,
    coalesce($tenant, nullif(database_name, ''), 'elementary') AS tenant_id,
    coalesce(nullif(model_unique_id, ''), nullif(concat_ws('.', nullif(database_name, ''), nullif(schema_name, ''), nullif(table_name, '')), '')) AS dataset_uuid,
    coalesce(nullif(table_name, ''), nullif(split_part(model_unique_id, '.', -1), '')) AS dataset_name,
    nullif(test_unique_id, '') AS rule_code,
    coalesce(nullif(test_name, ''), nullif(test_short_name, ''), test_unique_id) AS rule_name,
    coalesce(nullif(test_short_name, ''), nullif(test_type, ''), 'unknown') AS rule_type,
    CASE WHEN test_short_name = 'not_null' THEN 'completeness' WHEN test_short_name = 'unique' THEN 'uniqueness'
         WHEN test_short_name = 'accepted_values' THEN 'validity' WHEN test_short_name = 'relationships' THEN 'integrity'
         WHEN test_type = 'anomaly_detection' THEN 'anomaly'
         WHEN test_type = 'schema_change' THEN 'schema'
         ELSE 'custom' END AS dimension,
    coalesce(nullif(test_type, ''), 'dbt_test') || ' ' || coalesce(nullif(test_short_name, ''), nullif(test_name, ''), '')
        || CASE WHEN nullif(column_name, '') IS NOT NULL THEN ' on ' || column_name ELSE '' END AS rule_description,
    coalesce(lower(nullif(severity, '')), 'error') AS category,
    CASE WHEN nullif(column_name, '') IS NOT NULL THEN 'ATTRIBUTE' ELSE 'DATASET' END AS level_of_execution,
    nullif(column_name, '') AS attribute_name,
    coalesce(TRY_CAST(detected_at AS TIMESTAMPTZ), TRY_CAST(created_at AS TIMESTAMPTZ)) AS executed_at,
    coalesce(lower(trim(status)), '') AS tool_status,
    CASE WHEN lower(trim(status)) IN ('pass', 'fail') THEN lower(trim(status))
         WHEN lower(trim(status)) = 'warn' THEN $warn_as
         ELSE 'unknown' END AS status,
    CAST(NULL AS BIGINT) AS dataset_record_count,
    CAST(NULL AS BIGINT) AS filtered_record_count,
    'elementary' AS importer,
    to_json({
        'status': lower(trim(status)), 'severity': lower(nullif(severity, '')),
        'failures': TRY_CAST(failures AS BIGINT),
        'failed_row_count': CASE WHEN TRY_CAST(failed_row_count AS BIGINT) >= 0 THEN TRY_CAST(failed_row_count AS BIGINT) END,
        'test_type': nullif(test_type, ''), 'test_sub_type': nullif(test_sub_type, ''),
        'message': nullif(test_results_description, ''), 'test_id': nullif(test_unique_id, ''),
        'invocation_id': nullif(invocation_id, ''), 'result_id': nullif(id, '')
    }) AS details
FROM elementary_rows
