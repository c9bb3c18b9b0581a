"""The contract files written from a summary of many row groups, by several connections at once
(`Database.execute_together`): rows stay in key order without a sort in the COPY statements,
and the three files agree row for row."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from dqs.engine.database import Database
from dqs.engine.inputs.rules import load_rules
from dqs.engine.queries import query

GROUPS = 300_000  # about three of DuckDB's 122,880-row groups: scanned and written in parallel

# Groups in a scrambled order (7919 is prime to GROUPS, so every uuid occurs once), with keys
# whose text order differs from their numeric order.
GROUP_COUNTS = f"""
CREATE OR REPLACE TEMP VIEW group_counts AS
SELECT
    's' || (i % 7) AS source,
    't' || (i % 13) AS tenant_id,
    'ds-' || ((i * 7919) % {GROUPS}) AS dataset_uuid,
    'name ' || (i % 3) AS dataset_name,
    CAST(i % 101 AS VARCHAR) AS rule_code,
    DATE '2026-01-01' + CAST(i % 400 AS INTEGER) AS business_date_latest,
    CAST(i AS BIGINT) AS dataset_record_count_latest,
    CAST(i % 10 AS BIGINT) AS filtered_record_count_latest,
    'DATASET' AS level_of_execution_latest,
    CAST(i % 17 AS BIGINT) AS pass_count_total, CAST(i % 5 AS BIGINT) AS fail_count_total,
    CAST(i % 3 AS BIGINT) AS pass_count_1m, CAST(i % 2 AS BIGINT) AS fail_count_1m,
    CAST(i % 7 AS BIGINT) AS pass_count_3m, CAST(i % 3 AS BIGINT) AS fail_count_3m,
    CAST(i % 11 AS BIGINT) AS pass_count_12m, CAST(i % 4 AS BIGINT) AS fail_count_12m
FROM range({GROUPS}) AS t(i)
"""


def test_outputs_keep_key_order_across_row_groups(tmp_path: Path) -> None:
    db = Database(memory_limit="1GB", threads=2)
    try:
        db.execute(query("ingest.sql", "create_macros"))
        db.register("rules", load_rules(None))
        db.con.execute(GROUP_COUNTS)
        db.execute(query("summary.sql", "summary"))
        paths = {name: tmp_path / name for name in ("full_summary.csv", "nl_all_rows.txt", "summary.parquet")}
        db.execute_together([
            (query("outputs.sql", "write_full_summary_csv"), {"path": str(paths["full_summary.csv"])}),
            (query("outputs.sql", "write_sentences"), {"path": str(paths["nl_all_rows.txt"])}),
            (query("outputs.sql", "write_summary_parquet"), {"path": str(paths["summary.parquet"])}),
        ])
    finally:
        db.close()

    with paths["full_summary.csv"].open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))[1:]
    keys = [tuple(r[:5]) for r in rows]
    assert len(keys) == GROUPS
    assert keys == sorted(keys)  # code-point order of the five key columns, as SPEC §4 says
    sentence_uuids = re.findall(r"UUID: (ds-\d+)\)", paths["nl_all_rows.txt"].read_text(encoding="utf-8"))
    assert sentence_uuids == [k[2] for k in keys]
    parquet = pq.read_table(paths["summary.parquet"], columns=["source", "tenant_id", "dataset_uuid",
                                                               "dataset_name", "rule_code"])
    assert list(zip(*(parquet.column(i).to_pylist() for i in range(5)), strict=True)) == keys


def test_statements_run_together_report_the_first_failure_by_name(tmp_path: Path) -> None:
    """A statement that fails on a cursor is re-raised once, named, after the others ended."""
    from dqs.engine.errors import EngineError
    from dqs.engine.queries import Query

    db = Database(memory_limit="256MB", threads=2)
    try:
        db.con.execute("CREATE TABLE numbers AS SELECT range AS n FROM range(1000)")
        good = Query("write_numbers", "", "COPY numbers TO $path (FORMAT csv)", "test")
        bad = Query("read_missing", "", "SELECT * FROM no_such_table", "test")
        out = tmp_path / "numbers.csv"
        with pytest.raises(EngineError, match="no_such_table") as raised:
            db.execute_together([(good, {"path": str(out)}), (bad, None)])
        assert raised.value.query_name == "read_missing"
        assert out.read_text().count("\n") == 1001  # the other statement finished: header and 1000 rows
        assert not db._cursors  # every cursor closed
    finally:
        db.close()
