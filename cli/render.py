"""Everything the CLI writes to stderr: progress, the end-of-run summary, errors."""

from __future__ import annotations

import sys
from typing import Any

from dqs.engine import DqsError


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


def progress(message: str) -> None:
    sys.stderr.write(f"\r\x1b[2K… {message}")
    sys.stderr.flush()


def end_progress() -> None:
    sys.stderr.write("\r\x1b[2K")
    sys.stderr.flush()


def error(exc: DqsError | str, hint: str | None = None) -> None:
    detail = None
    if isinstance(exc, DqsError):
        message, hint, detail = exc.message, exc.hint, exc.detail
    else:
        message = exc
    lines = [f"dqs: error: {message}"]
    if detail:
        lines.append(detail)
    if hint:
        lines.append(f"Hint: {hint}")
    sys.stderr.write("\n".join(lines) + "\n")


def _size(n: int | None) -> str:
    if n is None:
        return "-"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def summary_report(report: dict[str, Any], output_dir: str) -> None:
    perf = report.get("performance", {})
    lines = [
        f"dqs summarize: {report['rows_read']:,} rows read from {len(report['input_files'])} "
        f"{report['input_format']} file(s)",
        f"  accepted {report['rows_accepted']:,}  rejected {report['rows_rejected']:,}  "
        f"unknown status {report['rows_unknown_status']:,}"
        + (f"  after as-of {report['rows_after_as_of']:,}" if report["as_of"] else ""),
        f"  {report['groups']:,} groups, reference date {report['reference_date'] or '-'}"
        + (f" (as-of {report['as_of']})" if report["as_of"] else ""),
    ]
    if report["unknown_rule_codes"]:
        codes = report["unknown_rule_codes"]
        shown = ", ".join(codes[:10]) + (f" and {len(codes) - 10} more" if len(codes) > 10 else "")
        lines.append(f"  rule codes without metadata ({len(codes)}): {shown}")
    if report["rows_rejected"]:
        lines.append(f"  rejected rows and reasons: {output_dir}/rejects.csv")
    lines.append(
        f"  wall {perf.get('wall_s', 0):.2f} s, peak RSS {_size(perf.get('peak_rss_bytes'))}, "
        f"memory limit {report['memory_limit']}"
    )
    lines.append(f"  outputs in {output_dir}: {', '.join(report['outputs'])}")
    sys.stderr.write("\n".join(lines) + "\n")


def profile(performance: dict[str, Any]) -> None:
    """Per-stage table: wall, CPU, peak RSS, rows/s (CPU above wall means several cores)."""
    rows = [("stage", "wall s", "cpu s", "peak RSS", "rows/s")]
    for s in performance.get("stages", []):
        rate = s.get("rows_per_s")
        rows.append((s["name"], f"{s['wall_s']:.3f}", f"{s['cpu_s']:.3f}", _size(s["peak_rss_bytes"]),
                     "-" if rate is None else f"{rate:,.0f}"))
    rows.append(("total", f"{performance.get('wall_s', 0):.3f}", "", _size(performance.get("peak_rss_bytes")), ""))
    sys.stderr.write(_table(rows, right={1, 2, 3, 4}) + "\n")


def evaluation(result: dict[str, Any]) -> None:
    """The backtest as a table on stdout: MAE/RMSE of the model and each baseline."""
    out = [f"backtest: {result['examples']:,} examples from {result['origin_count']} origins"]
    for target in ("observed", "truth"):
        section = result.get(target)
        if not section:
            continue
        out.append(f"against {target} values:")
        out.append(f"  {'method':<24}{'MAE':>9}{'RMSE':>9}{'n':>11}")
        for name, e in section["overall"].items():
            mae = "-" if e["mae"] is None else f"{e['mae']:.3f}"
            rmse = "-" if e["rmse"] is None else f"{e['rmse']:.3f}"
            out.append(f"  {name:<24}{mae:>9}{rmse:>9}{e['n']:>11,}")
        ratio = section.get("model_to_best_baseline")
        if ratio is not None:
            verdict = "beats" if ratio < 1 else "does NOT beat"
            out.append(f"  model MAE / best baseline MAE = {ratio:.3f} (the model {verdict} the best baseline)")
        for bucket, methods in section["by_horizon"].items():
            cells = "  ".join(f"{m} {e['mae']:.2f}" for m, e in methods.items() if e["mae"] is not None)
            out.append(f"  horizon {bucket:>7}: {cells}")
    band = result.get("band", {})
    if band.get("coverage") is not None:
        out.append(f"band: {band['coverage']:.1%} of observed values inside (nominal {band['nominal']:.0%}), "
                   f"mean width {band['mean_width']:.1f} points")
    if result.get("note"):
        out.append(f"note: {result['note']}")
    sys.stdout.write("\n".join(out) + "\n")


