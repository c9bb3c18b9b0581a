"""`dqs alerts`: a day's results against the forecast made as of the day before (engine/alerts/)."""

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from dqs.engine import ExitCode, InputError


def alerts(
    input: Annotated[Optional[str], typer.Argument(help="Results log (file, directory or glob) with the day's results; the bundle's own history comes before it. Or give --store.")] = None,
    model: Annotated[Path, typer.Option(help="Model bundle written by `dqs train`.")] = ...,  # type: ignore[assignment]
    store: Annotated[Optional[Path], typer.Option(help="History store to read the series from, instead of INPUT.")] = None,
    store_version: Annotated[Optional[int], typer.Option(min=0, help="With --store: the store as it was at this version.")] = None,
    rules: Annotated[Optional[Path], typer.Option(help="Rules metadata JSON (optional; rule metadata for the model's features).")] = None,
    date: Annotated[Optional[str], typer.Option(help="The day to check (YYYY-MM-DD; default: the latest day with results).")] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="alerts.csv or alerts.parquet; at_risk.csv (.parquet) and a sentence per alert (NAME.txt) are written beside it.")] = Path("alerts.csv"),
    min_severity: Annotated[str, typer.Option(help="Write alerts of at least this severity: low, medium, high, critical.")] = "low",
    fail_on: Annotated[Optional[str], typer.Option(help="Exit 3 when a written alert reaches this severity (low, medium, high, critical).")] = None,
    horizon: Annotated[int, typer.Option(min=1, help="Days ahead for the at-risk list (at most the model's horizon).")] = 7,
    risk_cutoff: Annotated[float, typer.Option(help="At risk: the riskiest of the next --horizon days is below the model's threshold with at least this probability.")] = 0.5,
    min_drop: Annotated[float, typer.Option(help="Flag only days at least this many percentage points from the forecast.")] = 0.0,
    min_runs: Annotated[int, typer.Option(help="Flag only days with at least this many pass/fail runs.")] = 1,
    direction: Annotated[str, typer.Option(help="drop (values below the forecast), rise, or both.")] = "drop",
    lookback_days: Annotated[int, typer.Option(help="Earlier days scored the same way to find when an ongoing incident started.")] = 28,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary on stderr.")] = False,
) -> None:
    """Compare every series' pass percentage on a day with the forecast made as of the day
    before, flag what is surprising given the day's runs, and explain each flag (observed,
    expected, band, probability, history used, method, severity, ongoing since). Also lists the
    series at risk of falling below the model's threshold in the next days. Exit 0, or 3 with
    --fail-on when an alert reaches that severity."""
    from dqs.engine.alerts import SEVERITIES, AlertOptions, find_alerts
    from dqs.engine.alerts.outputs import write_alerts
    from dqs.engine.forecast.bundle import load_bundle, merge_history
    from dqs.engine.forecast.predict import prediction_history

    from .app import _check_store_options, _parse_date, _read_history, _store_history

    if input is None and store is None:
        raise InputError("alerts needs INPUT, or --store DIR", hint="see `dqs alerts --help`")
    if input is not None and store is not None:
        raise InputError("alerts reads INPUT or --store, not both",
                         hint=f"ingest it first (`dqs ingest {input} --store {store}`), then run alerts on the store")
    _check_store_options(store, store_version, {})
    if fail_on is not None and fail_on not in SEVERITIES:
        raise InputError(f"--fail-on {fail_on!r} is not one of {', '.join(SEVERITIES)}", hint="low < medium < high < critical")
    if output.suffix.lower() not in (".csv", ".parquet"):
        raise InputError(f"--output {output} is neither .csv nor .parquet", hint="e.g. --output alerts.csv")
    options = AlertOptions(day=_parse_date(date, "--date"), direction=direction, min_drop=min_drop, min_runs=min_runs,
                           min_severity=min_severity, lookback_days=lookback_days, horizon=horizon, risk_cutoff=risk_cutoff)
    bundle = load_bundle(model)
    options.check(bundle)
    if store is not None:
        history = _store_history(store, store_version, rules)[0]
    else:
        history = merge_history(bundle.history, _read_history(input, rules, None, None))
    result = find_alerts(bundle, prediction_history(bundle, history), options)
    paths = write_alerts(result, output)
    if not quiet:
        _summary(result, paths)
    if fail_on is not None and result.reaches(fail_on):
        raise typer.Exit(ExitCode.ALERTS)


def _summary(result, paths: dict[str, Path]) -> None:
    facts = result.as_dict()
    levels = ", ".join(f"{n:,} {level}" for level, n in reversed(list(facts["per_severity"].items())) if n)
    sys.stderr.write(
        f"dqs alerts: {facts['date']}: {facts['series_checked']:,} series checked, {facts['alerts']:,} alerts"
        f"{f' ({levels})' if levels else ''}, {facts['new']:,} new and {facts['ongoing']:,} ongoing; "
        f"{facts['at_risk']:,} series at risk -> {paths['alerts']}, {paths['at_risk']}, {paths['sentences']}\n"
    )
