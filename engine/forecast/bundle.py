"""The model bundle: a directory holding LightGBM's text models (pass percentage, risk of a day
below the threshold, runs), JSON metadata (with the risk's calibration), the compact daily history
needed to predict, and the sha256 of every file (checked on load). Never pickle."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from importlib import metadata as package_metadata
from pathlib import Path

import lightgbm as lgb
import polars as pl

from ..database import Database
from ..errors import InputError
from ..queries import query
from .features import CATEGORICAL, FEATURES, RISK_FEATURES
from .train import RiskModel, Trained
from .series import SERIES_DAILY_DIR, SERIES_KEY, History
from .training_data import Loader, TrainingData

FORMAT_VERSION = 2  # 2: the risk models (risk_model.txt, runs_model.txt) and their metadata
MODEL_FILE = "model.txt"
RISK_MODEL_FILE = "risk_model.txt"
RUNS_MODEL_FILE = "runs_model.txt"
HISTORY_FILE = "history.parquet"
ATTRIBUTES_FILE = "attributes.parquet"
METADATA_FILE = "metadata.json"
CHECKSUMS_FILE = "checksums.json"
DATA_FILES = (MODEL_FILE, RISK_MODEL_FILE, RUNS_MODEL_FILE, HISTORY_FILE, ATTRIBUTES_FILE)


@dataclass
class Bundle:
    """A loaded bundle. Its daily history (all the series trained on: large for a large log) is
    read on first use, so predictions from a store or a newer log never load it."""

    booster: lgb.Booster
    metadata: dict
    risk: RiskModel
    path: Path
    _history: History | None = field(default=None, repr=False)
    _attributes: pl.DataFrame | None = field(default=None, repr=False)

    @property
    def history(self) -> History:
        if self._history is None:
            from .series import with_pass_pct

            daily = with_pass_pct(pl.read_parquet(self.path / HISTORY_FILE))
            self._history = History(daily, self.attributes)
        return self._history

    def loader(self, newer: Loader | None = None) -> Loader:
        """A loader of the bundle's own days as `series_daily` (never read into memory),
        extended by the days `newer` loads: for a day in both, the newer results win."""
        def load(db: Database, folder: Path) -> pl.DataFrame:
            if newer is None:
                db.parquet_view("series_daily", self.path / HISTORY_FILE)
                return self.attributes
            db.parquet_view("bundle_daily", self.path / HISTORY_FILE)
            attributes = newer(db, folder)
            db.parquet_view("newer_daily", folder / SERIES_DAILY_DIR)
            db.execute(query("series.sql", "merge_newer_daily"))
            return merge_attributes(self.attributes, attributes)
        return load

    @property
    def attributes(self) -> pl.DataFrame:
        """Every series' source, tenant, dataset name and rule metadata (read once)."""
        if self._attributes is None:
            self._attributes = pl.read_parquet(self.path / ATTRIBUTES_FILE)
        return self._attributes

    @property
    def threshold(self) -> float:
        return float(self.metadata["risk"]["threshold"])

    @property
    def levels(self) -> dict[str, list[str]]:
        return self.metadata["category_levels"]

    @property
    def bands(self) -> list[dict]:
        return self.metadata["bands"]

    @property
    def horizon(self) -> int:
        return int(self.metadata["horizon"])

    @property
    def best_iteration(self) -> int:
        return int(self.metadata["best_iteration"])

    @property
    def last_training_day(self) -> date:
        return date.fromisoformat(self.metadata["training_window"]["last_day"])


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _versions() -> dict[str, str]:
    out = {}
    for name in ("dqs", "lightgbm", "polars", "duckdb", "numpy", "pyarrow"):
        try:
            out[name] = package_metadata.version(name)
        except package_metadata.PackageNotFoundError:
            out[name] = "unknown"
    return out


