"""The summarize pipeline: input files -> one validating, aggregating pass -> summary -> outputs."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa

from . import analyst
from .analyst import AnalystFile, AnalystSqlError
from ..database import Database, default_memory_limit
from ..backends import Engine, open_engine
from ..errors import EngineError, InputError
from ..monitor import Monitor
from .outputs import OutputSet, exclusive, prepare_output_dir, remove_stale, spill_directory
from ..queries import query
from ..inputs.rules import load_rules
from ..inputs.sources import REQUIRED_COLUMNS, InputFiles, resolve_input

SUMMARY_CSV = "full_summary.csv"
SENTENCES = "nl_all_rows.txt"
SUMMARY_PARQUET = "summary.parquet"
REJECTS_CSV = "rejects.csv"
RUN_REPORT = "run_report.json"

Progress = Callable[[str], None]


@dataclass(frozen=True)
class SummarizeOptions:
    input: str | None  # None: summarize the store only
    output_dir: Path
    rules: Path | None = None
    as_of: date | None = None
    memory_limit: str | None = None
    threads: int | None = None
    engine: str = "duckdb"  # where the row-level work runs: duckdb (embedded) or spark
    spark_master: str | None = None
    sql_dirs: tuple[Path, ...] = ()  # analysts' SQL folders, run after the summary
    params: dict[str, str] = field(default_factory=dict)  # values for their $parameters
    store: Path | None = None  # a history store: INPUT (if any) is ingested first, then summarized from it
    store_version: int | None = None  # summarize the store as it was at this version
    ingested_before: datetime | None = None  # ... or as it was before this moment


@dataclass
class Analysis:
    """The analyst files of a run, checked before any data is read."""

    files: list[AnalystFile]
    keep_rows: bool  # some file reads `results` or `daily`


@dataclass
class RunReport:
    """What a run did; written as `run_report.json` and shown by the CLI."""

    input_files: list[dict[str, Any]]
    input_format: str
    rows_read: int
    rows_accepted: int
    rows_rejected: int
    rows_unknown_status: int
    rows_after_as_of: int
    input_passes: int
    rows_pass: int
    rows_fail: int
    groups: int
    unknown_rule_codes: list[str]
    rules_file: str | None
    rules_defined: int
    reference_date: str | None
    as_of: str | None
    memory_limit: str
    threads: int | None
    engine: str = "duckdb"
    outputs: list[str] = field(default_factory=list)
    sql_files: list[str] = field(default_factory=list)
    sql_reads_rows: bool = False  # an analyst file reads `results`/`daily`: one more input pass
    performance: dict[str, Any] = field(default_factory=dict)
    store: dict[str, Any] | None = None  # the store and version summarized, and what an ingest added

    def as_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


def summarize(options: SummarizeOptions, progress: Progress | None = None) -> RunReport:
    """Run the whole summary and write its outputs atomically into `options.output_dir`."""
    say = progress or (lambda _msg: None)
    started = datetime.now(timezone.utc)
    if options.store is not None:
        return _summarize_store(options, say, started)
    with Monitor() as monitor:
        with monitor.stage("inspect"):
            say("inspecting input")
            files = resolve_input(options.input)
            rules = load_rules(options.rules)
            analysis = _check_analysis(options, files.columns)
            output_dir = prepare_output_dir(Path(options.output_dir))
        with _run_context(options, output_dir, monitor, say, started) as ctx:
            with monitor.stage("start engine"):
                engine = open_engine(options.engine, options.spark_master)
            try:
                report = _run(ctx, engine, files, rules, analysis)
            finally:
                engine.close()
            return _commit_outputs(ctx, report)


@dataclass
class RunContext:
    """One run's working set, handed to each step: its options and monitor, the staged outputs,
    the DuckDB connection and its spill folder."""

    options: SummarizeOptions
    monitor: Monitor
    say: Progress
    started: datetime
    outputs: OutputSet
    db: Database
    spill: Path
    memory_limit: str


@contextmanager
def _run_context(options: SummarizeOptions, output_dir: Path, monitor: Monitor, say: Progress,
                 started: datetime) -> Iterator[RunContext]:
    """Lock the output directory, finish or remove what killed runs left there, and open the
    staged outputs and the connection; everything temporary goes when the block ends."""
    with exclusive(output_dir, on_wait=lambda: say(f"waiting for another dqs run writing to {output_dir}")):
        remove_stale(output_dir)
        memory_limit = options.memory_limit or default_memory_limit()
        spill = spill_directory(output_dir)
        outputs: OutputSet | None = None
        db: Database | None = None
        try:
            outputs = OutputSet(output_dir)
            db = Database(memory_limit=memory_limit, threads=options.threads, temp_directory=spill)
            yield RunContext(options, monitor, say, started, outputs, db, spill, memory_limit)
        finally:
            if db is not None:
                db.close()
            if outputs is not None:
                outputs.discard()
            shutil.rmtree(spill, ignore_errors=True)


def _commit_outputs(ctx: RunContext, report: RunReport) -> RunReport:
    """Write `run_report.json` beside the other outputs, then put them all in place at once."""
    ctx.say("writing outputs")
    report.performance = {
        "started_at": ctx.started.isoformat(timespec="seconds"),
        **ctx.monitor.as_dict(),
    }
    wall = ctx.monitor.wall_s
    report.performance["rows_per_s"] = round(report.rows_read / wall, 1) if wall > 0 else None
    report_path = ctx.outputs.path(RUN_REPORT)
    report.outputs = sorted(ctx.outputs.names)
    report_path.write_text(json.dumps(report.as_dict(), indent=2, default=str) + "\n", encoding="utf-8")
    ctx.outputs.commit()
    return report


def _report(ctx: RunContext, rules: pa.Table, analysis: Analysis | None, **figures: Any) -> RunReport:
    """The run report: the figures of the run's source, and what every run reports alike."""
    options = ctx.options
    return RunReport(
        **figures,
        rules_file=None if options.rules is None else str(options.rules),
        rules_defined=rules.num_rows,
        as_of=None if options.as_of is None else options.as_of.isoformat(),
        memory_limit=ctx.memory_limit,
        threads=options.threads,
        sql_files=[] if analysis is None else [str(f.path) for f in analysis.files],
        sql_reads_rows=analysis is not None and analysis.keep_rows,
    )


