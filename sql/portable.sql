-- The row-level part of the summary in the portable subset of DuckDB's dialect: plain SELECTs,
-- TRY_CAST, regular expressions without backslashes, no macros, no DuckDB-only types. The Spark
-- engine runs these blocks transpiled by sqlglot (engine/backends/spark.py); the embedded engine runs its
-- faster equivalents in ingest.sql, and tests hold the two to the same results.
--
-- `raw_rows` holds the input columns as text plus `_dqs_file_index` and `_dqs_line_number`.
-- White space is ASCII white space: chr(32), \t, \n, \v, \f, \r.

-- name: checked_rows
-- One row per input row: trimmed texts, typed values, `accepted`, the reasons of a rejected row.
SELECT
    _dqs_file_index AS file_index,
    _dqs_line_number AS line_number,
    source,
    tenant_id,
    dataset_uuid,
    dataset_name,
    rule_code,
    coalesce(results, '') AS results,
    coalesce(level_of_execution, '') AS level_of_execution,
    attribute_name,
    source_clean,
    tenant_id_clean,
    dataset_uuid_clean,
    dataset_name_clean,
    rule_code_clean,
    business_date_clean,
    dataset_record_count_clean,
    filtered_record_count_clean,
    business_date_typed AS business_date,
    dataset_record_count_typed AS dataset_record_count,
    filtered_record_count_typed AS filtered_record_count,
    source_clean IS NOT NULL AND tenant_id_clean IS NOT NULL AND dataset_uuid_clean IS NOT NULL
        AND dataset_name_clean IS NOT NULL AND rule_code_clean IS NOT NULL AND business_date_typed IS NOT NULL
        AND (dataset_record_count_typed IS NOT NULL OR (imported AND dataset_record_count_clean IS NULL))
        AND (filtered_record_count_typed IS NOT NULL OR (imported AND filtered_record_count_clean IS NULL)) AS accepted,
    imported
