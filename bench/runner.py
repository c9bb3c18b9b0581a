"""Run benchmark cases: generate inputs once, time the real CLI and the floor, read peak RSS.

Wall time and peak RSS come from the child process itself (`os.wait4` rusage), so nothing of the
benchmark harness is counted. The floor is DuckDB reading the same file with all columns
typed and aggregating every value of every column (so no statistics can stand in for the
data), in a fresh interpreter as well: `ratio = dqs / floor` is the figure that stays
comparable across machines. On a shared machine both drift by a fifth within minutes, so a case
runs the floor and dqs alternately, N times each, and the ratio is best dqs over best floor: noise
only ever adds time, and alternating keeps a slow minute from landing on one side only.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

SIZES = {"100k": 100_000, "1m": 1_000_000, "10m": 10_000_000, "100m": 100_000_000}
DEFAULT_SIZES = "100k"
SIZES_ENV = "DQS_BENCH_SIZES"
DATA_ENV = "DQS_BENCH_DATA"
REPEAT_ENV = "DQS_BENCH_REPEAT"
SEED = 20261130


@dataclass(frozen=True)
class Case:
    """One benchmark: a dqs command on a generated input, with its memory ceiling."""

    name: str
    size: str
    format: str
    memory_limit: str | None
    ceiling_mb: int
    command: str = "summarize"  # or "train", "batch-predict", "batch-predict-store"

    @property
    def rows(self) -> int:
        return SIZES[self.size]


@dataclass
class Measurement:
    case: str
    size: str
    format: str
    rows: int
    wall_s: float
    peak_rss_mb: float
    floor_wall_s: float
    floor_peak_rss_mb: float
    ratio: float
    ceiling_mb: int
    memory_limit: str | None
    exit_code: int
    stages: dict[str, float]
    wall_runs_s: list[float]  # every run, to show the spread behind the best
    floor_runs_s: list[float]

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.wall_s if self.wall_s else 0.0

    @property
    def within_ceiling(self) -> bool:
        return self.peak_rss_mb <= self.ceiling_mb

    def as_dict(self) -> dict:
        return {**asdict(self), "rows_per_s": round(self.rows_per_s, 1), "within_ceiling": self.within_ceiling}


# Ceilings: peak RSS of the whole dqs process (Python, Polars, DuckDB), in MB.
CASES: tuple[Case, ...] = (
    Case("summarize-csv-100k", "100k", "csv", None, 450),
    Case("summarize-parquet-100k", "100k", "parquet", None, 450),
    Case("summarize-csv-1m", "1m", "csv", None, 700),
    Case("summarize-parquet-1m", "1m", "parquet", None, 700),
    Case("summarize-csv-10m", "10m", "csv", None, 1400),
    Case("summarize-csv-10m-256mb", "10m", "csv", "256MB", 512),
    Case("summarize-parquet-10m", "10m", "parquet", None, 1400),
    Case("summarize-parquet-100m-1gb", "100m", "parquet", "1GB", 2048),
    Case("train-csv-1m", "1m", "csv", "1GB", 2048, "train"),
    Case("train-parquet-10m-1gb", "10m", "parquet", "1GB", 2048, "train"),
    Case("train-parquet-100m-1gb", "100m", "parquet", "1GB", 2048, "train"),
    Case("batch-predict-1m", "1m", "csv", None, 2048, "batch-predict"),
    Case("batch-predict-store-1m", "1m", "csv", None, 2048, "batch-predict-store"),
)
CASES_ENV = "DQS_BENCH_CASES"  # more cases by name, beside the sizes' (the CI gate adds train-csv-1m)


def selected_sizes(spec: str | None = None) -> list[str]:
    text = spec if spec is not None else os.environ.get(SIZES_ENV, DEFAULT_SIZES)
    sizes = [s.strip().lower() for s in text.split(",") if s.strip()]
    unknown = [s for s in sizes if s not in SIZES]
    if unknown:
        raise ValueError(f"unknown benchmark sizes {unknown}; choose from {sorted(SIZES)}")
    return sizes


def selected_cases(sizes: list[str], formats: list[str] | None = None, names: str | None = None) -> list[Case]:
    """The cases of `sizes` (and `formats`), plus those named in `names` (default $DQS_BENCH_CASES)."""
    text = names if names is not None else os.environ.get(CASES_ENV, "")
    named = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in named if n not in {c.name for c in CASES}]
    if unknown:
        raise ValueError(f"unknown benchmark cases {unknown}; choose from {[c.name for c in CASES]}")
    return [c for c in CASES if (c.size in sizes and (formats is None or c.format in formats)) or c.name in named]


def data_dir() -> Path:
    path = Path(os.environ.get(DATA_ENV, Path.cwd() / ".bench-data"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def dqs_command() -> list[str]:
    _compile_package()
    return [sys.executable, "-m", "dqs"]


@functools.cache
def _compile_package() -> None:
    """Byte-compile dqs' modules once, as `pip install` does for an installed package. A source
    checkout installed in editable mode has no bytecode, and with PYTHONDONTWRITEBYTECODE set
    Python would compile every module again in every measured process (0.1-0.15 s a run)."""
    import compileall

    import dqs
    import dqs.cli
    import dqs.engine

    for folder in {*dqs.__path__, *dqs.cli.__path__, *dqs.engine.__path__}:
        compileall.compile_dir(folder, quiet=1)


def run_measured(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, int, str]:
    """Run `cmd`; returns (wall seconds, peak RSS in MB, exit code, stderr tail)."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env={**os.environ, **(env or {})})
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        tail = err.read()[-2000:].decode("utf-8", "replace")
    peak_mb = usage.ru_maxrss / 1024 if sys.platform != "darwin" else usage.ru_maxrss / 1024 / 1024
    return wall, peak_mb, proc.returncode, tail


