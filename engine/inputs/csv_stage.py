"""The staging pass over CSV input, run by Polars' streaming engine.

Every CSV row must be numbered (rejects name their line; the latest row of a group is the last
one in input order), and DuckDB's parallel CSV reader cannot number rows. Polars' reader can,
and its streaming group-by aggregates what it reads without holding the input. So one Polars
query per file validates and aggregates the *regular* rows, the cheap and common case, and
passes every other row through as read, one group per row; only that small result crosses into
DuckDB, where the SQL of `ingest.sql` decides about the other rows exactly as it does for
Parquet input (`staged_from_csv`).

A row is regular when its values are canonical: keys that start with a visible character, a
`YYYY-MM-DD` business date (alone or followed by a time), record counts of plain digits (or with
one `.0`). For such a row every rule of SPEC §2
reduces to "the value as read", so the recognizer below is deliberately narrow: a row it does not
recognise costs a trip through the SQL checks, never a different answer. Keys may still end in
white space; they are trimmed after the pass, once per distinct value, as for every input.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date
from pathlib import Path

import polars as pl
import pyarrow as pa

from ..database import Database
from ..errors import InputError
from ..queries import query
from .scan import LEAN_CSV_CHUNK_BYTES, csv_chunk_bytes, csv_file_error
from .sources import REQUIRED_COLUMNS

KEYS = ("source", "tenant_id", "dataset_uuid", "dataset_name", "rule_code")
LINE = "_dqs_line_number"
# Within one file a row's position is (days since 0001-01-01) << LINE_BITS | line, an Int64 that
# orders rows by (business date, line); staged_from_csv widens it to the packed HUGEINT of
# ingest.sql, which adds the file. Days up to 9999-12-31 take 22 bits: with 40 for the line,
# the position fits in a signed Int64.
LINE_BITS = 40
MAX_LINES = (1 << LINE_BITS) - 1
_DAYS_0001_TO_1970 = (date(1970, 1, 1) - date(1, 1, 1)).days

# Raw texts of the rows the recognizer leaves to SQL (NULL on regular rows, so they cost nothing
# as grouping keys); named as in `raw_rows` once they reach DuckDB.
PASSED_THROUGH = {
    "irregular_business_date": "business_date",
    "irregular_attribute_name": "attribute_name",
    "irregular_dataset_record_count": "dataset_record_count",
    "irregular_filtered_record_count": "filtered_record_count",
}


def _starts_with_digit(text: pl.Expr) -> pl.Expr:
    # byte order: exactly the texts whose first byte is '0'..'9' lie in ['0', ':')
    return (text >= "0") & (text < ":")


def _whole_number(text: pl.Expr) -> pl.Expr:
    """The value of digits, optionally followed by '.0'; NULL otherwise (or beyond Int64).
    Other canonical-enough forms ('1200.00') are left to the SQL checks."""
    return text.str.strip_suffix(".0").cast(pl.Int64, strict=False)


def _regular(business_date: pl.Expr, dataset_record_count: pl.Expr, filtered_record_count: pl.Expr) -> pl.Expr:
    return pl.all_horizontal(
        # a first byte >= '!' means neither empty nor starting with white space
        *[pl.col(k) >= "!" for k in KEYS],
        # YYYY-MM-DD, alone or followed by a time after 'T' or a space (SPEC §2); the date is read
        # from the first ten characters
        pl.col("business_date").str.contains(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ]|$)"),
        business_date >= date(1, 1, 1),  # NULL when not a calendar date; year 0000 is invalid
        # Polars' integer cast takes [+-]?digits, so a leading digit leaves plain digits (after
        # one '.0', which _whole_number strips: the common "1200.0" of float-typed writers)
        _starts_with_digit(pl.col("dataset_record_count")),
        dataset_record_count.is_not_null(),
        _starts_with_digit(pl.col("filtered_record_count")),
        filtered_record_count.is_not_null(),
    ).fill_null(False)


# the rolling windows of SPEC §4, in days before the anchor (as ingest.sql's window_bucket)
WINDOWS = {"rows_in_12m": 365, "rows_in_3m": 90, "rows_in_1m": 30}


def _in_window(day: pl.Expr, anchor: date | None, days: int) -> pl.Expr:
    if anchor is None:
        return pl.lit(False)
    return day >= pl.lit(anchor) - pl.duration(days=days)


def _read(path: Path) -> pl.LazyFrame:
    """The required columns of one file as text, numbered, with the recognizer's verdict."""
    frame = pl.scan_csv(
        path, has_header=True, infer_schema=False, row_index_name=LINE, row_index_offset=1, encoding="utf8",
    )
    present = frame.collect_schema().names()
    # every required column is read, even attribute_name: with fewer columns projected, Polars
    # stops noticing rows with more fields than the header
    frame = frame.select(
        [pl.col(c) if c in present else pl.lit(None, dtype=pl.String).alias(c) for c in REQUIRED_COLUMNS]
        + [pl.col(LINE).cast(pl.Int64)]
    )
    day = pl.col("business_date").str.head(10).str.strptime(pl.Date, "%Y-%m-%d", strict=False)
    dataset_record_count = _whole_number(pl.col("dataset_record_count"))
    filtered_record_count = _whole_number(pl.col("filtered_record_count"))
    return frame.with_columns(
        regular=_regular(day, dataset_record_count, filtered_record_count),
        day=day,
        latest_dataset_record_count=dataset_record_count,
        latest_filtered_record_count=filtered_record_count,
    )


