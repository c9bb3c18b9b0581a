-- Output files. Each block writes one file to the path bound as $path (a staging name; the
-- engine renames it into place only when every output of the run has been written).
-- `summary` is stored in key order (summary.sql sorts it as it creates it) and DuckDB scans a
-- table in insertion order (preserve_insertion_order, on outside the staging pass), so the
-- files are written in that order without sorting it again.

-- name: write_full_summary_csv
-- `full_summary.csv`: the 27 contract columns; empty text is an empty cell, rates full precision.
COPY (
    SELECT * REPLACE (nullif(last_execution_level, '') AS last_execution_level)
    FROM summary
) TO $path (FORMAT csv, HEADER true)

-- name: write_summary_parquet
-- `summary.parquet`: the same rows with native types (DATE, BIGINT, DOUBLE, VARCHAR).
COPY (
    SELECT * FROM summary
) TO $path (FORMAT parquet)

-- name: write_sentences
-- `nl_all_rows.txt`: one plain-English sentence per summary row, in the same order, written
-- as raw lines (no quoting). Percentages match Python's `{x:.2%}`: x * 100 as a double, two
-- decimals, correctly rounded. One concat() of every piece: a chain of || copies the growing
-- sentence at each step (a third slower).
COPY (
    SELECT concat(
        '• On ', strftime(business_date_latest, '%Y-%m-%d'),
        ', dataset "', dqs_one_line(dataset_name),
        '" (source: ', dqs_one_line(source),
        ', tenant: ', dqs_one_line(tenant_id),
        ', UUID: ', dqs_one_line(dataset_uuid),
        ') under rule "', dqs_one_line(rule_name),
        '" [', dqs_one_line(rule_code),
        '] recorded ', CAST(fail_count_total AS VARCHAR),
        ' failures and ', CAST(pass_count_total AS VARCHAR),
        ' passes overall (fail-rate ', printf('%.2f', fail_rate_total * 100), '%',
        '; 1-month ', printf('%.2f', fail_rate_1m * 100), '%',
        ', 3-month ', printf('%.2f', fail_rate_3m * 100), '%',
        ', 12-month ', printf('%.2f', fail_rate_12m * 100), '%',
        ') — trend ', trend_flag, '.'
    ) AS sentence
    FROM summary
) TO $path (FORMAT csv, HEADER false, QUOTE '', ESCAPE '', DELIMITER E'\x1f')

-- name: write_rejects
-- `rejects.csv`: every rejected row (`rejected`) with its file, 1-based data line (header
-- excluded), the reasons, and the raw values of the checked columns, in input order.
COPY (
    SELECT * EXCLUDE (file_order) FROM rejected ORDER BY file_order, line
) TO $path (FORMAT csv, HEADER true)