def risk_evaluation(result: dict[str, Any]) -> None:
    """The band per number of runs on the day, and the risk's calibration (reliability per bin
    of predicted probability, ECE, Brier beside the baseline, runs), on stdout."""
    out = []
    by_runs = result.get("band", {}).get("by_runs") or []
    if by_runs:
        out.append("band by pass/fail runs on the day:")
        out.append(f"  {'runs':<8}{'n':>11}{'coverage':>10}{'width':>8}")
        out += [f"  {r['runs']:<8}{r['n']:>11,}{r['coverage']:>10.1%}{r['mean_width']:>8.1f}" for r in by_runs]
    risk = result.get("risk") or {}
    if risk.get("examples"):
        threshold = risk["threshold"]
        what = "at least one run fails" if threshold >= 100 else f"pass percentage below {threshold:g}%"
        out.append(f"risk ({what}): observed on {risk['observed_frequency']:.1%} of days, "
                   f"mean predicted {risk['mean_probability']:.1%}")
        brier = risk["brier"]
        verdict = "beats" if brier["model"] < brier["baseline"] else "does NOT beat"
        out.append(f"  Brier {brier['model']:.4f} vs baseline {brier['baseline']:.4f} (series' share of such days "
                   f"up to the origin): the model {verdict} it")
        out.append(f"  expected calibration error {risk['ece']:.4f}")
        out.append(f"  {'predicted':<12}{'n':>11}{'share':>8}{'mean predicted':>16}{'observed':>10}")
        out += [f"  {r['bin']:<12}{r['n']:>11,}{r['share']:>8.1%}{r['mean_predicted']:>16.3f}{r['observed']:>10.3f}"
                for r in risk["reliability"]]
        runs = risk["runs"]
        out.append(f"  runs: mean expected {runs['mean_expected']:.2f}, observed {runs['mean_observed']:.2f}; "
                   f"MAE {runs['mae']:.3f} vs {runs['baseline_mae']:.3f} for the series' mean runs")
    if out:
        sys.stdout.write("\n".join(out) + "\n")


def forecast_sentence(answer: dict[str, Any]) -> str:
    """One `dqs predict` answer as a sentence a person can act on."""
    threshold = answer["threshold"]
    risk = ("that at least one run fails" if threshold >= 100
            else f"that fewer than {threshold:g}% of its runs pass")
    last = answer["last_observed"]
    return (f"{answer['dataset_uuid']} / {answer['rule_code']} on {answer['business_date']}: "
            f"{answer['predicted_pass_percentage']:.0f}% expected to pass; "
            f"{answer['probability_below_threshold']:.0%} chance {risk} "
            f"({answer['coverage']:.0%} band {answer['lower_pass_percentage']:.0f}-{answer['upper_pass_percentage']:.0f}%; "
            f"about {answer['expected_runs']:.1f} pass/fail runs expected if it runs that day). "
            f"{answer['horizon_days']} day(s) after the history's last day {answer['history_last_day']}; "
            + (f"last observed {last['pass_percentage']:.1f}% on {last['business_date']}." if last else "never observed."))


def sql_listing(files) -> str:
    """Analyst files as a table: run order, output name, file, description."""
    rows = [("#", "output", "file", "description")]
    rows += [(str(i), f.name, str(f.path), f.description) for i, f in enumerate(files, start=1)]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return "\n".join(
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r[:3])) + "  " + r[3] for r in rows
    ).rstrip()


def ingest_report(report: dict[str, Any]) -> None:
    """What an ingest did, on stderr: per file ingested / replaced / skipped, then the totals."""
    actions = {"ingest": "ingested", "replace": "replaced", "skip": "skipped"}
    lines = []
    for f in report["files"]:
        line = f"  {actions[f['action']]:<9} {f['path']}"
        if f["action"] == "skip":
            line += f" ({f.get('note', 'already ingested')})"
        else:
            line += (f": {f.get('rows_read', 0):,} rows, {f.get('rows_accepted', 0):,} accepted, "
                     f"{f.get('rows_rejected', 0):,} rejected")
        lines.append(line)
    if report["version"] is None:
        head = f"dqs ingest: nothing new for {report['store']} (every file was ingested before)"
    else:
        head = (f"dqs ingest: store {report['store']} is now at version {report['version']}: "
                f"{report['rows_read']:,} rows read, {report['rows_accepted']:,} accepted, "
                f"{report['rows_rejected']:,} rejected, {report['rows_unknown_status']:,} unknown status")
    lines.insert(0, head)
    lines.append(f"  {report['groups']:,} groups, reference date {report['reference_date'] or '-'}")
    sys.stderr.write("\n".join(lines) + "\n")


