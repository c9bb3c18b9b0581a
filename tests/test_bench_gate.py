"""The benchmark regression gate, fed doctored results (the product is never slowed down)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.compare import compare, load_results
from conftest import run_dqs

BASELINE = {"tolerance": 0.25, "cases": {"summarize-csv-1m": {"ratio": 2.0, "ceiling_mb": 700}}}


def _result(ratio: float, peak: float = 300.0) -> dict:
    return {"case": "summarize-csv-1m", "ratio": ratio, "peak_rss_mb": peak, "ceiling_mb": 700}


def test_gate_passes_within_tolerance() -> None:
    ok, lines = compare([_result(2.4)], BASELINE)
    assert ok, lines


def test_gate_fails_on_a_slowdown_beyond_tolerance() -> None:
    ok, lines = compare([_result(2.6)], BASELINE)
    assert not ok
    assert "ratio 2.60 above 2.50" in lines[0]


def test_gate_fails_above_the_memory_ceiling() -> None:
    ok, lines = compare([_result(1.9, peak=701)], BASELINE)
    assert not ok and "above ceiling" in lines[0]


def test_gate_fails_without_results() -> None:
    assert compare([], BASELINE)[0] is False


def test_gate_cli_reads_pytest_benchmark_json(tmp_path: Path) -> None:
    slow = {"benchmarks": [{"name": "x", "extra_info": _result(3.0)}]}
    fine = {"benchmarks": [{"name": "x", "extra_info": _result(2.0)}]}
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps(BASELINE))
    for doc, expected in ((slow, 1), (fine, 0)):
        path = tmp_path / "results.json"
        path.write_text(json.dumps(doc))
        assert load_results(path)[0]["ratio"] == doc["benchmarks"][0]["extra_info"]["ratio"]
        proc = subprocess.run(
            [sys.executable, "-m", "bench.compare", str(path), "--baseline", str(baseline)],
            capture_output=True, text=True, cwd=Path(__file__).parents[1],
        )
        assert proc.returncode == expected, proc.stdout + proc.stderr


def test_breakdown_steps_run_and_report_against_the_floor(tmp_path: Path) -> None:
    """Every step of `python -m dqs.bench.breakdown` runs on a real (small) generated log, and
    the table divides each best time by the floor's best."""
    from bench.breakdown import format_runs, steps
    from bench.runner import run_measured

    log = tmp_path / "log.csv"
    assert run_dqs("generate", "--rows", "2000", "--output", log).returncode == 0
    for name, cmd in steps(log, tmp_path / "out").items():
        _, peak, code, tail = run_measured(cmd)
        assert code == 0, f"{name}: {tail}"
        assert peak > 0
    table = format_runs({"floor": [(2.0, 100.0), (1.0, 90.0)], "dqs-summarize": [(1.5, 300.0), (3.0, 310.0)]})
    assert table.splitlines()[1].split()[:4] == ["floor", "1.00", "1.00", "100"]
    assert table.splitlines()[2].split()[:4] == ["dqs-summarize", "1.50", "1.50", "310"]
