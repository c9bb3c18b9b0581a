"""Expose the input files to DuckDB as one relation, `raw_rows`, with their input order.

Columns: every input column as read (CSV: all text), plus `_dqs_file_index` (position of the
file in sorted path order) and `_dqs_line_number` (1-based data row within its file, header
excluded). DuckDB's CSV reader has no row number and `WITH ORDINALITY` serialises the scan, so
CSV goes through Polars' parallel reader, which numbers rows, and reaches DuckDB as a stream of
Arrow batches; small CSV inputs in the plain dialect are read by pyarrow instead, which reads
them the same way without Polars' import (plain_csv.py). Parquet is read by DuckDB itself,
which knows each row's position in its file.

The summary's staging pass over CSV usually runs in Polars instead (csv_stage.py); this row
stream serves what needs every row in DuckDB: `dqs ingest`, analysts' `results`, training
series, and CSV files that csv_stage.suits() turns away.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from ..database import Database
from ..errors import EngineError, InputError, first_line
from ..queries import query
from .sources import REQUIRED_COLUMNS, InputFiles

if TYPE_CHECKING:
    import polars as pl  # imported where CSV is read: a run over Parquet never loads Polars (0.15 s)

QUEUE_BATCHES = 4
BATCH_ROWS = 100_000
# Under a small memory limit the stream holds less: smaller batches, fewer of them, and Polars'
# CSV reader reading smaller chunks (POLARS_CSV_CHUNK_SIZE, bytes, read when a query starts).
LEAN_QUEUE_BATCHES = 2
LEAN_BATCH_ROWS = 20_000
LEAN_CSV_CHUNK_BYTES = 1 << 20
# CSV inputs up to this size in all, in the plain dialect, are read whole by pyarrow instead
# (a daily file: Polars' import would cost more than the read); under a small memory limit,
# up to LEAN_CSV_CHUNK_BYTES
PLAIN_CSV_BYTES = 64 << 20
FILE_INDEX = "_dqs_file_index"
LINE_NUMBER = "_dqs_line_number"


_DONE = object()


@dataclass(frozen=True)
class _Failed:
    path: Path
    error: Exception


@dataclass
class CsvStream:
    """Arrow batches of all CSV files in order; remembers which file failed, if one does."""

    paths: tuple[Path, ...]
    columns: tuple[str, ...]
    failed: tuple[Path, Exception] | None = field(default=None)
    rows_per_file: list[int] = field(default_factory=list)
    interrupted: bool = False  # Ctrl-C arrived while DuckDB was reading the stream
    on_rows: Callable[[int], None] | None = None  # told the running total of rows read
    lean: bool = False  # hold as little as possible in flight (a small --memory-limit)

    def _frame(self, index: int, path: Path) -> pl.LazyFrame:
        import polars as pl

        frame = pl.scan_csv(
            path,
            has_header=True,
            infer_schema=False,
            row_index_name=LINE_NUMBER,
            row_index_offset=1,
            encoding="utf8",
        )
        # Read every required column, even unused ones (attribute_name): with fewer columns
        # projected, Polars stops noticing rows with more fields than the header.
        present = frame.collect_schema().names()
        return frame.select(
            [
                pl.col(c) if c in present else pl.lit(None, dtype=pl.String).alias(c)
                for c in self.columns
            ]
            + [pl.lit(index, dtype=pl.Int32).alias(FILE_INDEX), pl.col(LINE_NUMBER).cast(pl.Int64)]
        )

    def schema(self) -> pa.Schema:
        return pa.schema(
            [pa.field(c, pa.string_view()) for c in self.columns]
            + [pa.field(FILE_INDEX, pa.int32()), pa.field(LINE_NUMBER, pa.int64())]
        )

    def batches(self) -> Iterator[pa.RecordBatch]:
        """Arrow batches of every file in order, with backpressure.

        Polars' batch iterator runs its query to the end whatever the consumer does, buffering
        what is not consumed yet; a slower consumer would then hold much of the file in memory.
        `sink_batches` calls back per batch inside the engine instead, and the callback blocks
        on a small queue, so Polars never runs more than QUEUE_BATCHES batches ahead.
        """
        import polars as pl

        schema = self.schema()
        self.rows_per_file = [0] * len(self.paths)
        batches: queue.Queue = queue.Queue(maxsize=LEAN_QUEUE_BATCHES if self.lean else QUEUE_BATCHES)
        batch_rows = LEAN_BATCH_ROWS if self.lean else BATCH_ROWS
        cancelled = threading.Event()

        def produce() -> None:
            index = -1
            try:
                for index, path in enumerate(self.paths):
                    def deliver(frame: pl.DataFrame, index: int = index) -> bool:
                        batches.put((index, frame))
                        return cancelled.is_set()  # True stops the engine early

                    with csv_chunk_bytes(LEAN_CSV_CHUNK_BYTES if self.lean else None):
                        self._frame(index, path).sink_batches(deliver, chunk_size=batch_rows)
                    if cancelled.is_set():
                        return
                batches.put(_DONE)
            except BaseException as exc:  # Polars, I/O, decompression errors; Ctrl-C seen by Polars
                batches.put(_Failed(self.paths[max(index, 0)], exc))

        producer = threading.Thread(target=produce, name="dqs-csv-reader", daemon=True)
        producer.start()
        try:
            while True:
                try:
                    # a timeout keeps this thread running Python, so Ctrl-C is raised here
                    item = batches.get(timeout=0.1)
                except queue.Empty:
                    continue
                if item is _DONE:
                    return
                if isinstance(item, _Failed):
                    if isinstance(item.error, KeyboardInterrupt):
                        raise KeyboardInterrupt
                    self.failed = (item.path, item.error)
                    raise item.error
                index, frame = item
                self.rows_per_file[index] += frame.height
                if self.on_rows is not None:
                    self.on_rows(sum(self.rows_per_file))
                # string_view is Polars' own layout: no copy of the text on the way to DuckDB
                table = frame.to_arrow(compat_level=pl.CompatLevel.newest())
                # cast only when needed: a cast of equal schemas still imports Arrow's compute
                # kernels (0.05 s of a daily run)
                yield from (table if table.schema.equals(schema) else table.cast(schema)).to_batches()
        except KeyboardInterrupt:
            self.interrupted = True  # DuckDB reports it as a failed scan; the caller re-raises it
            raise
        finally:
            cancelled.set()
            while producer.is_alive():  # unblock a producer waiting on a full queue
                try:
                    batches.get(timeout=0.05)
                except queue.Empty:
                    pass

    def reader(self) -> pa.RecordBatchReader:
        plain = self._plain_tables()
        if plain is not None:
            return pa.RecordBatchReader.from_batches(plain[0].schema, self._plain_batches(plain))
        return pa.RecordBatchReader.from_batches(self.schema(), self.batches())

    def _plain_tables(self) -> list[pa.Table] | None:
        """Every file read by pyarrow, numbered, when all are small plain CSV files (see
        plain_csv.py); None sends them all through Polars."""
        from .plain_csv import read_plain_csv
        from .sources import csv_header

        budget = LEAN_CSV_CHUNK_BYTES if self.lean else PLAIN_CSV_BYTES
        try:
            if not self.paths or sum(p.stat().st_size for p in self.paths) > budget:
                return None
            headers = [csv_header(p) for p in self.paths]
        except (OSError, InputError):
            return None  # Polars reports the problem
        if any(FILE_INDEX in header or LINE_NUMBER in header for header in headers):
            return None  # Polars' reading names the clash
        tables = []
        for index, (path, header) in enumerate(zip(self.paths, headers, strict=True)):
            table = read_plain_csv(path, header, self.columns)
            if table is None:
                return None
            rows = table.num_rows
            # from the buffers: pa.array() of a NumPy array imports numpy.ma (10 ms)
            file_index = pa.Array.from_buffers(pa.int32(), rows, [None, pa.py_buffer(np.full(rows, index, np.int32))])
            line = pa.Array.from_buffers(pa.int64(), rows, [None, pa.py_buffer(np.arange(1, rows + 1, dtype=np.int64))])
            tables.append(table.append_column(FILE_INDEX, file_index).append_column(LINE_NUMBER, line))
        return tables

    def _plain_batches(self, tables: list[pa.Table]) -> Iterator[pa.RecordBatch]:
        self.rows_per_file = [0] * len(self.paths)
        for index, table in enumerate(tables):
            self.rows_per_file[index] = table.num_rows
            if self.on_rows is not None:
                self.on_rows(sum(self.rows_per_file))
            yield from table.to_batches(LEAN_BATCH_ROWS if self.lean else BATCH_ROWS)


@contextmanager
def csv_chunk_bytes(size: int | None) -> Iterator[None]:
    """Polars' CSV reader reads `size`-byte chunks in the queries started inside the block."""
    if size is None:
        yield
        return
    before = os.environ.get("POLARS_CSV_CHUNK_SIZE")
    os.environ["POLARS_CSV_CHUNK_SIZE"] = str(size)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("POLARS_CSV_CHUNK_SIZE", None)
        else:
            os.environ["POLARS_CSV_CHUNK_SIZE"] = before


