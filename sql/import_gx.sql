-- Great Expectations: suite validation results (0.x and 1.x key names), checkpoint and
-- validation-operator results that wrap several of them, and a validations store's folder of
-- such files. Read by JSON path from `import_text` (import.sql).

-- name: gx_kinds
-- Per file (each one a JSON object): which GX document it is.
SELECT
    file_index,
    path,
    CASE WHEN json_type(content, '$.results') = 'ARRAY' AND json_type(content, '$.statistics') = 'OBJECT' THEN 'validation'
         WHEN json_type(content, '$.run_results') = 'OBJECT' THEN 'checkpoint'
         WHEN json_type(content, '$.validation_results') = 'ARRAY' THEN 'checkpoint description'
    END AS kind,
    coalesce(json_extract_string(content, '$.meta.great_expectations_version'),
             json_extract_string(content, '$.validation_results[0].meta.great_expectations_version')) AS gx_version
FROM import_text
ORDER BY file_index

-- name: gx_validations
-- One row per suite validation result: a file that is one, the entries of a checkpoint's (or a
-- 0.x validation operator's) `run_results`, or the items of a 1.x checkpoint description.
CREATE OR REPLACE TEMP TABLE gx_validations AS
WITH kinds AS (
    SELECT
        file_index,
        content,
        CASE WHEN json_type(content, '$.results') = 'ARRAY' AND json_type(content, '$.statistics') = 'OBJECT' THEN 'validation'
             WHEN json_type(content, '$.run_results') = 'OBJECT' THEN 'checkpoint'
             WHEN json_type(content, '$.validation_results') = 'ARRAY' THEN 'checkpoint description'
        END AS kind
    FROM import_text
),
wrapped AS (
    SELECT file_index, content,
           unnest(generate_series(1, CAST(cardinality(m) AS BIGINT))) AS validation_position,
           unnest(map_values(m)) AS entry
    FROM (SELECT file_index, content, from_json(json_extract(content, '$.run_results'), '"MAP(VARCHAR, JSON)"') AS m
          FROM kinds WHERE kind = 'checkpoint')
),
described AS (
    SELECT file_index, content,
           unnest(generate_series(1, CAST(json_array_length(content, '$.validation_results') AS BIGINT))) AS validation_position,
           unnest(from_json(json_extract(content, '$.validation_results'), '["JSON"]')) AS validation
    FROM kinds WHERE kind = 'checkpoint description'
)
SELECT file_index, 1 AS validation_position, CAST(content AS JSON) AS validation, NULL AS run_time_outer
FROM kinds WHERE kind = 'validation'
UNION ALL
SELECT file_index, validation_position, coalesce(entry -> 'validation_result', entry),
       coalesce(json_extract_string(content, '$.run_id.run_time'), json_extract_string(content, '$.run_id'))
FROM wrapped
UNION ALL
SELECT file_index, validation_position, validation,
       coalesce(json_extract_string(content, '$.run_id.run_time'), json_extract_string(content, '$.run_time'))
FROM described

-- name: gx_results
-- One row per expectation result, with the fields dqs uses.
CREATE OR REPLACE TEMP TABLE gx_results AS
WITH validations AS (
    SELECT
        file_index,
        validation_position,
        validation,
        coalesce(validation ->> 'suite_name', validation -> 'meta' ->> 'expectation_suite_name') AS suite_name,
        coalesce(validation -> 'meta' -> 'active_batch_definition' ->> 'datasource_name',
                 validation -> 'meta' -> 'batch_spec' ->> 'datasource_name',
                 validation -> 'meta' -> 'batch_kwargs' ->> 'datasource') AS datasource_name,
        coalesce(validation -> 'meta' -> 'active_batch_definition' ->> 'data_asset_name',
                 validation -> 'meta' -> 'batch_spec' ->> 'data_asset_name',
                 validation -> 'meta' -> 'batch_kwargs' ->> 'data_asset_name',
                 validation -> 'meta' -> 'batch_kwargs' ->> 'table') AS asset_name,
        validation -> 'meta' ->> 'batch_id' AS batch_id,
        -- run time: meta.run_id.run_time (0.x and 1.x), a 0.x run_id string, the validation time
        coalesce(
            TRY_CAST(validation -> 'meta' -> 'run_id' ->> 'run_time' AS TIMESTAMPTZ),
            TRY_CAST(validation -> 'meta' ->> 'validation_time' AS TIMESTAMPTZ),
            TRY_CAST(run_time_outer AS TIMESTAMPTZ),
            TRY_CAST(TRY_STRPTIME(validation -> 'meta' ->> 'run_id', '%Y%m%dT%H%M%S.%fZ') AS TIMESTAMPTZ),
            TRY_CAST(TRY_STRPTIME(validation -> 'meta' ->> 'validation_time', '%Y%m%dT%H%M%S.%fZ') AS TIMESTAMPTZ)
        ) AS executed_at,
        coalesce(validation -> 'meta' -> 'run_id' ->> 'run_name', validation -> 'meta' ->> 'run_id') AS run_name,
        coalesce(json_extract(validation, '$.results'), json_extract(validation, '$.expectations')) AS results
    FROM gx_validations
),
expectations AS (
    SELECT
        *,
        unnest(generate_series(1, CAST(json_array_length(results) AS BIGINT))) AS result_position,
        unnest(from_json(results, '["JSON"]')) AS r
    FROM validations
)
SELECT
    file_index,
    validation_position,
    result_position,
    suite_name,
    datasource_name,
    asset_name,
    batch_id,
    executed_at,
    run_name,
    coalesce(r -> 'expectation_config' ->> 'type', r -> 'expectation_config' ->> 'expectation_type',
             r ->> 'expectation_type', r ->> 'type') AS expectation_type,
    coalesce(r -> 'expectation_config' -> 'kwargs', r -> 'kwargs') AS kwargs,
    coalesce(r -> 'expectation_config' -> 'kwargs', r -> 'kwargs') ->> 'column' AS column_name,
    r -> 'expectation_config' ->> 'id' AS expectation_id,
    lower(coalesce(r -> 'expectation_config' ->> 'severity', r -> 'expectation_config' -> 'meta' ->> 'severity')) AS severity,
    nullif(coalesce(r -> 'expectation_config' -> 'meta' ->> 'notes', r -> 'expectation_config' ->> 'description'), '') AS description,
    -- a result that raised: exception_info.raised_exception, or any raised entry of a 1.x map of them
    coalesce(CAST(r -> 'exception_info' ->> 'raised_exception' AS BOOLEAN), false)
        OR regexp_matches(coalesce(CAST(r -> 'exception_info' AS VARCHAR), ''), '"raised_exception"\s*:\s*true') AS raised,
    nullif(coalesce(r -> 'exception_info' ->> 'exception_message',
             regexp_extract(coalesce(CAST(r -> 'exception_info' AS VARCHAR), ''), '"exception_message"\s*:\s*"((?:[^"\\]|\\.)*)"', 1)), '') AS exception_message,
    TRY_CAST(r ->> 'success' AS BOOLEAN) AS success,
    TRY_CAST(r -> 'result' ->> 'element_count' AS BIGINT) AS element_count,
    TRY_CAST(r -> 'result' ->> 'missing_count' AS BIGINT) AS missing_count,
    TRY_CAST(r -> 'result' ->> 'unexpected_count' AS BIGINT) AS unexpected_count,
    TRY_CAST(r -> 'result' ->> 'unexpected_percent' AS DOUBLE) AS unexpected_percent,
    r -> 'result' -> 'observed_value' AS observed_value
