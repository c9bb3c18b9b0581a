from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from reference import SUMMARY_COLUMNS  # noqa: E402

COLUMNS = [
    "source", "tenant_id", "dataset_uuid", "dataset_name", "rule_code", "business_date",
    "results", "level_of_execution", "attribute_name", "dataset_record_count", "filtered_record_count",
]


def write_log(path: Path, rows: list[dict], columns: list[str] = COLUMNS) -> Path:
    """Write rows of raw text (None = empty cell) as a CSV log with a header."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if row.get(c) is None else row[c] for c in columns])
    return path


def read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def run_dqs(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the real CLI entry point in a fresh interpreter."""
    full_env = {**os.environ, **(env or {})}
    full_env.pop("DQS_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "dqs", *map(str, args)],
        capture_output=True, text=True, cwd=cwd, env=full_env, timeout=timeout,
    )


@pytest.fixture
def rules_file(tmp_path: Path):
    def make(rules: dict, name: str = "rules.json") -> Path:
        path = tmp_path / name
        path.write_text(json.dumps(rules), encoding="utf-8")
        return path

    return make


__all__ = ["COLUMNS", "SUMMARY_COLUMNS", "write_log", "read_csv", "run_dqs"]
