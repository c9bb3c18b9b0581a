"""The engine is a library: importing it never pulls in the CLI toolkit."""

from __future__ import annotations

import subprocess
import sys


def test_engine_does_not_import_typer_or_rich() -> None:
    code = (
        "import sys\n"
        "import dqs.engine, dqs.engine.summarize, dqs.engine.generate, dqs.engine.rules\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('typer', 'rich', 'click', 'dqs.cli'))\n"
        "bad += sorted(m for m in sys.modules if m.startswith('dqs.cli'))\n"
        "bad += sorted(m for m in sys.modules if m.split('.')[0] == 'pandas')\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_python_dash_m_entry_point() -> None:
    result = subprocess.run([sys.executable, "-m", "dqs", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    assert "summarize" in result.stdout and "generate" in result.stdout


def test_the_default_engine_never_imports_spark_or_sqlglot() -> None:
    code = (
        "import sys\n"
        "from dqs.engine.backends import open_engine\n"
        "import dqs.engine.summarize\n"
        "open_engine('duckdb')\n"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in ('pyspark', 'py4j', 'sqlglot'))))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
