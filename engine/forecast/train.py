"""LightGBM forecasts of a series' daily pass percentage, with calibrated bands.

Training is direct multi-horizon: examples pair a series' state at an origin with its observed
value 1..horizon days later, for origins every `origin_step` days. The origins are split by
date into train, validation (early stopping) and calibration (the bands) slices, and a training
example's target day never passes the start of the next slice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import lightgbm as lgb
import numpy as np
import polars as pl

from .features import CATEGORICAL, FEATURES, attach_attributes, origin_states, training_examples
from .evaluation import HORIZON_BUCKETS, score
from .series import History

DEFAULT_HORIZON = 28
DEFAULT_COVERAGE = 0.8
SEED = 17
# Targets are noisy (a day with one run is 0 or 100): small trees with well-populated leaves
# (chosen by MAE against the generator's true pass rates on a holdout after the training data:
# 63 leaves/200 rows 0.886 of the best baseline, 15/2000 0.856, 7/5000 0.832), and a
# validation slice decides how many.
LGB_PARAMS = {
    "objective": "regression",
    "learning_rate": 0.1,
    "num_leaves": 7,
    "min_data_in_leaf": 5000,
    "feature_fraction": 0.9,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "deterministic": True,
    "force_row_wise": True,
    "verbose": -1,
}


@dataclass(frozen=True)
class TrainOptions:
    horizon: int = DEFAULT_HORIZON
    coverage: float = DEFAULT_COVERAGE
    origin_step: int = 7
    warmup_days: int = 28
    max_examples: int = 1_000_000
    threads: int = 2
    seed: int = SEED


@dataclass
class Trained:
    booster: lgb.Booster
    levels: dict[str, list[str]]
    bands: list[dict]  # per horizon bucket: lo, hi, lower and upper residual quantiles
    window: dict[str, str]
    metrics: dict
    options: TrainOptions
    report: dict  # the model beside the baselines on the calibration slice

    @property
    def best_iteration(self) -> int:
        return int(self.booster.best_iteration)


def encode(rows: pl.DataFrame, levels: dict[str, list[str]]) -> np.ndarray:
    """The feature matrix: numeric features as floats, categoricals as their level index
    (unknown levels and missing values become NaN, which LightGBM treats as missing)."""
    columns = []
    for name in FEATURES:
        if name in CATEGORICAL:
            mapping = pl.DataFrame({name: levels[name], "_code": np.arange(len(levels[name]), dtype=np.float64)},
                                   schema={name: pl.String, "_code": pl.Float64})
            codes = rows.select(pl.col(name).cast(pl.String)).join(mapping, on=name, how="left", maintain_order="left")["_code"]
            columns.append(codes.to_numpy())
        else:
            columns.append(rows[name].cast(pl.Float64).to_numpy())
    return np.column_stack(columns) if columns else np.empty((rows.height, 0))


def category_levels(attributes: pl.DataFrame) -> dict[str, list[str]]:
    return {
        name: sorted(attributes[name].drop_nulls().cast(pl.String).unique().to_list())
        for name in CATEGORICAL
    }


def _origins(first: date, last: date, step: int, warmup: int) -> list[date]:
    start = first + timedelta(days=warmup)
    out, day = [], last - timedelta(days=1)
    while day >= start:
        out.append(day)
        day -= timedelta(days=step)
    return sorted(out)


def train(history: History, options: TrainOptions = TrainOptions()) -> Trained:
    """Fit the model on `history`, stop early on a later slice, calibrate bands on the last one."""
    daily, attributes = history.daily, history.attributes
    if daily.height == 0:
        raise ValueError("no observed days (no pass or fail rows) to learn from")
    first, last = daily["business_date"].min(), daily["business_date"].max()
    origins = _origins(first, last, options.origin_step, options.warmup_days)
    if len(origins) < 6:
        raise ValueError(f"history too short: {(last - first).days + 1} days; need at least "
                         f"{options.warmup_days + 6 * options.origin_step}")
    n = len(origins)
    calib_start = origins[int(n * 0.85)]
    valid_start = origins[int(n * 0.7)]
    examples = attach_attributes(
        training_examples(daily, origin_states(daily, last, origins), options.horizon), attributes
    ).sort(["dataset_uuid", "rule_code", "origin", "target_date"])  # joins do not keep row order; training must
    # slices by origin date; a slice's targets stay before the next slice starts
    train_rows = examples.filter((pl.col("origin") < valid_start) & (pl.col("target_date") < valid_start))
    valid_rows = examples.filter((pl.col("origin") >= valid_start) & (pl.col("origin") < calib_start)
                                 & (pl.col("target_date") < calib_start))
    calib_rows = examples.filter(pl.col("origin") >= calib_start)
    if train_rows.height > options.max_examples:
        train_rows = train_rows.sample(options.max_examples, seed=options.seed)
    levels = category_levels(attributes)
    params = {**LGB_PARAMS, "num_threads": options.threads, "seed": options.seed}
    categorical = [FEATURES.index(c) for c in CATEGORICAL]
    train_set = lgb.Dataset(encode(train_rows, levels), train_rows["target"].to_numpy(),
                            feature_name=list(FEATURES), categorical_feature=categorical, free_raw_data=True)
    valid_set = lgb.Dataset(encode(valid_rows, levels), valid_rows["target"].to_numpy(), reference=train_set)
    booster = lgb.train(params, train_set, num_boost_round=600, valid_sets=[valid_set],
                        callbacks=[lgb.early_stopping(30, verbose=False)])
    predicted = np.clip(booster.predict(encode(calib_rows, levels), num_iteration=booster.best_iteration), 0, 100)
    residual = calib_rows["target"].to_numpy() - predicted
    bands = calibrate_bands(calib_rows["horizon"].to_numpy(), residual, options.coverage)
    lower, upper = apply_bands(predicted, calib_rows["horizon"].to_numpy(), bands)
    report = score(calib_rows.with_columns(pl.Series("predicted", predicted), pl.Series("lower", lower),
                                           pl.Series("upper", upper)), options.coverage)
    report["origin_count"] = sum(1 for o in origins if o >= calib_start)
    report["note"] = ("held-out calibration origins; the band is calibrated on them, "
                      "so its coverage here is in-sample")
    window = {
        "first_day": first.isoformat(), "last_day": last.isoformat(),
        "train_origins": f"{origins[0]}..{valid_start - timedelta(days=1)}",
        "validation_origins": f"{valid_start}..{calib_start - timedelta(days=1)}",
        "calibration_origins": f"{calib_start}..{origins[-1]}",
    }
    metrics = {
        "train_examples": train_rows.height, "validation_examples": valid_rows.height,
        "calibration_examples": calib_rows.height, "best_iteration": booster.best_iteration,
    }
    return Trained(booster, levels, bands, window, metrics, options, report)


def calibrate_bands(horizons: np.ndarray, residual: np.ndarray, coverage: float) -> list[dict]:
    """Split-conformal bands per horizon bucket: the residual quantiles that leave (1-coverage)/2
    of held-out values below and above (finite-sample corrected)."""
    bands = []
    overall = residual if residual.size else np.zeros(1)
    for lo, hi in HORIZON_BUCKETS:
        r = residual[(horizons >= lo) & (horizons <= hi)]
        r = r if r.size >= 50 else overall
        tail = (1 - coverage) / 2
        n = r.size
        q_lo = float(np.quantile(r, max(0.0, np.floor(tail * (n + 1)) / n))) if n else 0.0
        q_hi = float(np.quantile(r, min(1.0, np.ceil((1 - tail) * (n + 1)) / n))) if n else 0.0
        bands.append({"lo": lo, "hi": hi, "lower": q_lo, "upper": q_hi, "examples": int(n)})
    return bands


def apply_bands(predicted: np.ndarray, horizons: np.ndarray, bands: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    lower = np.full(predicted.shape, np.nan)
    upper = np.full(predicted.shape, np.nan)
    for band in bands:
        mask = (horizons >= band["lo"]) & (horizons <= band["hi"])
        lower[mask] = predicted[mask] + band["lower"]
        upper[mask] = predicted[mask] + band["upper"]
    return np.clip(lower, 0, 100), np.clip(upper, 0, 100)


def predict_rows(rows: pl.DataFrame, booster: lgb.Booster, levels: dict[str, list[str]], bands: list[dict],
                 best_iteration: int | None = None) -> pl.DataFrame:
    """Adds predicted, lower and upper pass percentages to rows that carry all FEATURES."""
    if rows.height == 0:
        return rows.with_columns(
            pl.lit(None, pl.Float64).alias(c) for c in ("predicted", "lower", "upper")
        )
    predicted = np.clip(booster.predict(encode(rows, levels), num_iteration=best_iteration or None), 0, 100)
    lower, upper = apply_bands(predicted, rows["horizon"].to_numpy(), bands)
    return rows.with_columns(
        pl.Series("predicted", predicted), pl.Series("lower", lower), pl.Series("upper", upper)
    )
