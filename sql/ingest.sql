-- Ingestion: from the raw input rows to typed, validated, per-day aggregates.
--
-- `raw_rows` holds every input column as read, plus `_dqs_file_index` and `_dqs_line_number`
-- (1-based data row in its file). Nothing here reads files by name except `raw_rows_parquet`.

-- name: create_macros
-- Helpers shared by every block. White space means ASCII white space (space, \t, \n, \v, \f, \r);
-- case-insensitive means ASCII case-insensitive.
-- Trimming is slow, so values are only trimmed when their first or last character is a space
-- or a control character; then \t, \n, \v, \f, \r and spaces are removed from both ends.
CREATE OR REPLACE TEMP MACRO dqs_trim(s) AS
    CASE WHEN ascii(s) <= 32 OR ascii(substring(s, length(s))) <= 32
         THEN trim(s, chr(32) || chr(9) || chr(10) || chr(11) || chr(12) || chr(13))
         ELSE s END;
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
-- One pass over `raw_rows` feeds four aggregations at once (GROUPING SETS), so no per-row table
-- is ever materialised and the hash tables stay small or fixed-width (they spill if needed):
--   day    (group_hash, business_date, results_hash): counts and the last row in input order
--   group  (group_hash, the five key texts): the texts behind each group hash
--   text   (results_hash, results): each distinct results text, to parse its JSON once
--   file   (file_index, reject_line, reason, raw values): one row per rejected row, plus one per
--          file that counts its accepted rows
-- Hashes are salted with $salt; the engine checks them for collisions and retries another salt.
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
        source IS NOT NULL AND tenant_id IS NOT NULL AND dataset_uuid IS NOT NULL
            AND dataset_name IS NOT NULL AND rule_code IS NOT NULL AND business_date IS NOT NULL
            AND dataset_record_count IS NOT NULL AND filtered_record_count IS NOT NULL AS accepted
    FROM typed
),
keyed AS (
    SELECT
        file_index,
        CAST(file_index AS BIGINT) * 1099511627776 + line_number AS input_order,
        -- day, group and text sets are keyed by `accepted` too; only accepted rows are used later
        accepted,
        hash($salt, source, tenant_id, dataset_uuid, dataset_name, rule_code) AS group_hash,
        business_date,
        hash($salt, results) AS results_hash,
        source,
        tenant_id,
        dataset_uuid,
        dataset_name,
        rule_code,
        results,
        dataset_record_count,
        filtered_record_count,
        level_of_execution,
        -- file set: rejected rows keep their line, reasons and raw values
        CASE WHEN NOT accepted THEN line_number END AS reject_line,
        CASE WHEN NOT accepted THEN concat_ws('; ',
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
        ) END AS reject_reason,
        CASE WHEN NOT accepted THEN {
            'source': source, 'tenant_id': tenant_id, 'dataset_uuid': dataset_uuid,
            'dataset_name': dataset_name, 'rule_code': rule_code,
            'business_date': business_date_text,
            'dataset_record_count': dataset_record_count_text,
            'filtered_record_count': filtered_record_count_text} END AS rejected_values
    FROM checked
)
SELECT
    CASE WHEN grouping(business_date) = 0 THEN 'day'
         WHEN grouping(source) = 0 THEN 'group'
         WHEN grouping(results) = 0 THEN 'text'
         ELSE 'file' END AS grouping_set,
    accepted,
    group_hash,
    business_date,
    results_hash,
    source,
    tenant_id,
    dataset_uuid,
    dataset_name,
    rule_code,
    results,
    file_index,
    reject_line,
    reject_reason,
    rejected_values,
    count(*) AS row_count,
    max(input_order) AS last_order,
    arg_max(
        {'dataset_record_count': dataset_record_count,
         'filtered_record_count': filtered_record_count,
         'level_of_execution': level_of_execution},
        input_order
    ) AS last_row
FROM keyed
GROUP BY GROUPING SETS (
    (accepted, group_hash, business_date, results_hash),
    (accepted, group_hash, source, tenant_id, dataset_uuid, dataset_name, rule_code),
    (accepted, results_hash, results),
    (file_index, reject_line, reject_reason, rejected_values)
)

