"""LightGBM forecasts of a series' daily pass percentage, with calibrated bands and risk.

Training is direct multi-horizon: examples pair a series' state at an origin with its observed
value 1..horizon days later, for origins every `origin_step` days. The origins are split by
date into train, validation (early stopping) and calibration (the bands, the probability) slices,
and a training example's target day never passes the start of the next slice.

Three boosters learn from the same examples: the pass percentage (regression), whether the day's
pass percentage is below the threshold (binary; its probability is recalibrated on the
calibration slice by isotonic regression), and the day's number of pass/fail runs (Poisson).
All three answer for a day the series reports on (a day with a pass or fail run).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import lightgbm as lgb
import numpy as np
import polars as pl

from .features import (
    CATEGORICAL, DEFAULT_THRESHOLD, FEATURES, RISK_FEATURES, attach_attributes, origin_states, training_examples,
)
from .evaluation import HORIZON_BUCKETS, risk_score, score
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
# The risk models: larger trees, faster (chosen by Brier score on a holdout after the training
# data of a 1M-row log, seed 42: 7 leaves/5000 rows at rate 0.1 0.14418 with 347 trees, 15/2000
# at 0.2 0.14415 with 66, 31/1000 at 0.2 0.14422 with 50, and the regression's forecast as one
# more feature 0.14430: the features, not the trees, limit the probability, so the cheap setting).
RISK_PARAMS = {**LGB_PARAMS, "learning_rate": 0.2, "num_leaves": 15, "min_data_in_leaf": 2000}
CLASSIFIER_PARAMS = {**RISK_PARAMS, "objective": "binary"}
RUNS_PARAMS = {**RISK_PARAMS, "objective": "poisson"}
RISK_PATIENCE = 15  # rounds without improvement on the validation slice before the risk models stop
CALIBRATION_BINS = 200  # isotonic regression runs over this many equal-count bins of raw probability


@dataclass(frozen=True)
class TrainOptions:
    horizon: int = DEFAULT_HORIZON
    coverage: float = DEFAULT_COVERAGE
    origin_step: int = 7
    warmup_days: int = 28
    max_examples: int = 1_000_000
    risk_max_examples: int = 500_000  # the risk models learn from a seeded sample of the training examples
    threads: int = 2
    seed: int = SEED
    threshold: float = DEFAULT_THRESHOLD  # the risk model's: P(day's pass percentage < threshold)


@dataclass
class RiskModel:
    """The chance that a day's pass percentage is below `threshold`, and the day's expected
    pass/fail runs. `calibration` maps the classifier's raw probability to the calibrated one
    (isotonic: increasing points, interpolated linearly); `runs_scale` corrects the runs
    model's mean on the calibration slice."""

    threshold: float
    classifier: lgb.Booster
    classifier_iteration: int
    runs: lgb.Booster
    runs_iteration: int
    calibration: dict[str, list[float]]  # raw, probability
    runs_scale: float


@dataclass
class Trained:
    booster: lgb.Booster
    levels: dict[str, list[str]]
    bands: list[dict]  # per horizon bucket: lo, hi, lower and upper residual quantiles
    window: dict[str, str]
    metrics: dict
    options: TrainOptions
    report: dict  # the model beside the baselines on the calibration slice
    risk: RiskModel

    @property
    def best_iteration(self) -> int:
        return int(self.booster.best_iteration)