def csv_read_error(stream: CsvStream) -> InputError | None:
    """Translate a Polars failure inside the stream into an error that names the file."""
    return None if stream.failed is None else csv_file_error(*stream.failed)


def csv_file_error(path: Path, exc: BaseException) -> InputError:
    """A Polars failure reading a CSV file, as an error that names the file."""
    text = first_line(exc)
    hint = "check the file is UTF-8 CSV with a comma delimiter and one header row"
    if "more fields" in text:
        hint = "a row has more fields than the header; quote values that contain commas"
    elif "utf-8" in text.lower():
        hint = "re-encode the file as UTF-8"
    return InputError(f"{path}: cannot read CSV: {text}", hint=hint)


def parquet_rows_per_file(files: InputFiles) -> list[int]:
    """Row counts from the Parquet footers (exact, no data read)."""
    import pyarrow.parquet as pq

    return [pq.read_metadata(p).num_rows for p in files.paths]


@contextmanager
def raw_rows(db: Database, files: InputFiles, on_rows: Callable[[int], None] | None = None,
             all_columns: bool = False, lean: bool = False, staged: bool = True) -> Iterator[CsvStream | None]:
    """`raw_rows` (and the row-checking macros bound to it: dqs_checked_rows, and with `staged`
    the summary's dqs_stage_rows) for the duration of the block: a view over Parquet, or a CSV
    stream, which is yielded so its row counts can be read. A query that fails because a CSV
    file could not be read is re-raised naming that file. CSV streams carry the required
    columns only, unless `all_columns` asks for the extra ones too."""
    stream = None
    if files.format == "parquet":
        register_parquet(db, files)
    else:
        # a stream of Arrow batches: Polars parses on its threads while DuckDB aggregates
        extra = tuple(c for c in files.columns if c not in REQUIRED_COLUMNS) if all_columns else ()
        stream = CsvStream(files.paths, REQUIRED_COLUMNS + extra, on_rows=on_rows, lean=lean)
        db.register("raw_rows", stream.reader())
    try:
        db.execute(query("ingest.sql", "create_checked_macro"))  # binds to `raw_rows`
        if staged:
            db.execute(query("ingest.sql", "create_stage_macro"))
        yield stream
    except EngineError as exc:
        if stream is not None and stream.interrupted:
            raise KeyboardInterrupt from None
        read_error = csv_read_error(stream) if stream is not None else None
        raise (read_error or exc) from exc
    finally:
        db.unregister("raw_rows")


