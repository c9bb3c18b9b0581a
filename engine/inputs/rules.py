"""Rules metadata (SPEC §3): a JSON object keyed by rule code."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pyarrow as pa

from ..errors import InputError

RULE_FIELDS: tuple[str, ...] = ("rule_name", "rule_type", "dimension", "rule_description", "category")
_DIGITS = re.compile(r"[0-9]+")
_WS = " \t\n\v\f\r"

RULES_SCHEMA = pa.schema([pa.field("rule_code", pa.string())] + [pa.field(f, pa.string()) for f in RULE_FIELDS])


def rule_key(code: str) -> str:
    """Matching key of a rule code: trimmed; all-digit codes compare as integers ('007' == '7')."""
    code = code.strip(_WS)
    if _DIGITS.fullmatch(code):
        return code.lstrip("0") or "0"
    return code


def _no_duplicate_keys(path: Path):
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for key, value in pairs:
            if key in seen:
                raise InputError(
                    f"{path}: key {key!r} appears twice",
                    hint="each rule code (and each field of an entry) must appear once",
                )
            seen[key] = value
        return seen

    return hook


def _as_text(value: Any) -> str | None:
    if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def load_rules(path: str | Path | None) -> pa.Table:
    """Read and check a rules file; returns one row per rule code (all text columns)."""
    if path is None:
        return RULES_SCHEMA.empty_table()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise InputError(f"rules file {path} does not exist", hint="check the path") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"rules file {path} is not UTF-8 text", hint="save it as UTF-8 JSON") from exc
    except OSError as exc:
        raise InputError(f"cannot read rules file {path}: {exc.strerror}", hint="check the path") from exc
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicate_keys(path))
    except json.JSONDecodeError as exc:
        raise InputError(
            f"rules file {path} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            hint='the rules file is a JSON object: {"101": {"rule_name": ..., ...}, ...}',
        ) from exc
    if not isinstance(data, dict):
        raise InputError(
            f"rules file {path} is not a JSON object (found {type(data).__name__})",
            hint='the rules file is a JSON object keyed by rule code: {"101": {...}}',
        )
    columns: dict[str, list[str]] = {"rule_code": [], **{f: [] for f in RULE_FIELDS}}
    keys: dict[str, str] = {}
    for code, entry in data.items():
        if not isinstance(entry, dict):
            raise InputError(
                f"rules file {path}: rule {code!r} is not an object",
                hint="each rule code maps to an object with " + ", ".join(RULE_FIELDS),
            )
        missing = [f for f in RULE_FIELDS if _as_text(entry.get(f)) is None]
        if missing:
            raise InputError(
                f"rules file {path}: rule {code!r} is missing {', '.join(missing)}",
                hint="every entry needs " + ", ".join(RULE_FIELDS) + " (text; category may be a number)",
            )
        key = rule_key(code)
        if key in keys:
            raise InputError(
                f"rules file {path}: rule codes {keys[key]!r} and {code!r} are the same rule",
                hint="all-digit codes match as integers ('007' is '7'); keep one entry",
            )
        keys[key] = code
        columns["rule_code"].append(code.strip(_WS))
        for f in RULE_FIELDS:
            columns[f].append(_as_text(entry[f]))  # type: ignore[arg-type]
    return pa.table(columns, schema=RULES_SCHEMA)