def _summarize_store(options: SummarizeOptions, say: Progress, started: datetime) -> RunReport:
    """The daily run: ingest INPUT (when given) into the store, then summarize a store snapshot.
    Analyst files read the store's rows; nothing reads the raw files twice."""
    from ..store.ingest import IngestOptions, ingest
    from ..store.read import prepare_analysis, prepare_summary
    from ..store.tables import Store

    pinned = options.store_version is not None or options.ingested_before is not None
    if options.input is not None and pinned:
        raise InputError("INPUT is ingested into the newest version; --store-version and --ingested-before read an older one",
                         hint="ingest with `dqs ingest`, then summarize the old version without INPUT")
    # a bad rules file or SQL file stops the run before anything is ingested
    rules = load_rules(options.rules)
    analysis = _check_analysis(options, ())  # ingest refuses extra columns named like its own
    with Monitor() as monitor:
        with monitor.stage("inspect"):
            output_dir = prepare_output_dir(Path(options.output_dir))
        with _run_context(options, output_dir, monitor, say, started) as ctx:
            db = ctx.db
            ingested = None
            if options.input is not None:  # in a session of the run's database: no second one to start
                ingested = ingest(IngestOptions(inputs=(options.input,), store=options.store,
                                                memory_limit=options.memory_limit, threads=options.threads), say, db)
            with monitor.stage("open store"):
                say("opening the store")
                # right after an ingest, the version it left (its tables still open) is the one to read
                if ingested is not None and ingested.head is not None:
                    snapshot = ingested.head
                else:
                    snapshot = Store(Path(options.store)).snapshot(options.store_version, options.ingested_before)
                store = snapshot.store
            db.create_macros()
            db.register("rules", rules)
            engine = None
            if options.engine != "duckdb":  # the store's daily state folded by the engine (e.g. Spark)
                with monitor.stage("start engine"):
                    engine = open_engine(options.engine, options.spark_master)
            try:
                with monitor.stage("read store") as stage:
                    say(f"reading store version {snapshot.commit.version}")
                    figures = prepare_summary(db, snapshot, options.as_of, engine,
                                              state=None if ingested is None else ingested.state)
                    stage.rows = figures.rows_accepted
            finally:
                if engine is not None:
                    engine.close()
            groups, unknown_codes = _summary_outputs(ctx)
            if analysis is not None:
                with monitor.stage("analyst sql"):
                    say(f"running {len(analysis.files)} SQL file(s)")
                    if analysis.keep_rows:
                        prepare_analysis(db, snapshot, options.as_of)
                    analyst.prepare_relations(db, as_of=options.as_of, keep_input=False)
                    analyst.lock_down(db)
                    analyst.run_files(db, analysis.files, options.params,
                                      {"as_of": options.as_of, "reference_date": figures.reference})
                    analyst.write_outputs(db, analysis.files, ctx.outputs.path, ctx.spill / "writer")
            report = _report(
                ctx, rules, analysis,
                input_files=figures.input_files,
                input_format="store",
                rows_read=figures.rows_read,
                rows_accepted=figures.rows_accepted,
                rows_rejected=figures.rows_rejected,
                rows_unknown_status=figures.rows_unknown_status,
                rows_after_as_of=figures.rows_after_as_of,
                input_passes=0,
                engine=options.engine,
                rows_pass=figures.rows_pass,
                rows_fail=figures.rows_fail,
                groups=groups,
                unknown_rule_codes=unknown_codes,
                reference_date=None if figures.reference is None else figures.reference.isoformat(),
                store={"path": str(store.path), "version": snapshot.commit.version,
                       "committed_at": snapshot.commit.committed_at.isoformat(),
                       "ingested": None if ingested is None else ingested.as_dict()},
            )
            return _commit_outputs(ctx, report)


