"""`dqs report`: one self-contained, offline HTML health report from a store snapshot.

Every report reads a history store: `--store DIR` (pinned at its newest version, or
`--store-version`), or, for INPUT alone, a temporary store the input is ingested into first, so
one code path serves both and the figures are the summary's own: the rows come from the
summarize pipeline's `summary` (the same as full_summary.csv), the per-series days from the
store's `daily` table.

Per-series daily history is kept for a window of days before the reference date R: 365 days, or
fewer for large reports, so that groups x days stays within HISTORY_CELL_BUDGET (at 100k groups:
the last 100 days; with forecasts, which take room too, HISTORY_CELL_BUDGET_MODEL: 70 days),
never fewer than HISTORY_DAYS_MIN. The chart of every group together covers the last 365 days
whatever the window.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import InputError
from ..monitor import Monitor
from ..queries import query
from .assets import Assets, load_assets
from .html import render_page
from .payload import Payload

Progress = Callable[[str], None]

HISTORY_DAYS_MAX = 365
HISTORY_DAYS_MIN = 28
HISTORY_CELL_BUDGET = 10_000_000  # groups x days of per-series history a report embeds by default
HISTORY_CELL_BUDGET_MODEL = 7_000_000  # ... with forecasts, which take room too (100k groups: 70 days)
HISTORY_CELL_LIMIT = 100_000_000  # ... and with --history-days (one byte each before compression)
OVERALL_DAYS = 365  # the chart of every group together
WORST_MIN_RUNS = 10  # pass or fail rows in the 1-month window for a group to rank as a worst offender
LIST_LIMIT = 25  # rows of each "where it hurts" list
AT_RISK_PROBABILITY = 0.5  # the model's probability of a day below its threshold that puts a series at risk
AT_RISK_BELOW = 80.0  # without a risk model in the bundle: the expected pass % under which it does
EPOCH = date(1970, 1, 1)

# a day's counts in one byte: passes (0-7) | fails (0-7) << 3 | unknown (0-2) << 6; ESCAPE: look
# the day up in the escape columns (exact counts)
ESCAPE = 255


@dataclass(frozen=True)
class ReportOptions:
    input: str | None  # a results log to ingest first (into `store`, or a temporary store)
    output: Path
    rules: Path | None = None
    store: Path | None = None
    store_version: int | None = None
    as_of: date | None = None
    model: Path | None = None
    history_days: int | None = None  # None: 365, or fewer for large reports (see the module docstring)
    memory_limit: str | None = None
    threads: int | None = None


@dataclass
class ReportResult:
    path: Path
    size_bytes: int
    groups: int
    rows_read: int
    reference_date: str | None
    history_days: int
    store_version: int
    forecast_series: int | None
    performance: dict[str, Any] = field(default_factory=dict)


def history_days(groups: int, requested: int | None, forecasts: bool = False) -> int:
    if requested is not None:
        return requested
    budget = HISTORY_CELL_BUDGET_MODEL if forecasts else HISTORY_CELL_BUDGET
    return max(HISTORY_DAYS_MIN, min(HISTORY_DAYS_MAX, budget // max(groups, 1)))


def write_report(options: ReportOptions, progress: Progress | None = None) -> ReportResult:
    """Build the report and write it atomically to `options.output`."""
    from ..inputs.rules import load_rules
    from ..summary.outputs import prepare_output_dir
    from ..summary.summarize import SummarizeOptions, _run_context

    say = progress or (lambda _msg: None)
    started = datetime.now(timezone.utc)
    output = Path(options.output)
    if output.is_dir():
        raise InputError(f"--output {output} is a directory", hint="pass the path of the HTML file to write, e.g. report.html")
    if options.history_days is not None and not 1 <= options.history_days <= 3660:
        raise InputError(f"--history-days {options.history_days} is out of range", hint="give 1 to 3660 days")
    if options.input is not None and options.store_version is not None:
        raise InputError("INPUT is ingested into the newest version; --store-version reads an older one",
                         hint="ingest with `dqs ingest`, then report on the old version without INPUT")
    assets = load_assets()  # a checkout without built assets stops before any work
    rules = load_rules(options.rules)
    bundle = None
    if options.model is not None:
        from ..forecast.bundle import load_bundle

        bundle = load_bundle(options.model)
    with Monitor() as monitor:
        parent = prepare_output_dir(output.parent if str(output.parent) else Path("."))
        summarize_options = SummarizeOptions(input=None, output_dir=parent, rules=options.rules, as_of=options.as_of,
                                             memory_limit=options.memory_limit, threads=options.threads)
        with _run_context(summarize_options, parent, monitor, say, started) as ctx:
            snapshot, store_info = _open_snapshot(options, ctx.spill, monitor, say)
            db = ctx.db
            db.create_macros()
            db.register("rules", rules)
            with monitor.stage("summary") as stage:
                say(f"reading store version {snapshot.commit.version}")
                from ..store.read import prepare_summary

                figures = prepare_summary(db, snapshot, options.as_of)
                db.execute(query("summary.sql", "summary"))
                db.execute(query("report.sql", "report_groups"))
                columns = db.arrow(query("report.sql", "report_columns"))
                stage.rows = columns.num_rows
            groups = columns.num_rows
            reference = figures.reference
            window = history_days(groups, options.history_days, bundle is not None) if reference is not None else 0
            if groups * window > HISTORY_CELL_LIMIT:
                raise InputError(f"--history-days {window} for {groups:,} groups would embed {groups * window:,} "
                                 f"series-days (at most {HISTORY_CELL_LIMIT:,})",
                                 hint=f"give at most --history-days {max(1, HISTORY_CELL_LIMIT // groups)}, "
                                 "or leave it out (the default fits the file to its groups)")
            payload = Payload()
            with monitor.stage("history"):
                say("reading the daily history")
                history = _history(db, snapshot, payload, reference, window, groups)
            forecast_meta = None
            if bundle is not None and reference is not None:
                with monitor.stage("forecast"):
                    say("forecasting the next days")
                    forecast_meta = _forecasts(db, snapshot, payload, bundle, options.model, reference)
            with monitor.stage("encode"):
                say("writing the report")
                _summary_columns(payload, columns)
                payload.header["totals"] = db.arrow(query("report.sql", "report_totals")).to_pylist()[0]
                payload.header["breakdown"] = _breakdown(db)
                payload.header["worst"] = _indices(db, "report_worst", {"min_runs": WORST_MIN_RUNS, "limit": LIST_LIMIT})
                payload.header["trend_up"] = _indices(db, "report_trend_up", {"limit": LIST_LIMIT})
                payload.header["overall"] = history.pop("overall")
                data = payload.encode_base64()
                meta = _meta(options, assets, figures, snapshot, store_info, groups, history, forecast_meta, started)
                page = render_page(assets, meta, data)
                target = ctx.outputs.path(output.name)
                target.write_text(page, encoding="utf-8")
                size = os.path.getsize(target)
            ctx.outputs.commit()
    return ReportResult(
        path=output, size_bytes=size, groups=groups, rows_read=figures.rows_read,
        reference_date=None if reference is None else reference.isoformat(), history_days=window,
        store_version=snapshot.commit.version,
        forecast_series=None if forecast_meta is None else forecast_meta["series"],
        performance=monitor.as_dict(),
    )


def _open_snapshot(options: ReportOptions, scratch: Path, monitor: Monitor, say: Progress):
    """The store snapshot to report on; INPUT is ingested first (into a temporary store inside the
    run's scratch folder when no --store is given)."""
    from ..store.ingest import IngestOptions, ingest
    from ..store.tables import Store

    store_path = options.store
    temporary = store_path is None
    ingested = None
    if options.input is not None:
        if store_path is None:
            store_path = scratch / "store"
        with monitor.stage("ingest"):
            ingested = ingest(IngestOptions(inputs=(options.input,), store=store_path,
                                            memory_limit=options.memory_limit, threads=options.threads), say)
    if store_path is None:
        raise InputError("report needs INPUT, or --store DIR", hint="see `dqs report --help`")
    store = Store(Path(store_path))
    snapshot = store.snapshot(options.store_version)
    info = {
        "path": None if temporary else str(store.path),
        "temporary": temporary,
        "version": snapshot.commit.version,
        "committed_at": snapshot.commit.committed_at.isoformat(timespec="seconds"),
        "ingested_files": None if ingested is None else sum(f["action"] != "skip" for f in ingested.files),
    }
    return snapshot, info


def _summary_columns(payload: Payload, columns: pa.Table) -> None:
    for name in ("source", "tenant_id", "dataset_uuid", "dataset_name", "rule_code", "rule_name", "rule_type",
                 "dimension", "rule_description", "category", "last_execution_level", "trend_flag"):
        payload.text(name, columns[name])
    for name in ("business_date_latest", "dataset_record_count_latest", "filtered_record_count_latest",
                 "pass_count_total", "fail_count_total", "pass_count_1m", "fail_count_1m",
                 "pass_count_3m", "fail_count_3m", "pass_count_12m", "fail_count_12m"):
        dates = name == "business_date_latest"
        values = columns[name]
        low = pc.min(values).as_py() if dates and columns.num_rows else 0
        payload.integers(name, values, offset=low or 0, shuffle=True)


def _history(db, snapshot, payload: Payload, reference: date | None, window: int, groups: int) -> dict[str, Any]:
    """The per-group daily cells of the last `window` days (one byte per group and day, see
    ESCAPE) and every group's days together over the last OVERALL_DAYS."""
    from ..store.read import drop_view, register_files

    if reference is None:
        payload.raw("history", "u8", np.zeros(0, np.uint8))
        for name in ("escape_cell", "escape_passes", "escape_fails", "escape_unknown"):
            payload.raw(name, "u32", np.zeros(0, np.uint32))
        return {"first": None, "days": 0, "overall": {"first": None, "days": []}}
    overall_first = reference - timedelta(days=OVERALL_DAYS - 1)
    first = reference - timedelta(days=window - 1)
    read_from = min(first, overall_first)
    paths = snapshot.file_paths("daily", days=[(read_from, reference + timedelta(days=1))])
    register_files(db, "report_daily_rows", "daily", paths)
    try:
        db.execute(query("report.sql", "report_daily"), {"first": first, "reference": reference})
        overall = db.arrow(query("report.sql", "report_overall_days"),
                           {"first": overall_first, "reference": reference}).to_pydict()  # one row per day
    finally:
        drop_view(db, "report_daily_rows")
    cells = db.arrow(query("report.sql", "report_series_days"), {"first": first})
    group = cells["group_index"].to_numpy().astype(np.int64)
    day = cells["day"].to_numpy().astype(np.int64)
    passes, fails, unknown = (cells[c].to_numpy().astype(np.int64) for c in ("passes", "fails", "unknown"))
    escape = (passes > 7) | (fails > 7) | (unknown > 2)
    code = np.where(escape, ESCAPE, passes | (fails << 3) | (unknown << 6)).astype(np.uint8)
    flat = group * window + day
    matrix = np.zeros(groups * window, dtype=np.uint8)
    matrix[flat] = code
    payload.raw("history", "u8", matrix)
    order = np.argsort(flat[escape], kind="stable")
    payload.raw("escape_cell", "u32", flat[escape][order])
    payload.integers("escape_passes", passes[escape][order])
    payload.integers("escape_fails", fails[escape][order])
    payload.integers("escape_unknown", unknown[escape][order])
    return {"first": first.isoformat(), "days": window,
            "overall": {"first": overall_first.isoformat(), "days": overall}}


def _forecasts(db, snapshot, payload: Payload, bundle, model: Path | None, reference: date) -> dict[str, Any]:
    from ..store.read import drop_view, register_files
    from .forecast import MISSING, MISSING_PROBABILITY, at_risk, forecast_series

    mapping = db.arrow(query("report.sql", "report_series_of_groups"))
    series = mapping.group_by(["series_index", "dataset_uuid", "rule_code"]).aggregate([]).sort_by("series_index")
    attributes = db.arrow(query("report.sql", "report_forecast_attributes"))
    db.register("report_forecast_series", series)
    register_files(db, "report_all_daily_rows", "daily", snapshot.file_paths("daily"))
    try:
        forecasts = forecast_series(db, bundle, attributes, series, reference)
    finally:
        drop_view(db, "report_all_daily_rows")
        db.unregister("report_forecast_series")
    group_series = mapping["series_index"].to_numpy()
    identity = bool(np.array_equal(group_series, np.arange(group_series.size)))
    if not identity:  # several groups share a series (one dataset_uuid and rule_code)
        payload.raw("group_series", "u32", group_series, shuffle=True)
    missing = forecasts.expected == MISSING
    payload.raw("forecast_expected", "u16", forecasts.expected.reshape(-1), shuffle=True)
    below = np.where(missing, 0, forecasts.expected.astype(np.int32) - forecasts.lower.astype(np.int32))
    payload.raw("forecast_below", "u16", below.reshape(-1), shuffle=True)  # expected - lower
    payload.raw("forecast_upper", "u16", forecasts.upper.reshape(-1), shuffle=True)
    if forecasts.probability is not None:
        payload.raw("forecast_probability", "u8", forecasts.probability.reshape(-1))
    risky, flagged, by = at_risk(forecasts, group_series, AT_RISK_PROBABILITY, AT_RISK_BELOW, LIST_LIMIT)
    payload.header["at_risk"] = [int(g) for g in risky]
    meta = bundle.metadata
    return {
        "model": str(model),
        "origin": None if forecasts.origin is None else forecasts.origin.isoformat(),
        "days": forecasts.days,
        "series": int(series.num_rows),
        "failed_series": forecasts.failed,
        "first_error": forecasts.first_error,
        "coverage": meta.get("coverage"),
        "horizon": meta.get("horizon"),
        "training_window": meta.get("training_window"),
        "created_at": meta.get("created_at"),
        "threshold": forecasts.threshold,
        "at_risk_by": by,
        "at_risk_probability": AT_RISK_PROBABILITY,
        "at_risk_below": AT_RISK_BELOW,
        "at_risk_groups": flagged,
        "missing": MISSING,
        "missing_probability": MISSING_PROBABILITY,
        "one_group_per_series": identity,
    }


def _breakdown(db) -> dict[str, list[dict[str, Any]]]:
    rows = db.arrow(query("report.sql", "report_breakdown"))
    facet = rows.column("facet")
    return {name: rows.filter(pc.equal(facet, name)).drop_columns(["facet"]).to_pylist()
            for name in ("source", "tenant_id", "dimension", "category")}


def _indices(db, block: str, params: dict[str, Any]) -> list[int]:
    return db.arrow(query("report.sql", block), params).column("group_index").to_pylist()


def _meta(options: ReportOptions, assets: Assets, figures, snapshot, store_info: dict[str, Any], groups: int,
          history: dict[str, Any], forecast_meta: dict[str, Any] | None, started: datetime) -> dict[str, Any]:
    from dqs import __version__

    return {
        "format": 1,
        "generated_at": started.isoformat(timespec="seconds"),
        "dqs_version": __version__,
        "libraries": assets.versions,
        "reference_date": None if figures.reference is None else figures.reference.isoformat(),
        "as_of": None if options.as_of is None else options.as_of.isoformat(),
        "rules_file": None if options.rules is None else str(options.rules),
        "groups": groups,
        "rows": {
            "read": figures.rows_read, "accepted": figures.rows_accepted, "rejected": figures.rows_rejected,
            "unknown_status": figures.rows_unknown_status, "after_as_of": figures.rows_after_as_of,
            "pass": figures.rows_pass, "fail": figures.rows_fail,
        },
        "files": figures.input_files,
        "store": store_info,
        "history": {"first": history["first"], "days": history["days"], "max_days": HISTORY_DAYS_MAX,
                    "cell_budget": HISTORY_CELL_BUDGET},
        "settings": {"worst_min_runs": WORST_MIN_RUNS, "list_limit": LIST_LIMIT, "escape": ESCAPE},
        "forecast": forecast_meta,
    }
