"""The engine seam: where the row-level work of a summary runs.

Each backend module (`duckdb.py`, `spark.py`) has the same shape: one class implementing
`Engine`, named after its backend.

A summary has a row-level part (validate every input row and aggregate it into `staged`;
build analysts' `results` and run their files) and a small part after it (statuses, the
summary, the output files), which always runs in the embedded DuckDB connection `db`. An
`Engine` does the row-level part and leaves its results in `db`:

- `DuckDBEngine` (backends/duckdb.py, default) does it on this machine: Parquet in `db` with
  the fast SQL of `ingest.sql`, CSV in Polars' streaming engine (csv_stage.py), which hands
  `db` the aggregate and the rows for ingest.sql's checks;
- `SparkEngine` (backends/spark.py) does it on a Spark cluster with `portable.sql` and analysts'
  files transpiled by sqlglot, and brings the aggregated tables back to `db` as Arrow.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from ..summary.analyst import AnalystFile
from ..database import Database
from ..errors import InputError
from ..inputs.sources import InputFiles

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

    def fold_store(self, db: Database, daily_files: list[str], reference: date | None, as_of: date | None) -> int:
        """Leave `summary_state` (store.sql's schema) in `db`, folded from the store's daily
        files at `reference` (rows after `as_of` left out); return the rows after `as_of`."""
        ...

    def close(self) -> None:
        ...


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
        from .duckdb import DuckDBEngine

        return DuckDBEngine()
    if name == "spark":
        from .spark import SparkEngine  # imports PySpark: only when asked for

        return SparkEngine(spark_master)
    raise InputError(f"--engine {name!r} is not duckdb or spark", hint="use --engine duckdb (default) or --engine spark")
