"""Daily pass-percentage series for forecasting, read with the same validation as the summary,
from a results log or from a history store's daily table (the same `History` either way).

A series is one (dataset_uuid, rule_code). Its value on a day is the pass percentage
`100 * passes / (passes + fails)` over that day's rows; days without a pass or fail have none.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import polars as pl

from ..database import Database
from ..errors import EngineError
from ..queries import query
from ..inputs.rules import load_rules
from ..inputs.scan import raw_rows
from ..inputs.sources import resolve_input

SERIES_KEY = ["dataset_uuid", "rule_code"]
T = TypeVar("T")


@dataclass(frozen=True)
class History:
    """Observed days (`daily`: key, business_date, passes, fails, unknown, runs, pass_pct) and
    the attributes of each series."""

    daily: pl.DataFrame
    attributes: pl.DataFrame

    @property
    def last_date(self):
        return self.daily["business_date"].max() if self.daily.height else None


SERIES_DAILY_DIR = "series_daily"  # a folder of Parquet parts
# input rows of one `daily_series` aggregation per byte of DuckDB's memory limit: measured on the
# 100M-row log, 8M rows (6.6M groups) fit in 545 MiB and 26M did not
ROWS_PER_BYTE = 1 / 64


def _write_series_daily(db: Database, folder: Path, rows: int, name: str) -> None:
    """View `series_daily` over the parts `name` (daily_series or store_daily_series) writes to
    folder/SERIES_DAILY_DIR, each from a share of the series sized to DuckDB's memory limit."""
    parts = max(1, -(-rows // max(1, int(db.memory_limit_bytes * ROWS_PER_BYTE))))
    target = folder / SERIES_DAILY_DIR
    target.mkdir(parents=True, exist_ok=True)
    for part in range(parts):
        db.write_parquet(query("series.sql", name), target / f"part-{part:04d}.parquet", {"parts": parts, "part": part})
    db.parquet_view("series_daily", target)


def load_log_daily(db: Database, folder: Path, input: str, rules: Path | None = None) -> pl.DataFrame:
    """View `series_daily` in `db` (every series and day of a results log, validated exactly as
    for `summarize`), over Parquet files written to `folder`; returns the series' attributes."""
    files = resolve_input(input)
    db.create_macros()
    db.register("rules", load_rules(rules))
    with raw_rows(db, files, staged=False):
        db.write_parquet(query("series.sql", "daily_texts"), folder / "daily_texts.parquet")
    db.parquet_view("daily_texts", folder / "daily_texts.parquet")
    db.execute(query("series.sql", "text_statuses"))
    _write_series_daily(db, folder, int(db.scalar(query("series.sql", "daily_texts_rows"))), "daily_series")
    db.execute(query("series.sql", "series_latest"))
    return pl.from_arrow(db.arrow(query("series.sql", "series_attributes")))  # type: ignore[return-value]


def load_store_daily(db: Database, folder: Path, store: Path, rules: Path | None = None, version: int | None = None,
                     ) -> tuple[pl.DataFrame, dict[str, Any]]:
    """View `series_daily` in `db` from a history store's daily table (its newest version, or
    `version`), over a Parquet file written to `folder`: the same rows as `load_log_daily` over
    the store's files in input order. Returns the series' attributes and where they came from
    (store path, version, reference date)."""
    from ..store.read import drop_view, register_files
    from ..store.tables import Store

    snapshot = Store(Path(store)).snapshot(version)
    paths = snapshot.file_paths("daily")
    db.create_macros()
    db.register("rules", load_rules(rules))
    try:
        register_files(db, "store_daily", "daily", paths)
        _write_series_daily(db, folder, int(db.scalar(query("series.sql", "store_daily_rows"))), "store_daily_series")
        db.execute(query("series.sql", "store_series_latest"))
        attributes = pl.from_arrow(db.arrow(query("series.sql", "series_attributes")))
    except EngineError as exc:
        missing = next((p for p in paths if "://" not in p and not Path(p).exists()), None)
        if missing is not None:
            raise snapshot.missing_files(FileNotFoundError(f"{missing} is missing")) from exc
        raise
    drop_view(db, "store_daily")
    source = {"store": str(store), "version": snapshot.commit.version,
              "reference_date": None if snapshot.commit.reference_date is None else snapshot.commit.reference_date.isoformat()}
    return attributes, source  # type: ignore[return-value]


def _read_daily(load: Callable[[Database, Path], T], memory_limit: str | None, threads: int | None,
                ) -> tuple[pl.DataFrame, T]:
    """`series_daily` as `load` puts it in a fresh database, read into memory (with `pass_pct`),
    and what `load` returned; its temporary files are removed."""
    work = Path(tempfile.mkdtemp(prefix="dqs-series-"))
    db = Database(memory_limit=memory_limit, threads=threads, temp_directory=work / "spill")
    try:
        loaded = load(db, work)
        return with_pass_pct(pl.from_arrow(db.table("series_daily"))), loaded  # type: ignore[arg-type]
    finally:
        db.close()
        shutil.rmtree(work, ignore_errors=True)


def read_history(
    input: str, rules: Path | None = None, *, memory_limit: str | None = None, threads: int | None = None
) -> History:
    """Read a results log into daily series (rows are validated exactly as for `summarize`)."""
    daily, attributes = _read_daily(lambda db, work: load_log_daily(db, work, input, rules), memory_limit, threads)
    return History(daily, attributes)


def read_store_history(
    store: Path, rules: Path | None = None, *, version: int | None = None, memory_limit: str | None = None,
    threads: int | None = None,
) -> tuple[History, dict[str, Any]]:
    """The daily series of a history store (its newest version, or `version`), from the store's
    daily table: the same History as `read_history` over the store's files in input order. Also
    returns where it came from (store path, version, reference date)."""
    daily, (attributes, source) = _read_daily(lambda db, work: load_store_daily(db, work, store, rules, version),
                                              memory_limit, threads)
    return History(daily, attributes), source


RULE_COLUMNS = ("rule_type", "dimension", "category")


def with_rule_metadata(attributes: pl.DataFrame, known: pl.DataFrame) -> pl.DataFrame:
    """`attributes` with rule metadata missing in it (a log or store read without a rules file)
    taken from `known` (e.g. a bundle's attributes) by rule code."""
    present = [c for c in RULE_COLUMNS if c in known.columns]
    if not present or known.height == 0:
        return attributes
    described = known.filter(pl.any_horizontal(pl.col(present).is_not_null()))
    per_rule = described.select("rule_code", *present).unique("rule_code", keep="first").rename(
        {c: f"_known_{c}" for c in present})
    filled = attributes.join(per_rule, on="rule_code", how="left", maintain_order="left")
    return filled.with_columns(
        (pl.coalesce(c, f"_known_{c}") if c in attributes.columns else pl.col(f"_known_{c}")).alias(c) for c in present
    ).drop(f"_known_{c}" for c in present)


def with_pass_pct(daily: pl.DataFrame) -> pl.DataFrame:
    """Adds `pass_pct` and keeps only days with at least one pass or fail."""
    decided = pl.col("passes") + pl.col("fails")
    return (
        daily.filter(decided > 0)
        .with_columns((100.0 * pl.col("passes") / decided).alias("pass_pct"))
        .sort([*SERIES_KEY, "business_date"])
    )