def staging_query(path: Path, anchor: date | None, as_of: date | None) -> pl.LazyFrame:
    """One file's staging: regular rows aggregated per (scope, key texts, results, level) with
    their counts per window, every other row a group of its own carrying its texts (the
    `csv_staged` schema)."""
    regular = pl.col("regular")
    frame = _read(path).with_columns(
        in_scope=regular & (pl.col("day") <= as_of) if as_of is not None else regular,
        # (also computed for irregular rows, which are groups of their own: SQL ignores it there)
        position=(pl.col("day").cast(pl.Int64) + _DAYS_0001_TO_1970) * (1 << LINE_BITS) + pl.col(LINE),
        # grouping keys of every row: the status is parsed once per distinct results text later,
        # and the latest row's level is the level of the staged row that holds it
        results=pl.col("results").fill_null(""),
        level_of_execution=pl.col("level_of_execution").fill_null(""),
        irregular_line=pl.when(~regular).then(pl.col(LINE)),
        **{name: pl.when(~regular).then(pl.col(column)) for name, column in PASSED_THROUGH.items()},
    )
    # without --as-of every regular row is in scope: one grouping key fewer
    scope = ["in_scope"] if as_of is not None else []
    return frame.group_by(
        *scope, *KEYS, "results", "level_of_execution", "irregular_line", *PASSED_THROUGH,
    ).agg(
        pl.len().cast(pl.Int64).alias("row_count"),
        # rows per window as counts, not as a grouping key: fewer groups, less memory
        *[_in_window(pl.col("day"), anchor, days).sum().cast(pl.Int64).alias(name) for name, days in WINDOWS.items()],
        pl.col("position").max().alias("latest_position"),
        # position is unique within the file, so "the value at the greatest position" is exact
        pl.col("latest_dataset_record_count").max_by("position"),
        pl.col("latest_filtered_record_count").max_by("position"),
    ).with_columns(
        regular=pl.col("irregular_line").is_null(),
        **({} if as_of is not None else {"in_scope": pl.col("irregular_line").is_null()}),
    )


SAMPLED_FILE_BYTES = 64 << 20
SAMPLE_ROWS = 50_000
IRREGULAR_SHARE = 0.05
DISTINCT_SHARE = 0.5


def suits(paths: tuple[Path, ...]) -> bool:
    """Whether Polars staging suits these files. Polars holds every group of the staging pass
    in memory (about 600 bytes each), outside DuckDB's limit, and every row the recognizer
    leaves to SQL is a group of its own. So a large file that starts with mostly irregular rows,
    or with mostly distinct groups (a log of millions of series), takes the row stream, whose
    aggregate DuckDB bounds and spills. A results log repeats its series every day: 16-24% of
    the first 50,000 rows of the generated logs are distinct groups."""
    for path in paths:
        if path.stat().st_size < SAMPLED_FILE_BYTES:
            continue
        try:
            head = _read(path).head(SAMPLE_ROWS).select(
                pl.len(),
                (~pl.col("regular")).sum(),
                pl.struct(*KEYS, "results", "level_of_execution").n_unique(),
            ).collect()
        except pl.exceptions.PolarsError:
            continue  # the staging pass reports the file's problem
        rows, irregular, groups = head.row(0)
        if rows and (irregular > IRREGULAR_SHARE * rows or groups > DISTINCT_SHARE * rows):
            return False
    return True


def _collect(frame: pl.LazyFrame) -> pl.DataFrame:
    """Collect on a worker thread, so Ctrl-C reaches this (main) thread while Polars runs; an
    interrupted run exits without waiting for the query."""
    result: list[pl.DataFrame] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            result.append(frame.collect(engine="streaming"))
        except BaseException as exc:  # handed to the caller's thread
            failure.append(exc)

    worker = threading.Thread(target=run, name="dqs-csv-stage", daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(0.1)
    if failure:
        raise failure[0]
    return result[0]


def stage_csv(db: Database, paths: tuple[Path, ...], anchor: date | None, as_of: date | None,
              on_file: Callable[[int, Path], None] | None = None, lean: bool = False) -> list[int]:
    """Fill `staged` in `db` from the CSV files; returns the rows read per file. `lean` (a small
    --memory-limit) reads smaller chunks: slower, and leaner."""
    parts: list[pa.Table] = []
    rows_per_file: list[int] = []
    for index, path in enumerate(paths):
        if on_file is not None:
            on_file(index, path)
        try:
            with csv_chunk_bytes(LEAN_CSV_CHUNK_BYTES if lean else None):
                part = _collect(staging_query(path, anchor, as_of))
        except KeyboardInterrupt:
            raise
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise csv_file_error(path, exc) from exc
        rows = int(part["row_count"].sum())
        if rows > MAX_LINES:
            raise InputError(f"{path}: more than {MAX_LINES:,} rows in one file",
                             hint="split the file; dqs numbers rows in 40 bits per file")
        rows_per_file.append(rows)
        parts.append(
            part.with_columns(pl.lit(index, dtype=pl.Int32).alias("file_index"))
            .to_arrow(compat_level=pl.CompatLevel.newest())
        )
    db.register("csv_staged", pa.concat_tables(parts))  # an input has at least one file
    try:
        db.execute(query("ingest.sql", "csv_irregular_rows"))
        db.execute(query("ingest.sql", "create_checked_macro"))  # binds to the irregular `raw_rows`
        db.execute(query("ingest.sql", "create_stage_macro"))
        params = {"window_anchor": anchor, "as_of": as_of}
        db.execute(query("ingest.sql", "stage_input"), params)
        db.execute(query("ingest.sql", "unordered_inserts"))
        try:
            db.execute(query("ingest.sql", "staged_from_csv"), {"line_bits": LINE_BITS})
        finally:
            db.execute(query("ingest.sql", "ordered_inserts"))
    finally:
        db.execute(query("ingest.sql", "drop_csv_irregular_rows"))
        db.unregister("csv_staged")
    return rows_per_file

