"""The embedded engine: the row-level work runs in the driver's own DuckDB connection."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from ..summary import analyst
from ..summary.analyst import AnalystFile
from ..inputs import csv_stage
from ..database import Database
from ..queries import query
from ..inputs.scan import guess_reference_date, parquet_rows_per_file, raw_rows
from ..inputs.sources import InputFiles
from . import Progress, Staged, check_unchanged, throttled


LEAN_BELOW_MEMORY = 900 << 20  # the default --memory-limit, 1GB, is 953.6 MiB


class DuckDBEngine:
    """The embedded engine: everything runs in `db`."""

    name = "duckdb"

    def stage(self, db: Database, files: InputFiles, as_of: date | None, say: Progress) -> Staged:
        """The staging pass, anchored on R. With --as-of, R is known; otherwise the pass is
        anchored on a cheap guess and repeated with the true R (which every pass computes) when
        the guess was wrong."""
        anchor = as_of if as_of is not None else guess_reference_date(db, files)
        # CSV: Polars stages most inputs (csv_stage.py); the rest stream their rows into DuckDB.
        # Polars' memory is outside DuckDB's limit, so under a limit below the default both read
        # leaner (smaller chunks and batches), trading speed for memory.
        lean = db.memory_limit_bytes < LEAN_BELOW_MEMORY
        by_polars = files.format == "csv" and csv_stage.suits(files.paths)
        passes = 0
        while True:
            passes += 1
            if by_polars:
                rows = csv_stage.stage_csv(db, files.paths, anchor, as_of, on_file=_file_progress(say, len(files.paths)),
                                 lean=lean)
            else:
                with raw_rows(db, files, on_rows=throttled(say, "reading CSV: {:,} rows"), lean=lean) as stream:
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

    def fold_store(self, db: Database, daily_files: list[str], reference: date | None, as_of: date | None) -> int:
        from ..store.read import fold_daily

        return fold_daily(db, daily_files, reference, as_of)

    def close(self) -> None:
        pass


def _file_progress(say: Progress, count: int) -> Callable[[int, Path], None]:
    def report(index: int, path: Path) -> None:
        say(f"reading CSV file {index + 1} of {count}: {path.name}" if count > 1 else f"reading {path.name}")

    return report
