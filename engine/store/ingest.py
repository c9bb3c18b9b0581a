"""`dqs ingest`: validate new files exactly as a one-shot summary does and add them to the store
in one store version (rows, rejects, daily state, summary state and ledger together).

A file whose sha256 is already in the ledger is skipped; a path ingested before with other
content is refused unless `replace`, which swaps that file's rows and rejects in the same
version and keeps its place in input order.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from ..database import Database, default_memory_limit
from ..errors import InputError
from ..monitor import Monitor
from ..queries import query
from ..inputs.scan import parquet_rows_per_file, raw_rows
from ..inputs.sources import InputFiles, resolve_input
from .read import register_files
from .tables import PARTITIONS, SCHEMAS, Snapshot, Store, conform, write_failed, writing

if TYPE_CHECKING:  # the importers load only for `--from FORMAT`
    from ..importers.convert import ImportOptions

Progress = Callable[[str], None]
HASH_CHUNK = 1 << 20
# columns the `rows` table and analysts' `results` add to the input's: an extra input column
# cannot be called so
STORE_OWN_COLUMNS = frozenset({"file_id", "line", "business_month", "status", "input_file", "input_line",
                               "accepted", "reject_reason", "rejected_values"})


@dataclass(frozen=True)
class IngestOptions:
    inputs: tuple[str, ...]
    store: Path
    replace: bool = False
    memory_limit: str | None = None
    threads: int | None = None
    importer: ImportOptions | None = None  # `--from FORMAT`: the inputs are that tool's result files


@dataclass
class IngestReport:
    """What an ingest did; shown by the CLI (and kept in `run_report.json` by a daily summarize)."""

    store: str
    version: int | None  # the new store version; None when nothing was new
    files: list[dict[str, Any]]
    rows_read: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    rows_unknown_status: int = 0
    reference_date: str | None = None
    groups: int = 0
    performance: dict[str, Any] = field(default_factory=dict)
    # the store as the ingest left it, for a summary that follows in the same process (not reported):
    # its newest version (whose tables the ingest holds open), and that version's summary state
    head: Snapshot | None = field(default=None, repr=False, compare=False)
    state: pa.Table | None = field(default=None, repr=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("head", "state")}


@dataclass(frozen=True)
class _Planned:
    path: Path
    absolute: str
    size: int
    sha256: str
    action: str  # "ingest", "replace" or "skip"
    file_id: int | None = None
    note: str = ""
    read_from: Path | None = None  # an imported file: its rows as a log file (else `path` itself)
    format: str | None = None  # an imported file's tool (else the input's csv / parquet)


@dataclass(frozen=True)
class _Origin:
    """A tool's result file behind a converted log file: what the ledger records."""

    path: Path
    sha256: str  # of the file and the import options: imported another way is other content
    format: str


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _input_files(inputs: tuple[str, ...]) -> InputFiles:
    """Every file of every INPUT, once, in sorted path order (one format per invocation)."""
    resolved = [resolve_input(spec) for spec in inputs]
    formats = {r.format for r in resolved}
    if len(formats) > 1:
        raise InputError("the inputs mix CSV and Parquet files",
                         hint="ingest the CSV files and the Parquet files in two invocations")
    paths = sorted({p: None for r in resolved for p in r.paths}, key=str)
    columns = {c: None for r in resolved for c in r.columns}
    clashes = sorted(set(columns) & STORE_OWN_COLUMNS)
    if clashes:
        raise InputError(f"input column(s) {', '.join(clashes)} clash with the store's own columns",
                         hint="rename those input columns before ingesting")
    return InputFiles(tuple(paths), formats.pop(), tuple(columns))


def _imported_files(options: IngestOptions, scratch: Path) -> tuple[InputFiles, dict[Path, _Origin]]:
    """Convert a tool's result files into one Parquet log per file (rows in the file's order),
    so that each keeps its own ledger entry, path and content hash."""
    import pyarrow.parquet as pq

    from ..importers.convert import import_results

    assert options.importer is not None
    db = Database(memory_limit=options.memory_limit or default_memory_limit(), threads=options.threads)
    try:
        imported = import_results(options.importer, db)
        manifest = b"" if options.importer.manifest is None else sha256_of(options.importer.manifest).encode()
        fingerprint = options.importer.fingerprint().encode() + b"\0" + manifest
        paths: list[Path] = []
        origins: dict[Path, _Origin] = {}
        for index, (origin, rows) in enumerate(imported.file_tables()):
            converted = scratch / f"{index:08d}.parquet"
            pq.write_table(rows, converted)
            digest = hashlib.sha256(b"dqs import\0" + fingerprint + b"\0" + sha256_of(origin).encode()).hexdigest()
            origins[converted] = _Origin(origin, digest, options.importer.format)
            paths.append(converted)
    finally:
        db.close()
    return InputFiles(tuple(paths), "parquet", tuple(pq.read_schema(paths[0]).names)), origins


