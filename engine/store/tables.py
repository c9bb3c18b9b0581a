"""The history store on disk: a directory of Delta Lake tables (delta-rs) and a marker file.

    DIR/dqs-store.json  marker: format name, schema version, when it was created
    DIR/commits/        one row per store version: when, what, and the version of every table below
    DIR/files/          the ingest ledger: one entry per ingested (or replaced) file
    DIR/rows/           validated rows, one per accepted rule execution (partitioned by business_month)
    DIR/rejects/        rejected rows: file, line, reasons, raw values
    DIR/daily/          daily state per (file, group, business date) (partitioned by business_month)
    DIR/state/          the summary state at the store's reference date, one row per group

Each table changes one atomic Delta commit at a time. A store version exists once its row is in
`commits`, which names the version of every other table: readers load each table at that
version, so they always see one consistent snapshot. A writer killed halfway leaves table
versions no commit names; the next writer restores those tables to the named versions before
it writes (`Store.writer`). Writers hold an exclusive lock on the directory.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import Any

import pyarrow as pa

from ..errors import DqsError, ExitCode, InputError, first_line

SCHEMA_VERSION = 1
MARKER = "dqs-store.json"
FORMAT_NAME = "dqs-store"

KEY_FIELDS = [pa.field(k, pa.string()) for k in ("source", "tenant_id", "dataset_uuid", "dataset_name", "rule_code")]
TIMESTAMP = pa.timestamp("us", tz="UTC")

SCHEMAS: dict[str, pa.Schema] = {
    "commits": pa.schema([
        ("version", pa.int64()), ("committed_at", TIMESTAMP), ("operation", pa.string()),
        ("files_added", pa.int64()), ("files_replaced", pa.int64()), ("files_skipped", pa.int64()),
        ("rows_accepted", pa.int64()), ("rows_rejected", pa.int64()), ("reference_date", pa.date32()),
        ("groups", pa.int64()), ("dqs_version", pa.string()), ("schema_version", pa.int32()),
        ("files_version", pa.int64()), ("rows_version", pa.int64()), ("rejects_version", pa.int64()),
        ("daily_version", pa.int64()), ("state_version", pa.int64()),
    ]),
    "files": pa.schema([
        ("file_id", pa.int32()), ("path", pa.string()), ("absolute_path", pa.string()), ("size", pa.int64()),
        ("sha256", pa.string()), ("format", pa.string()), ("rows_read", pa.int64()), ("rows_accepted", pa.int64()),
        ("rows_rejected", pa.int64()), ("rows_unknown", pa.int64()), ("ingested_at", TIMESTAMP),
        ("store_version", pa.int64()),
    ]),
    "rows": pa.schema([
        ("file_id", pa.int32()), ("line", pa.int64()), *KEY_FIELDS, ("business_date", pa.date32()),
        ("business_month", pa.string()), ("results", pa.string()), ("status", pa.string()),
        ("level_of_execution", pa.string()), ("attribute_name", pa.string()),
        ("dataset_record_count", pa.int64()), ("filtered_record_count", pa.int64()),
    ]),
    "rejects": pa.schema([
        ("file_id", pa.int32()), ("line", pa.int64()), ("reason", pa.string()),
        *[pa.field(c, pa.string()) for c in ("source", "tenant_id", "dataset_uuid", "dataset_name", "rule_code",
                                             "business_date", "dataset_record_count", "filtered_record_count")],
    ]),
    "daily": pa.schema([
        ("file_id", pa.int32()), *KEY_FIELDS, ("business_date", pa.date32()), ("business_month", pa.string()),
        ("passes", pa.int64()), ("fails", pa.int64()), ("unknown", pa.int64()), ("runs", pa.int64()),
        ("latest_line", pa.int64()), ("latest_dataset_record_count", pa.int64()),
        ("latest_filtered_record_count", pa.int64()), ("latest_level_of_execution", pa.string()),
    ]),
    "state": pa.schema([  # named as summary.sql's `group_counts`, plus what folding needs
        *KEY_FIELDS,
        *[pa.field(c, pa.int64()) for c in ("pass_count_total", "fail_count_total", "unknown_count_total",
                                           "pass_count_12m", "fail_count_12m", "pass_count_3m", "fail_count_3m",
                                           "pass_count_1m", "fail_count_1m")],
        ("dataset_record_count_latest", pa.int64()), ("filtered_record_count_latest", pa.int64()),
        ("level_of_execution_latest", pa.string()), ("business_date_latest", pa.date32()),
        ("latest_file_id", pa.int32()), ("latest_line", pa.int64()),
    ]),
}

PARTITIONS: dict[str, list[str]] = {"rows": ["business_month"], "daily": ["business_month"]}
DATA_TABLES = ("files", "rows", "rejects", "daily", "state")  # versioned by `commits`
TABLES = ("commits", *DATA_TABLES)


PANIC_GRACE_S = 0.5


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """`table` with a store table's schema: cast only when it differs (the SQL gives the types
    already; a cast of equal schemas still costs the import of Arrow's compute kernels)."""
    return table if table.schema.equals(schema) else table.cast(schema)


