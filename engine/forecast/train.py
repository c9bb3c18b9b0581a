"""LightGBM forecasts of a series' daily pass percentage, with calibrated bands and risk.

Training is direct multi-horizon: examples pair a series' state at an origin with its observed
value 1..horizon days later, for origins every `origin_step` days. The origins are split by
date into train, validation (early stopping) and calibration (the bands, the probability) slices,
and a training example's target day never passes the start of the next slice. A long history is
learnt from a weighted, stratified sample of its series and examples that fits the memory limit
(`training_data.py`, `sample.py`), built a chunk of series at a time (`examples.py`).

Three boosters learn from the same examples: the pass percentage (regression), whether the day's
pass percentage is below the threshold (binary; its probability is recalibrated on the
calibration slice by isotonic regression), and the day's number of pass/fail runs (Poisson).
All three answer for a day the series reports on (a day with a pass or fail run).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import lightgbm as lgb
import numpy as np
import polars as pl

from .evaluation import HORIZON_BUCKETS, Scores
from .examples import Slices, build_slices, encode
from .features import CATEGORICAL, DEFAULT_THRESHOLD, FEATURES, RISK_FEATURES
from .series import History
from .training_data import TrainingData, history_loader, origins as forecast_origins, training_data

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
    max_examples: int = 1_500_000  # all slices together: series beyond it are sampled (engine/forecast/sample.py)
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


def category_levels(attributes: pl.DataFrame) -> dict[str, list[str]]:
    return {
        name: sorted(attributes[name].drop_nulls().cast(pl.String).unique().to_list())
        for name in CATEGORICAL
    }


def train(data: TrainingData | History, options: TrainOptions = TrainOptions(), *,
          memory_limit: str | None = None) -> Trained:
    """Fit the model on `data` (a sampled history; a History in memory is sampled first, within
    `memory_limit`), stop early on a later slice, calibrate bands and risk on the last one."""
    if not 0 < options.threshold <= 100:
        raise ValueError(f"threshold {options.threshold} is not in (0, 100]")
    if isinstance(data, History):
        if data.daily.height == 0:
            raise ValueError("no observed days (no pass or fail rows) to learn from")
        with training_data(history_loader(data), memory_limit=memory_limit, **data_options(options)) as sampled:
            return train(sampled, options)
    first, last = data.first_day, data.last_day
    origins = forecast_origins(first, last, options.origin_step, options.warmup_days)
    if len(origins) < 6:
        raise ValueError(f"history too short: {(last - first).days + 1} days; need at least "
                         f"{options.warmup_days + 6 * options.origin_step}")
    n = len(origins)
    calib_start = origins[int(n * 0.85)]
    valid_start = origins[int(n * 0.7)]
    levels = category_levels(data.attributes)
    slices = build_slices(data.daily, data.attributes, data.weights, last, origins, valid_start, calib_start,
                          options.horizon, options.threshold, levels, data.sample["example_rate"], options.seed)
    if min(slices.train.rows, slices.valid.rows, slices.calib.rows) == 0:
        raise ValueError("too few observed days after the first weeks to make training, validation and "
                         "calibration examples")
    width = len(FEATURES)
    params = {**LGB_PARAMS, "num_threads": options.threads, "seed": options.seed}
    categorical = [FEATURES.index(c) for c in CATEGORICAL]
    train_set = lgb.Dataset(slices.train.features(width), slices.train.labels("target"),
                            weight=slices.train.labels("weight"), feature_name=list(FEATURES),
                            categorical_feature=categorical, free_raw_data=True)
    valid_set = lgb.Dataset(slices.valid.features(width), slices.valid.labels("target"),
                            weight=slices.valid.labels("weight"), reference=train_set, free_raw_data=True)
    booster = lgb.train(params, train_set, num_boost_round=600, valid_sets=[valid_set],
                        callbacks=[lgb.early_stopping(30, verbose=False)])
    del train_set, valid_set
    x_calib = slices.calib.matrix()
    calib_weight = slices.calib.labels("weight")
    calib_scores = slices.calib.score_frame()
    calib_horizon = calib_scores["horizon"].to_numpy()
    predicted = np.clip(booster.predict(x_calib[:, :width], num_iteration=booster.best_iteration), 0, 100)
    residual = slices.calib.labels("target") - predicted
    bands = calibrate_bands(calib_horizon, residual, options.coverage, calib_weight)
    lower, upper = apply_bands(predicted, calib_horizon, bands)
    risk = fit_risk(slices, x_calib, options)
    probability, runs = risk_outputs(x_calib, risk)
    del x_calib
    calib_scored = calib_scores.with_columns(
        pl.Series("predicted", predicted), pl.Series("lower", lower), pl.Series("upper", upper),
        pl.Series("probability_below_threshold", probability), pl.Series("expected_runs", runs))
    report = Scores(options.coverage, options.threshold).add(calib_scored).report()
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
        "train_examples": slices.train.rows, "validation_examples": slices.valid.rows,
        "calibration_examples": slices.calib.rows, "best_iteration": booster.best_iteration,
        "risk_best_iteration": risk.classifier_iteration, "runs_best_iteration": risk.runs_iteration,
        "sample": data.sample,
    }
    return Trained(booster, levels, bands, window, metrics, options, report, risk)


def data_options(options: TrainOptions) -> dict:
    """The options `training_data` plans the sample with."""
    return {"horizon": options.horizon, "origin_step": options.origin_step, "warmup_days": options.warmup_days,
            "threshold": options.threshold, "max_examples": options.max_examples, "seed": options.seed}


def fit_risk(slices: Slices, x_calib: np.ndarray, options: TrainOptions) -> RiskModel:
    """The risk models on the regression's slices: a classifier of `target < threshold` and a
    Poisson model of `target_runs`, both stopped early on the validation slice, then calibrated
    on the calibration slice (isotonic probability, a mean correction for the runs)."""
    categorical = [RISK_FEATURES.index(c) for c in CATEGORICAL]
    train = slices.train
    matrices = train.matrices
    labels = {"target": train.labels("target"), "runs": train.labels("runs"), "weight": train.labels("weight")}
    if train.rows > options.risk_max_examples:  # 500k of 1M: Brier 0.14426 vs 0.14415, half the time
        rng = np.random.default_rng(options.seed)
        keep = rng.random(train.rows) < options.risk_max_examples / train.rows
        offsets = np.cumsum([0, *(m.shape[0] for m in matrices)])
        matrices = [m[keep[offsets[i]:offsets[i + 1]]] for i, m in enumerate(matrices)]
        labels = {name: values[keep] for name, values in labels.items()}

    def below(target: np.ndarray) -> np.ndarray:
        return (target < options.threshold).astype(np.float64)

    # one binned dataset serves both models (only the label changes); the raw matrices are freed
    train_set = lgb.Dataset(matrices, below(labels["target"]), weight=labels["weight"], feature_name=list(RISK_FEATURES),
                            categorical_feature=categorical, free_raw_data=True)
    valid_set = lgb.Dataset(slices.valid.features(), below(slices.valid.labels("target")),
                            weight=slices.valid.labels("weight"), reference=train_set, free_raw_data=True)
    train_set.construct()
    train.matrices.clear()  # binned now: the raw training examples are not needed again
    boosters = {}
    for name, params in (("classifier", CLASSIFIER_PARAMS), ("runs", RUNS_PARAMS)):
        if name == "runs":
            train_set.set_label(labels["runs"])
            valid_set.set_label(slices.valid.labels("runs"))
        boosters[name] = lgb.train({**params, "num_threads": options.threads, "seed": options.seed}, train_set,
                                   num_boost_round=600, valid_sets=[valid_set],
                                   callbacks=[lgb.early_stopping(RISK_PATIENCE, verbose=False)])
    del train_set, valid_set, matrices
    classifier, runs = boosters["classifier"], boosters["runs"]
    weight = slices.calib.labels("weight")
    raw = classifier.predict(x_calib, num_iteration=classifier.best_iteration)
    runs_raw = runs.predict(x_calib, num_iteration=runs.best_iteration)
    expected = float((weight * runs_raw).sum())
    runs_scale = float((weight * slices.calib.labels("runs")).sum() / expected) if runs_raw.size and expected > 0 else 1.0
    return RiskModel(options.threshold, classifier, int(classifier.best_iteration), runs, int(runs.best_iteration),
                     fit_isotonic(raw, below(slices.calib.labels("target")), weight), runs_scale)


def fit_isotonic(raw: np.ndarray, label: np.ndarray, weight: np.ndarray | None = None,
                 bins: int = CALIBRATION_BINS) -> dict[str, list[float]]:
    """Weighted isotonic regression of `label` (0/1) on `raw` probabilities: pool-adjacent-
    violators over equal-count bins of the sorted raw values (a loop over bins, not rows). The
    points (mean raw, calibrated probability) are interpolated linearly when applied."""
    if raw.size == 0:
        return {"raw": [0.0, 1.0], "probability": [0.0, 1.0]}
    weight = np.ones(raw.size) if weight is None else weight
    order = np.argsort(raw, kind="stable")
    raw, label, weight = raw[order], label[order], weight[order]
    starts = np.unique(np.linspace(0, raw.size, min(bins, raw.size) + 1).astype(np.int64)[:-1])
    totals = np.add.reduceat(weight, starts)
    means = np.add.reduceat(raw * weight, starts) / totals
    rates = np.add.reduceat(label * weight, starts) / totals
    # pool adjacent violators: blocks of (weight, value), merged while a block's value falls
    weights: list[float] = []
    values: list[float] = []
    sizes: list[int] = []
    for w, v in zip(totals.tolist(), rates.tolist()):
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


def risk_outputs(x: np.ndarray, risk: RiskModel) -> tuple[np.ndarray, np.ndarray]:
    """The calibrated probability below the threshold and the expected runs (at least 1: the
    forecasts are for a day the series reports on) for a RISK_FEATURES matrix."""
    probability = apply_isotonic(risk.classifier.predict(x, num_iteration=risk.classifier_iteration or None),
                                 risk.calibration)
    runs = np.maximum(risk.runs.predict(x, num_iteration=risk.runs_iteration or None) * risk.runs_scale, 1.0)
    return probability, runs


def predict_risk(rows: pl.DataFrame, risk: RiskModel, levels: dict[str, list[str]]) -> pl.DataFrame:
    """Adds `probability_below_threshold` and `expected_runs` to rows that carry all RISK_FEATURES."""
    if rows.height == 0:
        return rows.with_columns(pl.lit(None, pl.Float64).alias(c) for c in ("probability_below_threshold", "expected_runs"))
    probability, runs = risk_outputs(encode(rows, levels, RISK_FEATURES), risk)
    return rows.with_columns(pl.Series("probability_below_threshold", probability), pl.Series("expected_runs", runs))


def weighted_quantile(values: np.ndarray, weights: np.ndarray, level: float) -> float:
    """The smallest value whose share of the total weight at or below it reaches `level`."""
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(weights[order])
    index = int(np.searchsorted(cumulative, level * cumulative[-1], side="left"))
    return float(values[order][min(index, values.size - 1)])


def calibrate_bands(horizons: np.ndarray, residual: np.ndarray, coverage: float,
                    weights: np.ndarray | None = None) -> list[dict]:
    """Split-conformal bands per horizon bucket: the residual quantiles (weighted by the sample's
    weights) that leave (1-coverage)/2 of held-out values below and above (finite-sample
    corrected)."""
    weights = np.ones(residual.size) if weights is None else weights
    bands = []
    for lo, hi in HORIZON_BUCKETS:
        mask = (horizons >= lo) & (horizons <= hi)
        if mask.sum() < 50:
            mask = np.ones(residual.size, dtype=bool)
        r, w = residual[mask], weights[mask]
        tail = (1 - coverage) / 2
        n = r.size
        q_lo = weighted_quantile(r, w, max(0.0, np.floor(tail * (n + 1)) / n)) if n else 0.0
        q_hi = weighted_quantile(r, w, min(1.0, np.ceil((1 - tail) * (n + 1)) / n)) if n else 0.0
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