def _plan(head: Snapshot, files: InputFiles, replace: bool,
          origins: dict[Path, _Origin] | None = None) -> list[_Planned]:
    ledger = head.files.select(["file_id", "absolute_path", "sha256", "store_version"]).to_pylist()
    by_path = {r["absolute_path"]: r for r in ledger}
    known_sha = {r["sha256"]: r["absolute_path"] for r in ledger}
    next_id = max((r["file_id"] for r in ledger), default=-1) + 1
    planned: list[_Planned] = []
    for read_path in files.paths:
        origin = (origins or {}).get(read_path)
        path = read_path if origin is None else origin.path
        absolute = str(path.resolve())
        size = path.stat().st_size
        sha = sha256_of(path) if origin is None else origin.sha256
        if sha in known_sha:
            same = known_sha[sha] == absolute
            planned.append(_Planned(path, absolute, size, sha, "skip",
                                    note="already ingested" if same else f"same content as {known_sha[sha]}"))
            continue
        known_sha[sha] = absolute
        before = by_path.get(absolute)
        if before is not None:
            if not replace:
                raise InputError(
                    f"{path} was ingested before (store version {before['store_version']}) with other content",
                    hint="pass --replace to swap its rows for the new content, or give the new data a new file name",
                )
            planned.append(_Planned(path, absolute, size, sha, "replace", before["file_id"], read_from=read_path,
                                    format=None if origin is None else origin.format))
        else:
            planned.append(_Planned(path, absolute, size, sha, "ingest", next_id, read_from=read_path,
                                    format=None if origin is None else origin.format))
            next_id += 1
    return planned


def ingest(options: IngestOptions, progress: Progress | None = None, db: Database | None = None) -> IngestReport:
    """Validate and commit the inputs (see the module docstring). `db`: a database to work in
    (a session of it: the caller's own objects are left alone), e.g. the daily run's, which
    summarizes next; without it the ingest opens its own."""
    say = progress or (lambda _msg: None)
    with Monitor() as monitor, tempfile.TemporaryDirectory(prefix="dqs-import-") as scratch:
        with monitor.stage("inspect"):
            say("inspecting input")
            origins: dict[Path, _Origin] = {}
            if options.importer is not None:
                say(f"importing {options.importer.format} results")
                files, origins = _imported_files(options, Path(scratch))
            else:
                files = _input_files(options.inputs)
            store = Store.open_or_create(Path(options.store))
        with store.writer(on_wait=lambda: say(f"waiting for another dqs run writing to {store.path}")) as head:
            with monitor.stage("hash"):
                say(f"hashing {len(files.paths)} file(s)")
                planned = _plan(head, files, options.replace, origins)
            report = IngestReport(store=str(store.path), version=None, files=[
                {"path": str(p.path), "action": p.action, "sha256": p.sha256, "size": p.size,
                 **({"note": p.note} if p.note else {})} for p in planned])
            todo = [p for p in planned if p.action != "skip"]
            if todo:
                _ingest_locked(store, head, files, todo, planned, options, report, monitor, say, db)
            else:
                report.reference_date = None if head.commit.reference_date is None else head.commit.reference_date.isoformat()
                report.groups = head.commit.groups
                report.head = head
        report.performance = monitor.as_dict()
    return report


