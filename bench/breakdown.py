"""Where the time of a CSV summary goes, step by step, against the floor.

    python -m dqs.bench.breakdown [--size 10m] [--repeat 3]

Each step runs in a fresh interpreter (Python start-up and imports included, as for the floor),
alternating with the others, best of --repeat; wall time and peak RSS come from `os.wait4`:

- floor: DuckDB reading the file with every column typed (runner.FLOOR_SCRIPT)
- polars-parse: Polars reading every column as text, numbered, every value touched
- polars-staging: dqs's staging query (csv_stage.staging_query): the parse, the recognizer and
  the group-by per (key texts, results, level) with window counts and latest values
- duckdb-group-by: DuckDB reading the file typed, as the floor, and grouping it the same way
  (no line numbers, no validation: a lower bound for a DuckDB-only staging)
- dqs-summarize: the whole CLI run, outputs written

The steps show which part of a summary costs what, beside the floor of the same minutes.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from .runner import FLOOR_SCRIPT, SIZES, TYPED_COLUMNS, dqs_command, ensure_input, run_measured

POLARS_PARSE = """
import sys, polars as pl
from dqs.engine.inputs.sources import REQUIRED_COLUMNS
frame = pl.scan_csv(sys.argv[1], infer_schema=False, row_index_name="_line")
print(frame.select(pl.len(), *[pl.col(c).str.len_bytes().sum() for c in REQUIRED_COLUMNS]).collect(engine="streaming"))
"""

POLARS_STAGING = """
import sys
from datetime import date
from pathlib import Path
from dqs.engine.inputs.csv_stage import staging_query
# the anchor's value does not change the work; the summary takes the latest date of the input
print(staging_query(Path(sys.argv[1]), date(2026, 10, 30), None).collect(engine="streaming").shape)
"""

DUCKDB_GROUP_BY = """
import sys, duckdb
types = %r  # read as the floor reads
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
con.execute("SET preserve_insertion_order = false")
rows = con.read_csv(sys.argv[1], header=True, columns=types)
print(rows.aggregate('''
    count(*),
    count(*) FILTER (WHERE business_date >= DATE '2026-10-30' - 365),
    count(*) FILTER (WHERE business_date >= DATE '2026-10-30' - 90),
    count(*) FILTER (WHERE business_date >= DATE '2026-10-30' - 30),
    max(business_date),
    arg_max(dataset_record_count, business_date),
    arg_max(filtered_record_count, business_date)''',
    'source, tenant_id, dataset_uuid, dataset_name, rule_code, results, level_of_execution').count('*').fetchall())
""" % (TYPED_COLUMNS,)


def steps(path: Path, out: Path) -> dict[str, list[str]]:
    python = [sys.executable, "-c"]
    return {
        "floor": python + [FLOOR_SCRIPT, str(path), "csv"],
        "polars-parse": python + [POLARS_PARSE, str(path)],
        "polars-staging": python + [POLARS_STAGING, str(path)],
        "duckdb-group-by": python + [DUCKDB_GROUP_BY, str(path)],
        "dqs-summarize": dqs_command() + ["summarize", str(path), "--output-dir", str(out), "--quiet"],
    }


def measure(size: str, repeat: int) -> dict[str, list[tuple[float, float]]]:
    path = ensure_input(size, "csv")
    out = Path(tempfile.mkdtemp(prefix="dqs-breakdown-"))
    runs: dict[str, list[tuple[float, float]]] = {}
    try:
        commands = steps(path, out)
        for _ in range(repeat):
            for name, cmd in commands.items():
                wall, peak, code, tail = run_measured(cmd)
                if code != 0:
                    raise RuntimeError(f"{name} failed with exit code {code}: {tail}")
                runs.setdefault(name, []).append((wall, peak))
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return runs


def format_runs(runs: dict[str, list[tuple[float, float]]]) -> str:
    floor = min(w for w, _ in runs["floor"])
    lines = [f"{'step':16s}  {'best s':>7s}  {'x floor':>7s}  {'peak MB':>7s}  runs (s)"]
    for name, measured in runs.items():
        best = min(w for w, _ in measured)
        peak = max(p for _, p in measured)
        spread = " ".join(f"{w:.2f}" for w, _ in measured)
        lines.append(f"{name:16s}  {best:7.2f}  {best / floor:7.2f}  {peak:7.0f}  {spread}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dqs.bench.breakdown", description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="10m", choices=sorted(SIZES))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    print(format_runs(measure(args.size, max(1, args.repeat))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
