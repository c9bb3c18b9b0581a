"""The daily run from the history store against the one-shot summary of every row (issue 13).

    python -m dqs.bench.store --size 10m [--repeat 3] [--double] [--json FILE]

The generated log of a size is cut into its history (every day but the last) and its last
day, as two files named so that sorted path order is ingest order. A store holds the history
(its ingest is timed once: throughput). Then, alternately and `--repeat` times each, in fresh
processes:

- one-shot: `dqs summarize DIR` over both files;
- daily: a copy of the history store (copied, and synced to disk, untimed), then
  `dqs summarize LAST_DAY --store COPY`: the new day's ingest and the summary from the store,
  Python start-up included.

ratio = best daily / best one-shot, and the outputs of the two must be equal byte for byte.
`--double` also runs the daily step on a history twice as long with the same groups (the log
again, dated 730 days earlier, before it): the figure is daily(2x) / daily(1x).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

from dqs.engine.store.maintenance import disk_usage

from .runner import SIZES, data_dir, dqs_command, ensure_input, run_measured

CONTRACT = ("full_summary.csv", "nl_all_rows.txt", "rejects.csv", "summary.parquet")


def split_log(size: str, double: bool, parts: int = 1) -> Path:
    """`DIR/1-history-K.csv` (the history cut by date into `parts` files), `DIR/2-day.csv` (the
    last day), and with `double` `DIR/0-older.csv` (the history again, 730 days earlier); made once."""
    import polars as pl

    folder = data_dir() / f"store-{size}{'-x2' if double else ''}"
    if (folder / "2-day.csv").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    log = ensure_input(size, "csv")
    frame = pl.scan_csv(log, infer_schema=False)
    day = pl.col("business_date").str.head(10)
    last = frame.select(day.max()).collect().item()
    first = frame.select(day.min()).collect().item()
    history = frame.filter(day < last)
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    cuts = [(start + (end - start) * k / parts).isoformat() for k in range(parts)] + [last]
    for k in range(parts):
        history.filter((day >= cuts[k]) & (day < cuts[k + 1])).sink_csv(folder / f"1-history-{k:02d}.csv")
    frame.filter(day == last).sink_csv(folder / "2-day.csv")
    if double:
        shifted = (day.str.strptime(pl.Date, "%Y-%m-%d") - timedelta(days=730)).cast(pl.String)
        history.with_columns(business_date=shifted).sink_csv(folder / "0-older.csv")
    return folder


def history_store(folder: Path) -> tuple[Path, float, int]:
    """The store of every file but the last day, one ingest per file (made once); the ingests'
    wall time and rows."""
    store = folder / "store"
    files = sorted(p for p in folder.glob("*.csv") if p.name != "2-day.csv")
    rows = sum(_lines(p) - 1 for p in files)
    stamp = folder / "store-ingest.json"
    if not stamp.exists():
        shutil.rmtree(store, ignore_errors=True)
        walls, peaks = [], []
        for path in files:
            wall, peak, code, tail = run_measured(dqs_command() + ["ingest", str(path), "--store", str(store), "-q"])
            if code != 0:
                raise RuntimeError(f"ingest of {path} failed: {tail}")
            walls.append(wall)
            peaks.append(peak)
        stamp.write_text(json.dumps({"wall_s": sum(walls), "peak_rss_mb": max(peaks), "rows": rows,
                                     "ingests": len(files)}))
    facts = json.loads(stamp.read_text())
    return store, facts["wall_s"], facts["rows"]


def _lines(path: Path) -> int:
    with path.open("rb") as fh:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 24), b""))


def daily_vs_one_shot(folder: Path, repeat: int) -> dict:
    store, ingest_s, history_rows = history_store(folder)
    work = Path(tempfile.mkdtemp(prefix="dqs-bench-store-", dir=data_dir()))
    one, daily = work / "one", work / "daily"
    runs: dict[str, list[tuple[float, float]]] = {"one_shot": [], "daily": []}
    try:
        copy = work / "store"
        for run in range(repeat):
            wall, peak, code, tail = run_measured(dqs_command() + ["summarize", str(folder), "-o", str(one), "-q"])
            if code != 0:
                raise RuntimeError(f"one-shot summarize failed: {tail}")
            runs["one_shot"].append((wall, peak))
            shutil.copytree(store, copy)
            # the copy's dirty pages (6.5 GiB at 100M) would otherwise be written back during the
            # timed run: a store in daily use is not a fresh copy
            os.sync()
            wall, peak, code, tail = run_measured(dqs_command() + [
                "summarize", str(folder / "2-day.csv"), "--store", str(copy), "-o", str(daily), "-q"])
            if code != 0:
                raise RuntimeError(f"daily summarize failed: {tail}")
            runs["daily"].append((wall, peak))
            if run < repeat - 1:  # the last copy is measured below; earlier ones would crowd the log out of the page cache
                shutil.rmtree(copy)
        different = [n for n in CONTRACT if (one / n).read_bytes() != (daily / n).read_bytes()]
        report = json.loads((daily / "run_report.json").read_text())
        store_bytes = disk_usage(copy)[1]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    best = {k: min(w for w, _ in v) for k, v in runs.items()}
    csv_bytes = sum(p.stat().st_size for p in folder.glob("*.csv"))
    rows = history_rows + _lines(folder / "2-day.csv") - 1
    return {
        "folder": str(folder),
        "rows": rows,
        "day_rows": _lines(folder / "2-day.csv") - 1,
        "groups": report["groups"],
        "one_shot_s": round(best["one_shot"], 3),
        "daily_s": round(best["daily"], 3),
        "ratio": round(best["daily"] / best["one_shot"], 4),
        "one_shot_runs_s": [round(w, 3) for w, _ in runs["one_shot"]],
        "daily_runs_s": [round(w, 3) for w, _ in runs["daily"]],
        "daily_peak_rss_mb": round(max(p for _, p in runs["daily"]), 1),
        "one_shot_peak_rss_mb": round(max(p for _, p in runs["one_shot"]), 1),
        "outputs_identical": not different,
        "outputs_different": different,
        "history_ingest_s": round(ingest_s, 2),
        "ingest_rows_per_s": round(history_rows / ingest_s),
        "one_shot_rows_per_s": round(rows / best["one_shot"]),
        "store_bytes": store_bytes,
        "csv_bytes": csv_bytes,
        "stages_daily": {s["name"]: s["wall_s"] for s in report["performance"]["stages"]},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dqs.bench.store", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="10m", choices=sorted(SIZES))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--double", action="store_true", help="also a history twice as long, same groups")
    parser.add_argument("--history-files", type=int, default=1,
                        help="cut the history into this many files by date, ingested one invocation each")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    results = {"single": daily_vs_one_shot(split_log(args.size, False, args.history_files), args.repeat)}
    if args.double:
        results["double"] = daily_vs_one_shot(split_log(args.size, True, args.history_files), args.repeat)
        results["daily_double_over_single"] = round(results["double"]["daily_s"] / results["single"]["daily_s"], 3)
    parquet = data_dir() / f"results-{args.size}.parquet"  # made by `dqs bench` for that size, if it ran
    results["parquet_log_bytes"] = parquet.stat().st_size if parquet.exists() else None
    for name, r in (("single", results["single"]), ("double", results.get("double"))):
        if r is None:
            continue
        print(f"{name}: {r['rows']:,} rows ({r['day_rows']:,} on the new day), {r['groups']:,} groups: "
              f"one-shot {r['one_shot_s']:.2f} s, daily {r['daily_s']:.2f} s, ratio {r['ratio']:.3f}; "
              f"outputs identical: {r['outputs_identical']}; history ingest {r['history_ingest_s']:.1f} s "
              f"({r['ingest_rows_per_s']:,} rows/s against the one-shot's {r['one_shot_rows_per_s']:,}); "
              f"store {r['store_bytes'] / 2**20:.0f} MiB, CSV {r['csv_bytes'] / 2**20:.0f} MiB")
    if results["parquet_log_bytes"]:
        print(f"Parquet log of the same size: {results['parquet_log_bytes'] / 2**20:.0f} MiB")
    if "daily_double_over_single" in results:
        print(f"daily run, history doubled / single: {results['daily_double_over_single']:.3f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0 if all(r["outputs_identical"] for r in (results["single"], results.get("double") or results["single"])) else 1


if __name__ == "__main__":
    sys.exit(main())
