"""Rolling-origin backtests of a bundle on a results log or a store, under a memory ceiling.

DuckDB reads the history into daily series (spilling past the limit) and counts each series'
examples at the backtest's origins exactly (`training_series_stats`); the series are then split
into parts sized to the memory limit (`parts.py`), and each part's examples are built, predicted
and added to the scores (`evaluation.Scores`) before the next part is read. The scores are the
ones a backtest of all the series at once would give.
"""

from __future__ import annotations

import tempfile
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from ..database import Database
from ..errors import InputError
from ..queries import query
from .bundle import Bundle
from .evaluation import Scores
from .features import attach_attributes, origin_states, training_examples
from .parts import SeriesParts, assign_parts
from .series import SERIES_KEY, with_rule_metadata
from .train import predict_risk, predict_rows
from .training_data import Loader, reading

ORIGIN_STEP = 7
# what one part costs in memory, per example (features, predictions, the scores' arrays) and per
# observed day read (the days and their state grid). Measured on `dqs validate-model` of the 10M-row
# generated log: with 1,500 and 150 bytes, peak RSS rose 1.18 MB per MB of part budget between
# --memory-limit 512MB (722 MB peak) and 2GB (1,625 MB); these are those figures x 1.2
EXAMPLE_BYTES = 1_800
DAY_BYTES = 180
PART_SHARE = 0.5  # of the memory limit, for one part: the attributes and libraries take the rest


class EmptyHistory(InputError):
    """The history to backtest on has no pass or fail results (exit 2)."""


def backtest_origins(model_last_day: date, test_last_day: date, horizon: int, step: int = ORIGIN_STEP,
                     count: int = 12) -> list[date]:
    """Origins for a rolling-origin backtest, every `step` days: after the model's training data
    when the test data goes beyond it (a true holdout), else the last `count` weekly origins of
    the test data."""
    if test_last_day > model_last_day:
        origins, day = [], model_last_day
        while day < test_last_day:
            origins.append(day)
            day += timedelta(days=step)
        return origins
    return sorted(test_last_day - timedelta(days=horizon + step * k) for k in range(count))


def backtest(bundle: Bundle, load: Loader, *, truth: Path | None = None, memory_limit: str | None = None,
             threads: int | None = None, part_bytes: int | None = None) -> dict:
    """Backtest `bundle` on the history `load` puts in DuckDB as `series_daily`: predictions from
    each origin's state, scored beside the baselines (and against `truth`, the generator's true
    pass percentages, if given), and the risk scored for calibration. Raises EmptyHistory when the
    history has no pass or fail results. `part_bytes` sizes the parts (default: PART_SHARE of
    the limit)."""
    with tempfile.TemporaryDirectory(prefix="dqs-backtest-", ignore_cleanup_errors=True) as scratch:
        work = Path(scratch)
        limit = Database.limit_bytes(memory_limit)
        with reading(load, work, limit, threads) as (db, attributes):
            span = db.arrow(query("series.sql", "training_span")).to_pylist()[0]
            if not span["observed_days"]:
                raise EmptyHistory("no pass or fail results to backtest on",
                                   hint="pass a results log, or ingest one into the store")
            last = span["last_day"]
            origins = backtest_origins(bundle.last_training_day, last, bundle.horizon)
            stats = pl.from_arrow(db.arrow(query("series.sql", "training_series_stats"), {
                "horizon": bundle.horizon, "step": ORIGIN_STEP, "first_origin": origins[0],
                "last_origin": origins[-1], "threshold": bundle.threshold}))
            costs = stats.filter(pl.col("expected_examples") > 0).select(  # type: ignore[union-attr]
                *SERIES_KEY, (pl.col("expected_examples") * EXAMPLE_BYTES + pl.col("observed_days") * DAY_BYTES).alias("cost"))
            del stats
            assignment = assign_parts(costs, part_bytes or int(limit * PART_SHARE))
            parts = SeriesParts.write(db, work / "parts", assignment, truth, origins[0])
        attributes = with_rule_metadata(attributes, bundle.attributes)
        scores = Scores(bundle.metadata["coverage"], bundle.threshold, with_truth=truth is not None)
        for part in range(parts.count):
            daily = parts.daily(part)
            states = origin_states(daily, last, origins, bundle.threshold)
            examples = attach_attributes(training_examples(daily, states, bundle.horizon), attributes)
            del daily, states
            scored = predict_rows(examples, bundle.booster, bundle.levels, bundle.bands, bundle.best_iteration)
            scores.add(predict_risk(scored, bundle.risk, bundle.levels), parts.truth(part) if truth is not None else None)
    report = {"origins": [o.isoformat() for o in origins[:1] + origins[-1:]], "origin_count": len(origins)}
    return {**report, **scores.report(), "parts": parts.count}