def _check_analysis(options: SummarizeOptions, columns: tuple[str, ...]) -> Analysis | None:
    """Find and check the analyst files up front, so a bad file costs no pass over the data
    (`columns`: the input's, for names that would clash with `results`' own)."""
    sql_files = analyst.discover(options.sql_dirs)
    if not sql_files:
        return None
    problems = analyst.static_problems(sql_files, options.params)
    if problems:
        raise AnalystSqlError(problems[0], hint="fix the file; `dqs sql check DIR` lists every problem")
    keep_rows = analyst.needs_rows(sql_files)
    clashes = sorted(analyst.RESULTS_OWN_COLUMNS & (set(columns) - set(REQUIRED_COLUMNS)))
    if keep_rows and clashes:
        raise InputError(
            f"input column(s) {', '.join(clashes)} clash with the `results` relation's own columns",
            hint="rename those input columns, or run without SQL files that read results or daily",
        )
    return Analysis(sql_files, keep_rows)


def _summary_outputs(ctx: RunContext) -> tuple[int, list[str]]:
    """The summary from `group_counts` and `rules`, and the contract files from it and `rejected`
    (the same for a one-shot run and a run from the store)."""
    db = ctx.db
    with ctx.monitor.stage("summary") as stage:
        ctx.say("computing the summary")
        db.execute(query("summary.sql", "summary"))
        groups = db.scalar(query("summary.sql", "count_groups"))
        unknown_codes = [
            r["rule_code"] for r in db.arrow(query("summary.sql", "unknown_rule_codes")).to_pylist()
        ]
        stage.rows = groups

    with ctx.monitor.stage("write"):
        # rejects first: `rejected` is a TEMP view, which only this connection sees
        db.execute_together([(query("outputs.sql", block), {"path": str(ctx.outputs.path(name))}) for name, block in (
            (REJECTS_CSV, "write_rejects"),
            (SENTENCES, "write_sentences"),
            (SUMMARY_CSV, "write_full_summary_csv"),
            (SUMMARY_PARQUET, "write_summary_parquet"),
        )])
    return groups, unknown_codes