FROM expectations

-- name: gx_imported
-- Expectation results as imported rows (import.sql's `imported`): the dataset is the data asset,
-- the rule is the expectation (suite, type, column); success is a pass, failure a fail, a
-- result that raised an exception (or has no outcome) an unknown status.
CREATE OR REPLACE TEMP TABLE imported AS
SELECT
    file_index,
    CAST(validation_position AS BIGINT) * 1000000 + result_position AS position,
    coalesce($source, 'gx') AS source,
    coalesce($tenant, datasource_name, 'gx') AS tenant_id,
    coalesce(concat_ws('.', datasource_name, asset_name), suite_name, 'gx') AS dataset_uuid,
    coalesce(asset_name, suite_name, 'gx') AS dataset_name,
    concat_ws('/', coalesce(suite_name, 'suite'), expectation_type, column_name) AS rule_code,
    expectation_type || CASE WHEN column_name IS NOT NULL THEN ' (' || column_name || ')' ELSE '' END AS rule_name,
    expectation_type AS rule_type,
    CASE WHEN expectation_type LIKE '%not_be_null%' OR expectation_type LIKE '%to_be_null%' THEN 'completeness'
         WHEN expectation_type LIKE '%unique%' THEN 'uniqueness'
         WHEN expectation_type LIKE '%row_count%' THEN 'volume'
         WHEN expectation_type LIKE '%column_to_exist%' OR expectation_type LIKE '%columns_to_match%' THEN 'schema'
         ELSE 'validity' END AS dimension,
    coalesce(description, 'Great Expectations ' || expectation_type
             || CASE WHEN column_name IS NOT NULL THEN ' on ' || column_name ELSE '' END
             || CASE WHEN suite_name IS NOT NULL THEN ' (suite ' || suite_name || ')' ELSE '' END) AS rule_description,
    coalesce(severity, 'critical') AS category,
    CASE WHEN column_name IS NOT NULL THEN 'ATTRIBUTE' ELSE 'DATASET' END AS level_of_execution,
    column_name AS attribute_name,
    executed_at,
    CASE WHEN raised THEN 'error' WHEN success THEN 'success' WHEN NOT success THEN 'failure' ELSE 'no outcome' END AS tool_status,
    CASE WHEN raised OR success IS NULL THEN 'unknown' WHEN success THEN 'pass' ELSE 'fail' END AS status,
    element_count AS dataset_record_count,
    CASE WHEN element_count IS NOT NULL AND missing_count IS NOT NULL THEN element_count - missing_count END AS filtered_record_count,
    'gx' AS importer,
    to_json({
        'status': CASE WHEN raised THEN 'error' WHEN success THEN 'success' WHEN NOT success THEN 'failure' END,
        'severity': severity, 'unexpected_count': unexpected_count, 'unexpected_percent': unexpected_percent,
        'observed_value': observed_value, 'message': exception_message, 'suite': suite_name,
        'expectation_id': expectation_id, 'run_name': run_name, 'batch_id': batch_id
    }) AS details
FROM gx_results
