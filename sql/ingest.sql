-- Ingestion: from the raw input rows to typed, validated, per-day aggregates.
--
-- `raw_rows` holds every input column as read, plus `_dqs_file_index` and `_dqs_line_number`
-- (1-based data row in its file). Nothing here reads files by name except `raw_rows_parquet`.

-- name: create_macros
-- Helpers shared by every block, created once per database (Database.create_macros) in its main
-- schema, which every connection to it sees. White space means ASCII white space (space, \t, \n, \v, \f, \r);
-- case-insensitive means ASCII case-insensitive.
-- Trimming is slow, so values are only trimmed when their first or last character is a space
-- or a control character; then \t, \n, \v, \f, \r and spaces are removed from both ends.
CREATE OR REPLACE MACRO dqs_trim(s) AS
    CASE WHEN ascii(s) <= 32 OR ascii(substring(s, length(s))) <= 32
         THEN trim(s, chr(32) || chr(9) || chr(10) || chr(11) || chr(12) || chr(13))
         ELSE s END;
CREATE OR REPLACE MACRO dqs_lower_ascii(s) AS
    translate(s, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz');
-- Rule codes that are all digits match as integers: '007' and '7' share the key '7'.
CREATE OR REPLACE MACRO dqs_rule_key(code) AS
    CASE WHEN regexp_full_match(code, '[0-9]+') THEN coalesce(nullif(ltrim(code, '0'), ''), '0')
         ELSE code END;
-- A whole number >= 0: digits, optionally followed by '.' and zeros ('1200', '1200.0').
CREATE OR REPLACE MACRO dqs_whole_number(s) AS
    CASE WHEN regexp_full_match(s, '[0-9]+(?:\.0*)?') THEN TRY_CAST(split_part(s, '.', 1) AS BIGINT) END;
-- YYYY-MM-DD, optionally followed by a time after 'T' or a space, which is ignored.
CREATE OR REPLACE MACRO dqs_business_date(s) AS
    CASE WHEN regexp_full_match(s, '(?s)[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ].*)?') AND left(s, 4) <> '0000'
         THEN TRY_CAST(left(s, 10) AS DATE) END;
-- Column types, decided when a query is planned (typeof() of a column is a constant).
CREATE OR REPLACE MACRO dqs_is_date_type(x) AS typeof(x) = 'DATE';
CREATE OR REPLACE MACRO dqs_is_integer_type(x) AS
    typeof(x) IN ('TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'UTINYINT', 'USMALLINT', 'UINTEGER', 'UBIGINT');
-- The status of a results text: the JSON object's `result` field, or its `status` field when
-- `result` is not a string; trimmed, ASCII case-insensitive; 'pass', 'fail' or 'unknown'.
CREATE OR REPLACE MACRO dqs_status(results) AS
    CASE dqs_lower_ascii(dqs_trim(
        CASE WHEN json_valid(results) AND json_type(results) = 'OBJECT' THEN
            CASE WHEN json_type(results, '$.result') = 'VARCHAR' THEN json_extract_string(results, '$.result')
                 WHEN json_type(results, '$.status') = 'VARCHAR' THEN json_extract_string(results, '$.status')
            END
        END))
        WHEN 'pass' THEN 'pass'
        WHEN 'fail' THEN 'fail'
        ELSE 'unknown'
    END;
-- A row written by `dqs import`: its results text starts with {"importer":" (after white space).
-- Such rows may leave the record counts empty (unknown); a LIKE prefix reads the same on Spark.
CREATE OR REPLACE MACRO dqs_imported(results) AS
    ltrim(results, chr(32) || chr(9) || chr(10) || chr(11) || chr(12) || chr(13)) LIKE '{"importer":"%';
-- Every line feed, carriage return and tab becomes one space, so a sentence stays on one line.
-- translate() is slow; most values hold none of the three, which contains() finds out fast.
CREATE OR REPLACE MACRO dqs_one_line(s) AS
    CASE WHEN contains(s, chr(10)) OR contains(s, chr(13)) OR contains(s, chr(9))
         THEN translate(s, chr(10) || chr(13) || chr(9), '   ')
         ELSE coalesce(s, '') END

-- name: raw_rows_parquet
-- Parquet files as `raw_rows`: DuckDB gives each row's position in its file.
SELECT
    * EXCLUDE (file_row_number),
    CAST(file_index AS INTEGER) AS _dqs_file_index,
    CAST(file_row_number + 1 AS BIGINT) AS _dqs_line_number
FROM read_parquet($files, file_row_number = true, union_by_name = true)

-- name: guess_reference_date_parquet
-- A cheap first guess of R for Parquet input: reads the business_date column only. A guess may be
-- off (a lenient cast, a rejected row); the staging pass computes the true R and is redone then.
SELECT max(TRY_CAST(business_date AS DATE)) FROM raw_rows

-- name: guess_reference_date_rows
-- A cheap first guess of R from a few rows (the tails of CSV files), in `tail_rows`.
SELECT max(dqs_business_date(dqs_trim(CAST(business_date AS VARCHAR)))) FROM tail_rows

-- name: create_checked_macro
-- dqs_checked_rows(window_anchor, as_of): every row of `raw_rows` validated, one per input row
-- (a table macro: every consumer aggregates it; read by create_stage_macro's dqs_stage_rows).
--
-- Most rows are "regular": keys that start with a visible character, a canonical YYYY-MM-DD
-- date and canonical whole numbers, recognised by plain casts and a round trip. Only the other
-- rows pay for trimming, regular expressions and reasons (CASE evaluates them for those rows
-- only). Keys of regular rows may still end in white space: they are trimmed after the pass,
-- once per distinct value.
CREATE OR REPLACE TEMP MACRO dqs_checked_rows(dqs_window_anchor, dqs_as_of) AS TABLE
WITH raw AS (
    SELECT
        _dqs_file_index AS file_index,
        _dqs_line_number AS line_number,
        CAST(source AS VARCHAR) AS source_text,
        CAST(tenant_id AS VARCHAR) AS tenant_id_text,
        CAST(dataset_uuid AS VARCHAR) AS dataset_uuid_text,
        CAST(dataset_name AS VARCHAR) AS dataset_name_text,
        CAST(rule_code AS VARCHAR) AS rule_code_text,
        coalesce(CAST(results AS VARCHAR), '') AS results,
        coalesce(CAST(level_of_execution AS VARCHAR), '') AS level_of_execution,
        CAST(attribute_name AS VARCHAR) AS attribute_name_text,
        -- kept in their input types: typed Parquet columns need no text round trip
        business_date AS business_date_in,
        dataset_record_count AS dataset_record_count_in,
        filtered_record_count AS filtered_record_count_in,
        -- strptime with one format is cheaper than a cast that tries several
        CAST(TRY_STRPTIME(CAST(business_date AS VARCHAR), '%Y-%m-%d') AS DATE) AS fast_date,
        TRY_CAST(dataset_record_count AS BIGINT) AS fast_dataset_record_count,
        TRY_CAST(filtered_record_count AS BIGINT) AS fast_filtered_record_count,
        -- the whole input row as a struct, for analysts' `results` (pruned when unused)
        input_row
    FROM raw_rows AS input_row
),
classified AS (
    SELECT
        *,
        coalesce(
            -- a first byte >= '!' means the text neither is empty nor starts with white space
            source_text >= '!' AND tenant_id_text >= '!' AND dataset_uuid_text >= '!'
            AND dataset_name_text >= '!' AND rule_code_text >= '!'
            -- typeof() is folded when the query is planned: DATE and integer columns skip the
            -- checks that prove a text was canonical (a YYYY-MM-DD round trip, plain digits)
            AND fast_date IS NOT NULL
            AND (dqs_is_date_type(business_date_in) OR CAST(fast_date AS VARCHAR) = CAST(business_date_in AS VARCHAR))
            AND fast_dataset_record_count >= 0
            AND (dqs_is_integer_type(dataset_record_count_in)
                 OR regexp_full_match(CAST(dataset_record_count_in AS VARCHAR), '[1-9][0-9]*|0'))
            AND fast_filtered_record_count >= 0
            AND (dqs_is_integer_type(filtered_record_count_in)
                 OR regexp_full_match(CAST(filtered_record_count_in AS VARCHAR), '[1-9][0-9]*|0')),
            false) AS regular
    FROM raw
),
cleaned AS (
    -- Trimmed texts of irregular rows, for their checks and reasons; NULL for regular rows.
    SELECT
        *,
        CASE WHEN NOT regular THEN nullif(dqs_trim(source_text), '') END AS source_clean,
        CASE WHEN NOT regular THEN nullif(dqs_trim(tenant_id_text), '') END AS tenant_id_clean,
        CASE WHEN NOT regular THEN nullif(dqs_trim(dataset_uuid_text), '') END AS dataset_uuid_clean,
        CASE WHEN NOT regular THEN nullif(dqs_trim(dataset_name_text), '') END AS dataset_name_clean,
        CASE WHEN NOT regular THEN nullif(dqs_trim(rule_code_text), '') END AS rule_code_clean,
        CASE WHEN NOT regular THEN nullif(dqs_trim(CAST(business_date_in AS VARCHAR)), '') END AS business_date_clean,
        CASE WHEN NOT regular THEN nullif(dqs_trim(CAST(dataset_record_count_in AS VARCHAR)), '') END AS dataset_record_count_clean,
        CASE WHEN NOT regular THEN nullif(dqs_trim(CAST(filtered_record_count_in AS VARCHAR)), '') END AS filtered_record_count_clean
    FROM classified
),
typed AS (
    SELECT
        *,
        CASE WHEN regular THEN fast_date ELSE dqs_business_date(business_date_clean) END AS business_date,
        CASE WHEN regular THEN fast_dataset_record_count ELSE dqs_whole_number(dataset_record_count_clean) END AS dataset_record_count,
        CASE WHEN regular THEN fast_filtered_record_count ELSE dqs_whole_number(filtered_record_count_clean) END AS filtered_record_count,
        -- rows written by `dqs import` may leave the record counts empty: the tool did not know them
        NOT regular AND dqs_imported(results) AS imported
    FROM cleaned
),
checked AS (
    SELECT
        *,
        regular OR (source_clean IS NOT NULL AND tenant_id_clean IS NOT NULL
            AND dataset_uuid_clean IS NOT NULL AND dataset_name_clean IS NOT NULL
            AND rule_code_clean IS NOT NULL AND business_date IS NOT NULL
            AND (dataset_record_count IS NOT NULL OR (imported AND dataset_record_count_clean IS NULL))
            AND (filtered_record_count IS NOT NULL OR (imported AND filtered_record_count_clean IS NULL))) AS accepted
    FROM typed
),
keyed AS (
    SELECT
        accepted,
        accepted AND (CAST(dqs_as_of AS DATE) IS NULL OR business_date <= CAST(dqs_as_of AS DATE)) AS in_scope,
        -- keys stay as read; they are trimmed after the pass, once per distinct value
        source_text AS source,
        tenant_id_text AS tenant_id,
        dataset_uuid_text AS dataset_uuid,
        dataset_name_text AS dataset_name,
        rule_code_text AS rule_code,
        results,
        business_date,
        -- 0: older than R-365, 1: within 12 months, 2: within 3 months, 3: within 1 month
        CASE WHEN business_date >= CAST(dqs_window_anchor AS DATE) - 30 THEN 3
             WHEN business_date >= CAST(dqs_window_anchor AS DATE) - 90 THEN 2
             WHEN business_date >= CAST(dqs_window_anchor AS DATE) - 365 THEN 1
             ELSE 0 END AS window_bucket,
        -- input position ordered by (business date, file, line), packed in one HUGEINT
        (CAST(business_date - DATE '0001-01-01' AS HUGEINT) << 80)
            + (CAST(file_index AS HUGEINT) << 48) + line_number AS row_position,
        dataset_record_count,
        filtered_record_count,
        level_of_execution,
        attribute_name_text AS attribute_name,
        file_index,
        line_number,
        input_row,
        -- rejected rows keep their file, line, reasons and raw values
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
        CASE WHEN NOT accepted THEN {
            'source': source_clean, 'tenant_id': tenant_id_clean, 'dataset_uuid': dataset_uuid_clean,
            'dataset_name': dataset_name_clean, 'rule_code': rule_code_clean,
            'business_date': business_date_clean,
            'dataset_record_count': dataset_record_count_clean,
            'filtered_record_count': filtered_record_count_clean} END AS rejected_values
    FROM checked
)
SELECT * FROM keyed;

-- name: create_stage_macro
-- dqs_stage_rows(window_anchor, as_of): one pass over `raw_rows` validates every row (with
-- create_checked_macro's dqs_checked_rows, which must exist) and
-- aggregates it into a small table (a table macro, so the dates are bound as values):
--   accepted rows per (in_scope, the five key texts, results text): counts, window counts, the
--     latest date and the latest row in input order. `results` is part of the key so its JSON
--     is parsed once per distinct text afterwards, never per row;
--   rejected rows one by one (file, line, reasons and raw values are part of the key).
-- Window counts are taken relative to window_anchor. The engine passes its best guess of the
-- reference date R and runs the pass again with the true R when the guess was wrong, so the
-- counts are always exact. Rows dated after an explicit as_of are out of scope.
CREATE OR REPLACE TEMP MACRO dqs_stage_rows(dqs_window_anchor, dqs_as_of) AS TABLE
SELECT
    accepted,
    in_scope,
    source,
    tenant_id,
    dataset_uuid,
    dataset_name,
    rule_code,
    results,
    reject_file_index AS file_index,
    reject_line,
    reject_reason,
    rejected_values,
    count(*) AS row_count,
    -- rows per rolling window as counts, not as a grouping key: fewer groups, less memory
    count(*) FILTER (WHERE window_bucket >= 1) AS rows_in_12m,
    count(*) FILTER (WHERE window_bucket >= 2) AS rows_in_3m,
    count(*) FILTER (WHERE window_bucket >= 3) AS rows_in_1m,
    max(row_position) AS latest_position,
    arg_max_null(dataset_record_count, row_position) AS latest_dataset_record_count,
    arg_max_null(filtered_record_count, row_position) AS latest_filtered_record_count,
    arg_max(level_of_execution, row_position) AS latest_level_of_execution
FROM dqs_checked_rows(dqs_window_anchor, dqs_as_of)
-- the reject columns are NULL for accepted rows, and make each rejected row a group of its own
GROUP BY accepted, in_scope, source, tenant_id, dataset_uuid, dataset_name, rule_code, results,
         reject_file_index, reject_line, reject_reason, rejected_values

-- name: stage_input
-- The staging pass over the whole input, anchored on $window_anchor, with rows after $as_of
-- out of scope.
CREATE OR REPLACE TEMP TABLE staged AS
SELECT * FROM dqs_stage_rows(CAST($window_anchor AS DATE), CAST($as_of AS DATE))

-- name: csv_irregular_rows
-- CSV input is staged by Polars (engine/inputs/csv_stage.py) into `csv_staged`: regular rows already
-- aggregated, every other row as read, one per line. Those others become `raw_rows` here, so
-- stage_input checks them with the same SQL as any input.
CREATE OR REPLACE TEMP VIEW raw_rows AS
SELECT
    source,
    tenant_id,
    dataset_uuid,
    dataset_name,
    rule_code,
    irregular_business_date AS business_date,
    results,
    level_of_execution,
    irregular_attribute_name AS attribute_name,
    irregular_dataset_record_count AS dataset_record_count,
    irregular_filtered_record_count AS filtered_record_count,
    file_index AS _dqs_file_index,
    irregular_line AS _dqs_line_number
FROM csv_staged
WHERE NOT regular

-- name: drop_csv_irregular_rows
DROP VIEW IF EXISTS raw_rows

-- name: unordered_inserts
-- `staged` is only ever aggregated, so its rows need not keep their order (halves the insert).
SET preserve_insertion_order = false

-- name: ordered_inserts
RESET preserve_insertion_order

-- name: staged_from_csv
-- Adds the regular CSV rows that Polars aggregated to `staged` (which stage_input made from the
-- others). Their position is (days since 0001-01-01) << $line_bits | line, within their file;
-- it becomes the packed position of dqs_stage_rows, which adds the file.
INSERT INTO staged BY NAME
SELECT
    true AS accepted,
    in_scope,
    source,
    tenant_id,
    dataset_uuid,
    dataset_name,
    rule_code,
    results,
    row_count,
    rows_in_12m,
    rows_in_3m,
    rows_in_1m,
    ((CAST(latest_position AS HUGEINT) >> $line_bits) << 80)
        + (CAST(file_index AS HUGEINT) << 48)
        + (latest_position & ((CAST(1 AS BIGINT) << $line_bits) - 1)) AS latest_position,
    latest_dataset_record_count,
    latest_filtered_record_count,
    level_of_execution AS latest_level_of_execution
FROM csv_staged
WHERE regular

-- name: reference_date
-- R: the latest business date among the accepted rows in scope.
SELECT DATE '0001-01-01' + CAST(max(latest_position) >> 80 AS INTEGER) FROM staged WHERE in_scope

-- name: parse_statuses
-- The status of each distinct results text, parsed once (not once per row).
CREATE OR REPLACE TEMP TABLE statuses AS
SELECT results, dqs_status(results) AS status
FROM (SELECT DISTINCT results FROM staged WHERE in_scope)

-- name: group_statuses
-- Per group and results text: the counts with the parsed status (rows in scope only). Keys are
-- trimmed here, once per distinct value (the pass groups them as read).
CREATE OR REPLACE TEMP VIEW group_statuses AS
SELECT
    dqs_trim(s.source) AS source,
    dqs_trim(s.tenant_id) AS tenant_id,
    dqs_trim(s.dataset_uuid) AS dataset_uuid,
    dqs_trim(s.dataset_name) AS dataset_name,
    dqs_trim(s.rule_code) AS rule_code,
    s.results,
    s.row_count,
    s.rows_in_12m,
    s.rows_in_3m,
    s.rows_in_1m,
    s.latest_position,
    s.latest_dataset_record_count,
    s.latest_filtered_record_count,
    s.latest_level_of_execution,
    st.status
FROM staged AS s
JOIN statuses AS st ON st.results = s.results
WHERE s.in_scope

-- name: rejected_from_staged
-- `rejected` (what outputs.sql's write_rejects writes) from the staging pass.
CREATE OR REPLACE TEMP VIEW rejected AS
SELECT
    f.path AS file,
    s.reject_line AS line,
    s.reject_reason AS reason,
    s.rejected_values.source AS source,
    s.rejected_values.tenant_id AS tenant_id,
    s.rejected_values.dataset_uuid AS dataset_uuid,
    s.rejected_values.dataset_name AS dataset_name,
    s.rejected_values.rule_code AS rule_code,
    s.rejected_values.business_date AS business_date,
    s.rejected_values.dataset_record_count AS dataset_record_count,
    s.rejected_values.filtered_record_count AS filtered_record_count,
    s.file_index AS file_order
FROM staged AS s
JOIN input_files AS f ON f.file_index = s.file_index
WHERE s.reject_line IS NOT NULL

-- name: rejected_counts
-- Rejected rows per input file, and accepted and rejected rows in all.
SELECT
    f.file_index,
    CAST(coalesce(sum(s.row_count), 0) AS BIGINT) AS rows_rejected
FROM input_files AS f
LEFT JOIN staged AS s ON s.file_index = f.file_index AND s.reject_line IS NOT NULL
GROUP BY f.file_index
ORDER BY f.file_index

-- name: row_totals
-- Accepted and rejected rows, each counted directly.
SELECT
    CAST(coalesce(sum(row_count) FILTER (WHERE accepted), 0) AS BIGINT) AS rows_accepted,
    CAST(coalesce(sum(row_count) FILTER (WHERE NOT accepted), 0) AS BIGINT) AS rows_rejected
FROM staged

-- name: status_counts
-- Pass, fail and unknown-status rows in scope, and accepted rows dated after the as-of date.
SELECT
    CAST(coalesce(sum(s.row_count) FILTER (WHERE s.in_scope AND st.status = 'pass'), 0) AS BIGINT) AS pass_rows,
    CAST(coalesce(sum(s.row_count) FILTER (WHERE s.in_scope AND st.status = 'fail'), 0) AS BIGINT) AS fail_rows,
    CAST(coalesce(sum(s.row_count) FILTER (WHERE s.in_scope AND st.status = 'unknown'), 0) AS BIGINT) AS unknown_rows,
    CAST(coalesce(sum(s.row_count) FILTER (WHERE NOT s.in_scope), 0) AS BIGINT) AS after_as_of_rows
FROM staged AS s
LEFT JOIN statuses AS st ON st.results = s.results
WHERE s.accepted

-- name: staged_from_portable
-- `staged` from the portable staging pass (portable.sql, run by another engine and brought back
-- as `portable_staged`): the latest row's position as the packed HUGEINT of stage_input, the
-- rejected values as a struct.
CREATE OR REPLACE TEMP TABLE staged AS
SELECT
    accepted,
    in_scope,
    source,
    tenant_id,
    dataset_uuid,
    dataset_name,
    rule_code,
    results,
    CAST(file_index AS INTEGER) AS file_index,
    CAST(reject_line AS BIGINT) AS reject_line,
    reject_reason,
    CASE WHEN NOT accepted THEN {
        'source': reject_source, 'tenant_id': reject_tenant_id, 'dataset_uuid': reject_dataset_uuid,
        'dataset_name': reject_dataset_name, 'rule_code': reject_rule_code,
        'business_date': reject_business_date,
        'dataset_record_count': reject_dataset_record_count,
        'filtered_record_count': reject_filtered_record_count} END AS rejected_values,
    CAST(row_count AS BIGINT) AS row_count,
    CASE WHEN window_bucket >= 1 THEN CAST(row_count AS BIGINT) ELSE 0 END AS rows_in_12m,
    CASE WHEN window_bucket >= 2 THEN CAST(row_count AS BIGINT) ELSE 0 END AS rows_in_3m,
    CASE WHEN window_bucket >= 3 THEN CAST(row_count AS BIGINT) ELSE 0 END AS rows_in_1m,
    (CAST(CAST(left(latest_key, 10) AS DATE) - DATE '0001-01-01' AS HUGEINT) << 80)
        + (CAST(substring(latest_key, 11, 10) AS HUGEINT) << 48)
        + CAST(substring(latest_key, 21, 19) AS HUGEINT) AS latest_position,
    CAST(latest_dataset_record_count AS BIGINT) AS latest_dataset_record_count,
    CAST(latest_filtered_record_count AS BIGINT) AS latest_filtered_record_count,
    latest_level_of_execution
FROM portable_staged
WHERE NOT is_file_total
