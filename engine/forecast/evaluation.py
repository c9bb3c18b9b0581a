"""Scores of predictions against held-out values: the model beside the naive baselines."""

from __future__ import annotations

import numpy as np
import polars as pl

from .features import BASELINES
from .series import SERIES_KEY

HORIZON_BUCKETS = ((1, 7), (8, 14), (15, 28), (29, 90), (91, 366))
RUNS_BUCKETS = ((1, 1), (2, 2), (3, 3), (4, 5), (6, None))  # pass/fail runs on the target day
PROBABILITY_BINS = 10  # reliability: equal-width bins of predicted probability (0-0.1, ..., 0.9-1)


def _errors(actual: np.ndarray, predicted: np.ndarray) -> dict:
    mask = ~np.isnan(predicted) & ~np.isnan(actual)
    diff = predicted[mask] - actual[mask]
    return {"mae": float(np.mean(np.abs(diff))) if diff.size else None,
            "rmse": float(np.sqrt(np.mean(diff * diff))) if diff.size else None, "n": int(diff.size)}


def score(scored: pl.DataFrame, coverage: float, truth: pl.DataFrame | None = None) -> dict:
    """MAE/RMSE overall and per horizon bucket for the model and every baseline on the same
    examples (rows with `target`, `predicted`, `lower`, `upper`, `horizon` and the baselines),
    against the observed values and, if given, the true ones; band coverage and width."""
    targets = {"observed": scored["target"].to_numpy()}
    if truth is not None:
        scored = scored.join(truth.select(*SERIES_KEY, pl.col("business_date").alias("target_date"),
                                          pl.col("true_pass_percentage")), on=[*SERIES_KEY, "target_date"], how="left")
        targets["truth"] = scored["true_pass_percentage"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    methods = {"model": scored["predicted"].to_numpy(),
               **{name: scored[name].cast(pl.Float64).fill_null(np.nan).to_numpy() for name in BASELINES}}
    horizons = scored["horizon"].to_numpy()
    report: dict = {"examples": scored.height}
    for target_name, actual in targets.items():
        section = {"overall": {m: _errors(actual, p) for m, p in methods.items()}, "by_horizon": {}}
        for lo, hi in HORIZON_BUCKETS:
            mask = (horizons >= lo) & (horizons <= hi)
            if mask.any():
                section["by_horizon"][f"{lo}-{hi}"] = {m: _errors(actual[mask], p[mask]) for m, p in methods.items()}
        base = [section["overall"][b]["mae"] for b in BASELINES if section["overall"][b]["mae"] is not None]
        best = min(base) if base else None
        model_mae = section["overall"]["model"]["mae"]
        section["best_baseline_mae"] = best
        section["model_to_best_baseline"] = (model_mae / best) if best and model_mae is not None else None
        report[target_name] = section
    observed = targets["observed"]
    lower, upper = scored["lower"].to_numpy(), scored["upper"].to_numpy()
    inside = (observed >= lower) & (observed <= upper)
    report["band"] = {"coverage": float(np.mean(inside)) if observed.size else None,
                      "mean_width": float(np.mean(upper - lower)) if observed.size else None,
                      "nominal": coverage}
    if "target_runs" in scored.columns:
        runs = scored["target_runs"].to_numpy()
        by_runs = []
        for lo, hi in RUNS_BUCKETS:
            mask = (runs >= lo) & (runs <= (hi if hi is not None else np.iinfo(np.int64).max))
            if mask.any():
                by_runs.append({"runs": str(lo) if hi == lo else (f"{lo}-{hi}" if hi else f"{lo}+"),
                                "n": int(mask.sum()), "coverage": float(np.mean(inside[mask])),
                                "mean_width": float(np.mean(upper[mask] - lower[mask]))})
        report["band"]["by_runs"] = by_runs
    return report


def risk_score(scored: pl.DataFrame, threshold: float) -> dict:
    """How good `probability_below_threshold` and `expected_runs` are on held-out days (rows with
    `target`, `target_runs` and `below_share_long`, the series' share of days below the threshold
    up to the origin, which is the baseline): Brier score beside the baseline's, reliability per
    equal-width bin of predicted probability, expected calibration error (the bins' gaps between
    mean predicted and observed frequency, weighted by their share of days), and the runs' error
    beside the series' mean runs per observed day."""
    if scored.height == 0:
        return {"threshold": threshold, "examples": 0}
    below = (scored["target"] < threshold).cast(pl.Float64).to_numpy()
    probability = scored["probability_below_threshold"].to_numpy()
    baseline = scored["below_share_long"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    baseline = np.where(np.isnan(baseline), float(np.mean(below)), baseline)
    brier, brier_base = float(np.mean((probability - below) ** 2)), float(np.mean((baseline - below) ** 2))
    bins = np.minimum((probability * PROBABILITY_BINS).astype(np.int64), PROBABILITY_BINS - 1)
    counts = np.bincount(bins, minlength=PROBABILITY_BINS)
    predicted_sum = np.bincount(bins, weights=probability, minlength=PROBABILITY_BINS)
    observed_sum = np.bincount(bins, weights=below, minlength=PROBABILITY_BINS)
    reliability, ece = [], 0.0
    for b in np.flatnonzero(counts):
        mean_p, freq = predicted_sum[b] / counts[b], observed_sum[b] / counts[b]
        ece += counts[b] / below.size * abs(mean_p - freq)
        reliability.append({"bin": f"{b / PROBABILITY_BINS:.1f}-{(b + 1) / PROBABILITY_BINS:.1f}", "n": int(counts[b]),
                            "share": float(counts[b] / below.size), "mean_predicted": float(mean_p),
                            "observed": float(freq)})
    runs = scored["target_runs"].cast(pl.Float64).to_numpy()
    expected = scored["expected_runs"].to_numpy()
    runs_base = scored["runs_long_mean"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    return {
        "threshold": threshold,
        "examples": int(below.size),
        "observed_frequency": float(np.mean(below)),
        "mean_probability": float(np.mean(probability)),
        "brier": {"model": brier, "baseline": brier_base,
                  "skill": (1 - brier / brier_base) if brier_base > 0 else None,
                  "baseline_is": "the series' share of days below the threshold, up to the origin"},
        "ece": float(ece),
        "reliability": reliability,
        "runs": {"mean_expected": float(np.mean(expected)), "mean_observed": float(np.mean(runs)),
                 "mae": _errors(runs, expected)["mae"], "baseline_mae": _errors(runs, runs_base)["mae"],
                 "baseline_is": "the series' mean runs per observed day, up to the origin"},
    }