def save_bundle(path: Path, trained: Trained, history: History | TrainingData, source: dict | None = None) -> Path:
    """Write the bundle to a temporary directory beside `path`, then rename it into place
    (`history`: what was trained on, every series of it; `source`: where the history came from,
    e.g. a store and its version, for the metadata)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        trained.booster.save_model(str(staging / MODEL_FILE), num_iteration=trained.best_iteration or None)
        risk = trained.risk
        risk.classifier.save_model(str(staging / RISK_MODEL_FILE), num_iteration=risk.classifier_iteration or None)
        risk.runs.save_model(str(staging / RUNS_MODEL_FILE), num_iteration=risk.runs_iteration or None)
        if isinstance(history, TrainingData):  # every series' days, written by DuckDB
            shutil.copyfile(history.history_file, staging / HISTORY_FILE)
        else:
            history.daily.select("dataset_uuid", "rule_code", "business_date", "passes", "fails", "unknown",
                                 "runs").write_parquet(staging / HISTORY_FILE, compression="zstd")
        history.attributes.write_parquet(staging / ATTRIBUTES_FILE, compression="zstd")
        meta = {
            "format_version": FORMAT_VERSION,
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "features": list(FEATURES),
            "categorical_features": list(CATEGORICAL),
            "category_levels": trained.levels,
            "horizon": trained.options.horizon,
            "coverage": trained.options.coverage,
            "bands": trained.bands,
            "best_iteration": trained.best_iteration,
            "risk": {
                "threshold": risk.threshold,
                "probability": "P(the day's pass percentage < threshold), for a day with a pass or fail run",
                "features": list(RISK_FEATURES),
                "classifier_best_iteration": risk.classifier_iteration,
                "runs_best_iteration": risk.runs_iteration,
                "calibration": {"method": "isotonic (pool adjacent violators) on the calibration slice, "
                                          "interpolated linearly", **risk.calibration},
                "runs_scale": risk.runs_scale,
            },
            "training_source": source or {},
            "training_window": trained.window,
            "training_options": asdict(trained.options),
            "metrics": trained.metrics,
            "report": trained.report,
            "library_versions": _versions(),
            "files": {name: _sha256(staging / name) for name in DATA_FILES},
        }
        (staging / METADATA_FILE).write_text(json.dumps(meta, indent=2, default=str) + "\n", encoding="utf-8")
        checksums = {name: _sha256(staging / name) for name in (*DATA_FILES, METADATA_FILE)}
        (staging / CHECKSUMS_FILE).write_text(json.dumps(checksums, indent=2) + "\n", encoding="utf-8")
        if path.exists():
            old = path.with_name(f".{path.name}.old-{os.getpid()}")
            path.rename(old)
            staging.rename(path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            staging.rename(path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return path


def load_bundle(path: Path) -> Bundle:
    """Load and verify a bundle; any missing, changed or unknown-version file is refused."""
    path = Path(path)
    if not path.is_dir():
        raise InputError(f"model bundle {path} does not exist", hint="train one with `dqs train ... --model PATH`")
    try:
        checksums = json.loads((path / CHECKSUMS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"model bundle {path}: {CHECKSUMS_FILE} is missing or unreadable",
                         hint="the bundle is incomplete; train it again") from exc
    for name in (*DATA_FILES, METADATA_FILE):
        file = path / name
        if not file.is_file():
            raise InputError(f"model bundle {path}: {name} is missing", hint="the bundle is incomplete; train it again")
        if checksums.get(name) != _sha256(file):
            raise InputError(f"model bundle {path}: {name} does not match its sha256",
                             hint="the file was changed or truncated after training; train the model again")
    meta = json.loads((path / METADATA_FILE).read_text(encoding="utf-8"))
    if meta.get("format_version") != FORMAT_VERSION:
        raise InputError(f"model bundle {path} has format version {meta.get('format_version')!r}, "
                         f"this dqs reads version {FORMAT_VERSION}", hint="train the model again with this dqs")
    if meta.get("features") != list(FEATURES) or meta.get("risk", {}).get("features") != list(RISK_FEATURES):
        raise InputError(f"model bundle {path} was trained with other features",
                         hint="train the model again with this dqs")
    booster = lgb.Booster(model_file=str(path / MODEL_FILE))
    info = meta["risk"]
    calibration = info["calibration"]
    risk = RiskModel(
        threshold=float(info["threshold"]),
        classifier=lgb.Booster(model_file=str(path / RISK_MODEL_FILE)),
        classifier_iteration=int(info["classifier_best_iteration"]),
        runs=lgb.Booster(model_file=str(path / RUNS_MODEL_FILE)),
        runs_iteration=int(info["runs_best_iteration"]),
        calibration={"raw": calibration["raw"], "probability": calibration["probability"]},
        runs_scale=float(info["runs_scale"]),
    )
    return Bundle(booster, meta, risk, path)


def merge_history(bundle_history: History, newer: History) -> History:
    """The bundle's history extended by newer results; for a day present in both, the newer
    results win (they were read from the full log of that day)."""
    key = ["dataset_uuid", "rule_code", "business_date"]
    daily = pl.concat([
        bundle_history.daily.join(newer.daily.select(key), on=key, how="anti"),
        newer.daily,
    ], how="vertical_relaxed").sort(key)
    return History(daily, merge_attributes(bundle_history.attributes, newer.attributes))


def merge_attributes(bundle_attributes: pl.DataFrame, newer: pl.DataFrame) -> pl.DataFrame:
    """Every series' attributes: the newer results' where they have the series, else the bundle's."""
    return pl.concat([bundle_attributes.join(newer.select(SERIES_KEY), on=SERIES_KEY, how="anti"), newer],
                     how="diagonal_relaxed")

