"""Forecasts for the report: the next days of every series the report shows, from a model bundle
(engine/forecast's `predict_requests`, as `dqs predict` and `dqs batch-predict` make them), with
the store's history merged into the bundle's own (newer results win, as `merge_history` and
`dqs predict --history` do): the expected pass percentage, its calibrated band and, from the
bundle's risk model, the probability that the day's pass percentage is below the bundle's
threshold. The report shows what the model gives and computes no probability of its own."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl
import pyarrow as pa

from ..database import Database
from ..forecast.bundle import Bundle
from ..forecast.predict import predict_requests, prediction_history
from ..forecast.series import SERIES_KEY, History, with_pass_pct
from ..queries import query

FORECAST_DAYS = 7  # days after the forecast origin (fewer when the model's horizon is shorter)
MISSING = 0xFFFF  # a forecast the model could not make (in the tenths-of-a-percent arrays)
MISSING_PROBABILITY = 0xFF  # ... in the whole-percent probability array
BATCH_SERIES = 2000
PREDICTED = ("predicted_pass_percentage", "lower_pass_percentage", "upper_pass_percentage", "probability_below_threshold")


@dataclass(frozen=True)
class _Slice(History):
    """The rows of a few series of a history whose last day is `origin`: forecasts made from the
    slice are the ones made from the whole history (every feature is per series), with the
    whole history's origin."""

    origin: date | None = None

    @property
    def last_date(self):
        return self.origin


@dataclass(frozen=True)
class Forecasts:
    origin: date | None  # the last day of the merged history: forecasts are for the days after it
    days: int
    # [day, series] in tenths of a percent (0..1000), MISSING where there is no forecast
    expected: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    probability: np.ndarray | None  # [day, series] whole percent (MISSING_PROBABILITY), None without a risk model
    threshold: float | None  # the probability is of a day's pass percentage below this
    failed: int  # series without a forecast (the model's per-row errors)
    first_error: str | None


def tenths(values: pl.Series) -> np.ndarray:
    """Percentages as whole tenths (0..1000), MISSING for nulls."""
    scaled = (values.cast(pl.Float64) * 10).round(0).fill_null(MISSING).fill_nan(MISSING)
    return scaled.cast(pl.UInt16).to_numpy()


def forecast_series(db: Database, bundle: Bundle, attributes: pa.Table, series: pa.Table, reference: date) -> Forecasts:
    """Forecasts for every series of `series` (series_index, dataset_uuid, rule_code, registered in
    `db` as `report_forecast_series`, with the snapshot's daily rows as `report_all_daily_rows`)
    on the days after the forecast history's last day up to `reference` (the report's R). The
    history is merged in DuckDB (bounded by its memory limit) and read BATCH_SERIES series at a
    time: memory follows the batch, not the history."""
    count = series.num_rows
    days = min(FORECAST_DAYS, bundle.horizon)
    threshold = bundle.metadata.get("risk", {}).get("threshold")
    expected, lower, upper = (np.full((days, count), MISSING, dtype=np.uint16) for _ in range(3))
    probability = np.full((days, count), MISSING_PROBABILITY, dtype=np.uint8)
    db.register("bundle_daily", bundle.history.daily.select(*SERIES_KEY, "business_date", "passes", "fails", "unknown",
                                                             "runs").to_arrow())
    try:
        db.execute(query("report.sql", "report_forecast_days"), {"reference": reference})
    finally:
        db.unregister("bundle_daily")
    origin = db.scalar(query("report.sql", "report_forecast_origin"))
    if origin is None or count == 0:
        return Forecasts(None, days, expected, lower, upper, None, threshold, count, None)
    known = prediction_history(bundle, History(pl.DataFrame(), pl.from_arrow(attributes))).attributes  # type: ignore[arg-type]
    targets = pl.DataFrame({"business_date": [(origin + timedelta(days=h)).isoformat() for h in range(1, days + 1)],
                            "_day": list(range(days))}, schema={"business_date": pl.String, "_day": pl.Int32})
    wanted = pl.from_arrow(series).select("series_index", *SERIES_KEY)  # type: ignore[union-attr]
    parts = []
    for first in range(0, count, BATCH_SERIES):  # one batch of series at a time
        last = min(first + BATCH_SERIES, count) - 1
        rows = with_pass_pct(pl.from_arrow(db.arrow(query("report.sql", "report_forecast_batch"),  # type: ignore[arg-type]
                                                    {"first": first, "last": last})))
        batch = wanted.filter(pl.col("series_index").is_between(first, last))
        result = predict_requests(bundle, _Slice(rows, known, origin), batch.join(targets, how="cross"))
        parts.append(result.select("series_index", "_day", "status", "error", *(c for c in PREDICTED if c in result.columns)))
    result = pl.concat(parts)
    ok = result.filter(pl.col("status") == "ok")
    at = (ok["_day"].to_numpy(), ok["series_index"].to_numpy())
    expected[at] = tenths(ok["predicted_pass_percentage"])
    lower[at] = tenths(ok["lower_pass_percentage"])
    upper[at] = tenths(ok["upper_pass_percentage"])
    risk = "probability_below_threshold" in ok.columns
    if risk:
        probability[at] = (ok["probability_below_threshold"].cast(pl.Float64) * 100).round(0).fill_null(
            MISSING_PROBABILITY).fill_nan(MISSING_PROBABILITY).cast(pl.UInt8).to_numpy()
    errors = result.filter(pl.col("status") != "ok")
    failed = int((expected[0] == MISSING).sum())
    first_error = errors["error"][0] if errors.height else None
    return Forecasts(origin, days, expected, lower, upper, probability if risk else None, threshold, failed, first_error)


def at_risk(forecasts: Forecasts, group_series: np.ndarray, probability_at_least: float, below: float,
            limit: int) -> tuple[np.ndarray, int, str]:
    """The groups at risk in the forecast days, the `limit` riskiest first (ties in group order),
    how many in all, and by what: with the bundle's risk model, a probability of at least
    `probability_at_least` that a day falls below its threshold (riskiest: highest probability);
    without one, an expected pass percentage below `below` (riskiest: lowest expected)."""
    if forecasts.expected.size == 0 or group_series.size == 0:
        return np.array([], dtype=np.int64), 0, "probability" if forecasts.probability is not None else "expected"
    if forecasts.probability is not None:
        chance = forecasts.probability.astype(np.int32)
        chance[forecasts.probability == MISSING_PROBABILITY] = -1
        score = -chance.max(axis=0)[group_series]  # lower is riskier
        flagged = np.flatnonzero(-score >= probability_at_least * 100)
        by = "probability"
    else:
        expected = forecasts.expected.astype(np.int32)
        expected[forecasts.expected == MISSING] = 10_000
        score = expected.min(axis=0)[group_series]
        flagged = np.flatnonzero(score < below * 10)
        by = "expected"
    order = flagged[np.lexsort((flagged, score[flagged]))]
    return order[:limit], int(flagged.size), by
