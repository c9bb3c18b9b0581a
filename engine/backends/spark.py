"""The Spark engine: the row-level work of a summary on a Spark cluster (or local Spark).

Spark reads the input, runs `portable.sql` transpiled by sqlglot, and sends the aggregated
`staged` table back to the driver as Arrow; from there the summary and the output files are
made by the same DuckDB SQL as the embedded engine, so both write the same files. Analysts'
files run on Spark too (transpiled), on `results` and `daily` built by Spark and on `summary`
and `rules` sent from the driver; their outputs come back as Arrow to be written.

Statuses are parsed on the driver, once per distinct results text (DuckDB's JSON functions
define them); the distinct texts of a log must therefore fit on the driver, as they do for the
embedded engine.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ..summary.analyst import AnalystFile, AnalystSqlError, Problem, find_token, source_line, parameters
from ..database import Database
from ..errors import EngineError, InputError, first_line
from .portable import spark_problems, transpile
from ..queries import Query, query
from ..inputs.scan import guess_reference_date
from ..inputs.sources import REQUIRED_COLUMNS, InputFiles
from . import Progress, Staged, check_unchanged

LINE_NUMBER = "_dqs_line_number"
FILE_INDEX = "_dqs_file_index"


class SparkEngine:
    name = "spark"

    def __init__(self, master: str | None = None) -> None:
        try:
            from pyspark.sql import SparkSession
        except ImportError as exc:
            raise InputError("--engine spark needs PySpark", hint="pip install 'dqs[spark]' (and Java 17)") from exc
        self._owns = SparkSession.getActiveSession() is None
        if self._owns:
            _quiet_jvm_logs()
        builder = SparkSession.builder.appName("dqs")
        if master:
            builder = builder.master(master)
        elif self._owns and not os.environ.get("SPARK_HOME"):
            builder = builder.master("local[*]")
        try:
            self.spark = (
                builder.config("spark.ui.enabled", "false")
                .config("spark.ui.showConsoleProgress", "false")
                .config("spark.sql.session.timeZone", "UTC")
                .config("spark.sql.shuffle.partitions", os.environ.get("DQS_SPARK_SHUFFLE_PARTITIONS", "8"))
                .getOrCreate()
            )
        except Exception as exc:  # no Java, a master that cannot be reached, ...
            raise InputError(f"cannot start Spark: {first_line(exc)}",
                             hint="check JAVA_HOME (Java 17) and --spark-master") from exc
        self.spark.sparkContext.setLogLevel(os.environ.get("DQS_SPARK_LOG_LEVEL", "OFF"))
        _quiet_python_logs()
        self.columns: tuple[str, ...] = ()

    # -- running SQL ---------------------------------------------------------------------------

    def _sql(self, block: Query, params: dict[str, Any] | None = None, sql: str | None = None):
        text = transpile(block.sql) if sql is None else sql
        args = {k: v for k, v in (params or {}).items() if k in block.parameters}
        try:
            return self.spark.sql(text, args=args or None)
        except Exception as exc:
            raise _engine_error(block, text, exc) from exc

    def _view(self, name: str, block: Query, params: dict[str, Any] | None = None, sql: str | None = None) -> None:
        self._sql(block, params, sql).createOrReplaceTempView(name)

    def _arrow(self, block: Query, params: dict[str, Any] | None = None) -> pa.Table:
        frame = self._sql(block, params)
        try:
            return frame.toArrow()
        except Exception as exc:
            raise _engine_error(block, transpile(block.sql), exc) from exc

    # -- the input -----------------------------------------------------------------------------

    def _load_input(self, files: InputFiles, all_columns: bool) -> None:
        """`raw_rows`: the required columns as text (extra columns as read, when asked), the
        file's position in sorted path order and the 1-based data line in its file."""
        from pyspark.sql import functions as F

        frames = []
        extra = [c for c in files.columns if c not in REQUIRED_COLUMNS] if all_columns else []
        for index, path in enumerate(files.paths):
            if files.format == "csv":
                # multiLine reads a file whole, as one partition, in order: the position of a row
                # in its partition (monotonically_increasing_id minus the partition's offset,
                # partition << 33) is its data line - 1, with no sort or shuffle
                frame = self.spark.read.csv(str(path), header=True, inferSchema=False, multiLine=True,
                                            escape='"', mode="FAILFAST", encoding="UTF-8")
                frame = frame.withColumn(
                    LINE_NUMBER,
                    (F.monotonically_increasing_id() - F.shiftleft(F.spark_partition_id().cast("bigint"), 33) + 1)
                    .cast("bigint"),
                )
            else:
                frame = self.spark.read.parquet(str(path))
                frame = frame.withColumn(LINE_NUMBER, (F.col("_metadata.row_index") + 1).cast("bigint"))
            columns = set(frame.columns)
            frame = frame.select(
                *[(F.col(f"`{c}`").cast("string") if c in columns else F.lit(None).cast("string")).alias(c)
                  for c in REQUIRED_COLUMNS],
                *[(F.col(f"`{c}`") if c in columns else F.lit(None).cast("string")).alias(c) for c in extra],
                F.lit(index).cast("int").alias(FILE_INDEX),
                F.col(LINE_NUMBER),
            )
            frames.append(frame)
        raw = frames[0]
        for frame in frames[1:]:
            raw = raw.unionByName(frame, allowMissingColumns=True)
        raw.createOrReplaceTempView("raw_rows")
        self.columns = tuple(extra)
        # the extra input columns ride along, as identifiers added by sqlglot
        block = query("portable.sql", "checked_rows")
        self._view("checked_rows", block, sql=transpile(block.sql, extra_columns=extra))

    # -- the Engine protocol -------------------------------------------------------------------

    def stage(self, db: Database, files: InputFiles, as_of: date | None, say: Progress) -> Staged:
        """One pass over the input, anchored on R: with --as-of R is known; otherwise the pass
        is anchored on the embedded engine's cheap guess and repeated when the guess was wrong."""
        say(f"Spark: reading {len(files.paths)} {files.format} file(s)")
        self._load_input(files, all_columns=False)
        anchor = as_of if as_of is not None else guess_reference_date(db, files)
        passes = 0
        while True:
            passes += 1
            say(f"Spark: staging (pass {passes})")
            staged = self._arrow(query("portable.sql", "staged"), {"as_of": as_of, "window_anchor": anchor})
            totals = staged.filter(pc.field("is_file_total")).to_pylist()
            reference = as_of if as_of is not None else _latest_date(staged)
            if reference is None or reference == anchor:
                break
            anchor = reference
        rows_read = [0] * len(files.paths)
        for row in totals:
            rows_read[row["input_file_index"]] = row["row_count"]
        db.register("portable_staged", staged)
        try:
            db.execute(query("ingest.sql", "staged_from_portable"))
        finally:
            db.unregister("portable_staged")
        return Staged(reference, passes, rows_read)

    def run_analysis(self, db: Database, files: InputFiles, sql_files: Sequence[AnalystFile], keep_rows: bool,
                     params: dict[str, str], builtins: dict[str, Any], rows_read: list[int]) -> None:
        for f in sql_files:  # what would not run on Spark stops the run before any of it runs
            for message, line, column in spark_problems(f.body):
                raise AnalystSqlError(Problem(f.path, message, line, column, source_line(f.body, line)),
                                      hint="keep analyst SQL in the portable subset (README: Scaling out)")
        self._upload("summary", db.table("summary"))
        self._upload("rules", db.table("rules"))
        if keep_rows:
            self._load_input(files, all_columns=True)
            # read once for every file that uses results or daily (Spark views are recomputed
            # on each use); the row count check below fills the cache
            self.spark.catalog.cacheTable("checked_rows")
            self._upload("statuses", db.table("statuses"))
            self._upload("input_files", db.table("input_files"))
            block = query("portable.sql", "results")
            self._view("results", block, builtins, sql=transpile(block.sql, extra_columns=self.columns, table="c"))
            self._view("daily", query("portable.sql", "daily"))
            again = self._arrow(query("portable.sql", "file_totals"), {"as_of": None}).to_pylist()
            counts = [0] * len(files.paths)
            for row in again:
                counts[row["file_index"]] = row["rows_read"]
            check_unchanged(rows_read, counts)
        persisted = []
        try:
            for f in sql_files:
                values = {**builtins, **f.defaults, **params}
                try:
                    frame = self.spark.sql(transpile(f.body), args={k: values[k] for k in parameters(f)} or None)
                    frame = frame.persist()  # later files may read this output by name
                    persisted.append(frame)
                    frame.createOrReplaceTempView(f.name)
                    output = frame.toArrow()
                except Exception as exc:
                    raise _analyst_error(f, exc) from exc
                db.register(f.name, output)
        finally:  # only what this run cached: the session may be shared
            for frame in persisted:
                frame.unpersist()
            if keep_rows:
                self.spark.catalog.uncacheTable("checked_rows")

    def fold_store(self, db: Database, daily_files: list[str], reference: date | None, as_of: date | None) -> int:
        """The store's summary state folded on Spark from the daily files of one version (the
        Parquet files its commit lists), brought back to the driver as one row per group."""
        if not daily_files:
            from ..store.tables import SCHEMAS

            db.register("summary_state", SCHEMAS["state"].empty_table())
            return 0
        try:
            self.spark.read.parquet(*daily_files).createOrReplaceTempView("store_daily")
        except Exception as exc:
            raise InputError(f"Spark cannot read the store's daily files: {first_line(exc)}",
                             hint="the store is damaged or was compacted meanwhile; run again") from exc
        state = self._arrow(query("portable.sql", "store_state"), {"reference": reference, "as_of": as_of})
        db.register("portable_state", state)
        try:
            db.execute(query("store.sql", "summary_state_from_portable"))
        finally:
            db.unregister("portable_state")
        if as_of is None:
            return 0
        return int(self._arrow(query("portable.sql", "store_rows_after"), {"as_of": as_of}).column(0)[0].as_py())

    def _upload(self, name: str, table: pa.Table) -> None:
        self.spark.createDataFrame(table).createOrReplaceTempView(name)

    def close(self) -> None:
        if self._owns:
            self.spark.stop()