def register_parquet(db: Database, files: InputFiles) -> None:
    """`raw_rows` as a view over the Parquet files (DuckDB reads them in parallel)."""
    rel = db.relation(query("ingest.sql", "raw_rows_parquet"), {"files": [str(p) for p in files.paths]})
    rel.create_view("raw_rows", replace=True)


TAIL_BYTES = 1 << 20
TAIL_FILES = 4


def _csv_tail(path: Path, columns: list[str]) -> pl.DataFrame | None:
    """The whole rows in the last MiB of a plain CSV file (None for gzip or unparsable tails)."""
    with path.open("rb") as fh:
        if fh.read(2) == b"\x1f\x8b":
            return None
        size = fh.seek(0, 2)
        start = max(0, size - TAIL_BYTES)
        fh.seek(start)
        data = fh.read()
    if start > 0:
        cut = data.find(b"\n")
        data = data[cut + 1 :] if cut >= 0 else b""
    else:
        data = data.split(b"\n", 1)[1] if b"\n" in data else b""
    if not data.strip():
        return None
    import polars as pl

    return pl.read_csv(
        data, has_header=False, new_columns=columns, infer_schema=False,
        truncate_ragged_lines=True, ignore_errors=True, encoding="utf8-lossy",
    )


def guess_reference_date(db: Database, files: InputFiles):
    """A cheap guess of the latest business date, to anchor the windows of the single pass.

    Logs are appended in date order, so the tails of the last files usually hold the latest
    date; Parquet gives it from one column. A wrong guess costs a second pass, never a wrong
    figure: the pass computes the true date and the engine checks it.
    """
    if files.format == "parquet":
        register_parquet(db, files)
        try:
            return db.scalar(query("ingest.sql", "guess_reference_date_parquet"))
        finally:
            db.unregister("raw_rows")
    from .sources import csv_header

    tails = []
    for path in files.paths[-TAIL_FILES:]:
        try:
            tail = _csv_tail(path, csv_header(path))
        except Exception:  # a guess only: any problem means "no guess from this file"
            tail = None
        if tail is not None and "business_date" in tail.columns:
            tails.append(tail.select("business_date"))
    if not tails:
        return None
    import polars as pl

    db.register("tail_rows", pl.concat(tails).to_arrow())
    try:
        return db.scalar(query("ingest.sql", "guess_reference_date_rows"))
    finally:
        db.unregister("tail_rows")
