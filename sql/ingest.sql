-- Ingestion: from the raw input rows to typed, validated, per-day aggregates.
--
-- `raw_rows` holds every input column as read, plus `_dqs_file_index` and `_dqs_line_number`
-- (1-based data row in its file). Nothing here reads files by name except `raw_rows_parquet`.

-- name: create_macros
-- Helpers shared by every block. White space means ASCII white space (space, \t, \n, \v, \f, \r);
-- case-insensitive means ASCII case-insensitive.
-- Trimming a character set is slow, so it only runs when a value ends in \t, \n, \v, \f or \r
-- once the spaces are gone; plain trim() removes spaces only.
CREATE OR REPLACE TEMP MACRO dqs_trim_controls(t) AS
    CASE WHEN ascii(t) BETWEEN 9 AND 13 OR ascii(right(t, 1)) BETWEEN 9 AND 13
         THEN trim(t, chr(32) || chr(9) || chr(10) || chr(11) || chr(12) || chr(13))
         ELSE t END;
CREATE OR REPLACE TEMP MACRO dqs_trim(s) AS dqs_trim_controls(trim(s));
CREATE OR REPLACE TEMP MACRO dqs_lower_ascii(s) AS
    translate(s, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz');
-- Rule codes that are all digits match as integers: '007' and '7' share the key '7'.
CREATE OR REPLACE TEMP MACRO dqs_rule_key(code) AS
    CASE WHEN regexp_full_match(code, '[0-9]+') THEN coalesce(nullif(ltrim(code, '0'), ''), '0')
         ELSE code END;
-- A whole number >= 0: digits, optionally followed by '.' and zeros ('1200', '1200.0').
CREATE OR REPLACE TEMP MACRO dqs_whole_number(s) AS
    CASE WHEN regexp_full_match(s, '[0-9]+(?:\.0*)?') THEN TRY_CAST(split_part(s, '.', 1) AS BIGINT) END;
-- YYYY-MM-DD, optionally followed by a time after 'T' or a space, which is ignored.
CREATE OR REPLACE TEMP MACRO dqs_business_date(s) AS
    CASE WHEN regexp_full_match(s, '(?s)[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ].*)?') AND left(s, 4) <> '0000'
         THEN TRY_CAST(left(s, 10) AS DATE) END;
-- Every line feed, carriage return and tab becomes one space, so a sentence stays on one line.
CREATE OR REPLACE TEMP MACRO dqs_one_line(s) AS
    translate(coalesce(s, ''), chr(10) || chr(13) || chr(9), '   ')

-- name: raw_rows_parquet
-- Parquet files as `raw_rows`: DuckDB gives each row's position in its file.
SELECT
    *,
    CAST(file_index AS INTEGER) AS _dqs_file_index,
    CAST(file_row_number + 1 AS BIGINT) AS _dqs_line_number
FROM read_parquet($files, file_row_number = true, union_by_name = true)

-- name: stage_rows
-- One pass over `raw_rows`. Accepted rows are aggregated per (file, group, day, results text),
-- so the results JSON is later parsed once per distinct text; each rejected row stays its own
-- group (its line number is part of the key) with its reasons and raw values.
CREATE OR REPLACE TEMP TABLE staged AS
WITH cleaned AS (
    SELECT
        _dqs_file_index AS file_index,
        _dqs_line_number AS line_number,
        nullif(dqs_trim(CAST(source AS VARCHAR)), '') AS source,
        nullif(dqs_trim(CAST(tenant_id AS VARCHAR)), '') AS tenant_id,
        nullif(dqs_trim(CAST(dataset_uuid AS VARCHAR)), '') AS dataset_uuid,
        nullif(dqs_trim(CAST(dataset_name AS VARCHAR)), '') AS dataset_name,
        nullif(dqs_trim(CAST(rule_code AS VARCHAR)), '') AS rule_code,
        nullif(dqs_trim(CAST(business_date AS VARCHAR)), '') AS business_date_text,
        coalesce(CAST(results AS VARCHAR), '') AS results,
        coalesce(dqs_trim(CAST(level_of_execution AS VARCHAR)), '') AS level_of_execution,
        nullif(dqs_trim(CAST(dataset_record_count AS VARCHAR)), '') AS dataset_record_count_text,
        nullif(dqs_trim(CAST(filtered_record_count AS VARCHAR)), '') AS filtered_record_count_text
    FROM raw_rows
),
typed AS (
    SELECT
        *,
        dqs_business_date(business_date_text) AS business_date,
        dqs_whole_number(dataset_record_count_text) AS dataset_record_count,
        dqs_whole_number(filtered_record_count_text) AS filtered_record_count
    FROM cleaned
),
checked AS (
    SELECT
        *,
        concat_ws('; ',
            CASE WHEN source IS NULL THEN 'source is empty' END,
            CASE WHEN tenant_id IS NULL THEN 'tenant_id is empty' END,
            CASE WHEN dataset_uuid IS NULL THEN 'dataset_uuid is empty' END,
            CASE WHEN dataset_name IS NULL THEN 'dataset_name is empty' END,
            CASE WHEN rule_code IS NULL THEN 'rule_code is empty' END,
            CASE WHEN business_date_text IS NULL THEN 'business_date is empty'
                 WHEN business_date IS NULL THEN 'business_date is not a valid YYYY-MM-DD date' END,
            CASE WHEN dataset_record_count_text IS NULL THEN 'dataset_record_count is empty'
                 WHEN dataset_record_count IS NULL THEN 'dataset_record_count is not a whole number >= 0' END,
            CASE WHEN filtered_record_count_text IS NULL THEN 'filtered_record_count is empty'
                 WHEN filtered_record_count IS NULL THEN 'filtered_record_count is not a whole number >= 0' END
        ) AS reject_reason
    FROM typed
)
SELECT
    file_index,
    reject_reason,
    CASE WHEN reject_reason <> '' THEN line_number END AS reject_line,
    source,
    tenant_id,
    dataset_uuid,
    dataset_name,
    rule_code,
    business_date,
    CASE WHEN reject_reason = '' THEN results END AS results,
    CASE WHEN reject_reason <> '' THEN business_date_text END AS business_date_text,
    CASE WHEN reject_reason <> '' THEN dataset_record_count_text END AS dataset_record_count_text,
    CASE WHEN reject_reason <> '' THEN filtered_record_count_text END AS filtered_record_count_text,
    count(*) AS row_count,
    max(line_number) AS last_line,
    arg_max(
        {'dataset_record_count': dataset_record_count,
         'filtered_record_count': filtered_record_count,
         'level_of_execution': level_of_execution},
        line_number
    ) AS last_row
FROM checked
GROUP BY ALL

-- name: parse_statuses
-- The status of each distinct results text, parsed once: the JSON object's `result` field, or
-- its `status` field when `result` is not a string; trimmed, ASCII case-insensitive.
CREATE OR REPLACE TEMP TABLE statuses AS
WITH picked AS (
    SELECT
        results,
        CASE WHEN json_valid(results) AND json_type(results) = 'OBJECT' THEN
            CASE WHEN json_type(results, '$.result') = 'VARCHAR' THEN json_extract_string(results, '$.result')
                 WHEN json_type(results, '$.status') = 'VARCHAR' THEN json_extract_string(results, '$.status')
            END
        END AS status_text
    FROM (SELECT DISTINCT results FROM staged WHERE reject_reason = '')
)
SELECT
    results,
    CASE dqs_lower_ascii(dqs_trim(status_text))
        WHEN 'pass' THEN 'pass'
        WHEN 'fail' THEN 'fail'
        ELSE 'unknown'
    END AS status
FROM picked

-- name: build_daily
-- Per group and business day: pass, fail and unknown counts, and the day's last row in input
-- order (file order, then line). Rows dated after an explicit as-of date are left out.
CREATE OR REPLACE TEMP TABLE daily AS
SELECT
    s.source,
    s.tenant_id,
    s.dataset_uuid,
    s.dataset_name,
    s.rule_code,
    s.business_date,
    CAST(coalesce(sum(s.row_count) FILTER (WHERE st.status = 'pass'), 0) AS BIGINT) AS pass_count,
    CAST(coalesce(sum(s.row_count) FILTER (WHERE st.status = 'fail'), 0) AS BIGINT) AS fail_count,
    CAST(coalesce(sum(s.row_count) FILTER (WHERE st.status = 'unknown'), 0) AS BIGINT) AS unknown_count,
    CAST(sum(s.row_count) AS BIGINT) AS run_count,
    arg_max(s.last_row, CAST(s.file_index AS BIGINT) * 4294967296 + s.last_line) AS last_row
FROM staged AS s
JOIN statuses AS st ON s.results = st.results
WHERE s.reject_reason = ''
  AND (CAST($as_of AS DATE) IS NULL OR s.business_date <= CAST($as_of AS DATE))
GROUP BY s.source, s.tenant_id, s.dataset_uuid, s.dataset_name, s.rule_code, s.business_date

-- name: reference_date
-- R: the latest business date among the accepted rows kept for the summary.
SELECT max(business_date) FROM daily

-- name: file_counts
-- Rows read, accepted and rejected per input file, and accepted rows dated after the as-of date.
SELECT
    f.file_index,
    f.path,
    CAST(coalesce(sum(s.row_count), 0) AS BIGINT) AS rows_read,
    CAST(coalesce(sum(s.row_count) FILTER (WHERE s.reject_reason = ''), 0) AS BIGINT) AS rows_accepted,
    CAST(coalesce(sum(s.row_count) FILTER (WHERE s.reject_reason <> ''), 0) AS BIGINT) AS rows_rejected,
    CAST(coalesce(sum(s.row_count) FILTER (
        WHERE s.reject_reason = '' AND s.business_date > CAST($as_of AS DATE)), 0) AS BIGINT) AS rows_after_as_of
FROM input_files AS f
LEFT JOIN staged AS s ON s.file_index = f.file_index
GROUP BY f.file_index, f.path
ORDER BY f.file_index

-- name: status_counts
-- Pass, fail and unknown-status rows among the rows kept for the summary.
SELECT
    CAST(coalesce(sum(pass_count), 0) AS BIGINT) AS pass_rows,
    CAST(coalesce(sum(fail_count), 0) AS BIGINT) AS fail_rows,
    CAST(coalesce(sum(unknown_count), 0) AS BIGINT) AS unknown_rows
FROM daily
