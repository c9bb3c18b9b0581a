"""Predictions from a bundle, one or millions at once (backtests: `backtest.py`)."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

import polars as pl

from ..database import Database
from ..errors import InputError, first_line
from ..queries import query
from .backtest import DAY_BYTES, EXAMPLE_BYTES
from .bundle import Bundle
from .features import DEFAULT_THRESHOLD, attach_attributes, states_at, with_target
from .parts import SeriesParts, assign_parts
from .series import SERIES_KEY, History, with_rule_metadata
from .train import predict_risk, predict_rows
from .training_data import Loader, reading

REQUEST_COLUMNS = ("dataset_uuid", "rule_code", "business_date")
PREDICTION_COLUMNS = ("predicted_pass_percentage", "lower_pass_percentage", "upper_pass_percentage",
                      "probability_below_threshold", "expected_runs")
OUTPUT_COLUMNS = (*PREDICTION_COLUMNS, "horizon_days", "status", "error")
# what one part costs in memory: per request row (its join keys and output row), per distinct
# target day of a series (its features and predictions, as a backtest example) and per observed
# day read (the days and their state grid); see backtest.py for how the last two were measured
REQUEST_BYTES = 200
TARGET_BYTES = EXAMPLE_BYTES
PART_SHARE = 0.5  # of the memory limit, for one part: the requests and the attributes take the rest
_REQUEST = "_dqs_request"  # the input row of a request, while a batch runs in parts


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


def _request_keys(requests: pl.DataFrame) -> list[pl.Expr]:
    return [pl.col("dataset_uuid").cast(pl.String).str.strip_chars().alias("_uuid"),
            pl.col("rule_code").cast(pl.String).str.strip_chars().alias("_rule")]


def predict_batch(bundle: Bundle, load: Loader, requests: pl.DataFrame, *, memory_limit: str | None = None,
                  threads: int | None = None, context: bool = False, part_bytes: int | None = None) -> pl.DataFrame:
    """`predict_requests` over the history `load` puts in DuckDB as `series_daily`, read a part
    of the requested series at a time (parts sized to `memory_limit`): only the requested
    series' days are read, and memory follows the requests plus one part. The forecast origin is
    the history's last observed day. With `context`, the origin (`history_last_day`) and the
    series' `last_observed_date` and `last_observed_pass_percentage` are added (`dqs predict` says them). `part_bytes`
    sizes the parts (default: PART_SHARE of the limit)."""
    rows = requests.with_row_index(_REQUEST).with_columns(_request_keys(requests))
    keys = rows.group_by("_uuid", "_rule").agg(pl.len().alias("requests"), pl.col("business_date").n_unique().alias("targets")
                                                ).rename({"_uuid": "dataset_uuid", "_rule": "rule_code"})
    with tempfile.TemporaryDirectory(prefix="dqs-predict-", ignore_cleanup_errors=True) as scratch:
        work = Path(scratch)
        limit = Database.limit_bytes(memory_limit)
        with reading(load, work, limit, threads) as (db, attributes):
            origin = db.arrow(query("series.sql", "training_span")).to_pylist()[0]["last_day"]
            db.register("requested_series", keys.select(SERIES_KEY).to_arrow())
            days = pl.from_arrow(db.arrow(query("series.sql", "requested_series_days")))
            db.unregister("requested_series")
            costs = keys.join(days, on=SERIES_KEY, how="inner").select(  # type: ignore[arg-type]
                *SERIES_KEY, (pl.col("observed_days") * DAY_BYTES + pl.col("requests") * REQUEST_BYTES
                              + pl.col("targets") * TARGET_BYTES).alias("cost"))
            assignment = assign_parts(costs, part_bytes or int(limit * PART_SHARE))
            parts = SeriesParts.write(db, work / "parts", assignment)
        attributes = with_rule_metadata(attributes, bundle.attributes)
        # requests of series without history can go with any part: they get their error there
        part = rows.select("_uuid", "_rule").join(
            assignment.rename({"dataset_uuid": "_uuid", "rule_code": "_rule", "part": "_dqs_part"}), on=["_uuid", "_rule"],
            how="left", maintain_order="left")["_dqs_part"].fill_null(0)
        rows = rows.drop("_uuid", "_rule")
        out = []
        for k in range(max(1, parts.count)):
            history = History(parts.daily(k), attributes)
            predicted = predict_requests(bundle, history, rows.filter(part == k), origin)
            out.append(_with_context(predicted, history, origin) if context else predicted)
    return pl.concat(out).sort(_REQUEST).drop(_REQUEST)


def _with_context(predicted: pl.DataFrame, history: History, origin: date | None) -> pl.DataFrame:
    last = history.daily.group_by(SERIES_KEY).agg(  # daily is sorted by series and day
        pl.col("business_date").last().alias("last_observed_date"), pl.col("pass_pct").last().alias("last_observed_pass_percentage"))
    keyed = predicted.with_columns(_request_keys(predicted)).join(
        last.rename({"dataset_uuid": "_uuid", "rule_code": "_rule"}), on=["_uuid", "_rule"], how="left", maintain_order="left")
    return keyed.drop("_uuid", "_rule").with_columns(pl.lit(origin, pl.Date).alias("history_last_day"))


def predict_requests(bundle: Bundle, history: History, requests: pl.DataFrame, origin: date | None = None,
                     ) -> pl.DataFrame:
    """`requests` (text columns dataset_uuid, rule_code, business_date, plus any others) with
    the OUTPUT_COLUMNS added: every row gets either a prediction or an error. The forecast
    origin is `origin`, else the history's last observed day."""
    origin = history.last_date if origin is None else origin
    rows = requests.with_row_index("_row").with_columns(
        *_request_keys(requests),
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
                                    bundle.threshold, origin)
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


def request_features(history: History, requests: pl.DataFrame, threshold: float = DEFAULT_THRESHOLD,
                     until: date | None = None) -> pl.DataFrame:
    """Features for requests (SERIES_KEY, origin, target_date, ...) from the history's states up
    to `until` (default: its last day) — the same functions that build the training examples."""
    wanted = requests.select(*SERIES_KEY, pl.col("origin").alias("business_date")).unique()
    until = history.last_date if until is None else until
    states = states_at(history.daily, until, wanted, threshold=threshold).rename({"business_date": "origin"})
    features = with_target(requests.join(states, on=[*SERIES_KEY, "origin"], how="left"))
    return attach_attributes(features, history.attributes)
