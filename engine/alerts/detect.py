"""Alerts: every series' results on day D against the forecast made as of D-1, explained.

For each series with pass/fail runs on D, the bundle's model forecasts D's pass percentage one
step ahead from the series' state on D-1, built from days up to D-1 only (the same feature code
as training). The observed day is then scored by how surprising it is given that forecast and
the day's number of runs (`probability`, below), flagged, and given a severity. Flags are
computed the same way over a lookback of earlier days, so an incident that goes on is one alert
per day file with the date it started (`ongoing_since`), not a new alert every day.

At risk: from D's state, the bundle's risk model gives, for each of the next N days, the chance
that the day's pass percentage falls below the model's threshold; a series is at risk when its
riskiest day is at least `risk_cutoff` likely.

Pure functions over Polars frames; no printing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import polars as pl
from scipy import stats  # a dependency of LightGBM's Python package

from ..errors import InputError
from ..forecast.bundle import Bundle
from ..forecast.features import attach_attributes, states_at, with_target
from ..forecast.series import SERIES_KEY, History
from ..forecast.train import predict_risk, predict_rows

SEVERITIES = ("low", "medium", "high", "critical")
# The largest `probability` that still reaches each severity; "low" is the flag itself. A day's
# value is a count out of a few runs, so the probability is discrete and conservative: on the
# ordinary (non-incident) days of the benchmark (bench/alerts.py) a probability <= 1% occurs on
# 0.15-0.21 series-days per 1,000, not 10; the false-alert rate is measured there, not assumed.
SEVERITY_PROBABILITY = {"low": 1e-2, "medium": 1e-3, "high": 1e-5, "critical": 1e-7}
DIRECTIONS = ("drop", "rise", "both")
METHOD = "one-step LightGBM forecast as of the day before; beta-binomial probability"
RISK_METHOD = "LightGBM risk model (calibrated); at risk when the riskiest day's probability >= cutoff"
# A day's expected pass rate is kept inside [0.1%, 99.9%]: one failing run on a series that has
# never failed is at most a 1-in-1,000 surprise ("low"), never an arbitrarily small probability.
RATE_CLIP = 1e-3
DISPERSION_DAYS = 28  # the bundle's last days of history that measure the day-to-day dispersion
MAX_DISPERSION = 0.5

# the columns of the alerts and at-risk files, in order, with their types
_ALERT_SCHEMA = {
    "dataset_uuid": pl.String, "rule_code": pl.String, "business_date": pl.Date, "observed_pass_percentage": pl.Float64,
    "runs": pl.Int64, "passes": pl.Int64, "fails": pl.Int64, "expected_pass_percentage": pl.Float64,
    "lower_pass_percentage": pl.Float64, "upper_pass_percentage": pl.Float64, "probability": pl.Float64,
    "severity": pl.String, "ongoing_since": pl.Date, "days_flagged": pl.Int64, "direction": pl.String,
    "forecast_origin": pl.Date, "history_days": pl.Int64, "history_first_day": pl.Date, "history_last_day": pl.Date,
    "method": pl.String, "source": pl.String, "tenant_id": pl.String, "dataset_name": pl.String,
}
_AT_RISK_SCHEMA = {
    "dataset_uuid": pl.String, "rule_code": pl.String, "business_date": pl.Date, "horizon_days": pl.Int64,
    "threshold": pl.Float64, "max_daily_probability": pl.Float64, "riskiest_date": pl.Date,
    "expected_pass_percentage_on_riskiest_date": pl.Float64, "probability_any_day": pl.Float64,
    "alerted_today": pl.Boolean, "method": pl.String, "source": pl.String, "tenant_id": pl.String,
    "dataset_name": pl.String,
}
ALERT_COLUMNS = tuple(_ALERT_SCHEMA)
AT_RISK_COLUMNS = tuple(_AT_RISK_SCHEMA)
FORECAST_SCHEMA = {
    "dataset_uuid": pl.String, "rule_code": pl.String, "business_date": pl.Date, "passes": pl.Int64,
    "fails": pl.Int64, "runs": pl.Int64, "observed": pl.Float64, "expected": pl.Float64, "lower": pl.Float64,
    "upper": pl.Float64, "origin": pl.Date, "history_days": pl.Int64, "history_first_day": pl.Date,
    "history_last_day": pl.Date,
}


@dataclass(frozen=True)
class AlertOptions:
    day: date | None = None  # default: the latest day of the history
    direction: str = "drop"
    min_drop: float = 0.0  # percentage points between expected and observed
    min_runs: int = 1  # pass/fail runs on the day
    min_severity: str = "low"
    lookback_days: int = 28  # earlier days scored to find where an ongoing incident started
    horizon: int = 7  # days ahead for the at-risk list
    risk_cutoff: float = 0.5

    def check(self, bundle: Bundle) -> None:
        if self.direction not in DIRECTIONS:
            raise InputError(f"--direction {self.direction!r} is not one of {', '.join(DIRECTIONS)}",
                             hint="drop (the default) flags values below the forecast, rise above, both either")
        if self.min_severity not in SEVERITIES:
            raise InputError(f"--min-severity {self.min_severity!r} is not one of {', '.join(SEVERITIES)}",
                             hint="low < medium < high < critical")
        if not 1 <= self.horizon <= bundle.horizon:
            raise InputError(f"--horizon {self.horizon} is outside the model's 1..{bundle.horizon} days",
                             hint=f"give at most {bundle.horizon}, or train with `dqs train ... --horizon {self.horizon}`")
        if self.min_drop < 0 or self.min_runs < 1 or self.lookback_days < 0 or not 0 < self.risk_cutoff <= 1:
            raise InputError("--min-drop must be >= 0, --min-runs >= 1, --lookback-days >= 0, --risk-cutoff in (0, 1]",
                             hint="see `dqs alerts --help`")


@dataclass
class AlertResult:
    day: date
    alerts: pl.DataFrame  # ALERT_COLUMNS, day D only, at or above min_severity
    at_risk: pl.DataFrame  # AT_RISK_COLUMNS
    series_checked: int
    dispersion: float
    counts: dict[str, int] = field(default_factory=dict)  # alerts per severity

    @property
    def new(self) -> int:
        return self.alerts.filter(pl.col("ongoing_since") == pl.col("business_date")).height

    def reaches(self, level: str) -> bool:
        return any(self.counts.get(s, 0) for s in SEVERITIES[SEVERITIES.index(level):])

    def as_dict(self) -> dict:
        return {"date": self.day.isoformat(), "series_checked": self.series_checked, "alerts": self.alerts.height,
                "new": self.new, "ongoing": self.alerts.height - self.new, "per_severity": self.counts,
                "at_risk": self.at_risk.height, "dispersion": self.dispersion}


def one_step_forecasts(bundle: Bundle, history: History, first: date, last: date) -> pl.DataFrame:
    """For every series with pass/fail runs on a day in [first, last], the forecast of that day
    made as of the day before: features from the series' state on D-1, computed from days up to
    D-1 only (days >= `last` are dropped before anything is computed; for earlier days the state
    is trailing, so it reads nothing after its origin), one step ahead. A series needs at least one
    observed day before D. Columns: FORECAST_SCHEMA."""
    daily = history.daily
    targets = daily.filter(pl.col("business_date").is_between(first, last)).select(
        *SERIES_KEY, "business_date", pl.col("passes").cast(pl.Int64), pl.col("fails").cast(pl.Int64),
        (pl.col("passes") + pl.col("fails")).cast(pl.Int64).alias("runs"), pl.col("pass_pct").alias("observed"),
        (pl.col("business_date") - pl.duration(days=1)).alias("origin"),
    )
    known = daily.filter(pl.col("business_date") < last)  # nothing from `last` on reaches any state
    firsts = known.group_by(SERIES_KEY).agg(pl.col("business_date").min().alias("history_first_day"))
    targets = targets.join(firsts, on=SERIES_KEY, how="inner").filter(pl.col("history_first_day") <= pl.col("origin"))
    if targets.height == 0:
        return pl.DataFrame(schema=FORECAST_SCHEMA)
    wanted = targets.select(*SERIES_KEY, pl.col("origin").alias("business_date")).unique()
    states = states_at(known, last - timedelta(days=1), wanted, threshold=bundle.threshold).rename({"business_date": "origin"})
    rows = with_target(targets.rename({"business_date": "target_date"}).join(states, on=[*SERIES_KEY, "origin"], how="left"))
    rows = attach_attributes(rows, history.attributes)
    scored = predict_rows(rows, bundle.booster, bundle.levels, bundle.bands, bundle.best_iteration)
    return scored.select(
        *SERIES_KEY, pl.col("target_date").alias("business_date"), "passes", "fails", "runs", "observed",
        pl.col("predicted").alias("expected"), "lower", "upper", "origin",
        pl.col("n_obs").cast(pl.Int64).alias("history_days"), "history_first_day",
        (pl.col("origin") - pl.duration(days=pl.col("days_since_last"))).cast(pl.Date).alias("history_last_day"),
    ).sort([*SERIES_KEY, "business_date"])


def estimate_dispersion(forecasts: pl.DataFrame) -> float:
    """The intra-day correlation rho of a beta-binomial, by the method of moments on days with two
    or more runs: how much more a day's passes vary around the forecast than independent runs
    would (model error and the day's shared cause both count). 0 gives a binomial."""
    rows = forecasts.filter((pl.col("runs") >= 2) & pl.col("expected").is_not_null())
    if rows.height == 0:
        return 0.0
    n = rows["runs"].to_numpy().astype(float)
    k = rows["passes"].to_numpy().astype(float)
    p = np.clip(rows["expected"].to_numpy() / 100.0, RATE_CLIP, 1 - RATE_CLIP)
    binomial = n * p * (1 - p)
    denominator = float(np.sum(binomial * (n - 1)))
    if denominator <= 0:
        return 0.0
    rho = float(np.sum((k - n * p) ** 2 - binomial)) / denominator
    return float(np.clip(rho, 0.0, MAX_DISPERSION))


def bundle_dispersion(bundle: Bundle) -> float:
    """The dispersion measured on the bundle's own last DISPERSION_DAYS days of history (its
    calibration days, never the alert day's data): fixed for a bundle, not contaminated by
    today's incidents."""
    last = bundle.history.last_date
    if last is None:
        return 0.0
    return estimate_dispersion(one_step_forecasts(bundle, bundle.history, last - timedelta(days=DISPERSION_DAYS - 1), last))


def tail_probability(forecasts: pl.DataFrame, rho: float, direction: str) -> np.ndarray:
    """The probability of a day at least this far from the forecast in `direction` (drop: this
    many passes or fewer; rise: this many or more; both: the smaller of the two).

    Why a beta-binomial: a day's value is passes out of its runs, so its spread depends on the
    runs (one run can only be 0% or 100%; ten failing runs out of ten are far rarer than one out
    of one). The day's pass rate is taken as Beta-distributed around the forecast with the
    dispersion rho measured on the bundle's held-out days (`bundle_dispersion`), which widens the
    binomial by the model's own error instead of trusting the forecast as exact."""
    if forecasts.height == 0:
        return np.zeros(0)
    n = forecasts["runs"].to_numpy()
    k = forecasts["passes"].to_numpy()
    p = np.clip(forecasts["expected"].to_numpy() / 100.0, RATE_CLIP, 1 - RATE_CLIP)
    if rho <= 1e-9:
        low, high = stats.binom.cdf(k, n, p), stats.binom.sf(k - 1, n, p)
    else:
        kappa = 1.0 / rho - 1.0
        a, b = p * kappa, (1 - p) * kappa
        low, high = stats.betabinom.cdf(k, n, a, b), stats.betabinom.sf(k - 1, n, a, b)
    chosen = {"drop": low, "rise": high, "both": np.minimum(low, high)}[direction]
    return np.clip(np.asarray(chosen, dtype=float), 0.0, 1.0)


def score_forecasts(forecasts: pl.DataFrame, rho: float, options: AlertOptions) -> pl.DataFrame:
    """Adds `probability`, `flagged`, `severity` (null when not flagged) and `direction`."""
    out = forecasts.with_columns(pl.Series("probability", tail_probability(forecasts, rho, options.direction),
                                           dtype=pl.Float64))
    below = pl.col("observed") < pl.col("expected")
    above = pl.col("observed") > pl.col("expected")
    side = {"drop": below, "rise": above, "both": below | above}[options.direction]
    flagged = (
        side & (pl.col("probability") <= SEVERITY_PROBABILITY["low"]) & (pl.col("runs") >= options.min_runs)
        & ((pl.col("observed") - pl.col("expected")).abs() >= options.min_drop)
    ).fill_null(False)
    severity = pl.when(~flagged).then(pl.lit(None, pl.String))
    for level in reversed(SEVERITIES):
        severity = severity.when(pl.col("probability") <= SEVERITY_PROBABILITY[level]).then(pl.lit(level))
    return out.with_columns(
        flagged.alias("flagged"), severity.alias("severity"),
        pl.when(below).then(pl.lit("drop")).when(above).then(pl.lit("rise")).otherwise(pl.lit("none")).alias("direction"),
    )


def ongoing_runs(scored: pl.DataFrame) -> pl.DataFrame:
    """For each series flagged on its last scored day: the first day of the run of consecutive
    flagged days (days the series reported on) that ends there, and the run's length."""
    by_series = scored.group_by(SERIES_KEY).agg(
        pl.col("business_date").max().alias("_last"),
        pl.col("business_date").filter(~pl.col("flagged")).max().alias("_last_clear"),
    )
    run = scored.filter(pl.col("flagged")).join(by_series, on=SERIES_KEY).filter(
        pl.col("_last_clear").is_null() | (pl.col("business_date") > pl.col("_last_clear")))
    return run.group_by(SERIES_KEY).agg(
        pl.col("business_date").min().alias("ongoing_since"), pl.len().cast(pl.Int64).alias("days_flagged"))


def at_risk(bundle: Bundle, history: History, day: date, options: AlertOptions) -> pl.DataFrame:
    """Series that reported within the lookback (up to `day`) whose riskiest of the next
    `options.horizon` days is below the bundle's threshold with probability >= risk_cutoff.
    `probability_any_day` = 1 - prod(1 - p) over those days is reported beside it: it treats the
    days as independent and as all reported on, so it overstates the chance (days of one series
    are positively correlated), which is why the cut is on the riskiest day."""
    known = history.daily.filter(pl.col("business_date") <= day)
    recent = known.filter(pl.col("business_date") > day - timedelta(days=max(options.lookback_days, 1))).select(
        SERIES_KEY).unique()
    if recent.height == 0:
        return pl.DataFrame(schema=_AT_RISK_SCHEMA)
    states = states_at(known, day, recent.with_columns(pl.lit(day).alias("business_date")), threshold=bundle.threshold)
    states = states.rename({"business_date": "origin"})
    targets = pl.DataFrame({"target_date": [day + timedelta(days=h) for h in range(1, options.horizon + 1)]},
                           schema={"target_date": pl.Date})
    rows = attach_attributes(with_target(states.join(targets, how="cross")), history.attributes)
    scored = predict_risk(predict_rows(rows, bundle.booster, bundle.levels, bundle.bands, bundle.best_iteration),
                          bundle.risk, bundle.levels)
    p = pl.col("probability_below_threshold")
    per_series = scored.group_by(SERIES_KEY).agg(
        p.max().alias("max_daily_probability"),
        pl.col("target_date").sort_by(p, descending=True).first().alias("riskiest_date"),
        pl.col("predicted").sort_by(p, descending=True).first().alias("expected_pass_percentage_on_riskiest_date"),
        (1.0 - (1.0 - p).clip(1e-12, 1.0).log().sum().exp()).alias("probability_any_day"),
    )
    return per_series.filter(pl.col("max_daily_probability") >= options.risk_cutoff).with_columns(
        pl.lit(day).alias("business_date"), pl.lit(options.horizon, pl.Int64).alias("horizon_days"),
        pl.lit(bundle.threshold).alias("threshold"), pl.lit(RISK_METHOD).alias("method"),
    )


def find_alerts(bundle: Bundle, history: History, options: AlertOptions = AlertOptions()) -> AlertResult:
    """The alerts of day D (options.day, default the history's latest day) and the at-risk list."""
    options.check(bundle)
    last = history.last_date
    if last is None:
        raise InputError("the history holds no pass or fail results", hint="pass a results log, or ingest one into the store")
    day = options.day or last
    if day > last:
        raise InputError(f"--date {day} is after the last day with results ({last})",
                         hint=f"give a day up to {last}, or add that day's results first")
    rho = bundle_dispersion(bundle)
    forecasts = one_step_forecasts(bundle, history, day - timedelta(days=options.lookback_days), day)
    scored = score_forecasts(forecasts, rho, options)
    scored = scored.with_columns(pl.lit(METHOD).alias("method"))
    today = scored.filter(pl.col("business_date") == day)
    runs = ongoing_runs(scored)  # the forecasts end at `day`
    names = history.attributes.select(*SERIES_KEY, "source", "tenant_id", "dataset_name").unique(SERIES_KEY, keep="last")
    alerts = (
        today.filter(pl.col("flagged")).join(runs, on=SERIES_KEY, how="left").join(names, on=SERIES_KEY, how="left")
        .rename({"observed": "observed_pass_percentage", "expected": "expected_pass_percentage",
                 "lower": "lower_pass_percentage", "upper": "upper_pass_percentage", "origin": "forecast_origin"})
    )
    rank = {level: i for i, level in enumerate(SEVERITIES)}
    alerts = alerts.filter(pl.col("severity").replace_strict(rank, return_dtype=pl.Int64) >= rank[options.min_severity])
    alerts = alerts.select([pl.col(c).cast(t) for c, t in _ALERT_SCHEMA.items()]).sort(
        "probability", *SERIES_KEY)
    counts = {level: alerts.filter(pl.col("severity") == level).height for level in SEVERITIES}
    risky = at_risk(bundle, history, day, options)
    risky = risky.join(names, on=SERIES_KEY, how="left").with_columns(
        pl.struct(SERIES_KEY).is_in(alerts.select(pl.struct(SERIES_KEY)).to_series().implode()).alias("alerted_today"))
    risky = risky.select([pl.col(c).cast(t) for c, t in _AT_RISK_SCHEMA.items()]).sort(
        "max_daily_probability", *SERIES_KEY, descending=[True, False, False])
    return AlertResult(day=day, alerts=alerts, at_risk=risky, series_checked=today.height, dispersion=rho, counts=counts)
