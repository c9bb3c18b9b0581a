"""Scores of predictions against held-out values: the model beside the naive baselines."""

from __future__ import annotations

import numpy as np
import polars as pl

from .features import BASELINES
from .series import SERIES_KEY

HORIZON_BUCKETS = ((1, 7), (8, 14), (15, 28), (29, 90), (91, 366))


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
    report["band"] = {"coverage": float(np.mean((observed >= lower) & (observed <= upper))) if observed.size else None,
                      "mean_width": float(np.mean(upper - lower)) if observed.size else None,
                      "nominal": coverage}
    return report