class StoreError(InputError):
    """The store cannot be used as it is: not a store, a newer schema, a damaged table."""


class StoreWriteError(DqsError):
    """Writing to the store failed (a full disk, say); the store is as it was before."""

    exit_code = ExitCode.FAILURE


@dataclass(frozen=True)
class Commit:
    """One store version: a row of `commits`."""

    version: int
    committed_at: datetime
    operation: str
    reference_date: date | None
    groups: int
    table_versions: dict[str, int]
    row: dict[str, Any]


def _commit(row: dict[str, Any]) -> Commit:
    return Commit(
        version=row["version"], committed_at=row["committed_at"], operation=row["operation"],
        reference_date=row["reference_date"], groups=row["groups"],
        table_versions={name: row[f"{name}_version"] for name in DATA_TABLES}, row=row,
    )


def damaged(path: Path, exc: BaseException) -> StoreError:
    return StoreError(
        f"store {path} is damaged: {first_line(exc)}",
        hint="a table file is missing or unreadable; restore the store directory from a backup, "
        "or re-ingest the logs into a new store",
    )


def write_failed(path: Path, exc: BaseException) -> StoreWriteError:
    text = first_line(exc)
    hint = "the store is as it was before this run; fix the problem and run again"
    if "No space left" in text or getattr(exc, "errno", None) == 28:
        text = "no space left on the device"
        hint = "free disk space (or move the store); the store is as it was before this run"
    return StoreWriteError(f"cannot write to store {path}: {text}", hint=hint)


@contextmanager
def writing(path: Path) -> Iterator[None]:
    """Around a delta-rs write: a failure becomes one StoreWriteError (the store is as it was:
    no commit names the half-written version). delta-rs' native threads print a panic message
    on stderr when a write fails (a full disk, say); what they print is kept back while the write
    runs, and shown only if the write succeeds, so a failure is the one line dqs renders."""
    import sys

    captured = tempfile.TemporaryFile()
    sys.stderr.flush()
    saved = os.dup(2)
    os.dup2(captured.fileno(), 2)
    failed = False
    try:
        yield
    except DqsError:
        failed = True
        raise
    except Exception as exc:
        failed = True
        time.sleep(PANIC_GRACE_S)  # the panic is printed by a worker thread, sometimes after the error returns
        raise write_failed(path, exc) from exc
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        if not failed:
            captured.seek(0)
            if text := captured.read():
                os.write(2, text)
        captured.close()


class Snapshot:
    """The store as one version saw it: every table loaded at the version its commit names.

    Tables are read from the Parquet files that version lists (as a Spark cluster or any
    Parquet reader may), not through a dataset over every file: building a dataset costs
    milliseconds per file, and the daily run reads only the files it needs."""

    def __init__(self, store: Store, commit: Commit) -> None:
        self.store = store
        self.commit = commit
        self._tables: dict[str, Any] = {}

    def table(self, name: str):
        from deltalake import DeltaTable

        opened = self.store._opened.get(name)
        if opened is not None and opened.version() == self.commit.table_versions[name]:
            return opened  # a table the writer holds open, at this version: no second open
        if name not in self._tables:
            try:
                self._tables[name] = DeltaTable(str(self.store.path / name), version=self.commit.table_versions[name])
            except Exception as exc:  # delta-rs raises its own types and OSError subclasses
                raise damaged(self.store.path, exc) from exc
        return self._tables[name]

    def file_paths(self, name: str, days: list[tuple[date, date]] | None = None) -> list[str]:
        """The data files of a table at this version; with `days`, a list of [first, before)
        date ranges, only the files whose business_date statistics overlap one of them."""
        table = self.table(name)
        try:
            if days is None:
                return list(table.file_uris())
            actions = pa.table(table.get_add_actions(flatten=True))
        except Exception as exc:
            raise damaged(self.store.path, exc) from exc
        paths = actions.column("path").to_pylist()
        if "min.business_date" not in actions.schema.names:
            return [str(self.store.path / name / p) for p in paths]
        lows = actions.column("min.business_date").to_pylist()
        highs = actions.column("max.business_date").to_pylist()
        return [str(self.store.path / name / p) for p, lo, hi in zip(paths, lows, highs, strict=True)
                if lo is None or hi is None or any(hi >= first and lo < before for first, before in days)]

    def arrow(self, name: str, paths: list[str] | None = None) -> pa.Table:
        """A (small) table, or the given files of it, as one Arrow table of the table's schema."""
        import pyarrow.parquet as pq

        paths = self.file_paths(name) if paths is None else paths
        try:
            parts = [pq.ParquetFile(p).read() for p in paths]
        except Exception as exc:
            raise self.missing_files(exc) from exc
        if not parts:
            return SCHEMAS[name].empty_table()
        return pa.concat_tables(parts, promote_options="permissive")

    def missing_files(self, exc: BaseException) -> StoreError:
        """A file of this snapshot could not be read: vacuumed by compaction, or damage."""
        if self.commit.version < self.store.head().version and isinstance(exc, (FileNotFoundError, OSError)):
            return StoreError(
                f"store version {self.commit.version} of {self.store.path} can no longer be read: {first_line(exc)}",
                hint="`dqs store compact` removed its files; `dqs store history` lists the versions, "
                "and newer ones are readable",
            )
        return damaged(self.store.path, exc)

    @cached_property
    def files(self) -> pa.Table:
        """The active ledger entry of every file (the newest per file id), in input order."""
        # one entry per ingested or replaced file: a few thousand, read as Python objects
        newest: dict[int, dict[str, Any]] = {}
        for entry in self.arrow("files").to_pylist():
            kept = newest.get(entry["file_id"])
            if kept is None or entry["store_version"] > kept["store_version"]:
                newest[entry["file_id"]] = entry
        return pa.Table.from_pylist([newest[k] for k in sorted(newest)], SCHEMAS["files"])


