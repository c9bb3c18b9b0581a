"""Deterministic, vectorised generator of realistic rule-results logs (SPEC §9).

Each series (a dataset's rule) has a base pass rate, a weekday profile, a slow drift and
incidents (runs of failing days that start and end); series run daily, on weekdays or sparsely,
sometimes several times a day, with gaps. A small share of statuses is unknown, and a chosen
share of rows can be made invalid on purpose. `truth` holds the pass probability that generated
every series and day, so forecasts can be scored against it; beside it, `incidents_path(truth)`
lists every incident (first and last day of each run of incident days of a series), so alerts
can be scored against it. Neither changes a generated row.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl
import pyarrow.parquet as pq

from .errors import InputError

HISTORY_DAYS = 730
ROWS_PER_SERIES = 400
SERIES_PER_DATASET = 8
CHUNK_ROWS = 2_000_000
PARQUET_ROW_GROUP = 131_072
UNKNOWN_SHARE = 0.01

SOURCES = ["snowflake", "postgres", "s3", "bigquery", "kafka", "oracle"]
DOMAINS = ["sales", "billing", "crm", "inventory", "hr", "marketing", "risk", "logistics"]
ENTITIES = ["orders", "customers", "invoices", "events", "payments", "products", "shipments", "accounts"]
ATTRIBUTES = ["id", "customer_id", "amount", "created_at", "email", "country", "status", "price"]
RULE_TYPES = ["completeness", "validity", "uniqueness", "freshness", "volume", "consistency"]
DIMENSIONS = ["Completeness", "Validity", "Uniqueness", "Timeliness", "Accuracy", "Consistency"]
N_RULES = 60

PASS_TEXTS = ['{"result": "pass"}', '{"result": "PASS", "checked": true}', '{"status": "Pass"}', '{"result": " pass "}']
PASS_WEIGHTS = [0.85, 0.07, 0.05, 0.03]
FAIL_TEXTS = ['{"result": "fail"}', '{"result": "FAIL", "checked": true}', '{"status": "fail"}']
FAIL_WEIGHTS = [0.85, 0.1, 0.05]
UNKNOWN_TEXTS = ['{"result": "error"}', '{"result": null}', "not json", "", '{"result": "skipped"}']


@dataclass(frozen=True)
class GenerateOptions:
    rows: int
    output: Path
    seed: int = 0
    format: Literal["csv", "parquet"] = "csv"
    malformed_share: float = 0.0
    truth: Path | None = None
    end_date: date = date(2026, 10, 30)


@dataclass(frozen=True)
class GenerateStats:
    rows: int
    series: int
    days: int


def rule_codes() -> list[str]:
    """Rule codes as logs have them: numeric ('101'), zero-padded ('007') and prefixed ('R012')."""
    codes = [str(101 + i) for i in range(40)] + [f"R{i:03d}" for i in range(1, 18)] + ["007", "008", "009"]
    return codes[:N_RULES]


def rules_metadata() -> dict[str, dict[str, str]]:
    """A rules file matching `rule_codes()`, except the last two codes, left undescribed."""
    meta = {}
    for i, code in enumerate(rule_codes()[:-2]):
        kind = RULE_TYPES[i % len(RULE_TYPES)]
        meta[code] = {
            "rule_name": f"{kind.title()} check {code}",
            "rule_type": kind,
            "dimension": DIMENSIONS[i % len(DIMENSIONS)],
            "rule_description": f"Checks {kind} of the data (rule {code})",
            "category": f"C{1 + i % 4}",
        }
    return meta


def write_rules(path: Path) -> None:
    """Write `rules_metadata()` as a rules JSON file (atomically)."""
    import json

    path = Path(path)
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text(json.dumps(rules_metadata(), indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


def _series_count(rows: int) -> int:
    return int(min(max(1, -(-rows // ROWS_PER_SERIES)), 250_000))


def generate_log(options: GenerateOptions) -> GenerateStats:
    if options.rows < 0:
        raise InputError("--rows must be >= 0", hint="pass a whole number of rows")
    rng = np.random.default_rng(options.seed)
    n_series = _series_count(options.rows)
    end = np.datetime64(options.end_date, "D")
    first = end - (HISTORY_DAYS - 1)
    n_datasets = -(-n_series // SERIES_PER_DATASET)
    datasets = _datasets(rng, n_datasets)
    series = _series(rng, n_series, n_datasets)
    weights = series["span"] * series["rate"]
    per_series = rng.multinomial(options.rows, weights / weights.sum()) if options.rows else np.zeros(n_series, int)

    output = Path(options.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    writer = _Writer(output, options.format, typed=options.malformed_share == 0)
    truth_writer = _TruthWriter(options.truth) if options.truth else None
    codes = np.array(rule_codes())
    try:
        bounds = np.cumsum(per_series)
        start = 0
        while start < n_series:
            # whole series per chunk, about CHUNK_ROWS rows each
            offset = bounds[start - 1] if start else 0
            stop = int(np.searchsorted(bounds, offset + CHUNK_ROWS, side="right"))
            stop = max(stop, start + 1)
            idx = np.arange(start, stop)
            chunk = _rows(rng, series, idx, per_series[idx], datasets, codes, first, options)
            writer.write(chunk)
            if truth_writer is not None:
                truth_writer.write(*_truth(series, idx, datasets, codes, first))
            start = stop
    finally:
        writer.close()
        if truth_writer is not None:
            truth_writer.close()
    return GenerateStats(rows=options.rows, series=n_series, days=HISTORY_DAYS)


def _datasets(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    n_tenants = max(2, n // 25)
    tenant = rng.integers(0, n_tenants, n)
    hexes = rng.integers(0, 2**63, (n, 2), dtype=np.int64)
    uuids = [f"{a:016x}{b:016x}" for a, b in hexes.tolist()]  # one per dataset, not per row
    uuids = [f"{u[:8]}-{u[8:12]}-4{u[13:16]}-a{u[17:20]}-{u[20:32]}" for u in uuids]
    names = [
        f"{DOMAINS[d % len(DOMAINS)]}_{ENTITIES[(d // len(DOMAINS)) % len(ENTITIES)]}_{d}"
        for d in range(n)
    ]
    return {
        "uuid": np.array(uuids),
        "name": np.array(names),
        "tenant": np.array([f"tenant_{t:04d}" for t in tenant]),
        "source": np.array(SOURCES)[rng.integers(0, len(SOURCES), n)],
        "base_count": np.exp(rng.normal(9.0, 2.0, n)).astype(np.int64) + 10,
        "growth": rng.normal(0.2, 0.2, n),
    }


def _series(rng: np.random.Generator, n: int, n_datasets: int) -> dict[str, np.ndarray]:
    span = np.where(rng.random(n) < 0.7, HISTORY_DAYS, rng.integers(60, HISTORY_DAYS, n))
    start = HISTORY_DAYS - span  # day offset of the series' first day
    retired = rng.random(n) < 0.05
    end = np.where(retired, start + (span * rng.uniform(0.4, 0.9, n)).astype(int), HISTORY_DAYS - 1)
    schedule = rng.choice(3, n, p=[0.6, 0.3, 0.1])  # 0 daily, 1 weekdays, 2 sparse
    runs = np.where(rng.random(n) < 0.3, rng.uniform(1.5, 3.0, n), 1.0)
    rate = runs * np.where(schedule == 0, 1.0, np.where(schedule == 1, 5 / 7, 0.3))
    n_incidents = rng.integers(0, 5, n)
    k = 4
    inc_start = start[:, None] + (rng.random((n, k)) * (end - start + 1)[:, None]).astype(int)
    inc_len = rng.geometric(0.25, (n, k))
    inc_start = np.where(np.arange(k)[None, :] < n_incidents[:, None], inc_start, -10_000)
    phase = rng.integers(0, 7, n)
    return {
        "dataset": np.minimum(np.arange(n) // SERIES_PER_DATASET, n_datasets - 1),
        "rule": (np.arange(n) * 7 + np.arange(n) // SERIES_PER_DATASET) % N_RULES,
        "start": start,
        "end": end,
        "span": (end - start + 1).astype(float),
        "schedule": schedule,
        "rate": rate,
        "base_logit": np.log(b := rng.beta(8.0, 1.3, n).clip(0.02, 0.995)) - np.log1p(-b),
        "weekday_amp": rng.uniform(0.0, 1.5, n) * (rng.random(n) < 0.7),
        "weekday_phase": phase,
        "drift": rng.normal(0.0, 0.5, n),
        "gap_start": np.where(rng.random(n) < 0.15, start + rng.integers(0, 400, n), -10_000),
        "gap_len": rng.integers(5, 40, n),
        "inc_start": inc_start,
        "inc_len": inc_len,
        "filter_share": rng.uniform(0.1, 1.0, n),
        "attribute": np.where(rng.random(n) < 0.5, rng.integers(0, len(ATTRIBUTES), n), -1),
    }


def _logit_p(series: dict[str, np.ndarray], s: np.ndarray, day: np.ndarray, weekday: np.ndarray,
             inside: np.ndarray | None = None) -> np.ndarray:
    """Pass probability of series `s` on day offset `day` (vectorised over rows; `inside`: whether
    each row is in an incident, when the caller has it already)."""
    profile = np.cos(2 * np.pi * ((weekday - series["weekday_phase"][s]) % 7) / 7)
    logit = (
        series["base_logit"][s]
        + series["weekday_amp"][s] * profile
        + series["drift"][s] * (day - series["start"][s]) / 365.0
    )
    inside = _in_incident(series, s, day) if inside is None else inside
    logit = logit - 5.0 * inside
    return 1.0 / (1.0 + np.exp(-logit))


def _rows(rng, series, idx, counts, datasets, codes, first, options) -> pl.DataFrame:
    s = np.repeat(idx, counts)
    n = s.size
    lo, hi = series["start"][s], series["end"][s]
    day = lo + (rng.random(n) * (hi - lo + 1)).astype(np.int64)
    # gaps: runs that fall in a series' outage move to the day it comes back
    gs, gl = series["gap_start"][s], series["gap_len"][s]
    day = np.where((day >= gs) & (day < gs + gl), np.minimum(gs + gl, hi), day)
    weekday = (first + day).astype("datetime64[D]").view("int64") % 7  # 0 = Thursday
    weekday = (weekday + 3) % 7  # 0 = Monday
    weekdays_only = series["schedule"][s] == 1
    shift = np.where(weekdays_only & (weekday >= 5), weekday - 4, 0)
    day = np.maximum(day - shift, lo)
    weekday = (weekday - shift) % 7
    order = np.lexsort((rng.random(n), day))
    s, day, weekday = s[order], day[order], weekday[order]

    p = _logit_p(series, s, day, weekday)
    u = rng.random(n)
    passed = u < p
    unknown = rng.random(n) < UNKNOWN_SHARE
    text_pass = rng.choice(len(PASS_TEXTS), n, p=PASS_WEIGHTS)
    text_fail = rng.choice(len(FAIL_TEXTS), n, p=FAIL_WEIGHTS)
    text_unknown = rng.integers(0, len(UNKNOWN_TEXTS), n)
    texts = np.array(PASS_TEXTS + FAIL_TEXTS + UNKNOWN_TEXTS)
    code = np.where(unknown, len(PASS_TEXTS) + len(FAIL_TEXTS) + text_unknown,
                    np.where(passed, text_pass, len(PASS_TEXTS) + text_fail))
    d = series["dataset"][s]
    years = (day - series["start"][s]) / 365.0
    record = (datasets["base_count"][d] * (1 + datasets["growth"][d] * years)
              * rng.lognormal(0, 0.05, n)).astype(np.int64).clip(0)
    filtered = (record * series["filter_share"][s]).astype(np.int64)
    attr = series["attribute"][s]
    dates = (first + day).astype("datetime64[D]")

    level = np.where(attr >= 0, 1, 0)
    frame = pl.DataFrame(
        {
            "source": _take(datasets["source"], d),
            "tenant_id": _take(datasets["tenant"], d),
            "dataset_uuid": _take(datasets["uuid"], d),
            "dataset_name": _take(datasets["name"], d),
            "rule_code": _take(codes, series["rule"][s]),
            "business_date": dates,
            "results": _take(texts, code),
            "level_of_execution": _take(np.array(["DATASET", "ATTRIBUTE"]), level),
            "attribute_name": _take(np.array([""] + ATTRIBUTES), attr + 1),
            "dataset_record_count": record,
            "filtered_record_count": filtered,
        }
    )
    if options.malformed_share == 0:
        return frame
    return _text_columns(rng, frame, n, options.malformed_share)


def _take(values: np.ndarray, index: np.ndarray) -> pl.Series:
    """values[index] as a Polars string column: the few distinct strings are converted once and
    gathered by index (numpy's fixed-width strings are slow to copy and convert per row)."""
    return pl.Series(values.tolist(), dtype=pl.String).gather(pl.Series(index, dtype=pl.Int64))


def _text_columns(rng, frame: pl.DataFrame, n: int, share: float) -> pl.DataFrame:
    """CSV-like text columns: some dates carry a time, some counts are written as '1200.0',
    and a `share` of rows gets one invalid value."""
    with_time = pl.Series(rng.random(n) < 0.05)
    as_float = pl.Series(rng.random(n) < 0.02)
    frame = frame.with_columns(
        pl.when(with_time)
        .then(pl.col("business_date").dt.strftime("%Y-%m-%d") + "T06:30:00")
        .otherwise(pl.col("business_date").dt.strftime("%Y-%m-%d"))
        .alias("business_date"),
        pl.when(as_float)
        .then(pl.col("dataset_record_count").cast(pl.String) + ".0")
        .otherwise(pl.col("dataset_record_count").cast(pl.String))
        .alias("dataset_record_count"),
        pl.col("filtered_record_count").cast(pl.String),
    )
    bad = rng.random(n) < share
    kind = pl.Series(np.where(bad, rng.integers(0, 8, n), -1))
    invalid = {
        0: ("source", pl.lit("")),
        1: ("business_date", pl.lit("2024-13-45")),
        2: ("business_date", pl.lit("31/12/2024")),
        3: ("dataset_record_count", pl.lit("-3")),
        4: ("dataset_record_count", pl.lit("12.5")),
        5: ("filtered_record_count", pl.lit("1e3")),
        6: ("dataset_uuid", pl.lit("")),
        7: ("rule_code", pl.lit("  ")),
    }
    columns = {}
    for k, (column, value) in invalid.items():
        current = columns.get(column, pl.col(column))
        columns[column] = pl.when(kind == k).then(value).otherwise(current)
    return frame.with_columns(**columns)


def incidents_path(truth: Path) -> Path:
    """The incidents file written beside a truth file: `truth.parquet` -> `truth_incidents.parquet`."""
    truth = Path(truth)
    return truth.with_name(f"{truth.stem}_incidents.parquet")


INCIDENT_SCHEMA = {"dataset_uuid": pl.String, "rule_code": pl.String, "incident_start": pl.Date,
                   "incident_end": pl.Date, "incident_days": pl.Int64}


def _in_incident(series: dict[str, np.ndarray], s: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Whether day offset `day` of series `s` is inside one of its incidents (as `_logit_p` applies them)."""
    inc_start = series["inc_start"][s]
    inc_end = inc_start + series["inc_len"][s]
    return ((day[:, None] >= inc_start) & (day[:, None] < inc_end)).any(axis=1)


def _truth(series, idx, datasets, codes, first) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The true pass percentage of every series and day of `idx`, and its incidents: each run of
    consecutive incident days within the series' life (overlapping incidents merge into one).
    Reads no random numbers, so the log's rows are the same with or without a truth file."""
    lo, hi = series["start"][idx], series["end"][idx]
    lengths = hi - lo + 1
    s = np.repeat(idx, lengths)
    within = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    day = series["start"][s] + within
    weekday = ((first + day).astype("datetime64[D]").view("int64") % 7 + 3) % 7
    inside = _in_incident(series, s, day)
    p = _logit_p(series, s, day, weekday, inside)
    d = series["dataset"][s]
    truth = pl.DataFrame(
        {
            "dataset_uuid": _take(datasets["uuid"], d),
            "rule_code": _take(codes, series["rule"][s]),
            "business_date": (first + day).astype("datetime64[D]"),
            "true_pass_percentage": 100.0 * p,
        }
    )
    # rows are in (series, day) order: a run starts where the day before (same series) is not in one
    same_before = np.r_[False, s[1:] == s[:-1]]
    same_after = np.r_[s[:-1] == s[1:], False]
    starts = np.flatnonzero(inside & ~(np.r_[False, inside[:-1]] & same_before))
    ends = np.flatnonzero(inside & ~(np.r_[inside[1:], False] & same_after))
    ds = series["dataset"][s[starts]]
    incidents = pl.DataFrame(
        {
            "dataset_uuid": _take(datasets["uuid"], ds),
            "rule_code": _take(codes, series["rule"][s[starts]]),
            "incident_start": (first + day[starts]).astype("datetime64[D]"),
            "incident_end": (first + day[ends]).astype("datetime64[D]"),
            "incident_days": (ends - starts + 1).astype(np.int64),
        },
        schema=INCIDENT_SCHEMA,
    )
    return truth, incidents


class _Writer:
    def __init__(self, path: Path, fmt: str, typed: bool) -> None:
        self.path, self.fmt, self.typed = path, fmt, typed
        self.tmp = path.with_name(path.name + ".partial")
        self._parquet: pq.ParquetWriter | None = None
        self._fh = None
        self._header = True
        self.wrote = False

    def write(self, frame: pl.DataFrame) -> None:
        self.wrote = True
        if self.fmt == "parquet":
            table = frame.to_arrow()
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self.tmp, table.schema, compression="zstd")
            # row groups of ~128k rows let readers scan a file on several threads
            self._parquet.write_table(table, row_group_size=PARQUET_ROW_GROUP)
            return
        if self._fh is None:
            raw = open(self.tmp, "wb")
            self._fh = gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) if self.path.name.endswith(".gz") else raw
            self._raw = raw
        frame.write_csv(self._fh, include_header=self._header)
        self._header = False

    def close(self) -> None:
        if not self.wrote:
            self.write(_empty_frame(self.typed))
        if self._parquet is not None:
            self._parquet.close()
        if self._fh is not None:
            self._fh.close()
            if self._fh is not self._raw:
                self._raw.close()
        self.tmp.replace(self.path)