def _row_accounting(db: Database, files: InputFiles, rows_read: list[int]) -> tuple[list[dict[str, Any]], int, int]:
    """Per-file rows read/accepted/rejected; every row must be either accepted or rejected."""
    rejected = [r["rows_rejected"] for r in db.arrow(query("ingest.sql", "rejected_counts")).to_pylist()]
    totals = db.arrow(query("ingest.sql", "row_totals")).to_pylist()[0]
    if sum(rows_read) != totals["rows_accepted"] + totals["rows_rejected"]:
        raise EngineError(
            f"row accounting mismatch: read {sum(rows_read)}, accepted {totals['rows_accepted']}, "
            f"rejected {totals['rows_rejected']}",
            query_name="row_totals",
            sql=query("ingest.sql", "row_totals").sql,
            hint="this is a bug; please report it with the input's shape",
        )
    per_file = [
        {"path": str(path), "rows_read": read, "rows_accepted": read - rej, "rows_rejected": rej}
        for path, read, rej in zip(files.paths, rows_read, rejected, strict=True)
    ]
    return per_file, totals["rows_accepted"], totals["rows_rejected"]


def _run(ctx: RunContext, engine: Engine, files: InputFiles, rules: pa.Table, analysis: Analysis | None) -> RunReport:
    """A one-shot run: the staging pass over the input files, then the summary and outputs."""
    db, options, monitor, say = ctx.db, ctx.options, ctx.monitor, ctx.say
    db.create_macros()
    db.register(
        "input_files",
        pa.table(
            {
                "file_index": pa.array(range(len(files.paths)), pa.int32()),
                "path": [str(p) for p in files.paths],
            }
        ),
    )
    db.register("rules", rules)

    with monitor.stage("ingest") as stage:
        say(f"reading {len(files.paths)} {files.format} file(s)")
        staged = engine.stage(db, files, options.as_of, say)
        reference, passes, rows_read = staged.reference, staged.passes, staged.rows_read
        per_file, accepted, rejected = _row_accounting(db, files, rows_read)
        stage.rows = sum(rows_read) * passes

    with monitor.stage("aggregate") as stage:
        say("parsing statuses")
        db.execute(query("ingest.sql", "parse_statuses"))
        db.execute(query("ingest.sql", "group_statuses"))
        status = db.arrow(query("ingest.sql", "status_counts")).to_pylist()[0]
        stage.rows = accepted

    db.execute(query("summary.sql", "group_counts"))
    db.execute(query("ingest.sql", "rejected_from_staged"))
    groups, unknown_codes = _summary_outputs(ctx)

    if analysis is not None:
        with monitor.stage("analyst sql"):
            say(f"running {len(analysis.files)} SQL file(s)")
            engine.run_analysis(db, files, analysis.files, analysis.keep_rows, options.params,
                                {"as_of": options.as_of, "reference_date": reference}, rows_read)
            analyst.write_outputs(db, analysis.files, ctx.outputs.path, ctx.spill / "writer")

    return _report(
        ctx, rules, analysis,
        input_files=per_file,
        input_format=files.format,
        rows_read=sum(rows_read),
        rows_accepted=accepted,
        rows_rejected=rejected,
        rows_unknown_status=status["unknown_rows"],
        rows_after_as_of=status["after_as_of_rows"],
        input_passes=passes,
        rows_pass=status["pass_rows"],
        rows_fail=status["fail_rows"],
        groups=groups,
        unknown_rule_codes=unknown_codes,
        reference_date=None if reference is None else reference.isoformat(),
        engine=engine.name,
    )