def _ingest_locked(store: Store, head: Snapshot, files: InputFiles, todo: list[_Planned], planned: list[_Planned],
                   options: IngestOptions, report: IngestReport, monitor: Monitor, say: Progress,
                   parent: Database | None) -> None:
    spill = None
    if parent is None:
        spill = Path(tempfile.mkdtemp(prefix=".dqs-spill-", dir=store.path))
        db = Database(memory_limit=options.memory_limit or default_memory_limit(), threads=options.threads,
                      temp_directory=spill)
    else:
        db = parent.session()
    try:
        todo_files = InputFiles(tuple(p.read_from or p.path for p in todo), files.format, files.columns)
        with monitor.stage("validate") as stage:
            say(f"validating {len(todo)} file(s)")
            db.create_macros()
            db.register("ingest_files", pa.table({
                "file_index": pa.array(range(len(todo)), pa.int32()),
                "file_id": pa.array([p.file_id for p in todo], pa.int32()),
            }))
            with raw_rows(db, todo_files, all_columns=True, staged=False) as stream:
                db.execute(query("store.sql", "ingest_checked"))
            rows_read = stream.rows_per_file if stream is not None else parquet_rows_per_file(todo_files)
            db.execute(query("store.sql", "ingest_statuses"))
            counts = db.arrow(query("store.sql", "ingest_file_counts")).to_pylist()
            if [c["rows_read"] for c in counts] != rows_read:
                raise InputError("the input changed during the run",
                                 hint="ingest files that are not being written to")
            db.execute(query("store.sql", "ingest_daily"))
            stage.rows = sum(rows_read)
        with monitor.stage("write") as stage:
            say("writing to the store")
            state_rows = _write(store, head, db, todo, sum(c["rows_accepted"] for c in counts))
            version = head.commit.version + 1
            now = datetime.now(timezone.utc)
            ledger = [{
                "file_id": p.file_id, "path": str(p.path), "absolute_path": p.absolute, "size": p.size,
                "sha256": p.sha256, "format": p.format or files.format, **{k: c[k] for k in ("rows_read", "rows_accepted",
                                                                                  "rows_rejected", "rows_unknown")},
                "ingested_at": now, "store_version": version,
            } for p, c in zip(todo, counts, strict=True)]
            _append(store, "files", pa.Table.from_pylist(ledger, SCHEMAS["files"]))
            for name in ("files", "commits"):
                _keep_small(store, name)
            commit = store.append_commit({
                "version": version, "committed_at": datetime.now(timezone.utc),
                "operation": "replace" if any(p.action == "replace" for p in todo) else "ingest",
                "files_added": sum(p.action == "ingest" for p in todo),
                "files_replaced": sum(p.action == "replace" for p in todo),
                "files_skipped": len(planned) - len(todo),
                "rows_accepted": sum(c["rows_accepted"] for c in counts),
                "rows_rejected": sum(c["rows_rejected"] for c in counts),
                "reference_date": state_rows["reference"], "groups": state_rows["groups"],
                **{f"{name}_version": store.table_version(name) for name in ("files", "rows", "rejects", "daily", "state")},
            })
            stage.rows = sum(rows_read)
        by_path = {str(p.path): c for p, c in zip(todo, counts, strict=True)}
        for entry in report.files:
            entry.update({k: v for k, v in by_path.get(entry["path"], {}).items() if k != "file_id"})
        report.version = commit.version
        report.rows_read = sum(c["rows_read"] for c in counts)
        report.rows_accepted = sum(c["rows_accepted"] for c in counts)
        report.rows_rejected = sum(c["rows_rejected"] for c in counts)
        report.rows_unknown_status = sum(c["rows_unknown"] for c in counts)
        report.reference_date = None if commit.reference_date is None else commit.reference_date.isoformat()
        report.groups = commit.groups
        report.head, report.state = Snapshot(store, commit), state_rows["state"]
    finally:
        db.close()
        if spill is not None:
            shutil.rmtree(spill, ignore_errors=True)


# Daily rows are written in date order, in row groups of about a day of a large store's groups,
# so that a read of a few days skips the rest of a file by its row-group statistics.
DAILY_ROW_GROUP = 1 << 15
# The ledger and the commits table get one small file per ingest; past this many, an ingest
# rewrites them into one (a few rows per file: cheap), so reading them stays cheap every day.
SMALL_TABLE_FILES = 32


def _state_properties():
    """The state is always read whole: column statistics would only cost time to write (a
    quarter of its write at 250,000 groups)."""
    from deltalake import ColumnProperties, WriterProperties

    return WriterProperties(default_column_properties=ColumnProperties(statistics_enabled="NONE"))


def _append(store: Store, name: str, data: Any, merge: bool = False) -> None:
    from deltalake import WriterProperties, write_deltalake

    properties = WriterProperties(max_row_group_size=DAILY_ROW_GROUP) if name == "daily" else None
    with writing(store.path):
        try:
            write_deltalake(store.live(name), data, mode="append", partition_by=PARTITIONS.get(name),
                            schema_mode="merge" if merge else None, writer_properties=properties)
        except Exception as exc:
            if type(exc).__name__ == "SchemaMismatchError":
                raise InputError(f"cannot add the rows to store {store.path}: {exc}",
                                 hint="an extra input column has another type than in earlier files; "
                                 "rename or cast it") from exc
            raise


