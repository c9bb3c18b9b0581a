"""The `dqs` command. Parses options, calls the engine, renders; results go to files or
stdout, progress and errors to stderr."""

from __future__ import annotations

import os
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Optional

import typer

from dqs.engine import DqsError, ExitCode, InputError

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


@app.command()
def summarize(
    input: Annotated[str, typer.Argument(help="Results log: a CSV/.csv.gz/Parquet file, a directory or a glob.")],
    rules: Annotated[Optional[Path], typer.Argument(help="Rules metadata JSON (optional).")] = None,
    output_dir: Annotated[Path, typer.Option("--output-dir", "-o", help="Where the outputs are written.")] = ...,  # type: ignore[assignment]
    as_of: Annotated[Optional[str], typer.Option(help="Reference date YYYY-MM-DD; later rows are ignored.")] = None,
    memory_limit: Annotated[Optional[str], typer.Option(help="DuckDB memory ceiling, e.g. 256MB, 2GB (default: $DQS_MEMORY_LIMIT or 1GB); larger data spills to disk.")] = None,
    threads: Annotated[Optional[int], typer.Option(min=1, help="Worker threads (default: all cores).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress and no end-of-run summary.")] = False,
    profile: Annotated[bool, typer.Option("--profile", help="Also show wall time, CPU time, peak RSS and rows/s per stage.")] = False,
) -> None:
    """Summarize a results log into full_summary.csv, nl_all_rows.txt, summary.parquet,
    rejects.csv and run_report.json in OUTPUT_DIR."""
    from dqs.engine.summarize import SummarizeOptions
    from dqs.engine.summarize import summarize as run_summary

    options = SummarizeOptions(
        input=input,
        output_dir=output_dir,
        rules=rules,
        as_of=_parse_date(as_of, "--as-of"),
        memory_limit=memory_limit,
        threads=threads,
    )
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

    fmt = format or ("parquet" if output.name.lower().endswith((".parquet", ".pq")) else "csv")
    if fmt not in ("csv", "parquet"):
        raise InputError(f"--format {format!r} is not csv or parquet", hint="use --format csv or --format parquet")
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


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app, render errors once on stderr, exit with an ExitCode."""
    try:
        code = app(args=argv, standalone_mode=False, prog_name="dqs")
    except DqsError as exc:
        render.error(exc)
        code = exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        render.error("interrupted")
        code = ExitCode.INTERRUPTED
    except typer.TyperException as exc:  # usage errors: unknown option, bad value, ...
        show = getattr(exc, "show", None)
        if show is not None:
            show(file=sys.stderr)
        else:
            render.error(exc.format_message())
        code = ExitCode.BAD_INPUT if exc.exit_code == 2 else exc.exit_code
    except typer.Exit as exc:
        code = exc.exit_code
    except Exception as exc:  # a bug or an environment failure: one line, no traceback
        if os.environ.get("DQS_DEBUG"):
            raise
        render.error(
            f"unexpected {type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0]}",
            hint="this is a bug or an environment problem; rerun with DQS_DEBUG=1 for details",
        )
        code = ExitCode.FAILURE
    sys.exit(int(code or 0))


if __name__ == "__main__":
    main()
