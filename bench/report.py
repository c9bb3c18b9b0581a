"""`dqs report` at 1k / 10k / 100k groups: file size, build time and memory, and time to
interactive in headless Chromium (issue 16's budgets: <= 8 MB, interactive within 3 s at 100k).

    python -m dqs.bench.report [--groups 1k,10k,100k] [--repeat 3] [--model] [--json FILE]

Inputs: for G groups, `dqs generate` writes 400 x G rows as Parquet (the generator's
ROWS_PER_SERIES: one series per group, each about 400 runs spread over its up to 730 days, a
third of the series running several times a day, with gaps, incidents and ~1% unknown statuses),
cut by date into files of at most 4M rows and ingested one invocation each into a store, once
(in $DQS_BENCH_DATA, default ./.bench-data). Then, in fresh processes:

- build: `dqs report --store STORE --rules RULES -o report.html` (wall time and peak RSS from the
  kernel); with --model also with a model trained by `dqs train` on the same log (up to 10k
  groups; training on the 100k log, 40M rows, is out of this benchmark's reach, so 100k uses the
  10k model: its forecasts start from the 100k store's history, the same work and payload);
- open: the file in a fresh headless Chromium page, `repeat` times; interactive = navigation
  start to the page's data-ready mark (payload decoded, every figure computed, the table drawn);
  then, in the same page, the time to sort the table on a column, to filter it, and to open a
  series (its chart drawn), and the page's JavaScript heap.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import statistics
import sys
from datetime import timedelta
from pathlib import Path

from .runner import data_dir, dqs_command, run_measured

GROUPS = {"1k": 1_000, "10k": 10_000, "100k": 100_000}
ROWS_PER_GROUP = 400  # engine/generate.py's ROWS_PER_SERIES: rows / 400 series, one group each
PART_ROWS = 4_000_000
SEED = 20261201
MODEL_UP_TO = 10_000  # training on the 100k log (40M rows) is out of this benchmark's reach


def _store(size: str) -> tuple[Path, Path, Path, dict]:
    """The log, its rules, and the store of it (made once)."""
    import polars as pl

    folder = data_dir() / f"report-{size}"
    store, log, rules = folder / "store", folder / "log.parquet", folder / "rules.json"
    stamp = folder / "store.json"
    if stamp.exists():
        return store, log, rules, json.loads(stamp.read_text())
    folder.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(store, ignore_errors=True)  # left by an interrupted run
    rows = GROUPS[size] * ROWS_PER_GROUP
    if not (log.exists() and rules.exists()):  # the generator renames its files into place when done
        wall, _, code, tail = run_measured(dqs_command() + ["generate", "--rows", str(rows), "--seed", str(SEED),
                                                            "--output", str(log), "--rules", str(rules)])
        if code != 0:
            raise RuntimeError(f"generate failed: {tail}")
    parts = max(1, math.ceil(rows / PART_ROWS))
    paths = [log]
    if parts > 1:
        frame = pl.scan_parquet(log)
        first, last = frame.select(pl.col("business_date").min().alias("first"),
                                   pl.col("business_date").max().alias("last")).collect().row(0)
        cuts = [first + (last - first) * k / parts for k in range(parts)] + [last + timedelta(days=1)]
        paths = []
        for k in range(parts):
            path = folder / f"part-{k:02d}.parquet"
            frame.filter((pl.col("business_date") >= cuts[k]) & (pl.col("business_date") < cuts[k + 1])).sink_parquet(path)
            paths.append(path)
    ingest_s = 0.0
    for path in paths:
        wall, _, code, tail = run_measured(dqs_command() + ["ingest", str(path), "--store", str(store), "-q"])
        if code != 0:
            raise RuntimeError(f"ingest of {path} failed: {tail}")
        ingest_s += wall
    facts = {"rows": rows, "ingests": len(paths), "ingest_s": round(ingest_s, 1)}
    stamp.write_text(json.dumps(facts))
    return store, log, rules, facts


def _model(size: str, log: Path) -> Path:
    model = data_dir() / f"report-{size}" / "model"
    if not (model / "checksums.json").exists():
        wall, peak, code, tail = run_measured(dqs_command() + ["train", str(log), "--model", str(model), "--horizon", "14"])
        if code != 0:
            raise RuntimeError(f"train failed: {tail}")
    return model


def _open(path: Path, repeat: int) -> dict:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise RuntimeError("chromium is not installed (apt-get install -y chromium)")
    runs = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--enable-precise-memory-info"])
        try:
            for _ in range(repeat):
                page = browser.new_page(viewport={"width": 1440, "height": 1000})
                errors: list[str] = []
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                page.goto(path.resolve().as_uri())
                page.wait_for_selector("html[data-ready]", timeout=120_000)
                run = page.evaluate("""() => {
                    const ready = Number(document.documentElement.dataset.readyMs);
                    const time = (f) => { const t = performance.now(); f(); return performance.now() - t; };
                    const header = Array.from(document.querySelectorAll('#thead .th')).find(h => h.textContent === 'Fail 1m');
                    const sort = time(() => header.click());
                    const select = document.querySelector('#filter-trend_flag');
                    const up = Array.from(select.options).find(o => o.text === 'up');
                    const filter = time(() => { select.value = up ? up.value : '-1'; select.dispatchEvent(new Event('change')); });
                    const series = time(() => dqsReport.open(dqsReport.view()[0] || 0));
                    return {interactive_ms: ready, sort_ms: sort, filter_ms: filter, series_ms: series,
                            rows_shown: Number(document.querySelector('#row-count').dataset.count),
                            heap_mb: performance.memory ? performance.memory.usedJSHeapSize / 2 ** 20 : null};
                }""")
                if errors:
                    raise RuntimeError(f"the page reported errors: {errors[:3]}")
                runs.append(run)
                page.close()
        finally:
            browser.close()
    best = min(runs, key=lambda r: r["interactive_ms"])
    return {
        "interactive_ms_best": round(best["interactive_ms"]),
        "interactive_ms_median": round(statistics.median(r["interactive_ms"] for r in runs)),
        "interactive_ms_runs": [round(r["interactive_ms"]) for r in runs],
        "sort_ms": round(min(r["sort_ms"] for r in runs)),
        "filter_ms": round(min(r["filter_ms"] for r in runs)),
        "series_ms": round(min(r["series_ms"] for r in runs)),
        "heap_mb": None if best["heap_mb"] is None else round(max(r["heap_mb"] for r in runs), 1),
    }


def measure(size: str, repeat: int, with_model: bool) -> dict:
    store, log, rules, facts = _store(size)
    out = data_dir() / f"report-{size}" / ("report-model.html" if with_model else "report.html")
    command = dqs_command() + ["report", "--store", str(store), "--rules", str(rules), "-o", str(out), "-q"]
    if with_model:
        trained_on = size if GROUPS[size] <= MODEL_UP_TO else max((s for s in GROUPS if GROUPS[s] <= MODEL_UP_TO),
                                                                  key=GROUPS.get)
        command += ["--model", str(_model(trained_on, _store(trained_on)[1]))]
    wall, peak, code, tail = run_measured(command)
    if code != 0:
        raise RuntimeError(f"report failed: {tail}")
    page = out.read_text(encoding="utf-8")
    meta = json.loads(page.split('id="dqs-meta">', 1)[1].split("</script>", 1)[0])
    return {
        "groups": meta["groups"], "rows": facts["rows"], "model": with_model, "history_days": meta["history"]["days"],
        "file_bytes": out.stat().st_size, "build_s": round(wall, 2), "build_peak_rss_mb": round(peak),
        "store_ingests": facts["ingests"], "store_ingest_s": facts["ingest_s"], "path": str(out),
        **_open(out, repeat),
    }


def format_table(results: list[dict]) -> str:
    head = (f"{'groups':>7}  {'rows':>11}  {'model':>5}  {'days':>4}  {'file MB':>7}  {'build s':>7}  {'build MB':>8}  "
            f"{'interactive ms':>14}  {'sort ms':>7}  {'filter ms':>9}  {'series ms':>9}  {'heap MB':>7}")
    lines = [head, "-" * len(head)]
    for r in results:
        lines.append(f"{r['groups']:>7,}  {r['rows']:>11,}  {'yes' if r['model'] else 'no':>5}  {r['history_days']:>4}  "
                     f"{r['file_bytes'] / 1e6:>7.2f}  {r['build_s']:>7.1f}  {r['build_peak_rss_mb']:>8,}  "
                     f"{r['interactive_ms_best']:>6} / {r['interactive_ms_median']:>5}  {r['sort_ms']:>7}  "
                     f"{r['filter_ms']:>9}  {r['series_ms']:>9}  {r['heap_mb'] if r['heap_mb'] is not None else '-':>7}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dqs.bench.report", description=__doc__.split("\n\n")[0])
    parser.add_argument("--groups", default="1k,10k", help="comma-separated: 1k, 10k, 100k")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--model", action="store_true", help=f"also with a model (trained on the same log up to {MODEL_UP_TO:,} groups, else on the largest such)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    sizes = [s.strip() for s in args.groups.split(",") if s.strip()]
    unknown = [s for s in sizes if s not in GROUPS]
    if unknown:
        parser.error(f"unknown size(s) {unknown}; use {', '.join(GROUPS)}")
    results = []
    for size in sizes:
        results.append(measure(size, args.repeat, False))
        if args.model:
            results.append(measure(size, args.repeat, True))
        print(format_table(results[-1:]).splitlines()[-1], file=sys.stderr, flush=True)
    print(format_table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    budget = [r for r in results if r["groups"] >= 100_000]
    return 0 if all(r["file_bytes"] <= 8_000_000 and r["interactive_ms_best"] <= 3000 for r in budget) else 1


if __name__ == "__main__":
    sys.exit(main())
