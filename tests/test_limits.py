"""Pathological shapes under a small memory ceiling: every row in one group, every row its own
group, one dataset with many rules. Each either completes or stops with exit 1 and a message
naming the limit to raise; never a crash or an OOM kill. (`python -m dqs.bench.pathological`
runs the same shapes at 10M rows under the default ceiling.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import run_dqs
from dqs.bench.pathological import SHAPES, make_input


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_shape_completes_or_names_the_limit(shape: str, tmp_path: Path) -> None:
    log = make_input(shape, 300_000, "csv", tmp_path)
    out = tmp_path / "out"
    result = run_dqs("summarize", log, "-o", out, "-q", "--memory-limit", "48MB", "--threads", "1")
    assert result.returncode in (0, 1), result.stderr
    assert "Traceback" not in result.stderr
    if result.returncode == 1:
        assert "--memory-limit" in result.stderr, result.stderr
    else:
        report = json.loads((out / "run_report.json").read_text())
        assert report["rows_read"] == report["rows_accepted"] == 300_000
        expected_groups = {"one_group": 1, "distinct_groups": 300_000, "many_rules": 100_000}[shape]
        assert report["groups"] == expected_groups


def test_a_ceiling_too_small_stops_with_exit_1_and_names_the_limit(tmp_path: Path) -> None:
    log = make_input("distinct_groups", 300_000, "csv", tmp_path)
    out = tmp_path / "out"
    result = run_dqs("summarize", log, "-o", out, "--memory-limit", "4MB", "--threads", "1")
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("dqs: error: ") and "Out of Memory" in lines[0]
    assert lines[1].startswith("Hint: raise --memory-limit")
    assert not out.exists() or not any(p.name.startswith(".dqs-") for p in out.iterdir())