def import_report(report: dict[str, Any]) -> None:
    """What an import read and wrote, on stderr: per file its kind and rows, then the totals."""
    statuses = report["statuses"]
    lines = [f"dqs import {report['format']}: {report['rows']:,} rows from {len(report['files'])} file(s) "
             f"({statuses.get('pass', 0):,} pass, {statuses.get('fail', 0):,} fail, {statuses.get('unknown', 0):,} unknown)"
             + (f" -> {report['output']}" if report.get("output") else "")]
    if len(report["files"]) <= 20:
        for f in report["files"]:
            rows = f.get("rows", {})
            lines.append(f"  {f['path']}: {f['kind']}, {sum(rows.values()):,} rows")
    if report["tool_statuses"]:
        lines.append("  tool statuses: " + ", ".join(f"{k} {v:,}" for k, v in sorted(report["tool_statuses"].items())))
    if report["left_out"]:
        lines.append("  left out: " + ", ".join(f"{v:,} {k}" for k, v in sorted(report["left_out"].items())))
    if report.get("rules_output"):
        lines.append(f"  {report['rules']:,} rules -> {report['rules_output']}")
    sys.stderr.write("\n".join(lines) + "\n")


def _table(rows: list[tuple[str, ...]], right: set[int]) -> str:
    """Rows of cells as aligned columns (those in `right` right-aligned) under a rule line."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = ["  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()
           for r in rows]
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out)


def store_info(facts: dict[str, Any]) -> str:
    lines = [
        f"store            {facts['store']} (schema version {facts['schema_version']})",
        f"version          {facts['version']} ({facts['versions']} versions, created {facts['created_at']}, "
        f"last commit {facts['last_commit_at']})",
        f"files            {facts['files']:,}",
        f"rows             {facts['rows_read']:,} read, {facts['rows_accepted']:,} accepted, {facts['rows_rejected']:,} rejected",
        f"groups           {facts['groups']:,}",
        f"business dates   {facts['first_business_date'] or '-'} to {facts['reference_date'] or '-'}",
        f"size on disk     {_size(facts['bytes_on_disk'])}",
        "",
    ]
    rows = [("table", "version", "data files", "files on disk", "size on disk")]
    for name, t in facts["tables"].items():
        rows.append((name, str(t.get("version", "-")), str(t.get("data_files", "-")), str(t["files_on_disk"]),
                     _size(t["bytes_on_disk"])))
    return "\n".join(lines) + _table(rows, right={1, 2, 3, 4})


def store_history(commits: list[dict[str, Any]]) -> str:
    rows = [("version", "committed at (UTC)", "operation", "files +", "replaced", "skipped", "rows accepted",
             "rows rejected", "reference date", "groups")]
    for c in commits:
        rows.append((str(c["version"]), c["committed_at"].strftime("%Y-%m-%d %H:%M:%S.%f")[:-3], c["operation"],
                     str(c["files_added"]), str(c["files_replaced"]), str(c["files_skipped"]),
                     f"{c['rows_accepted']:,}", f"{c['rows_rejected']:,}",
                     "-" if c["reference_date"] is None else c["reference_date"].isoformat(), f"{c['groups']:,}"))
    return _table(rows, right={0, 3, 4, 5, 6, 7, 9})


def compact_report(report: dict[str, Any]) -> str:
    rows = [("table", "files compacted", "files written", "files vacuumed", "files kept", "size before", "size after")]
    for name, t in report["tables"].items():
        rows.append((name, str(t["files_compacted"]), str(t["files_written"]), str(t["files_vacuumed"]),
                     str(t["files_on_disk_after"]), _size(t["bytes_before"]), _size(t["bytes_after"])))
    head = (f"dqs store compact: new version {report['version']}; files older versions needed were kept for "
            f"{report['retain_hours']:g} hours (--retain-hours)")
    return head + "\n" + _table(rows, right={1, 2, 3, 4, 5, 6})
