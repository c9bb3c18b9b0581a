"""A DuckDB connection configured for bounded memory, with errors re-raised by logical name."""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from .errors import EngineError, InputError, first_line
from .queries import Query, query

DEFAULT_MEMORY_LIMIT = "1GB"
_BINARY_UNITS = {"bytes": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40, "PiB": 1 << 50}
MEMORY_LIMIT_ENV = "DQS_MEMORY_LIMIT"


def default_memory_limit() -> str:
    return os.environ.get(MEMORY_LIMIT_ENV) or DEFAULT_MEMORY_LIMIT


_OPEN: weakref.WeakSet[Database] = weakref.WeakSet()


def interrupt_all() -> None:
    """Interrupt every running query (safe from any thread). The interrupted call raises
    KeyboardInterrupt in the thread that ran it."""
    for db in list(_OPEN):
        for con in (db.con, *list(db._cursors)):
            try:
                con.interrupt()
            except Exception:  # a connection closing at the same moment
                pass


def interrupted(exc: BaseException) -> bool:
    """Whether a DuckDB error stands for Ctrl-C: a query interrupted by `interrupt_all`, or a
    KeyboardInterrupt raised in Python code DuckDB was calling (an Arrow stream being read)."""
    return (
        isinstance(exc, duckdb.InterruptException)
        or (isinstance(exc, RuntimeError) and "interrupted" in str(exc).lower())
        or (isinstance(exc, duckdb.Error) and "KeyboardInterrupt" in str(exc))
    )


