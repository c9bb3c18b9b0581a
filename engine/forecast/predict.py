"""Predictions from a bundle (one or millions at once) and rolling-origin backtests."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from .bundle import Bundle
from ..errors import InputError, first_line
from .features import DEFAULT_THRESHOLD, attach_attributes, origin_states, states_at, training_examples, with_target
from .evaluation import risk_score, score
from .train import predict_risk, predict_rows
from .series import SERIES_KEY, History, with_rule_metadata

REQUEST_COLUMNS = ("dataset_uuid", "rule_code", "business_date")
PREDICTION_COLUMNS = ("predicted_pass_percentage", "lower_pass_percentage", "upper_pass_percentage",
                      "probability_below_threshold", "expected_runs")
OUTPUT_COLUMNS = (*PREDICTION_COLUMNS, "horizon_days", "status", "error")


def check_threshold(bundle: Bundle, threshold: float | None) -> float:
    """The bundle's risk threshold; a different one asked for is refused (the risk model is
    trained for one threshold)."""
    if threshold is not None and float(threshold) != bundle.threshold:
        raise InputError(
            f"the model was trained for --threshold {bundle.threshold:g}, not {threshold:g}: its probability is "
            f"P(pass percentage < {bundle.threshold:g}%)",
            hint=f"drop --threshold, or train a model for it: `dqs train ... --threshold {threshold:g}`",
        )
    return bundle.threshold


def prediction_history(bundle: Bundle, history: History) -> History:
    """A history to predict from (a store's, a log's) with the rule metadata the bundle knows
    where it was read without a rules file."""
    return History(history.daily, with_rule_metadata(history.attributes, bundle.attributes))


def read_requests(path: str) -> pl.DataFrame:
    """A batch-predict input CSV: all columns as text, the request columns trimmed."""
    try:
        frame = pl.read_csv(path, infer_schema=False, encoding="utf8")
    except FileNotFoundError as exc:
        raise InputError(f"input {path} does not exist", hint="check the path") from exc
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read CSV: {first_line(exc)}", hint="a UTF-8 CSV with a header row") from exc
    missing = [c for c in REQUEST_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(f"{path}: missing required columns: {', '.join(missing)}",
                         hint="batch-predict needs dataset_uuid, rule_code, business_date")
    return frame


def _parse_dates(text: pl.Expr) -> pl.Expr:
    trimmed = text.str.strip_chars()
    return (
        pl.when(trimmed.str.contains(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"))
        .then(trimmed.str.strptime(pl.Date, "%Y-%m-%d", strict=False))
    )


def predict_requests(bundle: Bundle, history: History, requests: pl.DataFrame) -> pl.DataFrame:
    """`requests` (text columns dataset_uuid, rule_code, business_date, plus any others) with
    the OUTPUT_COLUMNS added: every row gets either a prediction or an error."""
    origin = history.last_date
    rows = requests.with_row_index("_row").with_columns(
        pl.col("dataset_uuid").cast(pl.String).str.strip_chars().alias("_uuid"),
        pl.col("rule_code").cast(pl.String).str.strip_chars().alias("_rule"),
        _parse_dates(pl.col("business_date").cast(pl.String)).alias("target_date"),
    )
    first_days = history.daily.group_by(SERIES_KEY).agg(pl.col("business_date").min().alias("_first"))
    rows = rows.join(first_days.rename({"dataset_uuid": "_uuid", "rule_code": "_rule"}), on=["_uuid", "_rule"], how="left")
    # a date inside the history is answered as of the day before it
    rows = rows.with_columns(
        pl.min_horizontal(pl.lit(origin), pl.col("target_date") - pl.duration(days=1)).alias("origin")
    )
    horizon = (pl.col("target_date") - pl.col("origin")).dt.total_days()
    error = (
        pl.when(pl.col("target_date").is_null()).then(pl.lit("business_date is not a valid YYYY-MM-DD date"))
        .when(pl.col("_first").is_null()).then(pl.lit("unknown series: no history for this dataset_uuid and rule_code"))
        .when(pl.col("origin") < pl.col("_first")).then(
            pl.lit("date is before the series' history (first day ") + pl.col("_first").cast(pl.String) + pl.lit(")"))
        .when(horizon > bundle.horizon).then(
            pl.lit(f"horizon beyond the trained {bundle.horizon} days (last day of history {origin})"))
    )
    rows = rows.with_columns(error.alias("error"), horizon.alias("horizon_days"))
    ok = rows.filter(pl.col("error").is_null())
    # requests repeat (series, origin, target day) a lot: features and the model run once for each
    key = ["_uuid", "_rule", "origin", "target_date"]
    distinct = ok.select(key).unique()
    if distinct.height:
        features = request_features(history, distinct.rename({"_uuid": "dataset_uuid", "_rule": "rule_code"}),
                                    bundle.threshold)
        scored = predict_rows(features, bundle.booster, bundle.levels, bundle.bands, bundle.best_iteration)
        scored = predict_risk(scored, bundle.risk, bundle.levels)
        scored = scored.select(pl.col("dataset_uuid").alias("_uuid"), pl.col("rule_code").alias("_rule"), "origin",
                               "target_date", pl.col("predicted").alias("predicted_pass_percentage"),
                               pl.col("lower").alias("lower_pass_percentage"), pl.col("upper").alias("upper_pass_percentage"),
                               "probability_below_threshold", "expected_runs")
    else:
        scored = distinct.with_columns(pl.lit(None, pl.Float64).alias(c) for c in PREDICTION_COLUMNS)
    scored = ok.select("_row", *key).join(scored, on=key, how="left").drop(key)
    out = rows.join(scored, on="_row", how="left").sort("_row")
    out = out.with_columns(
        pl.when(pl.col("error").is_null()).then(pl.lit("ok")).otherwise(pl.lit("error")).alias("status"),
        pl.when(pl.col("error").is_null()).then(pl.col("horizon_days")).alias("horizon_days"),
        pl.col("error").fill_null(""),
    )
    return out.select([*requests.columns, *OUTPUT_COLUMNS])


def request_features(history: History, requests: pl.DataFrame, threshold: float = DEFAULT_THRESHOLD) -> pl.DataFrame:
    """Features for requests (SERIES_KEY, origin, target_date, ...) from the history's states —
    the same functions that build the training examples."""
    wanted = requests.select(*SERIES_KEY, pl.col("origin").alias("business_date")).unique()
    states = states_at(history.daily, history.last_date, wanted, threshold=threshold).rename({"business_date": "origin"})
    features = with_target(requests.join(states, on=[*SERIES_KEY, "origin"], how="left"))
    return attach_attributes(features, history.attributes)


def last_observed(history: History, dataset_uuid: str, rule_code: str) -> dict | None:
    rows = history.daily.filter((pl.col("dataset_uuid") == dataset_uuid) & (pl.col("rule_code") == rule_code))
    if rows.height == 0:
        return None
    last = rows.sort("business_date").row(-1, named=True)
    return {"business_date": last["business_date"].isoformat(), "pass_percentage": last["pass_pct"]}


def backtest_origins(model_last_day: date, test_last_day: date, horizon: int, step: int = 7, count: int = 12) -> list[date]:
    """Origins for a rolling-origin backtest: after the model's training data when the test data
    goes beyond it (a true holdout), else the last `count` weekly origins of the test data."""
    if test_last_day > model_last_day:
        origins, day = [], model_last_day
        while day < test_last_day:
            origins.append(day)
            day += timedelta(days=step)
        return origins
    return sorted(test_last_day - timedelta(days=horizon + step * k) for k in range(count))


def backtest(bundle: Bundle, history: History, origins: list[date], truth: pl.DataFrame | None = None) -> dict:
    """Rolling-origin backtest: predictions from each origin's state, scored beside the baselines,
    and the risk (probability below the bundle's threshold, runs) scored for calibration."""
    states = origin_states(history.daily, history.last_date, origins, bundle.threshold)
    examples = attach_attributes(training_examples(history.daily, states, bundle.horizon), history.attributes)
    scored = predict_rows(examples, bundle.booster, bundle.levels, bundle.bands, bundle.best_iteration)
    scored = predict_risk(scored, bundle.risk, bundle.levels)
    report = {"origins": [o.isoformat() for o in origins[:1] + origins[-1:]], "origin_count": len(origins)}
    return {**report, **score(scored, bundle.metadata["coverage"], truth), "risk": risk_score(scored, bundle.threshold)}