class Store:
    """A history store directory (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        marker = path / MARKER
        if not path.is_dir():
            raise StoreError(f"store {path} does not exist",
                             hint=f"create one with `dqs ingest LOG --store {path}`")
        try:
            info = json.loads(marker.read_text(encoding="utf-8"))
            if not isinstance(info, dict) or info.get("format") != FORMAT_NAME:
                raise ValueError("not a dqs store marker")
            version = int(info["schema_version"])
        except FileNotFoundError:
            raise StoreError(f"{path} is not a dqs store (no {MARKER})",
                             hint="pass the directory `dqs ingest --store` created, or a new path to create one") from None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise StoreError(f"store {path}: {MARKER} is unreadable ({first_line(exc)})",
                             hint="restore the store directory from a backup") from exc
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"store {path} has schema version {version}, newer than this dqs understands ({SCHEMA_VERSION})",
                hint="upgrade dqs (pip install -U dqs) to read it",
            )
        self.schema_version = version
        # the tables `writer` opened, each kept at the version it last wrote (or found): the
        # snapshot of that version reads them without opening them again
        self._opened: dict[str, Any] = {}
        self._writing = False

    # -- creation ---------------------------------------------------------------------------

    @staticmethod
    def open_or_create(path: Path) -> Store:
        """The store at `path`, created (empty, version 0) when the path does not exist yet or
        is an empty directory. Creation happens in a sibling folder renamed into place, so a
        killed creation leaves no half-made store."""
        empty_dir = path.is_dir() and not any(path.iterdir())
        if path.exists() and not empty_dir:
            return Store(path)  # a store, or the error that says what it is instead
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            scratch = Path(tempfile.mkdtemp(prefix=f".{path.name}.creating-", dir=path.parent))
        except OSError as exc:
            raise StoreError(f"cannot create store {path}: {exc.strerror}",
                             hint="choose a directory you can write to") from exc
        try:
            _create_tables(scratch)
            if empty_dir:
                path.rmdir()
            os.rename(scratch, path)
        except OSError as exc:
            if (path / MARKER).exists():  # another run created it at the same moment: use theirs
                return Store(path)
            raise write_failed(path, exc) from exc
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return Store(path)

    # -- reading ----------------------------------------------------------------------------

    def _commits_table(self):
        from deltalake import DeltaTable

        try:
            return DeltaTable(str(self.path / "commits"))
        except Exception as exc:
            raise damaged(self.path, exc) from exc

    def commits(self) -> list[Commit]:
        try:
            rows = self._commits_table().to_pyarrow_table().sort_by("version").to_pylist()
        except StoreError:
            raise
        except Exception as exc:
            raise damaged(self.path, exc) from exc
        if not rows:
            raise damaged(self.path, ValueError("the commits table is empty"))
        return [_commit(r) for r in rows]

    def head(self) -> Commit:
        """The newest version, read from the one file that holds it (found by its statistics),
        so the daily run does not read every commit."""
        return self._head_of(self._commits_table())

    def _head_of(self, table) -> Commit:
        import pyarrow.parquet as pq

        try:
            actions = pa.table(table.get_add_actions(flatten=True))
            versions = actions.column("max.version").to_pylist()  # one entry per file: a few dozen
            newest = versions.index(max(versions))
            part = pq.ParquetFile(str(self.path / "commits" / actions.column("path")[newest].as_py())).read()
        except Exception as exc:
            raise damaged(self.path, exc) from exc
        rows = part.to_pylist()
        if not rows:
            raise damaged(self.path, ValueError("the commits table is empty"))
        return _commit(max(rows, key=lambda r: r["version"]))

    def snapshot(self, version: int | None = None, ingested_before: datetime | None = None) -> Snapshot:
        """The latest version, version `version`, or the last one committed before `ingested_before`."""
        if version is None and ingested_before is None:
            return Snapshot(self, self.head())
        commits = self.commits()
        if version is not None:
            found = [c for c in commits if c.version == version]
            if not found:
                raise InputError(f"store {self.path} has no version {version} (versions 0 to {commits[-1].version})",
                                 hint="`dqs store history` lists the versions")
            commit = found[0]
        elif ingested_before is not None:
            when = ingested_before if ingested_before.tzinfo else ingested_before.replace(tzinfo=timezone.utc)
            earlier = [c for c in commits if c.committed_at < when]
            if not earlier:
                raise InputError(f"store {self.path} has no version committed before {when.isoformat()}",
                                 hint=f"it was created at {commits[0].committed_at.isoformat()}")
            commit = earlier[-1]
        else:
            commit = commits[-1]
        return Snapshot(self, commit)

    # -- writing ----------------------------------------------------------------------------

    @contextmanager
    def writer(self, on_wait: Callable[[], None] | None = None) -> Iterator[Snapshot]:
        """Hold the store's write lock; yields the head snapshot after undoing what a killed
        writer left uncommitted."""
        from ..summary.outputs import exclusive

        with exclusive(self.path, on_wait):
            self._writing = True
            try:
                commits = self._commits_table()
                head = self._head_of(commits)
                self._opened = {"commits": commits}
                self._roll_back_uncommitted(head)
                yield Snapshot(self, head)
            finally:
                self._writing = False

    def live(self, name: str):
        """Table `name` at its newest version, for writing (only while `writer` holds the lock):
        opened once, and kept current by delta-rs through every write made with it."""
        assert self._writing, "a store table is written only under Store.writer"
        return self._opened[name]

    def _roll_back_uncommitted(self, head: Commit) -> None:
        from deltalake import DeltaTable

        for name in DATA_TABLES:
            try:
                table = DeltaTable(str(self.path / name))
                current = table.version()
            except Exception as exc:
                raise damaged(self.path, exc) from exc
            wanted = head.table_versions[name]
            if current < wanted:
                raise damaged(self.path, ValueError(f"table {name} is at version {current}, its commit names {wanted}"))
            if current > wanted:
                with writing(self.path):
                    table.restore(wanted)
            self._opened[name] = table

    def append_commit(self, row: dict[str, Any]) -> Commit:
        """Append a store version: the one atomic step that makes a writer's tables visible."""
        from deltalake import write_deltalake

        full = {"dqs_version": _dqs_version(), "schema_version": SCHEMA_VERSION, **row}
        with writing(self.path):
            write_deltalake(self.live("commits"), pa.Table.from_pylist([full], SCHEMAS["commits"]), mode="append")
        return _commit(full)

    def table_version(self, name: str) -> int:
        """The newest version of a table this writer wrote to."""
        return self.live(name).version()


def _dqs_version() -> str:
    from dqs import __version__

    return __version__


def _create_tables(root: Path) -> None:
    from deltalake import DeltaTable, write_deltalake

    for name in DATA_TABLES:
        DeltaTable.create(str(root / name), SCHEMAS[name], partition_by=PARTITIONS.get(name))
    now = datetime.now(timezone.utc)
    row = {
        "version": 0, "committed_at": now, "operation": "create", "files_added": 0, "files_replaced": 0,
        "files_skipped": 0, "rows_accepted": 0, "rows_rejected": 0, "reference_date": None, "groups": 0,
        "dqs_version": _dqs_version(), "schema_version": SCHEMA_VERSION,
        **{f"{name}_version": 0 for name in DATA_TABLES},
    }
    write_deltalake(str(root / "commits"), pa.Table.from_pylist([row], SCHEMAS["commits"]), mode="append")
    marker = {"format": FORMAT_NAME, "schema_version": SCHEMA_VERSION, "created_at": now.isoformat(timespec="seconds"),
              "created_by": f"dqs {_dqs_version()}"}
    (root / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