def _keep_small(store: Store, name: str) -> None:
    """Rewrite a small table's files into one when an ingest a day has made them many."""
    with writing(store.path):
        table = store.live(name)
        if len(table.file_uris()) > SMALL_TABLE_FILES:
            table.optimize.compact()


def _delete(store: Store, name: str, file_ids: list[int]) -> None:
    # delta-rs takes a predicate as SQL text; the ids are integers from the ledger
    predicate = "file_id IN (" + ", ".join(str(int(i)) for i in file_ids) + ")"
    with writing(store.path):
        store.live(name).delete(predicate)


# An ingest of at most this many rows (a day's file, typically) holds its rows in memory, so
# that delta-rs writes them on another thread while DuckDB folds the summary state: the two
# overlap (a connection runs one statement at a time, so a stream from it could not).
OVERLAP_ROWS = 2_000_000


def _write(store: Store, head: Snapshot, db: Database, todo: list[_Planned], rows: int) -> dict[str, Any]:
    """Write rows, rejects and daily state, then the summary state; returns its reference date,
    group count and the state itself. `rows`: the accepted rows being added."""
    from deltalake import write_deltalake

    replaced = [p.file_id for p in todo if p.action == "replace"]
    previous = head.commit.reference_date
    incremental = not replaced and previous is not None
    reference = None
    if incremental:  # read what the head holds before this ingest's writes move the tables on
        latest = db.scalar(query("store.sql", "latest_arriving_date"))
        reference = previous if latest is None or latest <= previous else latest
        db.register("state_before", head.arrow("state"))
        register_files(db, "departing", "daily", _departing_files(head, previous, reference))
    for name in ("rows", "rejects", "daily") if replaced else ():
        _delete(store, name, replaced)
    rejects = db.arrow(query("store.sql", "ingest_rejects"))
    arriving = db.table("arriving")
    overlap = incremental and rows <= OVERLAP_ROWS
    rows_data = db.arrow(query("store.sql", "ingest_rows")) if overlap else \
        db.relation(query("store.sql", "ingest_rows")).to_arrow_reader(100_000)

    def append_all() -> None:
        _append(store, "rows", rows_data, merge=True)
        if rejects.num_rows:
            _append(store, "rejects", conform(rejects, SCHEMAS["rejects"]))
        if arriving.num_rows:
            _append(store, "daily", conform(arriving, SCHEMAS["daily"]))

    if overlap:
        with ThreadPoolExecutor(1, thread_name_prefix="dqs-store-write") as pool:
            appended = pool.submit(append_all)
            try:
                folded = db.arrow(query("store.sql", "fold_state"), {"reference": reference, "previous": previous,
                                                                     "as_of": None})
            finally:
                appended.result()  # waited for even when the fold failed: no write outlives the run
    else:
        append_all()
        if not incremental:
            # a rebuild: every daily row of the new daily table arrives in an empty state
            if replaced:
                db.execute(query("store.sql", "drop_arriving"))
                try:
                    paths = list(store.live("daily").file_uris())
                except Exception as exc:
                    raise write_failed(store.path, exc) from exc
                register_files(db, "arriving", "daily", paths)
            db.register("state_before", SCHEMAS["state"].empty_table())
            register_files(db, "departing", "daily", [])
            reference = db.scalar(query("store.sql", "latest_arriving_date"))
            previous = None
        folded = db.arrow(query("store.sql", "fold_state"), {"reference": reference, "previous": previous, "as_of": None})
    state = conform(folded, SCHEMAS["state"])
    with writing(store.path):
        write_deltalake(store.live("state"), state, mode="overwrite", writer_properties=_state_properties())
    return {"reference": reference, "groups": state.num_rows, "state": state}


def _departing_files(head: Snapshot, previous: date, reference: date) -> list[str]:
    """The daily files (as the head saw them) that may hold the days leaving a rolling window
    when the reference date moves from `previous` to `reference`, found by their business_date
    statistics: a daily step reads three days' files, not the history. fold_state picks the
    days themselves (and DuckDB skips row groups by the same statistics)."""
    if reference <= previous:
        return []
    return head.file_paths("daily", [(previous - timedelta(days=k), reference - timedelta(days=k)) for k in (30, 90, 365)])
