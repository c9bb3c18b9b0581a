"""`dqs import` of many dbt run_results files (issue 15): the rate of a day's worth of dbt runs.

    python -m dqs.bench.importers [--files 10000] [--repeat 3] [--json FILE]

The files are copies of a real run_results.json written by dbt 1.12 (tests/interop/dbt/v6),
one per folder as a scheduler keeps them (`runs/NNNNN/run_results.json`), with the manifest of
that run. Each repeat is a fresh `dqs import dbt runs/ --manifest M -o log.parquet` process
(Python start-up included); the figure is files/s and rows/s of the best repeat, with its peak RSS,
beside a floor: a fresh Python that only parses every file with the json module.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from .runner import data_dir, dqs_command, run_measured

FLOOR = "import json, pathlib, sys\nfor p in sorted(pathlib.Path(sys.argv[1]).rglob('run_results.json')):\n    json.loads(p.read_bytes())"
FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "interop" / "dbt" / "v6" / "day3"


def make_runs(files: int) -> Path:
    """`files` copies of the fixture's run_results.json, made once."""
    folder = data_dir() / f"dbt-runs-{files}"
    if (folder / f"{files - 1:05d}" / "run_results.json").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(files):
        (folder / f"{i:05d}").mkdir(exist_ok=True)
        shutil.copy(FIXTURE / "run_results.json", folder / f"{i:05d}" / "run_results.json")
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dqs.bench.importers", description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args(argv)
    runs = make_runs(args.files)
    best = None
    with tempfile.TemporaryDirectory(prefix="dqs-bench-import-") as scratch:
        out = Path(scratch) / "log.parquet"
        for _ in range(args.repeat):
            wall, peak_mb, code, tail = run_measured(dqs_command() + [
                "import", "dbt", str(runs), "--manifest", str(FIXTURE / "manifest.json"), "-o", str(out), "-q"])
            if code != 0:
                raise SystemExit(f"dqs import failed ({code}): {tail}")
            if best is None or wall < best[0]:
                best = (wall, peak_mb)
        import pyarrow.parquet as pq

        rows = pq.read_metadata(out).num_rows
    # the floor: a fresh Python that only reads and parses every file with the json module
    floor = min(run_measured([sys.executable, "-c", FLOOR, str(runs)])[0] for _ in range(args.repeat))
    assert best is not None
    wall, peak_mb = best
    figures = {"files": args.files, "rows": rows, "wall_s": round(wall, 3), "floor_json_load_s": round(floor, 3),
               "ratio_to_floor": round(wall / floor, 2), "files_per_s": round(args.files / wall),
               "rows_per_s": round(rows / wall), "peak_rss_mb": round(peak_mb, 1)}
    print(f"dqs import dbt: {args.files:,} files, {rows:,} rows in {wall:.2f} s "
          f"({figures['files_per_s']:,} files/s, {figures['rows_per_s']:,} rows/s), peak RSS {peak_mb:.0f} MB; "
          f"json.load of every file alone: {floor:.2f} s (ratio {wall / floor:.2f})")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
