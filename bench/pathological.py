"""Pathological shapes under the default memory ceiling: all rows in one group, every row its own
group, one dataset with 100k rules. Each is generated with DuckDB (cached in $DQS_BENCH_DATA),
summarized by the real CLI in a fresh process, and reported with its exit code, wall time and
peak RSS (os.wait4). A shape passes when it completes, or stops with exit 1 and a message that
names the limit to raise; an OOM kill (a signal) fails it.

    python -m dqs.bench.pathological [--rows 10000000] [--format parquet|csv]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

SHAPES = {
    # name: SQL over range(n) giving the 11 input columns
    "one_group": """
        SELECT 'erp' AS source, 't1' AS tenant_id, 'u1' AS dataset_uuid, 'orders' AS dataset_name,
               '101' AS rule_code, CAST(DATE '2026-10-30' - CAST(range % 730 AS INTEGER) AS VARCHAR) AS business_date,
               CASE WHEN range % 7 = 0 THEN '{"result": "fail"}' ELSE '{"result": "pass"}' END AS results,
               'DATASET' AS level_of_execution, '' AS attribute_name,
               CAST(range % 1000 AS VARCHAR) AS dataset_record_count, CAST(range % 100 AS VARCHAR) AS filtered_record_count
        FROM range($n)""",
    "distinct_groups": """
        SELECT 'erp' AS source, 't' || (range % 97) AS tenant_id, 'u' || range AS dataset_uuid, 'ds' || range AS dataset_name,
               CAST(range % 60 AS VARCHAR) AS rule_code, CAST(DATE '2026-10-30' - CAST(range % 730 AS INTEGER) AS VARCHAR) AS business_date,
               CASE WHEN range % 7 = 0 THEN '{"result": "fail"}' ELSE '{"result": "pass"}' END AS results,
               'DATASET' AS level_of_execution, '' AS attribute_name,
               CAST(range % 1000 AS VARCHAR) AS dataset_record_count, CAST(range % 100 AS VARCHAR) AS filtered_record_count
        FROM range($n)""",
    "many_rules": """
        SELECT 'erp' AS source, 't1' AS tenant_id, 'u1' AS dataset_uuid, 'orders' AS dataset_name,
               'R' || (range % 100000) AS rule_code,
               CAST(DATE '2026-10-30' - CAST(range // 100000 AS INTEGER) AS VARCHAR) AS business_date,
               CASE WHEN range % 7 = 0 THEN '{"result": "fail"}' ELSE '{"result": "pass"}' END AS results,
               'ATTRIBUTE' AS level_of_execution, 'col' || (range % 50) AS attribute_name,
               CAST(range % 1000 AS VARCHAR) AS dataset_record_count, CAST(range % 100 AS VARCHAR) AS filtered_record_count
        FROM range($n)""",
}


def make_input(shape: str, rows: int, fmt: str, folder: Path) -> Path:
    path = folder / f"{shape}-{rows}.{fmt}"
    if path.exists():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    con = duckdb.connect()
    try:
        rel = con.sql(SHAPES[shape].replace("$n", str(int(rows))))  # rows is an int: safe
        if fmt == "parquet":
            rel.write_parquet(str(partial))
        else:
            rel.write_csv(str(partial), header=True)
    finally:
        con.close()
    os.replace(partial, path)
    return path


def run(path: Path) -> tuple[int, float, int, str]:
    out = Path(tempfile.mkdtemp(prefix="dqs-patho-"))
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "dqs", "summarize", str(path), "-o", str(out), "-q"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - started
    stderr = process.stderr.read() if process.stderr else ""
    shutil.rmtree(out, ignore_errors=True)
    code = os.waitstatus_to_exitcode(status)
    return code, wall, usage.ru_maxrss * 1024, stderr.strip().splitlines()[0] if stderr.strip() else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    parser.add_argument("--shapes", default=",".join(SHAPES))
    args = parser.parse_args(argv)
    folder = Path(os.environ.get("DQS_BENCH_DATA", ".bench-data")) / "pathological"
    print(f"{'shape':16} {'rows':>11} {'format':8} {'exit':>4} {'wall s':>7} {'peak RSS MB':>11}  verdict")
    failed = 0
    for shape in args.shapes.split(","):
        path = make_input(shape, args.rows, args.format, folder)
        code, wall, peak, message = run(path)
        ok = code == 0 or (code == 1 and "memory-limit" in message)
        failed += not ok
        verdict = "ok" if code == 0 else (f"stopped: {message}" if ok else f"FAILED (exit {code}) {message}")
        print(f"{shape:16} {args.rows:>11,} {args.format:8} {code:>4} {wall:>7.1f} {peak / 2**20:>11.0f}  {verdict}",
              flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
