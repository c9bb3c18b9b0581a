"""Scores of predictions against held-out values: the model beside the naive baselines, the
band's coverage and the risk's calibration.

Every figure is a ratio of sums, so `Scores` adds scored rows a part at a time (a backtest runs
a few thousand series at once, under the memory limit) and reports once at the end: the same
report, up to floating-point rounding, as one `add` of all the rows.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import polars as pl

from .features import BASELINES
from .series import SERIES_KEY

HORIZON_BUCKETS = ((1, 7), (8, 14), (15, 28), (29, 90), (91, 366))
RUNS_BUCKETS = ((1, 1), (2, 2), (3, 3), (4, 5), (6, None))  # pass/fail runs on the target day
RUNS_LABELS = tuple(str(lo) if hi == lo else (f"{lo}-{hi}" if hi else f"{lo}+") for lo, hi in RUNS_BUCKETS)
PROBABILITY_BINS = 10  # reliability: equal-width bins of predicted probability (0-0.1, ..., 0.9-1)
BRIER_BASELINE = "the series' share of days below the threshold, up to the origin"
RUNS_BASELINE = "the series' mean runs per observed day, up to the origin"


class _Errors:
    """Sums of absolute and squared errors where both sides are known."""

    __slots__ = ("absolute", "squared", "n")

    def __init__(self) -> None:
        self.absolute, self.squared, self.n = 0.0, 0.0, 0

    def add(self, actual: np.ndarray, predicted: np.ndarray) -> None:
        mask = ~np.isnan(predicted) & ~np.isnan(actual)
        diff = predicted[mask] - actual[mask]
        self.absolute += float(np.abs(diff).sum())
        self.squared += float((diff * diff).sum())
        self.n += int(diff.size)

    def report(self) -> dict:
        if not self.n:
            return {"mae": None, "rmse": None, "n": 0}
        return {"mae": self.absolute / self.n, "rmse": float(np.sqrt(self.squared / self.n)), "n": self.n}


def _floats(frame: pl.DataFrame, name: str) -> np.ndarray:
    return frame[name].cast(pl.Float64).fill_null(np.nan).to_numpy()


class Scores:
    """Scored rows (`target`, `target_runs`, `horizon`, `predicted`, `lower`, `upper`, the
    baselines and, for the risk, `probability_below_threshold`, `expected_runs`,
    `below_share_long`, `runs_long_mean`), added a part at a time.

    The report: MAE/RMSE overall and per horizon bucket for the model and every baseline, against
    the observed values and, where truth is given, the true ones; band coverage and width, also
    per number of runs on the day; and with a `threshold`, the risk: Brier score beside the
    baseline's, reliability per equal-width bin of predicted probability, the expected
    calibration error (the bins' gaps between mean predicted and observed frequency, weighted by
    their share of days), and the runs' error beside the series' mean runs per observed day."""

    def __init__(self, coverage: float, threshold: float | None = None, with_truth: bool = False) -> None:
        self.coverage, self.threshold = coverage, threshold
        self.targets = ("observed", "truth") if with_truth else ("observed",)
        self.examples = 0
        self.errors: dict[tuple[str, str, str], _Errors] = defaultdict(_Errors)  # target, bucket, method
        self.inside, self.width = 0, 0.0
        self.runs_inside: dict[str, list[float]] = {}  # label: n, inside, width (in RUNS_BUCKETS' order)
        self.bins = np.zeros((3, PROBABILITY_BINS))  # per bin: days, predicted sum, observed sum
        self.below, self.probability, self.brier = 0.0, 0.0, 0.0
        self.brier_base = 0.0  # over the rows whose series has a baseline share
        self.unshared, self.unshared_below = 0, 0.0  # rows without one: scored against the overall share
        self.runs_observed, self.runs_expected = 0.0, 0.0
        self.runs_errors, self.runs_base = _Errors(), _Errors()

    def add(self, scored: pl.DataFrame, truth: pl.DataFrame | None = None) -> Scores:
        """Adds `scored`; `truth` (SERIES_KEY, business_date, true_pass_percentage) holds the true
        values of its target days (other rows are ignored)."""
        if scored.height == 0:
            return self
        if "truth" in self.targets:
            known = truth if truth is not None else pl.DataFrame(
                schema={**{k: pl.String for k in SERIES_KEY}, "business_date": pl.Date, "true_pass_percentage": pl.Float64})
            scored = scored.join(known.select(*SERIES_KEY, pl.col("business_date").alias("target_date"),
                                              "true_pass_percentage"),
                                 on=[*SERIES_KEY, "target_date"], how="left", maintain_order="left")
        self.examples += scored.height
        actual = {"observed": scored["target"].cast(pl.Float64).to_numpy()}
        if "truth" in self.targets:
            actual["truth"] = _floats(scored, "true_pass_percentage")
        methods = {"model": _floats(scored, "predicted"), **{name: _floats(scored, name) for name in BASELINES}}
        horizons = scored["horizon"].to_numpy()
        buckets = [("overall", np.ones(scored.height, dtype=bool))] + [
            (f"{lo}-{hi}", (horizons >= lo) & (horizons <= hi)) for lo, hi in HORIZON_BUCKETS]
        for target, values in actual.items():
            for bucket, mask in buckets:
                if mask.any():
                    for method, predicted in methods.items():
                        self.errors[target, bucket, method].add(values[mask], predicted[mask])
        observed = actual["observed"]
        lower, upper = _floats(scored, "lower"), _floats(scored, "upper")
        inside = (observed >= lower) & (observed <= upper)
        self.inside += int(inside.sum())
        self.width += float((upper - lower).sum())
        runs = scored["target_runs"].to_numpy()
        for (lo, hi), label in zip(RUNS_BUCKETS, RUNS_LABELS):
            mask = (runs >= lo) & (runs <= (hi if hi is not None else np.iinfo(np.int64).max))
            if mask.any():
                sums = self.runs_inside.setdefault(label, [0, 0, 0.0])
                sums[0] += int(mask.sum())
                sums[1] += int(inside[mask].sum())
                sums[2] += float((upper[mask] - lower[mask]).sum())
        if self.threshold is not None:
            self._add_risk(scored, observed, runs)
        return self

    def _add_risk(self, scored: pl.DataFrame, observed: np.ndarray, runs: np.ndarray) -> None:
        below = (observed < self.threshold).astype(np.float64)
        probability = scored["probability_below_threshold"].to_numpy()
        baseline = _floats(scored, "below_share_long")
        shared = ~np.isnan(baseline)
        self.below += float(below.sum())
        self.probability += float(probability.sum())
        self.brier += float(((probability - below) ** 2).sum())
        self.brier_base += float(((baseline[shared] - below[shared]) ** 2).sum())
        self.unshared += int((~shared).sum())
        self.unshared_below += float(below[~shared].sum())
        bins = np.minimum((probability * PROBABILITY_BINS).astype(np.int64), PROBABILITY_BINS - 1)
        self.bins[0] += np.bincount(bins, minlength=PROBABILITY_BINS)
        self.bins[1] += np.bincount(bins, weights=probability, minlength=PROBABILITY_BINS)
        self.bins[2] += np.bincount(bins, weights=below, minlength=PROBABILITY_BINS)
        runs = runs.astype(np.float64)
        expected = scored["expected_runs"].to_numpy()
        self.runs_observed += float(runs.sum())
        self.runs_expected += float(expected.sum())
        self.runs_errors.add(runs, expected)
        self.runs_base.add(runs, _floats(scored, "runs_long_mean"))

    def report(self) -> dict:
        out: dict = {"examples": self.examples}
        for target in self.targets:
            section: dict = {
                "overall": {m: self.errors[target, "overall", m].report() for m in ("model", *BASELINES)},
                "by_horizon": {},
            }
            for lo, hi in HORIZON_BUCKETS:
                bucket = f"{lo}-{hi}"
                if (target, bucket, "model") in self.errors:
                    section["by_horizon"][bucket] = {m: self.errors[target, bucket, m].report() for m in ("model", *BASELINES)}
            base = [section["overall"][b]["mae"] for b in BASELINES if section["overall"][b]["mae"] is not None]
            best = min(base) if base else None
            model_mae = section["overall"]["model"]["mae"]
            section["best_baseline_mae"] = best
            section["model_to_best_baseline"] = (model_mae / best) if best and model_mae is not None else None
            out[target] = section
        n = self.examples
        out["band"] = {"coverage": self.inside / n if n else None, "mean_width": self.width / n if n else None,
                       "nominal": self.coverage,
                       "by_runs": [self._by_runs(label) for label in RUNS_LABELS if label in self.runs_inside]}
        if self.threshold is not None:
            out["risk"] = self._risk_report()
        return out

    def _by_runs(self, label: str) -> dict:
        count, inside, width = self.runs_inside[label]
        return {"runs": label, "n": count, "coverage": inside / count, "mean_width": width / count}

    def _risk_report(self) -> dict:
        n = self.examples
        if n == 0:
            return {"threshold": self.threshold, "examples": 0}
        frequency = self.below / n
        # rows without a baseline share are scored against the overall share: sum of (f - below)^2
        # over them, with below in {0, 1}
        unshared = self.unshared * frequency ** 2 - 2 * frequency * self.unshared_below + self.unshared_below
        brier, brier_base = self.brier / n, (self.brier_base + unshared) / n
        reliability, ece = [], 0.0
        counts, predicted, observed = self.bins
        for b in np.flatnonzero(counts):
            mean_p, freq = predicted[b] / counts[b], observed[b] / counts[b]
            ece += counts[b] / n * abs(mean_p - freq)
            reliability.append({"bin": f"{b / PROBABILITY_BINS:.1f}-{(b + 1) / PROBABILITY_BINS:.1f}",
                                "n": int(counts[b]), "share": float(counts[b] / n), "mean_predicted": float(mean_p),
                                "observed": float(freq)})
        return {
            "threshold": self.threshold,
            "examples": n,
            "observed_frequency": frequency,
            "mean_probability": self.probability / n,
            "brier": {"model": brier, "baseline": brier_base,
                      "skill": (1 - brier / brier_base) if brier_base > 0 else None, "baseline_is": BRIER_BASELINE},
            "ece": float(ece),
            "reliability": reliability,
            "runs": {"mean_expected": self.runs_expected / n, "mean_observed": self.runs_observed / n,
                     "mae": self.runs_errors.report()["mae"], "baseline_mae": self.runs_base.report()["mae"],
                     "baseline_is": RUNS_BASELINE},
        }
