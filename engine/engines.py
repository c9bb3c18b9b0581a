"""The engine seam: where the row-level work of a summary runs.

A summary has a row-level part (validate every input row and aggregate it into `staged`;
build analysts' `results` and run their files) and a small part after it (statuses, the
summary, the output files), which always runs in the embedded DuckDB connection `db`. An
`Engine` does the row-level part and leaves its results in `db`:

- `DuckDBEngine` (default) does it in `db` itself, with the fast SQL of `ingest.sql`;
- `SparkEngine` (engine/spark.py) does it on a Spark cluster with `portable.sql` and analysts'
  files transpiled by sqlglot, and brings the aggregated tables back to `db` as Arrow.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from . import analyst
from .analyst import AnalystFile
from .database import Database
from .errors import InputError
from .queries import query
from .scan import guess_reference_date, parquet_rows_per_file, raw_rows
from .sources import InputFiles

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Staged:
    """What the staging pass found: R, passes over the input, rows read per file."""

    reference: date | None
    passes: int
    rows_read: list[int]


class Engine(Protocol):
    name: str

    def stage(self, db: Database, files: InputFiles, as_of: date | None, say: Progress) -> Staged:
        """Fill `staged` in `db` (the schema of ingest.sql's `stage_input`)."""
        ...

    def run_analysis(self, db: Database, files: InputFiles, sql_files: Sequence[AnalystFile], keep_rows: bool,
                     params: dict[str, str], builtins: dict[str, Any], rows_read: list[int]) -> None:
        """Leave each analyst file's output as a table of its name in `db`."""
        ...

    def close(self) -> None:
        ...


class DuckDBEngine:
    """The embedded engine: everything runs in `db`."""

    name = "duckdb"

    def stage(self, db: Database, files: InputFiles, as_of: date | None, say: Progress) -> Staged:
        """The staging pass, anchored on R. With --as-of, R is known; otherwise the pass is
        anchored on a cheap guess and repeated with the true R (which every pass computes) when
        the guess was wrong."""
        anchor = as_of if as_of is not None else guess_reference_date(db, files)
        passes = 0
        while True:
            passes += 1
            with raw_rows(db, files, on_rows=throttled(say, "reading CSV: {:,} rows")) as stream:
                db.execute(query("ingest.sql", "stage_input"), {"as_of": as_of, "window_anchor": anchor})
            rows = stream.rows_per_file if stream is not None else parquet_rows_per_file(files)
            reference = as_of if as_of is not None else db.scalar(query("ingest.sql", "reference_date"))
            if reference is None or reference == anchor:
                return Staged(reference, passes, rows)
            anchor = reference

    def run_analysis(self, db: Database, files: InputFiles, sql_files: Sequence[AnalystFile], keep_rows: bool,
                     params: dict[str, str], builtins: dict[str, Any], rows_read: list[int]) -> None:
        """`results` takes one more pass over the input (with its extra columns): keeping the
        rows of the first pass in a table costs more than reading them again."""
        if keep_rows:
            with raw_rows(db, files, all_columns=True) as stream:
                analyst.prepare_relations(db, as_of=builtins["as_of"], keep_input=True)
            again = stream.rows_per_file if stream is not None else parquet_rows_per_file(files)
            check_unchanged(rows_read, again)
        else:
            analyst.prepare_relations(db, as_of=builtins["as_of"], keep_input=False)
        analyst.lock_down(db)
        analyst.run_files(db, sql_files, params, builtins)

    def close(self) -> None:
        pass


def check_unchanged(first: list[int], again: list[int]) -> None:
    if again != first:
        raise InputError(
            f"the input changed during the run (read {sum(first):,} rows, then {sum(again):,})",
            hint="run dqs on files that are not being written to, e.g. a copy or a closed partition",
        )


def throttled(say: Progress, template: str, every_s: float = 0.25) -> Callable[[int], None]:
    last = [0.0]

    def report(value: int) -> None:
        now = time.monotonic()
        if now - last[0] >= every_s:
            last[0] = now
            say(template.format(value))

    return report


def open_engine(name: str, spark_master: str | None = None) -> Engine:
    if name == "duckdb":
        return DuckDBEngine()
    if name == "spark":
        from .spark import SparkEngine

        return SparkEngine(spark_master)
    raise InputError(f"--engine {name!r} is not duckdb or spark", hint="use --engine duckdb (default) or --engine spark")
