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

from .database import Database
from .errors import EngineError
from .queries import query
from .rules import load_rules
from .scan import CsvStream, csv_read_error, register_parquet
from .sources import REQUIRED_COLUMNS, resolve_input

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
        stream = None
        if files.format == "parquet":
            register_parquet(db, files)
        else:
            stream = CsvStream(files.paths, REQUIRED_COLUMNS)
            db.register("raw_rows", stream.reader())
        try:
            db.execute(query("ingest.sql", "create_stage_macro"))
            db.execute(query("series.sql", "daily_texts"))
        except EngineError as exc:
            read_error = csv_read_error(stream) if stream is not None else None
            raise (read_error or exc) from exc
        finally:
            db.unregister("raw_rows")
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