class _TruthWriter:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.tmp = path.with_name(path.name + ".partial")
        self.incidents = incidents_path(path)
        self.incidents_tmp = self.incidents.with_name(self.incidents.name + ".partial")
        self._writer: pq.ParquetWriter | None = None
        self._incident_writer: pq.ParquetWriter | None = None

    def write(self, frame: pl.DataFrame, incidents: pl.DataFrame | None = None) -> None:
        table = frame.to_arrow()
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.tmp, table.schema, compression="zstd")
        self._writer.write_table(table)
        if incidents is not None:
            rows = incidents.to_arrow()
            if self._incident_writer is None:
                self._incident_writer = pq.ParquetWriter(self.incidents_tmp, rows.schema, compression="zstd")
            self._incident_writer.write_table(rows)

    def close(self) -> None:
        if self._writer is None:
            self.write(pl.DataFrame(schema={"dataset_uuid": pl.String, "rule_code": pl.String,
                                            "business_date": pl.Date, "true_pass_percentage": pl.Float64}),
                       pl.DataFrame(schema=INCIDENT_SCHEMA))
        self._writer.close()  # type: ignore[union-attr]
        if self._incident_writer is not None:
            self._incident_writer.close()
            self.incidents_tmp.replace(self.incidents)
        self.tmp.replace(self.path)


def _empty_frame(typed: bool) -> pl.DataFrame:
    text = pl.String
    schema = {
        "source": text, "tenant_id": text, "dataset_uuid": text, "dataset_name": text, "rule_code": text,
        "business_date": pl.Date if typed else text, "results": text, "level_of_execution": text,
        "attribute_name": text, "dataset_record_count": pl.Int64 if typed else text,
        "filtered_record_count": pl.Int64 if typed else text,
    }
    return pl.DataFrame(schema=schema)
