"""Daily pass-percentage series for forecasting, read with the same validation as the summary.

A series is one (dataset_uuid, rule_code). Its value on a day is the pass percentage
`100 * passes / (passes + fails)` over that day's rows; days without a pass or fail have none.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from ..database import Database
from ..queries import query
from ..inputs.rules import load_rules
from ..inputs.scan import raw_rows
from ..inputs.sources import resolve_input

SERIES_KEY = ["dataset_uuid", "rule_code"]


@dataclass(frozen=True)
class History:
    """Observed days (`daily`: key, business_date, passes, fails, unknown, runs, pass_pct) and
    the attributes of each series."""

    daily: pl.DataFrame
    attributes: pl.DataFrame

    @property
    def last_date(self):
        return self.daily["business_date"].max() if self.daily.height else None


def read_history(
    input: str, rules: Path | None = None, *, memory_limit: str | None = None, threads: int | None = None
) -> History:
    """Read a results log into daily series (rows are validated exactly as for `summarize`)."""
    files = resolve_input(input)
    rules_table = load_rules(rules)
    spill = Path(tempfile.mkdtemp(prefix="dqs-series-"))
    db = Database(memory_limit=memory_limit, threads=threads, temp_directory=spill)
    try:
        db.execute(query("ingest.sql", "create_macros"))
        db.register("rules", rules_table)
        with raw_rows(db, files):
            db.execute(query("series.sql", "daily_texts"))
        daily = pl.from_arrow(db.arrow(query("series.sql", "daily_series")))
        attributes = pl.from_arrow(db.arrow(query("series.sql", "series_attributes")))
    finally:
        db.close()
        shutil.rmtree(spill, ignore_errors=True)
    return History(with_pass_pct(daily), attributes)  # type: ignore[arg-type]


def with_pass_pct(daily: pl.DataFrame) -> pl.DataFrame:
    """Adds `pass_pct` and keeps only days with at least one pass or fail."""
    decided = pl.col("passes") + pl.col("fails")
    return (
        daily.filter(decided > 0)
        .with_columns((100.0 * pl.col("passes") / decided).alias("pass_pct"))
        .sort([*SERIES_KEY, "business_date"])
    )