_LOG4J = """\
rootLogger.level = {level}
rootLogger.appenderRef.stderr.ref = console
logger.repl.name = org.apache.spark.repl.Main
logger.repl.level = {level}
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = spark: %p %c{{1}}: %m%n
"""


def _quiet_jvm_logs() -> None:
    """Spark logs to stderr from the moment its JVM starts; dqs keeps stderr for its own
    messages, so the JVM starts with a log4j2 configuration at $DQS_SPARK_LOG_LEVEL (OFF)."""
    import tempfile

    if "PYSPARK_SUBMIT_ARGS" in os.environ:
        return  # the user configured the launch
    level = os.environ.get("DQS_SPARK_LOG_LEVEL", "OFF")
    path = os.path.join(tempfile.gettempdir(), f"dqs-log4j2-{level}.properties")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(_LOG4J.format(level=level))
    os.environ["PYSPARK_SUBMIT_ARGS"] = f"--driver-java-options -Dlog4j2.configurationFile={path} pyspark-shell"
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")


def _latest_date(staged: pa.Table) -> date | None:
    """R from a staging pass: the date part of the greatest latest-row key in scope."""
    rows = staged.filter(pc.and_(pc.invert(staged["is_file_total"]), pc.fill_null(staged["in_scope"], False)))
    latest = pc.max(rows["latest_key"]).as_py() if rows.num_rows else None
    return None if latest is None else date.fromisoformat(latest[:10])


