"""The engine is a library: importing it never pulls in the CLI toolkit."""

from __future__ import annotations

import subprocess
import sys


def _modules_loaded_by(statements: str) -> set[str]:
    """The modules a fresh interpreter has loaded after running `statements`."""
    code = statements + "\nimport sys\nprint(','.join(sorted(sys.modules)))\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(result.stdout.strip().split(","))


def test_engine_does_not_import_typer_or_rich() -> None:
    loaded = _modules_loaded_by("import dqs.engine, dqs.engine.summary.summarize, dqs.engine.generate, dqs.engine.inputs.rules, "
                                "dqs.engine.store.ingest, dqs.engine.store.read, dqs.engine.store.maintenance, "
                                "dqs.engine.importers.convert, dqs.engine.importers.dbt, dqs.engine.importers.gx, "
                                "dqs.engine.importers.soda, dqs.engine.importers.elementary, dqs.engine.alerts")
    bad = sorted(m for m in loaded if m.split(".")[0] in ("typer", "rich", "click", "pandas") or m.startswith("dqs.cli"))
    assert bad == []


def test_python_dash_m_entry_point() -> None:
    result = subprocess.run([sys.executable, "-m", "dqs", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    assert "summarize" in result.stdout and "generate" in result.stdout


def test_the_default_engine_never_imports_spark_or_sqlglot() -> None:
    loaded = _modules_loaded_by(
        "from dqs.engine.backends import open_engine\nimport dqs.engine.summary.summarize\nopen_engine('duckdb')"
    )
    assert sorted(m for m in loaded if m.split(".")[0] in ("pyspark", "py4j", "sqlglot")) == []