class Database:
    """One embedded DuckDB connection. Every statement runs through `execute` or `arrow`."""

    def __init__(
        self,
        *,
        memory_limit: str | None = None,
        threads: int | None = None,
        temp_directory: Path | None = None,
        _connection: duckdb.DuckDBPyConnection | None = None,  # `session`'s: a cursor of another one
        _root: Database | None = None,  # `session`'s: the Database whose connection that is
    ) -> None:
        if _connection is None:
            config: dict[str, Any] = {"memory_limit": memory_limit or default_memory_limit()}
            if threads:
                config["threads"] = threads
            if temp_directory is not None:
                config["temp_directory"] = str(temp_directory)
            try:
                _connection = duckdb.connect(":memory:", config=config)
            except duckdb.Error as exc:
                raise InputError(
                    f"cannot configure DuckDB with memory limit {config['memory_limit']!r}"
                    f"{'' if not threads else f' and {threads} threads'}: {first_line(exc)}",
                    hint="give --memory-limit (or DQS_MEMORY_LIMIT) as a size, e.g. 512MB or 2GB",
                ) from exc
        self.con = _connection
        # progress is the CLI's business (stderr, terminals only), never DuckDB's own bar
        self.con.execute("SET enable_progress_bar = false")
        self._cursors: set[duckdb.DuckDBPyConnection] = set()
        self._root = _root or self
        self._macros_created = False
        _OPEN.add(self)

    def session(self) -> Database:
        """Another connection to this database: the same memory limit, buffers and threads, its
        own TEMP objects, which `close` drops with it. Far cheaper than a new database."""
        return Database(_connection=self.con.cursor(), _root=self._root)

    def create_macros(self) -> None:
        """ingest.sql's shared helper macros, created once per database (they live in its main
        schema, so every session and cursor sees them; the daily run's ingest and summary share
        them)."""
        if not self._root._macros_created:
            self.execute(query("ingest.sql", "create_macros"))
            self._root._macros_created = True

    def execute(self, query: Query, params: dict[str, Any] | None = None) -> None:
        self._fetch(query, params)

    def execute_together(self, statements: Sequence[tuple[Query, dict[str, Any] | None]]) -> None:
        """Run independent statements at the same time: the first on this connection, each other
        one on its own cursor in a thread (DuckDB runs a small COPY on one thread; side by side
        they use every core). Only the first may read TEMP objects: a cursor is another
        connection to the same database and sees its main schema only. The first error, in
        statement order, is raised once every statement has ended."""
        errors: list[BaseException | None] = [None] * len(statements)

        def run(index: int, con: duckdb.DuckDBPyConnection) -> None:
            query, params = statements[index]
            bound = self._bind(query, params)
            try:
                (con.execute(query.sql, bound) if bound else con.execute(query.sql)).fetchall()
            except (duckdb.Error, RuntimeError) as exc:
                try:
                    errors[index] = self._error(query, exc)
                except KeyboardInterrupt as interrupt:
                    errors[index] = interrupt
            except BaseException as exc:  # noqa: BLE001 - handed to the calling thread
                errors[index] = exc

        workers = []
        try:
            for index in range(1, len(statements)):
                cursor = self.con.cursor()
                self._cursors.add(cursor)
                worker = threading.Thread(target=run, args=(index, cursor), name=f"dqs-{statements[index][0].name}")
                worker.start()
                workers.append((worker, cursor))
            if statements:
                run(0, self.con)
        finally:
            for worker, cursor in workers:
                worker.join()
                self._cursors.discard(cursor)
                cursor.close()
        for error in errors:
            if error is not None:
                raise error

    def arrow(self, query: Query, params: dict[str, Any] | None = None) -> pa.Table:
        """Run a query and read its whole result as an Arrow table."""
        bound = self._bind(query, params)
        try:
            return self.con.sql(query.sql, params=bound or None).to_arrow_table()
        except (duckdb.Error, RuntimeError) as exc:
            raise self._error(query, exc) from exc

    def relation(self, query: Query, params: dict[str, Any] | None = None) -> duckdb.DuckDBPyRelation:
        """A lazy relation for `query` (used to define views over table functions)."""
        bound = self._bind(query, params)
        try:
            return self.con.sql(query.sql, params=bound or None)
        except (duckdb.Error, RuntimeError) as exc:
            raise self._error(query, exc) from exc

    def scalar(self, query: Query, params: dict[str, Any] | None = None) -> Any:
        rows = self._fetch(query, params)  # read fully: DuckDB 2 refuses new work otherwise
        return rows[0][0] if rows else None

    def create_table(self, name: str, query: Query, params: dict[str, Any] | None = None) -> None:
        """A table `name` holding the result of `query` (for SELECT blocks shared with other engines)."""
        try:
            self.relation(query, params).create(name)
        except (duckdb.Error, RuntimeError) as exc:
            raise self._error(query, exc) from exc

    def write_parquet(self, query: Query, path: Path, params: dict[str, Any] | None = None) -> None:
        """Run `query` and write its result to a Parquet file (streamed: large results never sit
        in memory; DuckDB spills the work past its memory limit)."""
        try:
            self.relation(query, params).to_parquet(str(path), compression="zstd")
        except (duckdb.Error, RuntimeError) as exc:
            raise self._error(query, exc) from exc

    def parquet_view(self, name: str, path: Path, until: date | None = None) -> None:
        """View `name` over a Parquet file (or a folder of them), keeping rows with
        `business_date <= until` if given."""
        relation = self.con.read_parquet(str(path / "*.parquet") if path.is_dir() else str(path))
        if until is not None:
            relation = relation.filter(duckdb.ColumnExpression("business_date") <= duckdb.ConstantExpression(until))
        relation.create_view(name, replace=True)

    def table(self, name: str) -> pa.Table:
        """A whole table or view, read as Arrow."""
        return self.con.table(name).to_arrow_table()

    def table_reader(self, name: str, batch_rows: int = 100_000) -> pa.RecordBatchReader:
        """A whole table or view as a stream of Arrow batches."""
        return self.con.table(name).to_arrow_reader(batch_rows)

    def register(self, name: str, data: Any) -> None:
        self.con.register(name, data)

    def unregister(self, name: str) -> None:
        """Drop a registered object or view named `name`, if there is one."""
        try:
            self.con.unregister(name)
        except duckdb.Error:
            pass

    @staticmethod
    def limit_bytes(memory_limit: str | None) -> int:
        """`memory_limit` (e.g. '1GB', '512MiB'; None: the default) in bytes, as DuckDB reads it."""
        db = Database(memory_limit=memory_limit)
        try:
            return db.memory_limit_bytes
        finally:
            db.close()

    @property
    def memory_limit_bytes(self) -> int:
        """DuckDB's memory limit in bytes, as DuckDB understood it (e.g. '244.1 MiB')."""
        number, unit = self.con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0].split()
        return int(float(number) * _BINARY_UNITS[unit])

    def close(self) -> None:
        _OPEN.discard(self)
        self.con.close()

    def _bind(self, query: Query, params: dict[str, Any] | None) -> dict[str, Any]:
        wanted = query.parameters
        bound = {k: v for k, v in (params or {}).items() if k in wanted}
        missing = wanted - bound.keys()
        if missing:
            raise EngineError(
                f"query {query.name} ({query.file}) needs parameters {sorted(missing)}",
                query_name=query.name,
                sql=query.sql,
            )
        return bound

    def _fetch(self, query: Query, params: dict[str, Any] | None) -> list[tuple[Any, ...]]:
        """Run a statement and read all its rows (errors, Ctrl-C included, may come from either)."""
        bound = self._bind(query, params)
        try:
            cursor = self.con.execute(query.sql, bound) if bound else self.con.execute(query.sql)
            return cursor.fetchall()
        except (duckdb.Error, RuntimeError) as exc:
            raise self._error(query, exc) from exc

    @staticmethod
    def _error(query: Query, exc: Exception) -> EngineError:
        if interrupted(exc):
            raise KeyboardInterrupt from None
        message = first_line(exc).split(" Detail: Python exception")[0]
        hint = None
        if isinstance(exc, duckdb.OutOfMemoryException):
            hint = "raise --memory-limit (or DQS_MEMORY_LIMIT), or free disk space for spilling"
        return EngineError(
            f"{query.name} ({query.file}) failed: {message}",
            query_name=query.name,
            sql=query.sql,
            hint=hint,
        )