def _quiet_python_logs() -> None:
    """PySpark logs every failed query with its Java stack to stderr; dqs reports it once."""
    if os.environ.get("DQS_SPARK_LOG_LEVEL", "OFF") != "OFF":
        return
    from pyspark.logger import PySparkLogger

    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        PySparkLogger.getLogger(name).disabled = True


def _engine_error(block: Query, sql: str, exc: Exception) -> Exception:
    text = first_line(exc)
    if "Malformed" in str(exc) or "MALFORMED" in str(exc):
        return InputError(f"Spark cannot read the input: {text}",
                          hint="a row has more fields than the header, or broken quoting")
    if "PATH_NOT_FOUND" in str(exc):
        return InputError(f"Spark cannot find the input: {text}", hint="check the path")
    return EngineError(f"{block.name} ({block.file}, on Spark) failed: {text}", query_name=block.name, sql=sql,
                       hint="rerun with DQS_SPARK_LOG_LEVEL=WARN for Spark's log")


def _analyst_error(f: AnalystFile, exc: Exception) -> AnalystSqlError:
    text = " ".join(str(exc).split("\n")[0].split())
    name = re.search(r"`([^`]+)`", text)
    line, column = find_token(f.body, name.group(1).split("`.`")[-1]) if name else (None, None)
    return AnalystSqlError(Problem(f.path, f"Spark: {text}", line, column, source_line(f.body, line)),
                           hint="fix the file; `dqs sql check DIR --target spark` checks it without a cluster")
