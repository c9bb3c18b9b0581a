"""`dqs report`: the offline HTML health report (engine/report/)."""

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from dqs.engine import InputError

from . import render


def report(
    input: Annotated[Optional[str], typer.Argument(help="Results log: a CSV/.csv.gz/Parquet file, a directory or a glob (ingested into --store if given, else into a temporary store).")] = None,
    rules: Annotated[Optional[Path], typer.Argument(help="Rules metadata JSON (optional).")] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="The HTML file to write (one self-contained file).")] = ...,  # type: ignore[assignment]
    rules_option: Annotated[Optional[Path], typer.Option("--rules", help="Rules metadata JSON (the same as the RULES argument).")] = None,
    store: Annotated[Optional[Path], typer.Option(help="History store to report on (INPUT, if given, is ingested into it first).")] = None,
    store_version: Annotated[Optional[int], typer.Option(min=0, help="With --store: report on the store as it was at this version.")] = None,
    model: Annotated[Optional[Path], typer.Option(help="Model bundle from `dqs train`: forecasts of the next days, with their band.")] = None,
    as_of: Annotated[Optional[str], typer.Option(help="Reference date YYYY-MM-DD; later rows are ignored.")] = None,
    history_days: Annotated[Optional[int], typer.Option(min=1, max=3660, help="Days of per-series history to embed (default: 365, fewer above 27,397 groups, or 19,178 with --model, so the file stays small).")] = None,
    memory_limit: Annotated[Optional[str], typer.Option(help="DuckDB memory ceiling, e.g. 256MB, 2GB (default: $DQS_MEMORY_LIMIT or 1GB).")] = None,
    threads: Annotated[Optional[int], typer.Option(min=1, help="Worker threads of DuckDB (default: all cores).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress and no end-of-run line.")] = False,
) -> None:
    """Write one self-contained, offline HTML health report: overview, where it hurts, every
    group in a searchable table, each series' days on click (with --model, its forecast)."""
    from dqs.engine.report.build import ReportOptions, write_report

    from .app import _parse_date

    if rules is not None and rules_option is not None:
        raise InputError("the rules file is given twice (RULES and --rules)", hint="give it once")
    if input is None and store is None:
        raise InputError("report needs INPUT, or --store DIR", hint="see `dqs report --help`")
    if store is not None and input is not None and rules is None and input.lower().endswith(".json"):
        raise InputError(f"{input} looks like a rules file, but it stands where INPUT (a results log) goes",
                         hint=f"to report on the store alone, pass it as --rules {input}")
    if store is None and store_version is not None:
        raise InputError("--store-version needs --store", hint="add --store DIR")
    options = ReportOptions(
        input=input, output=output, rules=rules or rules_option, store=store, store_version=store_version,
        as_of=_parse_date(as_of, "--as-of"), model=model, history_days=history_days,
        memory_limit=memory_limit, threads=threads,
    )
    show_progress = not quiet and render.stderr_is_terminal()
    try:
        result = write_report(options, progress=render.progress if show_progress else None)
    finally:
        if show_progress:
            render.end_progress()
    if not quiet:
        forecast = "" if result.forecast_series is None else f", {result.forecast_series:,} series forecast"
        sys.stderr.write(
            f"dqs report: {result.groups:,} groups, {result.rows_read:,} rows read, reference date "
            f"{result.reference_date or '-'}, {result.history_days} days of history{forecast} -> {result.path} "
            f"({result.size_bytes / 1e6:.1f} MB)\n"
        )
