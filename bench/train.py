"""`dqs train` under a memory ceiling at growing sizes, and what the models are worth (issue 14).

    python -m dqs.bench.train [--sizes 1m,10m,100m] [--memory-limit 1GB] [--ceiling-mb 2048] [--json FILE]

For each size, a fresh `dqs train LOG --memory-limit LIMIT --as-of CUT` process on the generated
Parquet log of that size (the benchmark logs, seed 20261130), timed, with its peak RSS from the
kernel (`wait4`). Then every model is scored by `dqs validate-model` on the same holdout: a 1M-row
log of a seed never used for tuning (101), on the days after CUT, against the generator's truth.
The holdout's series are not in any training log, so the scores compare what each model learned,
not what it memorised. A size whose peak RSS is above the ceiling fails the run (exit 1).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from .runner import SEED, SIZES, data_dir, dqs_command, ensure_input, run_measured

CUT = "2026-09-01"
HOLDOUT_SEED = 101
HOLDOUT_ROWS = 1_000_000


def holdout() -> tuple[Path, Path]:
    """The holdout log and its truth, made once."""
    folder = data_dir() / "train-holdout"
    log, truth = folder / f"log-{HOLDOUT_SEED}.parquet", folder / f"truth-{HOLDOUT_SEED}.parquet"
    if not (log.exists() and truth.exists()):
        folder.mkdir(parents=True, exist_ok=True)
        _, _, code, tail = run_measured(dqs_command() + [
            "generate", "--rows", str(HOLDOUT_ROWS), "--seed", str(HOLDOUT_SEED), "--output", str(log),
            "--truth", str(truth)])
        if code != 0:
            raise SystemExit(f"generating the holdout failed: {tail}")
    return log, truth


def measure(size: str, memory_limit: str, work: Path, log: Path, truth: Path) -> dict:
    path = ensure_input(size, "parquet")
    model = work / f"model-{size}"
    wall, peak_mb, code, tail = run_measured(dqs_command() + [
        "train", str(path), "--model", str(model), "--as-of", CUT, "--memory-limit", memory_limit])
    if code != 0:
        raise SystemExit(f"dqs train on {path} failed ({code}): {tail}")
    meta = json.loads((model / "metadata.json").read_text())
    report = work / f"holdout-{size}.json"
    _, _, code, tail = run_measured(dqs_command() + [
        "validate-model", "--model", str(model), "--test-data", str(log), "--truth", str(truth), "--report", str(report)])
    if code != 0:
        raise SystemExit(f"dqs validate-model of {model} failed ({code}): {tail}")
    scores = json.loads(report.read_text())
    sample = meta["metrics"]["sample"]
    return {
        "size": size, "rows": SIZES[size], "memory_limit": memory_limit, "wall_s": round(wall, 1),
        "peak_rss_mb": round(peak_mb, 1), "series": sample["series"], "series_sampled": sample["series_sampled"],
        "train_examples": meta["metrics"]["train_examples"], "trees": meta["best_iteration"],
        "holdout_mae_truth": round(scores["truth"]["overall"]["model"]["mae"], 4),
        "holdout_ratio_truth": round(scores["truth"]["model_to_best_baseline"], 4),
        "holdout_band_coverage": round(scores["band"]["coverage"], 4),
        "holdout_ece": round(scores["risk"]["ece"], 4), "holdout_brier": round(scores["risk"]["brier"]["model"], 4),
        "holdout_brier_baseline": round(scores["risk"]["brier"]["baseline"], 4),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dqs.bench.train", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1m,10m,100m", help="comma-separated: 1m,10m,100m")
    parser.add_argument("--memory-limit", default="1GB")
    parser.add_argument("--ceiling-mb", type=float, default=2048.0, help="peak RSS allowed at every size")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args(argv)
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    unknown = [s for s in sizes if s not in SIZES]
    if unknown:
        raise SystemExit(f"unknown sizes {unknown}; choose from {sorted(SIZES)}")
    log, truth = holdout()
    rows = []
    with tempfile.TemporaryDirectory(prefix="dqs-bench-train-", dir=data_dir()) as scratch:
        for size in sizes:
            sys.stderr.write(f"training on {size} rows (seed {SEED}) ...\n")
            rows.append(measure(size, args.memory_limit, Path(scratch), log, truth))
    header = ("rows", "wall s", "peak RSS MB", "series (sampled)", "train examples", "trees",
              "holdout MAE vs truth", "ratio to best baseline", "band coverage", "ECE", "Brier (baseline)")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for r in rows:
        print(f"| {r['rows']:,} | {r['wall_s']:.1f} | {r['peak_rss_mb']:.0f} | {r['series']:,} ({r['series_sampled']:,}) | "
              f"{r['train_examples']:,} | {r['trees']} | {r['holdout_mae_truth']:.3f} | {r['holdout_ratio_truth']:.3f} | "
              f"{r['holdout_band_coverage']:.1%} | {r['holdout_ece']:.4f} | {r['holdout_brier']:.4f} ({r['holdout_brier_baseline']:.4f}) |")
    over = [r for r in rows if r["peak_rss_mb"] > args.ceiling_mb]
    for r in over:
        sys.stderr.write(f"FAIL {r['size']}: peak RSS {r['peak_rss_mb']:.0f} MB above {args.ceiling_mb:.0f} MB\n")
    if args.json:
        args.json.write_text(json.dumps({"memory_limit": args.memory_limit, "ceiling_mb": args.ceiling_mb,
                                         "cut": CUT, "holdout_seed": HOLDOUT_SEED, "results": rows}, indent=2) + "\n")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
