"""`dqs sql check --target spark`: DuckDB-only constructs are named with file and line, without
a Spark installation (sqlglot only)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import run_dqs
from dqs.engine.summary.analyst import examples_dir

pytest.importorskip("sqlglot")


def test_examples_are_portable() -> None:
    result = run_dqs("sql", "check", examples_dir(), "--target", "spark")
    assert result.returncode == 0, result.stdout + result.stderr


def test_duckdb_only_constructs_are_named_with_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "a_fine.sql").write_text("SELECT tenant_id, count(*) AS n FROM summary GROUP BY tenant_id\n")
    (tmp_path / "b_chart.sql").write_text("-- a chart\nSELECT rule_code,\n  bar(fail_count_total, 0, 100) AS c\nFROM summary\n")
    (tmp_path / "c_lists.sql").write_text(
        "SELECT tenant_id,\n  list_reduce(list(pass_count_total), lambda a, b: a + b) AS s\nFROM summary GROUP BY tenant_id\n")
    duckdb_only = run_dqs("sql", "check", tmp_path)
    assert duckdb_only.returncode == 0, duckdb_only.stdout  # fine on the embedded engine
    result = run_dqs("sql", "check", tmp_path, "--target", "spark")
    assert result.returncode == 2
    lines = [line for line in result.stdout.splitlines() if "not portable" in line]
    assert len(lines) == 2
    assert "b_chart.sql:3:3:" in lines[0] and "bar()" in lines[0]
    assert "c_lists.sql:2:3:" in lines[1] and "list_reduce()" in lines[1]


def test_the_dialect_patches_regexp_full_match() -> None:
    from dqs.engine.backends.portable import transpile

    assert transpile("SELECT regexp_full_match(s, '[0-9]+') FROM t") == "SELECT s RLIKE '^(?:[0-9]+)$' FROM t"
