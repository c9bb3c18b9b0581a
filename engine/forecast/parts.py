"""A history's series split into parts that fit the memory limit: DuckDB writes each part's days
to its own Parquet folder, and Python reads them back a part at a time (a backtest, a batch of
predictions), so memory follows one part, not the history.

Every part holds whole series, in key order: every feature is per series, so a part's rows are
the rows the whole history would give for those series.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from ..database import Database
from ..queries import query
from .series import SERIES_KEY, with_pass_pct

DAILY_SCHEMA = {"dataset_uuid": pl.String, "rule_code": pl.String, "business_date": pl.Date,
                "passes": pl.Int64, "fails": pl.Int64, "unknown": pl.Int64, "runs": pl.Int64}
TRUTH_SCHEMA = {"dataset_uuid": pl.String, "rule_code": pl.String, "business_date": pl.Date,
                "true_pass_percentage": pl.Float64}


def assign_parts(costs: pl.DataFrame, budget: int) -> pl.DataFrame:
    """SERIES_KEY and `part` (0, 1, ...) for series with a `cost` (bytes), in key order: a part
    takes consecutive series while their costs so far are below `budget`, so it holds at most
    the budget plus one series."""
    ordered = costs.sort(SERIES_KEY)
    before = pl.col("cost").cum_sum() - pl.col("cost")
    return ordered.select(*SERIES_KEY, (before // max(1, budget)).rank("dense").cast(pl.Int64).sub(1).alias("part"))


@dataclass(frozen=True)
class SeriesParts:
    """The parts written under `folder`: `count` of them, each a folder `part=K/` per table."""

    folder: Path
    count: int

    @staticmethod
    def write(db: Database, folder: Path, assignment: pl.DataFrame, truth: Path | None = None,
              truth_after: date | None = None) -> SeriesParts:
        """Writes the days of `series_daily` (and of the `truth` file, after `truth_after`) of the
        series in `assignment` (SERIES_KEY, part) under `folder`."""
        folder.mkdir(parents=True, exist_ok=True)
        db.register("series_parts", assignment.to_arrow())
        try:
            db.execute(query("series.sql", "write_series_parts"), {"path": str(folder / "daily")})
            if truth is not None:
                db.execute(query("series.sql", "write_truth_parts"),
                           {"path": str(folder / "truth"), "truth": str(truth), "after": truth_after})
        finally:
            db.unregister("series_parts")
        count = int(assignment["part"].max()) + 1 if assignment.height else 0
        return SeriesParts(folder, count)

    def _read(self, table: str, part: int, schema: dict) -> pl.DataFrame:
        path = self.folder / table / f"part={part}"
        if not path.is_dir():
            return pl.DataFrame(schema=schema)
        return pl.read_parquet(path / "*.parquet", hive_partitioning=False).cast(schema)  # type: ignore[arg-type]

    def daily(self, part: int) -> pl.DataFrame:
        """Part `part`'s observed days, sorted by series and day, with `pass_pct`."""
        return with_pass_pct(self._read("daily", part, DAILY_SCHEMA))

    def truth(self, part: int) -> pl.DataFrame:
        return self._read("truth", part, TRUTH_SCHEMA)
