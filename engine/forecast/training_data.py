"""What `dqs train` reads, under a memory ceiling: DuckDB builds every series' daily counts
(spilling to disk past `--memory-limit`), the sample of series to learn from is planned from
per-series statistics, and only the sampled series' days come into Python. Every series' days go
to a Parquet file for the bundle, never through Python.

Memory, by phase: while reading, DuckDB's buffers (at most the limit); while training, the
examples and LightGBM's datasets, which the sample keeps within the limit (EXAMPLE_BYTES per
example, SERIES_BYTES per series for the plan and the attributes). The interpreter and its
libraries come on top of both.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from ..database import Database
from ..errors import DqsError
from ..queries import query
from .sample import plan_sample
from .series import SERIES_DAILY_DIR, SERIES_KEY, History, with_pass_pct

# measured on the 1M-row generated log (bench: `python -m dqs.bench.train`): peak RSS above the
# interpreter's, per training example kept (matrices, labels, LightGBM's binned datasets and the
# transient frames of building them) and per series (statistics, plan, attributes, levels)
EXAMPLE_BYTES = 420
SERIES_BYTES = 2_000
MINIMUM_EXAMPLES = 20_000  # below this a model is not worth training: say which limit to raise
# DuckDB's share of the limit while reading: its buffers are bounded by its own limit, and the
# process around it (Arrow results, the reader's batches, allocator slack) takes about half as much again
READ_SHARE = 0.6


class MemoryLimitTooLow(DqsError):
    """The shape of the history cannot be trained on within the memory limit (exit 1)."""


@dataclass(frozen=True)
class TrainingData:
    """The sampled series' observed days (`daily`, with `pass_pct`), every series' attributes,
    the sample's weights per series, the span of the whole history and the bundle's history file
    (every series' observed days)."""

    daily: pl.DataFrame
    attributes: pl.DataFrame
    weights: pl.DataFrame  # SERIES_KEY, weight
    first_day: date
    last_day: date
    sample: dict
    history_file: Path


def origins(first: date, last: date, step: int, warmup: int) -> list[date]:
    """Forecast origins every `step` days back from the day before `last`, after `warmup` days."""
    start = first + timedelta(days=warmup)
    out, day = [], last - timedelta(days=1)
    while day >= start:
        out.append(day)
        day -= timedelta(days=step)
    return sorted(out)


def example_budget(memory_limit_bytes: int, series: int, max_examples: int) -> int:
    """How many examples fit in the memory limit beside the per-series state, at most
    `max_examples`; a limit that leaves room for fewer than MINIMUM_EXAMPLES is refused."""
    room = memory_limit_bytes - series * SERIES_BYTES
    budget = min(max_examples, room // EXAMPLE_BYTES)
    if budget < MINIMUM_EXAMPLES:
        raise MemoryLimitTooLow(
            f"the memory limit ({memory_limit_bytes / 2**20:,.0f} MiB) leaves room for {max(budget, 0):,} training "
            f"examples beside the state of {series:,} series; at least {MINIMUM_EXAMPLES:,} are needed",
            hint=f"raise --memory-limit to at least {_needed(MINIMUM_EXAMPLES, series)}")
    return int(budget)


def _needed(examples: int, series: int) -> str:
    return f"{-(-(examples * EXAMPLE_BYTES + series * SERIES_BYTES) // 2**20)}MB"


# puts view `series_daily` in the database (its files in the folder given), returns the attributes
Loader = Callable[[Database, Path], pl.DataFrame]


@contextmanager
def reading(load: Loader, work: Path, limit: int, threads: int | None) -> Iterator[tuple[Database, pl.DataFrame]]:
    """A database holding `series_daily` as `load` puts it, DuckDB given READ_SHARE of the memory
    limit (`limit` bytes; spilling under `work`), and the series' attributes; closed on exit, so
    that what comes next has the memory."""
    db = Database(memory_limit=f"{int(limit * READ_SHARE)}B", threads=threads, temp_directory=work / "spill")
    try:
        db.execute(query("ingest.sql", "unordered_inserts"))  # every read of series_daily says its order
        yield db, load(db, work)
    finally:
        db.close()


@contextmanager
def training_data(load: Loader, *, horizon: int, origin_step: int, warmup_days: int, threshold: float,
                  max_examples: int, seed: int, memory_limit: str | None = None, threads: int | None = None,
                  as_of: date | None = None) -> Iterator[TrainingData]:
    """The training data of the history `load` puts in DuckDB as `series_daily`, cut at `as_of`,
    sampled to fit `memory_limit`; temporary files are removed on exit."""
    with tempfile.TemporaryDirectory(prefix="dqs-train-", ignore_cleanup_errors=True) as scratch:
        work = Path(scratch)
        limit = Database.limit_bytes(memory_limit)
        with reading(load, work, limit, threads) as (db, attributes):
            if as_of is not None:
                db.parquet_view("series_daily", work / SERIES_DAILY_DIR, until=as_of)
            span = db.arrow(query("series.sql", "training_span")).to_pylist()[0]
            if not span["observed_days"]:
                raise ValueError("no observed days (no pass or fail rows) to learn from")
            first, last = span["first_day"], span["last_day"]
            grid = origins(first, last, origin_step, warmup_days) or [last - timedelta(days=1)]
            stats = pl.from_arrow(db.arrow(query("series.sql", "training_series_stats"), {
                "horizon": horizon, "step": origin_step, "first_origin": grid[0], "last_origin": grid[-1],
                "threshold": threshold}))
            budget = example_budget(limit, stats.height, max_examples)
            plan = plan_sample(stats, budget, seed)  # type: ignore[arg-type]
            del stats
            db.register("training_sample", plan.series.select(SERIES_KEY).to_arrow())
            daily = with_pass_pct(pl.from_arrow(db.arrow(query("series.sql", "training_sampled_daily"))))  # type: ignore[arg-type]
            db.unregister("training_sample")
            history_file = work / "history.parquet"
            db.execute(query("series.sql", "write_training_history"), {"path": str(history_file)})
        yield TrainingData(daily, attributes, plan.series, first, last, plan.summary, history_file)


def history_loader(history: History) -> Loader:
    """A loader for an in-memory history (tests, small logs): its days as `series_daily`."""
    def load(db: Database, folder: Path) -> pl.DataFrame:
        (folder / SERIES_DAILY_DIR).mkdir()
        history.daily.select("dataset_uuid", "rule_code", "business_date", "passes", "fails", "unknown",
                             "runs").write_parquet(folder / SERIES_DAILY_DIR / "part-0000.parquet")
        db.parquet_view("series_daily", folder / SERIES_DAILY_DIR)
        return history.attributes
    return load