def encode(rows: pl.DataFrame, levels: dict[str, list[str]], features: tuple[str, ...] = FEATURES) -> np.ndarray:
    """The feature matrix: numeric features as floats, categoricals as their level index
    (unknown levels and missing values become NaN, which LightGBM treats as missing)."""
    columns = []
    for name in features:
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
    if not 0 < options.threshold <= 100:
        raise ValueError(f"threshold {options.threshold} is not in (0, 100]")
    first, last = daily["business_date"].min(), daily["business_date"].max()
    origins = _origins(first, last, options.origin_step, options.warmup_days)
    if len(origins) < 6:
        raise ValueError(f"history too short: {(last - first).days + 1} days; need at least "
                         f"{options.warmup_days + 6 * options.origin_step}")
    n = len(origins)
    calib_start = origins[int(n * 0.85)]
    valid_start = origins[int(n * 0.7)]
    examples = attach_attributes(
        training_examples(daily, origin_states(daily, last, origins, options.threshold), options.horizon), attributes
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
    risk = fit_risk(train_rows, valid_rows, calib_rows, levels, options)
    calib_scored = predict_risk(calib_rows.with_columns(pl.Series("predicted", predicted), pl.Series("lower", lower),
                                                        pl.Series("upper", upper)), risk, levels)
    report = score(calib_scored, options.coverage)
    report["risk"] = risk_score(calib_scored, options.threshold)
    report["origin_count"] = sum(1 for o in origins if o >= calib_start)
    report["note"] = ("held-out calibration origins; the band and the probability are calibrated on them, "
                      "so their coverage and calibration here are in-sample")
    window = {
        "first_day": first.isoformat(), "last_day": last.isoformat(),
        "train_origins": f"{origins[0]}..{valid_start - timedelta(days=1)}",
        "validation_origins": f"{valid_start}..{calib_start - timedelta(days=1)}",
        "calibration_origins": f"{calib_start}..{origins[-1]}",
    }
    metrics = {
        "train_examples": train_rows.height, "validation_examples": valid_rows.height,
        "calibration_examples": calib_rows.height, "best_iteration": booster.best_iteration,
        "risk_best_iteration": risk.classifier_iteration, "runs_best_iteration": risk.runs_iteration,
    }
    return Trained(booster, levels, bands, window, metrics, options, report, risk)


def fit_risk(train_rows: pl.DataFrame, valid_rows: pl.DataFrame, calib_rows: pl.DataFrame,
             levels: dict[str, list[str]], options: TrainOptions) -> RiskModel:
    """The risk models on the regression's slices: a classifier of `target < threshold` and a
    Poisson model of `target_runs`, both stopped early on the validation slice, then calibrated
    on the calibration slice (isotonic probability, a mean correction for the runs)."""
    categorical = [RISK_FEATURES.index(c) for c in CATEGORICAL]
    if train_rows.height > options.risk_max_examples:  # 500k of 1M: Brier 0.14426 vs 0.14415, half the time
        train_rows = train_rows.sample(options.risk_max_examples, seed=options.seed)

    def below(rows: pl.DataFrame) -> np.ndarray:
        return (rows["target"] < options.threshold).cast(pl.Float64).to_numpy()

    def runs_of(rows: pl.DataFrame) -> np.ndarray:
        return rows["target_runs"].cast(pl.Float64).to_numpy()

    # one binned dataset serves both models (only the label changes); the raw matrices are freed
    train_set = lgb.Dataset(encode(train_rows, levels, RISK_FEATURES), below(train_rows), feature_name=list(RISK_FEATURES),
                            categorical_feature=categorical, free_raw_data=True)
    valid_set = lgb.Dataset(encode(valid_rows, levels, RISK_FEATURES), below(valid_rows), reference=train_set,
                            free_raw_data=True)
    boosters = {}
    for name, params in (("classifier", CLASSIFIER_PARAMS), ("runs", RUNS_PARAMS)):
        if name == "runs":
            train_set.set_label(runs_of(train_rows))
            valid_set.set_label(runs_of(valid_rows))
        boosters[name] = lgb.train({**params, "num_threads": options.threads, "seed": options.seed}, train_set,
                                   num_boost_round=600, valid_sets=[valid_set],
                                   callbacks=[lgb.early_stopping(RISK_PATIENCE, verbose=False)])
    del train_set, valid_set
    x_calib = encode(calib_rows, levels, RISK_FEATURES)
    classifier, runs = boosters["classifier"], boosters["runs"]
    raw = classifier.predict(x_calib, num_iteration=classifier.best_iteration)
    runs_raw = runs.predict(x_calib, num_iteration=runs.best_iteration)
    observed_runs = runs_of(calib_rows)
    runs_scale = float(observed_runs.sum() / runs_raw.sum()) if runs_raw.size and runs_raw.sum() > 0 else 1.0
    return RiskModel(options.threshold, classifier, int(classifier.best_iteration), runs, int(runs.best_iteration),
                     fit_isotonic(raw, below(calib_rows)), runs_scale)


def fit_isotonic(raw: np.ndarray, label: np.ndarray, bins: int = CALIBRATION_BINS) -> dict[str, list[float]]:
    """Isotonic regression of `label` (0/1) on `raw` probabilities: pool-adjacent-violators over
    equal-count bins of the sorted raw values (a loop over bins, not rows). The points (mean raw,
    calibrated probability) are interpolated linearly when applied."""
    if raw.size == 0:
        return {"raw": [0.0, 1.0], "probability": [0.0, 1.0]}
    order = np.argsort(raw, kind="stable")
    raw, label = raw[order], label[order]
    starts = np.unique(np.linspace(0, raw.size, min(bins, raw.size) + 1).astype(np.int64)[:-1])
    counts = np.diff(np.r_[starts, raw.size]).astype(np.float64)
    means = np.add.reduceat(raw, starts) / counts
    rates = np.add.reduceat(label, starts) / counts
    # pool adjacent violators: blocks of (weight, value), merged while a block's value falls
    weights: list[float] = []
    values: list[float] = []
    sizes: list[int] = []
    for w, v in zip(counts.tolist(), rates.tolist()):
        weights.append(w)
        values.append(v)
        sizes.append(1)
        while len(values) > 1 and values[-2] > values[-1]:
            w2, v2, n2 = weights.pop(), values.pop(), sizes.pop()
            w1, v1 = weights[-1], values[-1]
            weights[-1], values[-1], sizes[-1] = w1 + w2, (w1 * v1 + w2 * v2) / (w1 + w2), sizes[-1] + n2
    fitted = np.repeat(np.array(values), np.array(sizes))
    return {"raw": [float(x) for x in means], "probability": [float(p) for p in np.clip(fitted, 0.0, 1.0)]}


def apply_isotonic(raw: np.ndarray, calibration: dict[str, list[float]]) -> np.ndarray:
    return np.clip(np.interp(raw, calibration["raw"], calibration["probability"]), 0.0, 1.0)


def predict_risk(rows: pl.DataFrame, risk: RiskModel, levels: dict[str, list[str]]) -> pl.DataFrame:
    """Adds `probability_below_threshold` (calibrated, 0-1) and `expected_runs` (at least 1: the
    forecasts are for a day the series reports on) to rows that carry all RISK_FEATURES."""
    if rows.height == 0:
        return rows.with_columns(pl.lit(None, pl.Float64).alias(c) for c in ("probability_below_threshold", "expected_runs"))
    x = encode(rows, levels, RISK_FEATURES)
    probability = apply_isotonic(risk.classifier.predict(x, num_iteration=risk.classifier_iteration or None),
                                 risk.calibration)
    runs = np.maximum(risk.runs.predict(x, num_iteration=risk.runs_iteration or None) * risk.runs_scale, 1.0)
    return rows.with_columns(pl.Series("probability_below_threshold", probability), pl.Series("expected_runs", runs))


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
