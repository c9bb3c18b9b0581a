"""The `dqs` command. Parses options, calls the engine, renders; results go to files or
stdout, progress and errors to stderr.

The cli modules do not postpone annotations (no `from __future__ import annotations`): typer
reads every command's options from them at each start, and as strings they would be compiled
and evaluated again every time (0.05 s of each run).
"""

import os
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Optional

import typer

from dqs.engine import DqsError, ExitCode, InputError
from dqs.engine.errors import first_line

from . import render

app = typer.Typer(
    name="dqs",
    help="Summarize data-quality rule results: health summaries, plain-English sentences, "
    "and pass-rate forecasts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _parse_date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InputError(f"{option} {value!r} is not a date", hint="write dates as YYYY-MM-DD") from None


def _parse_timestamp(value: str | None, option: str):
    from datetime import datetime

    if value is None:
        return None
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        raise InputError(f"{option} {value!r} is not a timestamp",
                         hint="write e.g. 2026-12-01T06:00:00 (UTC) or 2026-12-01T07:00:00+01:00") from None


@app.command()
def summarize(
    input: Annotated[Optional[str], typer.Argument(help="Results log: a CSV/.csv.gz/Parquet file, a directory or a glob (with --store: ingested first; optional).")] = None,
    rules: Annotated[Optional[Path], typer.Argument(help="Rules metadata JSON (optional).")] = None,
    output_dir: Annotated[Path, typer.Option("--output-dir", "-o", help="Where the outputs are written.")] = ...,  # type: ignore[assignment]
    rules_option: Annotated[Optional[Path], typer.Option("--rules", help="Rules metadata JSON (the same as the RULES argument).")] = None,
    store: Annotated[Optional[Path], typer.Option(help="History store (created if missing): INPUT, if given, is ingested into it, then the store is summarized.")] = None,
    store_version: Annotated[Optional[int], typer.Option(min=0, help="With --store: summarize the store as it was at this version (`dqs store history`).")] = None,
    ingested_before: Annotated[Optional[str], typer.Option(help="With --store: summarize the store as it was before this time (ISO 8601, UTC unless it says otherwise).")] = None,
    as_of: Annotated[Optional[str], typer.Option(help="Reference date YYYY-MM-DD; later rows are ignored.")] = None,
    memory_limit: Annotated[Optional[str], typer.Option(help="DuckDB memory ceiling, e.g. 256MB, 2GB (default: $DQS_MEMORY_LIMIT or 1GB); larger data spills to disk.")] = None,
    threads: Annotated[Optional[int], typer.Option(min=1, help="Worker threads of DuckDB and Polars (default: all cores).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress and no end-of-run summary.")] = False,
    profile: Annotated[bool, typer.Option("--profile", help="Also show wall time, CPU time, peak RSS and rows/s per stage.")] = False,
    sql_dir: Annotated[Optional[list[Path]], typer.Option("--sql-dir", help="Folder of analyst .sql files to run after the summary (repeatable; default: $DQS_SQL_DIR). Each NAME.sql writes NAME.csv and NAME.parquet.")] = None,
    param: Annotated[Optional[list[str]], typer.Option("--param", help="key=value for the SQL files' $key parameters (repeatable).")] = None,
    engine: Annotated[str, typer.Option(help="Where the row-level work runs: duckdb (embedded) or spark (needs dqs[spark] and Java 17); with --store, Spark folds the store's daily files.")] = "duckdb",
    spark_master: Annotated[Optional[str], typer.Option(help="Spark master URL for --engine spark (default: local[*], or the SPARK_HOME setup).")] = None,
) -> None:
    """Summarize a results log into full_summary.csv, nl_all_rows.txt, summary.parquet,
    rejects.csv and run_report.json in OUTPUT_DIR (plus one table per analyst SQL file).

    With --store, the daily run: INPUT (if given) is ingested into the history store, then the
    store is summarized; the outputs equal a one-shot run over every ingested file in ingest
    order. --as-of, --store-version and --ingested-before reproduce earlier summaries."""
    from dqs.engine.summary.analyst import parse_params, sql_dirs
    from dqs.engine.summary.summarize import SummarizeOptions
    from dqs.engine.summary.summarize import summarize as run_summary

    if threads and "polars" not in sys.modules:  # Polars sizes its pool once, when it loads
        os.environ["POLARS_MAX_THREADS"] = str(threads)

    if rules is not None and rules_option is not None:
        raise InputError("the rules file is given twice (RULES and --rules)", hint="give it once")
    if input is None and store is None:
        raise InputError("summarize needs INPUT, or --store DIR", hint="see `dqs summarize --help`")
    if store is not None and input is not None and rules is None and input.lower().endswith(".json"):
        raise InputError(f"{input} looks like a rules file, but it stands where INPUT (a results log) goes",
                         hint=f"to summarize the store alone, pass it as --rules {input}")
    if store is None and (store_version is not None or ingested_before is not None):
        raise InputError("--store-version and --ingested-before need --store", hint="add --store DIR")
    options = SummarizeOptions(
        input=input,
        output_dir=output_dir,
        rules=rules or rules_option,
        store=store,
        store_version=store_version,
        ingested_before=_parse_timestamp(ingested_before, "--ingested-before"),
        as_of=_parse_date(as_of, "--as-of"),
        memory_limit=memory_limit,
        threads=threads,
        sql_dirs=tuple(sql_dirs(sql_dir)),
        params=parse_params(param or []),
        engine=engine,
        spark_master=spark_master,
    )
    if engine not in ("duckdb", "spark"):
        raise InputError(f"--engine {engine!r} is not duckdb or spark", hint="use --engine duckdb (default) or --engine spark")
    if spark_master and engine != "spark":
        raise InputError("--spark-master needs --engine spark", hint="add --engine spark, or drop --spark-master")
    show_progress = not quiet and render.stderr_is_terminal()
    try:
        report = run_summary(options, progress=render.progress if show_progress else None)
    finally:
        if show_progress:
            render.end_progress()
    if not quiet:
        render.summary_report(report.as_dict(), str(output_dir))
    if profile:
        render.profile(report.performance)


@app.command()
def ingest(
    inputs: Annotated[list[str], typer.Argument(help="Results logs: CSV/.csv.gz/Parquet files, directories or globs (with --from: that tool's result files).")],
    store: Annotated[Path, typer.Option(help="History store directory (created if missing).")] = ...,  # type: ignore[assignment]
    replace: Annotated[bool, typer.Option("--replace", help="A path ingested before with other content: swap its rows for the new content.")] = False,
    from_format: Annotated[Optional[str], typer.Option("--from", help="The inputs are result files of dbt, gx, soda or elementary (mapped as by `dqs import FORMAT`).")] = None,
    manifest: Annotated[Optional[Path], typer.Option(help="With --from dbt: the manifest.json that names what each test tests.")] = None,
    source: Annotated[Optional[str], typer.Option(help="With --from: the source column for every row.")] = None,
    tenant: Annotated[Optional[str], typer.Option(help="With --from: the tenant_id column for every row.")] = None,
    business_date: Annotated[Optional[str], typer.Option(help="With --from: the business_date of every row, YYYY-MM-DD.")] = None,
    timezone: Annotated[str, typer.Option(help="With --from: time zone that cuts execution times into dates.")] = "UTC",
    warn_as: Annotated[str, typer.Option(help="With --from: what a warning counts as: fail, pass or unknown.")] = "fail",
    memory_limit: Annotated[Optional[str], typer.Option(help="DuckDB memory ceiling, e.g. 256MB, 2GB (default: $DQS_MEMORY_LIMIT or 1GB).")] = None,
    threads: Annotated[Optional[int], typer.Option(min=1, help="Worker threads of DuckDB (default: all cores).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress and no end-of-run summary.")] = False,
) -> None:
    """Validate results logs exactly as `summarize` does and add them to a history store, all
    in one new store version. A file already ingested (same sha256) is skipped; a path ingested
    before with other content stops with exit 2 unless --replace.

    With --from FORMAT, the inputs are dbt, Great Expectations, Soda or Elementary result files,
    mapped as `dqs import FORMAT` maps them; each file keeps its own ledger entry, and the same
    file imported with the same options is skipped."""
    from dqs.engine.store.ingest import IngestOptions
    from dqs.engine.store.ingest import ingest as run_ingest

    from .importers import import_options

    importer = None
    if from_format is not None:
        importer = import_options(from_format, inputs, manifest=manifest, source=source, tenant=tenant,
                                  business_date=business_date, timezone=timezone, warn_as=warn_as)
    elif manifest or source or tenant or business_date or timezone != "UTC" or warn_as != "fail":
        raise InputError("--manifest, --source, --tenant, --business-date, --timezone and --warn-as need --from FORMAT",
                         hint="add --from dbt|gx|soda|elementary, or drop those options")
    show_progress = not quiet and render.stderr_is_terminal()
    try:
        report = run_ingest(IngestOptions(inputs=tuple(inputs), store=store, replace=replace,
                                          memory_limit=memory_limit, threads=threads, importer=importer),
                            progress=render.progress if show_progress else None)
    finally:
        if show_progress:
            render.end_progress()
    if not quiet:
        render.ingest_report(report.as_dict())


@app.command()
def generate(
    rows: Annotated[int, typer.Option(min=0, help="Number of result rows.")],
    output: Annotated[Path, typer.Option(help="File to write (.csv, .csv.gz or .parquet).")],
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same file.")] = 0,
    format: Annotated[Optional[str], typer.Option(help="csv or parquet (default: from the file name).")] = None,
    malformed_share: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of rows made invalid on purpose.")] = 0.0,
    truth: Annotated[Optional[Path], typer.Option(help="Also write the true pass probability of every series and day (Parquet).")] = None,
    end_date: Annotated[str, typer.Option(help="Last business date of the log.")] = "2026-10-30",
    rules: Annotated[Optional[Path], typer.Option(help="Also write a rules metadata JSON for the generated rule codes (two codes are left out on purpose).")] = None,
) -> None:
    """Generate a realistic, deterministic rule-results log (and optionally its truth)."""
    from dqs.engine.generate import GenerateOptions, generate_log

    named = "parquet" if output.name.lower().endswith((".parquet", ".pq")) else "csv"
    fmt = format or named
    if fmt not in ("csv", "parquet"):
        raise InputError(f"--format {format!r} is not csv or parquet", hint="use --format csv or --format parquet")
    if fmt != named:
        raise InputError(f"--format {fmt} conflicts with the file name {output.name}",
                         hint="name .parquet files for Parquet and .csv (.csv.gz) files for CSV, or drop --format")
    stats = generate_log(
        GenerateOptions(
            rows=rows,
            output=output,
            seed=seed,
            format=fmt,  # type: ignore[arg-type]
            malformed_share=malformed_share,
            truth=truth,
            end_date=_parse_date(end_date, "--end-date"),  # type: ignore[arg-type]
        )
    )
    if rules is not None:
        from dqs.engine.generate import write_rules

        write_rules(rules)
    sys.stderr.write(
        f"dqs generate: {stats.rows:,} rows, {stats.series:,} series, {stats.days} days -> {output}\n"
    )


def _read_history(input: str, rules: Optional[Path], memory_limit: Optional[str], threads: Optional[int]):
    from dqs.engine.forecast.series import read_history

    return read_history(input, rules, memory_limit=memory_limit, threads=threads)


def _store_history(store: Path, store_version: Optional[int], rules: Optional[Path] = None,
                   memory_limit: Optional[str] = None, threads: Optional[int] = None):
    """The daily series of a history store (newest version, or --store-version) and where they came from."""
    from dqs.engine.forecast.series import read_store_history

    return read_store_history(store, rules, version=store_version, memory_limit=memory_limit, threads=threads)


def _daily_loader(input: Optional[str], rules: Optional[Path], store: Optional[Path], store_version: Optional[int],
                  source: Optional[dict] = None):
    """A loader of the daily series (engine/forecast/training_data.py's Loader) of a store (at
    --store-version; what it read is added to `source`) or of a results log."""
    from dqs.engine.forecast.series import load_log_daily, load_store_daily

    if store is not None:
        def load(db, folder):
            attributes, found = load_store_daily(db, folder, store, rules, store_version)
            if source is not None:
                source.update(found)
            return attributes
        return load
    return lambda db, folder: load_log_daily(db, folder, input, rules)


def _check_store_options(store: Optional[Path], store_version: Optional[int], others: dict[str, object]) -> None:
    if store is None and store_version is not None:
        raise InputError("--store-version needs --store", hint="add --store DIR")
    given = [name for name, value in others.items() if value is not None]
    if store is not None and given:
        raise InputError(f"--store and {given[0]} both give the history",
                         hint=f"use one: the store (`dqs ingest ... --store {store}` adds newer results), or {given[0]}")


PARTS_MEMORY_HELP = ("Memory ceiling for the whole run, e.g. 1GB (default: $DQS_MEMORY_LIMIT or 1GB): DuckDB spills "
                     "past it while reading, and the series are then handled a part at a time sized to it (the "
                     "interpreter and libraries come on top).")
STORE_HELP = "History store to read the daily series from (its newest version), instead of a results log."
STORE_VERSION_HELP = "With --store: the store as it was at this version (`dqs store history`)."
THRESHOLD_HELP = ("Risk threshold: the probability reported is that the day's pass percentage is below it "
                  "(100: at least one run fails). Fixed when training; default: the model's.")


@app.command()
def train(
    input: Annotated[Optional[str], typer.Argument(help="Results log to learn from (file, directory or glob); or give --store.")] = None,
    rules: Annotated[Optional[Path], typer.Argument(help="Rules metadata JSON (optional).")] = None,
    model: Annotated[Path, typer.Option(help="Where to write the model bundle (a directory).")] = ...,  # type: ignore[assignment]
    store: Annotated[Optional[Path], typer.Option(help=STORE_HELP)] = None,
    store_version: Annotated[Optional[int], typer.Option(min=0, help=STORE_VERSION_HELP)] = None,
    rules_option: Annotated[Optional[Path], typer.Option("--rules", help="Rules metadata JSON (the same as the RULES argument).")] = None,
    horizon: Annotated[int, typer.Option(min=1, max=366, help="Longest forecast, in days after the last day of history.")] = 28,
    coverage: Annotated[float, typer.Option(min=0.5, max=0.99, help="Share of values the band should hold.")] = 0.8,
    threshold: Annotated[float, typer.Option(min=0.0, max=100.0, help="Risk threshold: the model learns the probability that a day's pass percentage is below it (100: at least one run fails).")] = 100.0,
    as_of: Annotated[Optional[str], typer.Option(help="Ignore results dated after this day (YYYY-MM-DD).")] = None,
    memory_limit: Annotated[Optional[str], typer.Option(help="Memory ceiling for the whole training, e.g. 1GB (default: $DQS_MEMORY_LIMIT or 1GB): DuckDB spills past it while reading, and the examples are a stratified sample of series that fits it (the interpreter and libraries come on top).")] = None,
    threads: Annotated[int, typer.Option(min=1, help="Threads for LightGBM (fixed, for reproducible models).")] = 2,
    report: Annotated[Optional[Path], typer.Option(help="Also write the evaluation report as JSON.")] = None,
) -> None:
    """Train a LightGBM pass-rate model (and its risk models) and write a bundle (models,
    metadata, daily history), from a results log or from a history store (--store)."""
    import json

    from dqs.engine.forecast.bundle import save_bundle
    from dqs.engine.forecast.train import TrainOptions, data_options
    from dqs.engine.forecast.train import train as fit
    from dqs.engine.forecast.training_data import training_data

    if rules is not None and rules_option is not None:
        raise InputError("the rules file is given twice (RULES and --rules)", hint="give it once")
    rules = rules or rules_option
    if store is not None and input is not None:
        hint = (f"to train on the store with rules, pass them as --rules {input}" if input.lower().endswith(".json")
                else f"ingest it first (`dqs ingest {input} --store {store}`), then train on the store alone")
        raise InputError("train reads INPUT or --store, not both", hint=hint)
    if input is None and store is None:
        raise InputError("train needs INPUT, or --store DIR", hint="see `dqs train --help`")
    _check_store_options(store, store_version, {})
    if not 0 < threshold <= 100:
        raise InputError(f"--threshold {threshold:g} is not above 0", hint="give a pass percentage in (0, 100], e.g. 100 or 95")
    source: dict = {} if store is not None else {"input": input}
    load = _daily_loader(input, rules, store, store_version, source)
    label = f"store {store}" if store is not None else str(input)
    cutoff = _parse_date(as_of, "--as-of")
    options = TrainOptions(horizon=horizon, coverage=coverage, threads=threads, threshold=threshold)
    try:
        with training_data(load, memory_limit=memory_limit, as_of=cutoff, **data_options(options)) as data:
            trained = fit(data, options)
            if cutoff is not None:
                source["as_of"] = cutoff.isoformat()
            save_bundle(model, trained, data, source)
    except ValueError as exc:
        raise InputError(f"cannot train on {label}: {exc}", hint="give a longer results log") from exc
    render.evaluation(trained.report)
    render.risk_evaluation(trained.report)
    if report is not None:
        report.write_text(json.dumps(trained.report, indent=2) + "\n", encoding="utf-8")
    sys.stderr.write(f"dqs train: model written to {model} ({trained.metrics['train_examples']:,} training examples, "
                     f"{trained.best_iteration} trees)\n")


@app.command()
def predict(
    model: Annotated[Path, typer.Option(help="Model bundle written by `dqs train`.")],
    dataset_uuid: Annotated[str, typer.Option(help="Series: the dataset's UUID.")],
    rule_code: Annotated[str, typer.Option(help="Series: the rule code.")],
    date: Annotated[str, typer.Option(help="Business date to forecast (YYYY-MM-DD).")],
    history: Annotated[Optional[str], typer.Option(help="Newer results to extend the bundle's history.")] = None,
    store: Annotated[Optional[Path], typer.Option(help="History store to predict from: its newest ingested day is the forecast origin (no retraining).")] = None,
    store_version: Annotated[Optional[int], typer.Option(min=0, help=STORE_VERSION_HELP)] = None,
    threshold: Annotated[Optional[float], typer.Option(help=THRESHOLD_HELP)] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON instead of a sentence.")] = False,
    memory_limit: Annotated[Optional[str], typer.Option(help=PARTS_MEMORY_HELP)] = None,
) -> None:
    """Forecast one series' pass percentage on one date, with its band, the chance that the day
    falls below the threshold, and the expected runs (only that series' days are read)."""
    import json

    import polars as pl

    from dqs.engine.forecast.predict import predict_batch

    bundle, load = _bundle_and_loader(model, history, store, store_version, threshold)
    request = pl.DataFrame({"dataset_uuid": [dataset_uuid], "rule_code": [rule_code], "business_date": [date]})
    row = predict_batch(bundle, load, request, memory_limit=memory_limit, context=True).row(0, named=True)
    if row["status"] != "ok":
        raise InputError(f"cannot forecast {dataset_uuid} / {rule_code} on {date}: {row['error']}",
                         hint="check the series and the date; `dqs validate-model` shows what the model covers")
    last = None if row["last_observed_date"] is None else {
        "business_date": row["last_observed_date"].isoformat(), "pass_percentage": row["last_observed_pass_percentage"]}
    answer = {
        "dataset_uuid": dataset_uuid, "rule_code": rule_code, "business_date": date,
        "predicted_pass_percentage": row["predicted_pass_percentage"],
        "lower_pass_percentage": row["lower_pass_percentage"], "upper_pass_percentage": row["upper_pass_percentage"],
        "coverage": bundle.metadata["coverage"],
        "probability_below_threshold": row["probability_below_threshold"], "threshold": bundle.threshold,
        "expected_runs": row["expected_runs"], "horizon_days": row["horizon_days"],
        "history_last_day": row["history_last_day"].isoformat(), "last_observed": last,
    }
    if json_out:
        print(json.dumps(answer))
    else:
        print(render.forecast_sentence(answer))


def _bundle_and_loader(model: Path, history: Optional[str], store: Optional[Path] = None,
                       store_version: Optional[int] = None, threshold: Optional[float] = None):
    """The bundle (its risk threshold checked against --threshold) and a loader of the history to
    predict from: the store's (at --store-version), else the bundle's own, extended by --history."""
    from dqs.engine.forecast.bundle import load_bundle
    from dqs.engine.forecast.predict import check_threshold

    _check_store_options(store, store_version, {"--history": history})
    bundle = load_bundle(model)
    check_threshold(bundle, threshold)
    if store is not None:
        return bundle, _daily_loader(None, None, store, store_version)
    return bundle, bundle.loader(None if history is None else _daily_loader(history, None, None, None))


@app.command("batch-predict")
def batch_predict(
    model: Annotated[Path, typer.Option(help="Model bundle written by `dqs train`.")],
    input: Annotated[str, typer.Option(help="CSV with dataset_uuid, rule_code, business_date (other columns are kept).")],
    output: Annotated[Path, typer.Option(help="CSV to write: the input plus predictions, band, probability_below_threshold, expected_runs, horizon, status, error.")],
    history: Annotated[Optional[str], typer.Option(help="Newer results to extend the bundle's history.")] = None,
    store: Annotated[Optional[Path], typer.Option(help="History store to predict from: its newest ingested day is the forecast origin (no retraining).")] = None,
    store_version: Annotated[Optional[int], typer.Option(min=0, help=STORE_VERSION_HELP)] = None,
    threshold: Annotated[Optional[float], typer.Option(help=THRESHOLD_HELP)] = None,
    memory_limit: Annotated[Optional[str], typer.Option(help=PARTS_MEMORY_HELP)] = None,
) -> None:
    """Forecast many rows at once. Exit 0 when every row is ok, 1 when some failed (the file is
    complete either way: failed rows say why in `error`)."""
    import os

    from dqs.engine.forecast.predict import predict_batch, read_requests

    bundle, load = _bundle_and_loader(model, history, store, store_version, threshold)
    result = predict_batch(bundle, load, read_requests(input), memory_limit=memory_limit)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.partial")
    result.write_csv(tmp)
    os.replace(tmp, output)
    failed = result.filter(result["status"] != "ok").height
    sys.stderr.write(f"dqs batch-predict: {result.height - failed:,} ok, {failed:,} failed -> {output}\n")
    if failed:
        raise typer.Exit(ExitCode.FAILURE)


@app.command("validate-model")
def validate_model(
    model: Annotated[Path, typer.Option(help="Model bundle written by `dqs train`.")],
    test_data: Annotated[Optional[str], typer.Option(help="Results log to backtest on (or give --store).")] = None,
    store: Annotated[Optional[Path], typer.Option(help="History store to backtest on, instead of --test-data.")] = None,
    store_version: Annotated[Optional[int], typer.Option(min=0, help=STORE_VERSION_HELP)] = None,
    threshold: Annotated[Optional[float], typer.Option(help=THRESHOLD_HELP)] = None,
    truth: Annotated[Optional[Path], typer.Option(help="Generator truth (Parquet) to score against true pass percentages too.")] = None,
    report: Annotated[Optional[Path], typer.Option(help="Also write the report as JSON.")] = None,
    memory_limit: Annotated[Optional[str], typer.Option(help=PARTS_MEMORY_HELP)] = None,
) -> None:
    """Rolling-origin backtest: model vs baselines (MAE, RMSE, per horizon), band coverage and
    width (overall and per number of runs on the day), and the risk's calibration (reliability
    per bin of predicted probability, ECE, Brier beside the series' failing-day share)."""
    import json

    from dqs.engine.forecast.backtest import EmptyHistory, backtest
    from dqs.engine.forecast.bundle import load_bundle
    from dqs.engine.forecast.predict import check_threshold

    if test_data is None and store is None:
        raise InputError("validate-model needs --test-data LOG or --store DIR", hint="see `dqs validate-model --help`")
    _check_store_options(store, store_version, {"--test-data": test_data})
    bundle = load_bundle(model)
    check_threshold(bundle, threshold)
    label = f"store {store}" if store is not None else str(test_data)
    if truth is not None and not truth.is_file():
        raise InputError(f"--truth {truth} does not exist", hint="the Parquet file `dqs generate --truth` wrote")
    try:
        result = backtest(bundle, _daily_loader(test_data, None, store, store_version), truth=truth,
                          memory_limit=memory_limit)
    except EmptyHistory as exc:
        raise InputError(f"{label} holds no pass or fail results", hint=exc.hint) from exc
    render.evaluation(result)
    render.risk_evaluation(result)
    if report is not None:
        report.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


@app.command()
def bench(
    sizes: Annotated[str, typer.Option(help="Comma-separated sizes: 100k, 1m, 10m, 100m.")] = "100k",
    format: Annotated[Optional[list[str]], typer.Option(help="csv and/or parquet (default: both).")] = None,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Also write the measurements as JSON.")] = None,
) -> None:
    """Benchmark summarize against a DuckDB floor: wall, rows/s, peak RSS, ratio, ceiling.

    Inputs are generated once into $DQS_BENCH_DATA (default ./.bench-data)."""
    from dqs.bench.cli import run

    try:
        code = run(sizes, format, json_out)
    except ValueError as exc:
        raise InputError(str(exc), hint="e.g. --sizes 100k,1m") from exc
    if code:
        raise typer.Exit(code)


sql_app = typer.Typer(
    help="Analysts' SQL files: list what would run, check files without data.",
    no_args_is_help=True,
)
app.add_typer(sql_app, name="sql")


@sql_app.command("list")
def sql_list(
    dirs: Annotated[Optional[list[Path]], typer.Argument(help="Folders of .sql files (default: $DQS_SQL_DIR, else the shipped examples).")] = None,
) -> None:
    """List the SQL files that would run, in order, with their description (first comment line)."""
    from dqs.engine.summary.analyst import discover, examples_dir, sql_dirs

    folders = sql_dirs(dirs) or [examples_dir()]
    files = discover(folders)
    print(render.sql_listing(files))
    if not files:
        sys.stderr.write(f"dqs sql list: no .sql files in {', '.join(map(str, folders))}\n")


@sql_app.command("check")
def sql_check(
    dirs: Annotated[list[Path], typer.Argument(help="Folders of .sql files, in run order.")],
    param: Annotated[Optional[list[str]], typer.Option("--param", help="key=value for $key parameters (repeatable).")] = None,
    input: Annotated[Optional[str], typer.Option(help="A results log whose extra columns `results` should have (only its headers are read).")] = None,
    target: Annotated[str, typer.Option(help="duckdb, or spark: also check that each file transpiles to Spark SQL (needs sqlglot).")] = "duckdb",
) -> None:
    """Parse and bind every file against empty relations of the right schema (no data read);
    report every problem with file, line and column. Exit 2 when any file has a problem."""
    from dqs.engine.summary.analyst import check_files, discover, parse_params

    if target not in ("duckdb", "spark"):
        raise InputError(f"--target {target!r} is not duckdb or spark", hint="use --target duckdb or --target spark")
    files = discover(dirs)
    problems = check_files(files, parse_params(param or []), input, spark=target == "spark")
    for problem in problems:
        print(problem.render())
    bad = len({p.path for p in problems})
    if problems:
        raise InputError(f"{bad} of {len(files)} SQL file(s) have problems ({len(problems)} in all)",
                         hint="fix them and run `dqs sql check` again")
    sys.stderr.write(f"dqs sql check: {len(files)} file(s) ok\n")


from .importers import import_app  # noqa: E402  (the commands above come first in --help)

app.add_typer(import_app, name="import")

from .report import report as _report; app.command("report")(_report)  # noqa: E402, E702
from .alerts import alerts as _alerts; app.command("alerts")(_alerts)  # noqa: E402, E702
store_app = typer.Typer(
    help="The history store: what it holds, its versions, compaction.",
    no_args_is_help=True,
)
app.add_typer(store_app, name="store")


def _open_store(path: Path):
    from dqs.engine.store.tables import Store

    return Store(path)


@store_app.command("info")
def store_info(
    store: Annotated[Path, typer.Argument(help="History store directory.")],
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Files, rows, date range, versions and size on disk of the newest version."""
    import json

    from dqs.engine.store.maintenance import info

    facts = info(_open_store(store))
    print(json.dumps(facts, indent=2) if json_out else render.store_info(facts))


@store_app.command("history")
def store_history(
    store: Annotated[Path, typer.Argument(help="History store directory.")],
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON lines instead of a table.")] = False,
) -> None:
    """Every store version (commit), oldest first: when, what, rows added, reference date."""
    import json

    from dqs.engine.store.maintenance import history

    commits = history(_open_store(store))
    if json_out:
        print("\n".join(json.dumps(c, default=str) for c in commits))
    else:
        print(render.store_history(commits))


@store_app.command("compact")
def store_compact(
    store: Annotated[Path, typer.Argument(help="History store directory.")],
    retain_hours: Annotated[int, typer.Option(min=0, help="Keep the files versions younger than this still need (time travel); 0 keeps only the newest version's.")] = 168,
) -> None:
    """Rewrite small files into large ones and remove files no version within --retain-hours
    needs. One new store version; summaries are unchanged."""
    from dqs.engine.store.maintenance import compact

    show = render.stderr_is_terminal()
    report = compact(_open_store(store), retain_hours,
                     on_wait=(lambda: render.progress(f"waiting for another dqs run writing to {store}")) if show else None)
    print(render.compact_report(report.as_dict()))


def _forward_interrupts() -> None:
    """Make Ctrl-C stop a running DuckDB query at once.

    Python runs its SIGINT handler only between bytecodes of the main thread, which may sit in
    one long DuckDB call. The C-level handler also writes the signal number to a wakeup fd; a
    watcher thread reads it and interrupts the queries, whose calls then raise KeyboardInterrupt.
    """
    import signal
    import threading

    from dqs.engine.database import interrupt_all

    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    try:
        signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    except ValueError:  # not the main thread (e.g. an embedding application): leave signals alone
        return

    def watch() -> None:
        while True:
            if signal.SIGINT in os.read(read_fd, 64):
                interrupt_all()

    threading.Thread(target=watch, name="dqs-interrupts", daemon=True).start()


def _interrupted() -> ExitCode:
    render.error("interrupted", hint="outputs are written only by a run that finishes; the previous ones are as they were")
    return ExitCode.INTERRUPTED


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app, render errors once on stderr, exit with an ExitCode."""
    as_command = argv is None  # the process is dqs: its signal handling is ours to set
    try:
        if as_command:
            _forward_interrupts()
        code = app(args=argv, standalone_mode=False, prog_name="dqs")
        if code == ExitCode.INTERRUPTED:  # typer returns Ctrl-C inside a command as exit code 130
            code = _interrupted()
    except DqsError as exc:
        render.error(exc)
        code = exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        code = _interrupted()
    except typer.TyperException as exc:  # usage errors: unknown option, bad value, ...
        ctx = getattr(exc, "ctx", None)
        command = ctx.command_path if ctx is not None else "dqs"
        render.error(" ".join(exc.format_message().split()), hint=f"see `{command} --help`")
        code = ExitCode.BAD_INPUT if exc.exit_code == 2 else exc.exit_code
    except typer.Exit as exc:
        code = exc.exit_code
    except Exception as exc:  # a bug or an environment failure: one line, no traceback
        from dqs.engine.database import interrupted

        if interrupted(exc):  # Ctrl-C that reached a DuckDB call outside the engine's wrappers
            code = _interrupted()
        elif os.environ.get("DQS_DEBUG"):
            raise
        else:
            render.error(
                f"unexpected {type(exc).__name__}: {first_line(exc)}",
                hint="this is a bug or an environment problem; rerun with DQS_DEBUG=1 for details",
            )
            code = ExitCode.FAILURE
    if as_command:
        _ignore_interrupts()  # the outcome is decided: a late Ctrl-C must not turn it into a signal death
        # The run has cleaned up (its finally blocks closed every connection, file and temporary
        # folder): skip the interpreter's teardown. Unloading some 600 modules and joining the
        # libraries' thread pools cost about 0.2 s, a sixth of a daily run from the store; and
        # after Ctrl-C, a signal still pending in a library thread could end the process by the
        # signal instead of exit code 130.
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):  # a reader that went away (`dqs ... | head`), or a closed stream
                pass
        os._exit(int(code or 0))
    sys.exit(int(code or 0))


def _ignore_interrupts() -> None:
    import signal

    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread
        pass


if __name__ == "__main__":
    main()