def ensure_input(size: str, fmt: str) -> Path:
    """The generated input for a size and format, made once and reused (deterministic seed)."""
    suffix = "parquet" if fmt == "parquet" else "csv"
    path = data_dir() / f"results-{size}.{suffix}"
    if not path.exists():
        wall, _, code, tail = run_measured(
            dqs_command() + ["generate", "--rows", str(SIZES[size]), "--seed", str(SEED), "--output", str(path)]
        )
        if code != 0:
            raise RuntimeError(f"generating {path} failed: {tail}")
    return path


# the input columns as the floor reads them, typed
TYPED_COLUMNS = {
    "source": "VARCHAR", "tenant_id": "VARCHAR", "dataset_uuid": "VARCHAR", "dataset_name": "VARCHAR",
    "rule_code": "VARCHAR", "business_date": "DATE", "results": "VARCHAR", "level_of_execution": "VARCHAR",
    "attribute_name": "VARCHAR", "dataset_record_count": "BIGINT", "filtered_record_count": "BIGINT",
}

FLOOR_SCRIPT = """
import sys, duckdb
path, fmt = sys.argv[1], sys.argv[2]
cols = %r
con = duckdb.connect()
con.execute('SET enable_progress_bar = false')
if fmt == 'requests':
    cols = {'dataset_uuid': 'VARCHAR', 'rule_code': 'VARCHAR', 'business_date': 'DATE'}
    source = con.read_csv(path, header=True, columns=cols)
elif fmt == 'csv':
    source = con.read_csv(path, header=True, columns=cols)
else:
    source = con.read_parquet(path)
# every value must be decoded: min()/count() could be answered from Parquet statistics
def agg(c, t):
    return f'sum(length("{c}"))' if t == 'VARCHAR' else f'max("{c}" + 1)' if t == 'DATE' else f'sum("{c}")'
aggs = ', '.join(['count(*)'] + [agg(c, t) for c, t in cols.items()])
print(source.aggregate(aggs).fetchall())
""" % (TYPED_COLUMNS,)


def measure_floor(path: Path, fmt: str) -> tuple[float, float]:
    wall, peak, code, tail = run_measured([sys.executable, "-c", FLOOR_SCRIPT, str(path), fmt])
    if code != 0:
        raise RuntimeError(f"floor run failed: {tail}")
    return wall, peak


def repeats(case: Case) -> int:
    """Best-of-N timing up to 10M rows, where one noisy run would swing the ratio; the 100M case
    runs once, and the forecasting commands at most twice (tens of seconds to minutes each)."""
    if case.rows > 10_000_000:
        return 1
    wanted = max(1, int(os.environ.get(REPEAT_ENV, 3)))
    return wanted if case.command == "summarize" else min(wanted, 2)


def ensure_model(size: str) -> Path:
    """A model bundle trained on the generated log of `size`, made once (and again when this
    dqs computes other features than the bundle's, which it would refuse)."""
    from dqs.engine.forecast.features import FEATURES, RISK_FEATURES

    model = data_dir() / f"model-{size}"
    meta = model / "metadata.json"
    if meta.exists():
        trained = json.loads(meta.read_text())
        if trained.get("features") != list(FEATURES) or trained.get("risk", {}).get("features") != list(RISK_FEATURES):
            shutil.rmtree(model)
    if not model.exists():
        log = ensure_input(size, "csv")
        _, _, code, tail = run_measured(dqs_command() + ["train", str(log), "--model", str(model)])
        if code != 0:
            raise RuntimeError(f"training {model} failed: {tail}")
    return model