FROM (
    SELECT
        *,
        -- YYYY-MM-DD, optionally followed by a time after 'T' or a space (ignored)
        CASE WHEN regexp_matches(left(business_date_clean, 10), '^[0-9]{4}-[0-9]{2}-[0-9]{2}$')
                  AND (length(business_date_clean) = 10 OR substring(business_date_clean, 11, 1) IN ('T', ' '))
                  AND left(business_date_clean, 4) <> '0000'
             THEN TRY_CAST(left(business_date_clean, 10) AS DATE) END AS business_date_typed,
        -- whole numbers >= 0: digits, optionally '.' and zeros
        CASE WHEN regexp_matches(dataset_record_count_clean, '^[0-9]+([.]0*)?$')
             THEN TRY_CAST(split_part(dataset_record_count_clean, '.', 1) AS BIGINT) END AS dataset_record_count_typed,
        CASE WHEN regexp_matches(filtered_record_count_clean, '^[0-9]+([.]0*)?$')
             THEN TRY_CAST(split_part(filtered_record_count_clean, '.', 1) AS BIGINT) END AS filtered_record_count_typed,
        -- rows written by `dqs import` may leave the record counts empty (ingest.sql's dqs_imported)
        coalesce(ltrim(results, chr(32) || chr(9) || chr(10) || chr(11) || chr(12) || chr(13)) LIKE '{"importer":"%', false) AS imported
    FROM (
        SELECT
            *,
            nullif(trim(source, chr(32) || chr(9) || chr(10) || chr(11) || chr(12) || chr(13)), '') AS source_clean,
            nullif(trim(tenant_id, chr(32) || chr(9) || chr(10) || chr(11) || chr(12) || chr(13)), '') AS tenant_id_clean,
            nullif(trim(dataset_uuid, chr(32) || chr(9) || chr(10) || chr(11) || chr(12) || chr(13)), '') AS dataset_uuid_clean,
            nullif(trim(dataset_name, chr(32) || chr(9) || chr(10) || chr(11) || chr(12) || chr(13)), '') AS dataset_name_clean,
            nullif(trim(rule_code, chr(32) || chr(9) || chr(10) || chr(11) || chr(12) || chr(13)), '') AS rule_code_clean,
            nullif(trim(business_date, chr(32) || chr(9) || chr(10) || chr(11) || chr(12) || chr(13)), '') AS business_date_clean,
            nullif(trim(dataset_record_count, chr(32) || chr(9) || chr(10) || chr(11) || chr(12) || chr(13)), '') AS dataset_record_count_clean,
            nullif(trim(filtered_record_count, chr(32) || chr(9) || chr(10) || chr(11) || chr(12) || chr(13)), '') AS filtered_record_count_clean
        FROM raw_rows
    ) AS trimmed
) AS typed

-- name: file_totals
-- Per input file: rows read, and the latest business date among its accepted rows (on or
-- before $as_of, when given); R is the latest of these.
SELECT
    file_index,
    count(*) AS rows_read,
    max(business_date) FILTER (WHERE accepted AND ($as_of IS NULL OR business_date <= CAST($as_of AS DATE))) AS latest_date
FROM checked_rows
GROUP BY file_index

-- name: staged
-- Accepted rows per (in scope, key texts as read, results text, window bucket relative to
-- $window_anchor): counts, and the values of the latest row by (date, file, line), whose
-- position is one sortable text; rejected rows one by one, with their reasons and values.
-- In the same pass (a second grouping set, `is_file_total`), the rows read per input file.
SELECT
    grouping(input_file_index) = 0 AS is_file_total,
    input_file_index,
    accepted,
    in_scope,
    source,
    tenant_id,
    dataset_uuid,
    dataset_name,
    rule_code,
    results,
    window_bucket,
    reject_file_index AS file_index,
    reject_line,
    reject_reason,
    reject_source,
    reject_tenant_id,
    reject_dataset_uuid,
    reject_dataset_name,
    reject_rule_code,
    reject_business_date,
    reject_dataset_record_count,
    reject_filtered_record_count,
    count(*) AS row_count,
    max(position) AS latest_key,
    nullif(arg_max(coalesce(dataset_record_count, -1), position), -1) AS latest_dataset_record_count,
    nullif(arg_max(coalesce(filtered_record_count, -1), position), -1) AS latest_filtered_record_count,
    arg_max(level_of_execution, position) AS latest_level_of_execution
FROM (
    SELECT
        file_index AS input_file_index,
        accepted,
        accepted AND ($as_of IS NULL OR business_date <= CAST($as_of AS DATE)) AS in_scope,
        CASE WHEN accepted THEN source END AS source,
        CASE WHEN accepted THEN tenant_id END AS tenant_id,
        CASE WHEN accepted THEN dataset_uuid END AS dataset_uuid,
        CASE WHEN accepted THEN dataset_name END AS dataset_name,
        CASE WHEN accepted THEN rule_code END AS rule_code,
        CASE WHEN accepted THEN results END AS results,
        CASE WHEN NOT accepted THEN 0
             WHEN business_date >= CAST($window_anchor AS DATE) - 30 THEN 3
             WHEN business_date >= CAST($window_anchor AS DATE) - 90 THEN 2
             WHEN business_date >= CAST($window_anchor AS DATE) - 365 THEN 1
             ELSE 0 END AS window_bucket,
        CASE WHEN accepted THEN CAST(business_date AS VARCHAR)
                 || lpad(CAST(file_index AS VARCHAR), 10, '0') || lpad(CAST(line_number AS VARCHAR), 19, '0')
        END AS position,
        dataset_record_count,
        filtered_record_count,
        level_of_execution,
        CASE WHEN NOT accepted THEN file_index END AS reject_file_index,
        CASE WHEN NOT accepted THEN line_number END AS reject_line,
        CASE WHEN NOT accepted THEN concat_ws('; ',
            CASE WHEN source_clean IS NULL THEN 'source is empty' END,
            CASE WHEN tenant_id_clean IS NULL THEN 'tenant_id is empty' END,
            CASE WHEN dataset_uuid_clean IS NULL THEN 'dataset_uuid is empty' END,
            CASE WHEN dataset_name_clean IS NULL THEN 'dataset_name is empty' END,
            CASE WHEN rule_code_clean IS NULL THEN 'rule_code is empty' END,
            CASE WHEN business_date_clean IS NULL THEN 'business_date is empty'
                 WHEN business_date IS NULL THEN 'business_date is not a valid YYYY-MM-DD date' END,
            CASE WHEN dataset_record_count_clean IS NULL THEN CASE WHEN NOT imported THEN 'dataset_record_count is empty' END
                 WHEN dataset_record_count IS NULL THEN 'dataset_record_count is not a whole number >= 0' END,
            CASE WHEN filtered_record_count_clean IS NULL THEN CASE WHEN NOT imported THEN 'filtered_record_count is empty' END
                 WHEN filtered_record_count IS NULL THEN 'filtered_record_count is not a whole number >= 0' END
        ) END AS reject_reason,
        CASE WHEN NOT accepted THEN source_clean END AS reject_source,
        CASE WHEN NOT accepted THEN tenant_id_clean END AS reject_tenant_id,
        CASE WHEN NOT accepted THEN dataset_uuid_clean END AS reject_dataset_uuid,
        CASE WHEN NOT accepted THEN dataset_name_clean END AS reject_dataset_name,
        CASE WHEN NOT accepted THEN rule_code_clean END AS reject_rule_code,
        CASE WHEN NOT accepted THEN business_date_clean END AS reject_business_date,
        CASE WHEN NOT accepted THEN dataset_record_count_clean END AS reject_dataset_record_count,
        CASE WHEN NOT accepted THEN filtered_record_count_clean END AS reject_filtered_record_count
    FROM checked_rows
) AS keyed
GROUP BY GROUPING SETS (
    (accepted, in_scope, source, tenant_id, dataset_uuid, dataset_name, rule_code, results, window_bucket,
     reject_file_index, reject_line, reject_reason, reject_source, reject_tenant_id, reject_dataset_uuid,
     reject_dataset_name, reject_rule_code, reject_business_date, reject_dataset_record_count,
     reject_filtered_record_count),
    (input_file_index)
)

-- name: results
-- Analysts' `results`: accepted rows in scope with trimmed texts, the status of their results
-- text (from `statuses`, parsed once per distinct text by the engine) and extra input columns.
SELECT
    c.source_clean AS source,
    c.tenant_id_clean AS tenant_id,
    c.dataset_uuid_clean AS dataset_uuid,
    c.dataset_name_clean AS dataset_name,
    c.rule_code_clean AS rule_code,
    c.business_date,
    c.results,
    s.status,
    nullif(trim(c.level_of_execution, chr(32) || chr(9) || chr(10) || chr(11) || chr(12) || chr(13)), '') AS level_of_execution,
    nullif(trim(c.attribute_name, chr(32) || chr(9) || chr(10) || chr(11) || chr(12) || chr(13)), '') AS attribute_name,
    c.dataset_record_count,
    c.filtered_record_count,
    f.path AS input_file,
    c.line_number AS input_line
FROM checked_rows AS c
JOIN statuses AS s ON s.results = c.results
JOIN input_files AS f ON f.file_index = c.file_index
WHERE c.accepted AND ($as_of IS NULL OR c.business_date <= CAST($as_of AS DATE))

-- name: daily
-- Analysts' `daily`: per series and day, pass, fail and unknown-status rows and all runs.
SELECT
    dataset_uuid,
    rule_code,
    business_date,
    count(*) FILTER (WHERE status = 'pass') AS passes,
    count(*) FILTER (WHERE status = 'fail') AS fails,
    count(*) FILTER (WHERE status = 'unknown') AS unknown,
    count(*) AS runs
FROM results
GROUP BY dataset_uuid, rule_code, business_date

-- name: store_state
-- The history store's summary state at $reference from its daily rows (`store_daily`, the
-- Parquet files of one store version), for an engine that reads the store's tables itself:
-- the same figures as store.sql's fold_state, with the latest row's position as one sortable
-- text (date, file id, line).
SELECT
    source,
    tenant_id,
    dataset_uuid,
    dataset_name,
    rule_code,
    sum(passes) AS pass_count_total,
    sum(fails) AS fail_count_total,
    sum(unknown) AS unknown_count_total,
    sum(CASE WHEN business_date >= CAST($reference AS DATE) - 365 THEN passes ELSE 0 END) AS pass_count_12m,
    sum(CASE WHEN business_date >= CAST($reference AS DATE) - 365 THEN fails ELSE 0 END) AS fail_count_12m,
    sum(CASE WHEN business_date >= CAST($reference AS DATE) - 90 THEN passes ELSE 0 END) AS pass_count_3m,
    sum(CASE WHEN business_date >= CAST($reference AS DATE) - 90 THEN fails ELSE 0 END) AS fail_count_3m,
    sum(CASE WHEN business_date >= CAST($reference AS DATE) - 30 THEN passes ELSE 0 END) AS pass_count_1m,
    sum(CASE WHEN business_date >= CAST($reference AS DATE) - 30 THEN fails ELSE 0 END) AS fail_count_1m,
    max(position) AS latest_key,
    nullif(arg_max(coalesce(latest_dataset_record_count, -1), position), -1) AS dataset_record_count_latest,
    nullif(arg_max(coalesce(latest_filtered_record_count, -1), position), -1) AS filtered_record_count_latest,
    arg_max(latest_level_of_execution, position) AS level_of_execution_latest
FROM (
    SELECT
        *,
        CAST(business_date AS VARCHAR) || lpad(CAST(file_id AS VARCHAR), 10, '0')
            || lpad(CAST(latest_line AS VARCHAR), 19, '0') AS position
    FROM store_daily
    WHERE $as_of IS NULL OR business_date <= CAST($as_of AS DATE)
) AS daily_rows
GROUP BY source, tenant_id, dataset_uuid, dataset_name, rule_code

-- name: store_rows_after
-- Rows of the store's daily state dated after $as_of.
SELECT coalesce(sum(runs), 0) AS rows_after FROM store_daily WHERE business_date > CAST($as_of AS DATE)
