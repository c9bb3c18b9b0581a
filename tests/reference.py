"""A small, slow, obviously-correct pure-Python reading of SPEC §2-§4, used as the oracle in
property tests. It works on rows of raw text exactly as a CSV reader hands them over."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

WS = " \t\n\v\f\r"
KEY = ("source", "tenant_id", "dataset_uuid", "dataset_name", "rule_code")
SUMMARY_COLUMNS = [
    "source", "tenant_id", "dataset_uuid", "dataset_name", "rule_code",
    "rule_name", "rule_type", "dimension", "rule_description", "category",
    "business_date_latest", "dataset_record_count_latest", "filtered_record_count_latest",
    "pass_count_total", "fail_count_total", "pass_count_1m", "fail_count_1m",
    "pass_count_3m", "fail_count_3m", "pass_count_12m", "fail_count_12m",
    "fail_rate_total", "fail_rate_1m", "fail_rate_3m", "fail_rate_12m",
    "trend_flag", "last_execution_level",
]
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[T ].*)?", re.S)
_WHOLE = re.compile(r"[0-9]+(?:\.0*)?")


def _reject_constant(name: str) -> None:
    raise ValueError(name)


def status_of(results: str | None) -> str:
    try:
        obj = json.loads(results or "", parse_constant=_reject_constant)
    except ValueError:
        return "unknown"
    if not isinstance(obj, dict):
        return "unknown"
    value = obj.get("result")
    if not isinstance(value, str):
        value = obj.get("status")
    if not isinstance(value, str):
        return "unknown"
    value = value.strip(WS).translate(str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz"))
    return value if value in ("pass", "fail") else "unknown"


def parse_date(text: str) -> date | None:
    m = _DATE.fullmatch(text)
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def parse_count(text: str) -> int | None:
    if not _WHOLE.fullmatch(text):
        return None
    value = int(text.split(".")[0])
    return value if value < 2**63 else None


def rule_key(code: str) -> str:
    code = code.strip(WS)
    return (code.lstrip("0") or "0") if re.fullmatch(r"[0-9]+", code) else code


def validate(row: dict[str, str | None]) -> tuple[dict | None, list[str]]:
    """Typed row, or None and the reasons it is rejected (same wording as the engine)."""
    text = {k: (v or "").strip(WS) for k, v in row.items()}
    reasons = [f"{c} is empty" for c in KEY if not text[c]]
    day = parse_date(text["business_date"]) if text["business_date"] else None
    if not text["business_date"]:
        reasons.append("business_date is empty")
    elif day is None:
        reasons.append("business_date is not a valid YYYY-MM-DD date")
    counts = {}
    # SPEC §2: rows written by `dqs import` may leave the counts empty (unknown)
    imported = (row.get("results") or "").lstrip(WS).startswith('{"importer":"')
    for c in ("dataset_record_count", "filtered_record_count"):
        if not text[c]:
            if imported:
                counts[c] = None
            else:
                reasons.append(f"{c} is empty")
        else:
            counts[c] = parse_count(text[c])
            if counts[c] is None:
                reasons.append(f"{c} is not a whole number >= 0")
    if reasons:
        return None, reasons
    typed = {c: text[c] for c in KEY}
    typed.update(
        business_date=day,
        status=status_of(row.get("results")),
        level=text["level_of_execution"],
        **counts,
    )
    return typed, []


def summarize(rows: list[dict], rules: dict[str, dict] | None = None, as_of: date | None = None):
    """Returns (summary rows as dicts, rejects as (line, reasons), counts)."""
    accepted, rejects = [], []
    for line, row in enumerate(rows, start=1):
        typed, reasons = validate(row)
        if typed is None:
            rejects.append((line, "; ".join(reasons)))
        else:
            typed["order"] = line
            accepted.append(typed)
    kept = [r for r in accepted if as_of is None or r["business_date"] <= as_of]
    ref = as_of or max((r["business_date"] for r in kept), default=None)
    by_key = {rule_key(code): meta for code, meta in (rules or {}).items()}
    groups: dict[tuple, list[dict]] = {}
    for r in kept:
        groups.setdefault(tuple(r[c] for c in KEY), []).append(r)
    out = []
    for key in sorted(groups):
        rs = groups[key]
        latest = max(rs, key=lambda r: (r["business_date"], r["order"]))

        def count(status: str, days: int | None) -> int:
            return sum(
                1 for r in rs
                if r["status"] == status and (days is None or r["business_date"] >= ref - timedelta(days=days))
            )

        row = dict(zip(KEY, key))
        meta = by_key.get(rule_key(row["rule_code"]))
        for f in ("rule_name", "rule_type", "dimension", "rule_description", "category"):
            row[f] = None if meta is None else str(meta[f])
        row["business_date_latest"] = latest["business_date"]
        row["dataset_record_count_latest"] = latest["dataset_record_count"]
        row["filtered_record_count_latest"] = latest["filtered_record_count"]
        for suffix, days in (("total", None), ("1m", 30), ("3m", 90), ("12m", 365)):
            row[f"pass_count_{suffix}"] = count("pass", days)
            row[f"fail_count_{suffix}"] = count("fail", days)
        for suffix in ("total", "1m", "3m", "12m"):
            p, f = row[f"pass_count_{suffix}"], row[f"fail_count_{suffix}"]
            row[f"fail_rate_{suffix}"] = 0.0 if p + f == 0 else f / (p + f)
        d = row["fail_rate_1m"] - row["fail_rate_3m"]
        row["trend_flag"] = "up" if d > 0.05 else "down" if d < -0.05 else "equal"
        row["last_execution_level"] = latest["level"]
        out.append({c: row[c] for c in SUMMARY_COLUMNS})
    counts = {
        "rows_read": len(rows),
        "rows_accepted": len(accepted),
        "rows_rejected": len(rejects),
        "rows_unknown_status": sum(1 for r in kept if r["status"] == "unknown"),
        "reference_date": ref,
    }
    return out, rejects, counts


def csv_cell(value) -> str:
    """How a summary value appears in full_summary.csv."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def sentence(row: dict) -> str:
    def one_line(v) -> str:
        return ("" if v is None else str(v)).replace("\n", " ").replace("\r", " ").replace("\t", " ")

    return (
        f"• On {row['business_date_latest']}, dataset \"{one_line(row['dataset_name'])}\" "
        f"(source: {one_line(row['source'])}, tenant: {one_line(row['tenant_id'])}, "
        f"UUID: {one_line(row['dataset_uuid'])}) under rule \"{one_line(row['rule_name'])}\" "
        f"[{one_line(row['rule_code'])}] recorded {row['fail_count_total']} failures and "
        f"{row['pass_count_total']} passes overall (fail-rate {row['fail_rate_total']:.2%}; "
        f"1-month {row['fail_rate_1m']:.2%}, 3-month {row['fail_rate_3m']:.2%}, "
        f"12-month {row['fail_rate_12m']:.2%}) — trend {row['trend_flag']}."
    )