def ensure_requests(size: str) -> Path:
    """SIZES[size] batch-predict requests over the model's series and horizons (deterministic)."""
    path = data_dir() / f"requests-{size}.csv"
    if not path.exists():
        import numpy as np
        import polars as pl

        model = ensure_model(size)
        series = pl.read_parquet(model / "attributes.parquet").select("dataset_uuid", "rule_code")
        last = pl.read_parquet(model / "history.parquet")["business_date"].max()
        rng = np.random.default_rng(SEED)
        n = SIZES[size]
        rows = series[rng.integers(0, series.height, n)].with_columns(
            (pl.lit(last) + pl.duration(days=pl.Series(rng.integers(1, 29, n)))).cast(pl.String).alias("business_date"))
        rows.write_csv(path)
    return path


def ensure_store(size: str) -> Path:
    """A history store holding the generated log of `size` (one ingest), made once."""
    store = data_dir() / f"forecast-store-{size}"
    if not (store / "dqs-store.json").exists():
        _, _, code, tail = run_measured(dqs_command() + ["ingest", str(ensure_input(size, "csv")), "--store", str(store), "-q"])
        if code != 0:
            raise RuntimeError(f"ingesting into {store} failed: {tail}")
    return store


def _command(case: Case, out: Path) -> tuple[list[str], Path]:
    """The dqs command line of a case, and the input file its floor reads."""
    if case.command == "train":
        path = ensure_input(case.size, case.format)
        cmd = dqs_command() + ["train", str(path), "--model", str(out / "model")]
        return cmd + (["--memory-limit", case.memory_limit] if case.memory_limit else []), path
    if case.command in ("batch-predict", "batch-predict-store"):
        requests = ensure_requests(case.size)
        cmd = dqs_command() + ["batch-predict", "--model", str(ensure_model(case.size)), "--input", str(requests),
                               "--output", str(out / "predictions.csv")]
        return cmd + (["--store", str(ensure_store(case.size))] if case.command == "batch-predict-store" else []), requests
    path = ensure_input(case.size, case.format)
    cmd = dqs_command() + ["summarize", str(path), "--output-dir", str(out), "--quiet"]
    if case.memory_limit:
        cmd += ["--memory-limit", case.memory_limit]
    return cmd, path


def run_case(case: Case) -> Measurement:
    n = repeats(case)
    walls, peaks, floors = [], [], []
    stages: dict[str, float] = {}
    out = Path(tempfile.mkdtemp(prefix="dqs-bench-"))
    try:
        cmd, path = _command(case, out)
        for _ in range(n):
            floors.append(measure_floor(path, "requests" if case.command.startswith("batch-predict") else case.format))
            wall, peak, code, tail = run_measured(cmd)
            if code != 0:
                raise RuntimeError(f"{case.name} failed with exit code {code}: {tail}")
            walls.append(wall)
            peaks.append(peak)
        if (out / "run_report.json").exists():
            report = json.loads((out / "run_report.json").read_text())
            stages = {s["name"]: s["wall_s"] for s in report["performance"]["stages"]}
    finally:
        shutil.rmtree(out, ignore_errors=True)
    wall, peak = min(walls), max(peaks)
    floor_wall, floor_peak = min(f[0] for f in floors), max(f[1] for f in floors)
    return Measurement(
        case=case.name, size=case.size, format=case.format, rows=case.rows,
        wall_s=round(wall, 3), peak_rss_mb=round(peak, 1),
        floor_wall_s=round(floor_wall, 3), floor_peak_rss_mb=round(floor_peak, 1),
        ratio=round(wall / floor_wall, 3), ceiling_mb=case.ceiling_mb,
        memory_limit=case.memory_limit, exit_code=code, stages=stages,
        wall_runs_s=[round(w, 3) for w in walls], floor_runs_s=[round(f[0], 3) for f in floors],
    )


def format_table(rows: list[Measurement]) -> str:
    header = ("case", "rows", "wall s", "rows/s", "peak RSS MB", "floor s", "ratio", "ceiling MB", "verdict")
    lines = [header]
    for m in rows:
        lines.append((
            m.case, f"{m.rows:,}", f"{m.wall_s:.2f}", f"{m.rows_per_s:,.0f}", f"{m.peak_rss_mb:.0f}",
            f"{m.floor_wall_s:.2f}", f"{m.ratio:.2f}", str(m.ceiling_mb),
            "ok" if m.within_ceiling else "OVER CEILING",
        ))
    widths = [max(len(r[i]) for r in lines) for i in range(len(header))]
    out = []
    for i, r in enumerate(lines):
        out.append("  ".join(cell.ljust(w) if j == 0 else cell.rjust(w) for j, (cell, w) in enumerate(zip(r, widths))))
        if i == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)