-- name: hash_collisions
-- Distinct groups or results texts that share a hash (then the engine retries with a new salt).
SELECT
    (SELECT count(*) FROM (
        SELECT group_hash FROM staged WHERE grouping_set = 'group' AND accepted
        GROUP BY group_hash HAVING count(*) > 1))
  + (SELECT count(*) FROM (
        SELECT results_hash FROM staged WHERE grouping_set = 'text' AND accepted
        GROUP BY results_hash HAVING count(*) > 1))

-- name: parse_statuses
-- The status of each distinct results text, parsed once: the JSON object's `result` field, or
-- its `status` field when `result` is not a string; trimmed, ASCII case-insensitive.
CREATE OR REPLACE TEMP TABLE statuses AS
WITH picked AS (
    SELECT
        results_hash,
        CASE WHEN json_valid(results) AND json_type(results) = 'OBJECT' THEN
            CASE WHEN json_type(results, '$.result') = 'VARCHAR' THEN json_extract_string(results, '$.result')
                 WHEN json_type(results, '$.status') = 'VARCHAR' THEN json_extract_string(results, '$.status')
            END
        END AS status_text
    FROM staged
    WHERE grouping_set = 'text' AND accepted
)
SELECT
    results_hash,
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
WITH days AS (
    SELECT
        d.group_hash,
        d.business_date,
        CAST(coalesce(sum(d.row_count) FILTER (WHERE st.status = 'pass'), 0) AS BIGINT) AS pass_count,
        CAST(coalesce(sum(d.row_count) FILTER (WHERE st.status = 'fail'), 0) AS BIGINT) AS fail_count,
        CAST(coalesce(sum(d.row_count) FILTER (WHERE st.status = 'unknown'), 0) AS BIGINT) AS unknown_count,
        CAST(sum(d.row_count) AS BIGINT) AS run_count,
        arg_max(d.last_row, d.last_order) AS last_row
    FROM staged AS d
    JOIN statuses AS st ON st.results_hash = d.results_hash
    WHERE d.grouping_set = 'day' AND d.accepted
      AND (CAST($as_of AS DATE) IS NULL OR d.business_date <= CAST($as_of AS DATE))
    GROUP BY d.group_hash, d.business_date
)
SELECT
    g.source,
    g.tenant_id,
    g.dataset_uuid,
    g.dataset_name,
    g.rule_code,
    days.business_date,
    days.pass_count,
    days.fail_count,
    days.unknown_count,
    days.run_count,
    days.last_row
FROM days
JOIN staged AS g ON g.grouping_set = 'group' AND g.accepted AND g.group_hash = days.group_hash

-- name: reference_date
-- R: the latest business date among the accepted rows kept for the summary.
SELECT max(business_date) FROM daily

-- name: file_counts
-- Rows read, accepted and rejected per input file, and accepted rows dated after the as-of date.
WITH per_file AS (
    SELECT
        file_index,
        sum(row_count) AS rows_read,
        sum(row_count) FILTER (WHERE reject_line IS NULL) AS rows_accepted,
        sum(row_count) FILTER (WHERE reject_line IS NOT NULL) AS rows_rejected
    FROM staged
    WHERE grouping_set = 'file'
    GROUP BY file_index
)
SELECT
    f.file_index,
    f.path,
    CAST(coalesce(p.rows_read, 0) AS BIGINT) AS rows_read,
    CAST(coalesce(p.rows_accepted, 0) AS BIGINT) AS rows_accepted,
    CAST(coalesce(p.rows_rejected, 0) AS BIGINT) AS rows_rejected
FROM input_files AS f
LEFT JOIN per_file AS p ON p.file_index = f.file_index
ORDER BY f.file_index

-- name: rows_after_as_of
-- Accepted rows dated after the explicit as-of date (left out of every figure).
SELECT CAST(coalesce(sum(row_count), 0) AS BIGINT)
FROM staged
WHERE grouping_set = 'day' AND accepted AND business_date > CAST($as_of AS DATE)

-- name: status_counts
-- Pass, fail and unknown-status rows among the rows kept for the summary.
SELECT
    CAST(coalesce(sum(pass_count), 0) AS BIGINT) AS pass_rows,
    CAST(coalesce(sum(fail_count), 0) AS BIGINT) AS fail_rows,
    CAST(coalesce(sum(unknown_count), 0) AS BIGINT) AS unknown_rows
FROM daily
