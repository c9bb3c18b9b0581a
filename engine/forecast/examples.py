"""Training examples built a chunk of series at a time, straight into compact matrices.

Every feature is per series, so a chunk's examples are the same rows the whole history would
give. Each chunk's examples are split by origin date into the train, validation and calibration
slices and encoded at once into float32 column-major matrices of RISK_FEATURES (the pass
percentage model reads the FEATURES prefix of the same matrices, without a copy); the polars
frames of a chunk are dropped before the next one, so memory follows the sample plus one chunk.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import polars as pl

from .features import (BASELINES, CATEGORICAL, FEATURES, GRID_ROWS_PER_CHUNK, RISK_FEATURES, attach_attributes, state_grid,
                       training_examples)
from .series import SERIES_KEY

# the calibration slice keeps these beside its matrix, for the report of the model and baselines
SCORE_COLUMNS = ("target", "target_runs", "horizon", *BASELINES, "below_share_long", "runs_long_mean")


def encode(rows: pl.DataFrame, levels: dict[str, list[str]], features: tuple[str, ...] = FEATURES) -> np.ndarray:
    """The feature matrix (float32, column-major): numeric features as they are, categoricals as
    their level index (unknown levels and missing values become NaN, which LightGBM treats as
    missing)."""
    out = np.empty((rows.height, len(features)), dtype=np.float32, order="F")
    for i, name in enumerate(features):
        if name in CATEGORICAL:
            mapping = pl.DataFrame({name: levels[name], "_code": np.arange(len(levels[name]), dtype=np.float32)},
                                   schema={name: pl.String, "_code": pl.Float32})
            column = rows.select(pl.col(name).cast(pl.String)).join(mapping, on=name, how="left", maintain_order="left")["_code"]
        else:
            column = rows[name].cast(pl.Float32)
        out[:, i] = column.to_numpy()
    return out


@dataclass
class Slice:
    """One slice's examples: matrices of RISK_FEATURES (one per chunk) and their labels."""

    matrices: list[np.ndarray] = field(default_factory=list)
    target: list[np.ndarray] = field(default_factory=list)
    runs: list[np.ndarray] = field(default_factory=list)
    weight: list[np.ndarray] = field(default_factory=list)
    scores: list[pl.DataFrame] = field(default_factory=list)  # SCORE_COLUMNS (calibration slice only)
    rows: int = 0  # examples added (the matrices may be freed once binned)

    def add(self, rows: pl.DataFrame, levels: dict[str, list[str]], keep_scores: bool) -> None:
        if rows.height == 0:
            return
        self.rows += rows.height
        self.matrices.append(encode(rows, levels, RISK_FEATURES))
        self.target.append(rows["target"].cast(pl.Float64).to_numpy())
        self.runs.append(rows["target_runs"].cast(pl.Float64).to_numpy())
        self.weight.append(rows["weight"].cast(pl.Float64).to_numpy())
        if keep_scores:
            self.scores.append(rows.select(pl.col(c).cast(pl.Float32) for c in SCORE_COLUMNS))

    def features(self, columns: int | None = None) -> list[np.ndarray]:
        """The matrices, or views of their first `columns` columns (FEATURES is a prefix)."""
        return self.matrices if columns is None else [m[:, :columns] for m in self.matrices]

    def matrix(self, columns: int | None = None) -> np.ndarray:
        parts = self.features(columns)
        return np.asfortranarray(np.concatenate(parts)) if parts else np.empty((0, columns or len(RISK_FEATURES)), np.float32)

    def labels(self, name: str) -> np.ndarray:
        parts = getattr(self, name)
        return np.concatenate(parts) if parts else np.empty(0)

    def score_frame(self) -> pl.DataFrame:
        return pl.concat(self.scores) if self.scores else pl.DataFrame(schema={c: pl.Float32 for c in SCORE_COLUMNS})


@dataclass
class Slices:
    train: Slice
    valid: Slice
    calib: Slice


def chunks(daily: pl.DataFrame, last: date) -> Iterator[pl.DataFrame]:
    """The observed days of `daily` (sorted by series) a few series at a time: each chunk's state
    grid (series x days from its first day to `last`) stays near GRID_ROWS_PER_CHUNK rows."""
    spans = (daily.group_by(SERIES_KEY, maintain_order=True)
             .agg(pl.len().alias("_days_observed"), pl.col("business_date").min().alias("_first"))
             .with_columns(((pl.lit(last) - pl.col("_first")).dt.total_days() + 1).alias("_grid")))
    spans = spans.with_columns((pl.col("_grid").cum_sum() // GRID_ROWS_PER_CHUNK).alias("_chunk"))
    offsets = spans.group_by("_chunk", maintain_order=True).agg(pl.col("_days_observed").sum())
    start = 0
    for length in offsets["_days_observed"].to_list():
        yield daily.slice(start, length)
        start += length


def build_slices(daily: pl.DataFrame, attributes: pl.DataFrame, weights: pl.DataFrame, last: date,
                 origins: list[date], valid_start: date, calib_start: date, horizon: int, threshold: float,
                 levels: dict[str, list[str]], keep: float = 1.0, seed: int = 0) -> Slices:
    """The examples of `daily`'s series (sorted by series and day) at `origins` (a seeded share
    `keep` of them), weighted by their series' `weights`, split by date: train (origin and target
    before `valid_start`), validation (origin from `valid_start`, target before `calib_start`) and
    calibration (origin from `calib_start`)."""
    slices = Slices(Slice(), Slice(), Slice())
    wanted = pl.DataFrame({"business_date": origins}, schema={"business_date": pl.Date})
    rng = np.random.default_rng(seed)
    for part in chunks(daily, last):
        states = state_grid(part, last, threshold).join(wanted, on="business_date", how="semi")
        examples = training_examples(part, states, horizon)
        if keep < 1.0:  # one draw per example, in a fixed order: the same sample every time
            examples = examples.sort([*SERIES_KEY, "origin", "target_date"]).filter(pl.Series(rng.random(examples.height) < keep))
        examples = attach_attributes(examples, attributes)
        examples = examples.join(weights, on=SERIES_KEY, how="left").sort([*SERIES_KEY, "origin", "target_date"])
        origin, target = pl.col("origin"), pl.col("target_date")
        slices.train.add(examples.filter((origin < valid_start) & (target < valid_start)), levels, False)
        slices.valid.add(examples.filter((origin >= valid_start) & (origin < calib_start) & (target < calib_start)),
                         levels, False)
        slices.calib.add(examples.filter(origin >= calib_start), levels, True)
    return slices
