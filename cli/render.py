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
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    sys.stderr.write("\n".join(lines) + "\n")


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


def sql_listing(files) -> str:
    """Analyst files as a table: run order, output name, file, description."""
    rows = [("#", "output", "file", "description")]
    rows += [(str(i), f.name, str(f.path), f.description) for i, f in enumerate(files, start=1)]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return "\n".join(
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r[:3])) + "  " + r[3] for r in rows
    ).rstrip()
