"""Features of a series "as of" a forecast origin, one function for training, validation and
prediction.

`state_grid` gives, for every series and calendar day from its first observation on, trailing
statistics computed only from days up to and including that day (windows, forward fills and
cumulative sums never look ahead). An example pairs the grid row of its origin day with a target
day 1..horizon days later, so nothing after the origin can reach its features. The risk models
read more of the same grid (runs per observed day, the share of failing runs and of days below
the threshold), built the same way.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from .series import SERIES_KEY

WINDOWS = (3, 7, 28, 90)
EWM_ALPHA = 0.3
# not tenant_id: one level per customer, which trees memorise (measured: README, Forecasting)
CATEGORICAL = ("source", "rule_code", "rule_type", "dimension")
# Beside means of daily values, the share of failing runs (pooled: a day of three runs weighs
# three times a day of one), overall, recently and on the target's weekday, and the recent
# pooled rate moved by that weekday's effect: estimates of a series' true rate with less noise
# than means of 0/50/100% days (holdout MAE against the truth, seeds 7 / 2027: 0.807 / 0.795 of
# the best baseline without them, 0.795 / 0.791 with them).
STATE_FEATURES = (
    "last_value", "days_since_last", "mean_3d", "mean_7d", "mean_28d", "mean_90d", "std_28d",
    "mean_last7_obs", "ewm_mean", "fail_share_28d", "long_mean", "n_obs",
    "run_fail_share_28d", "run_fail_share_90d", "run_fail_share_long",
)
TARGET_FEATURES = ("horizon", "target_weekday", "target_day", "target_month", "weekday_effect",
                   "weekday_adjusted_mean", "weekday_run_fail_share", "weekday_adjusted_rate")
NUMERIC_FEATURES = STATE_FEATURES + TARGET_FEATURES
FEATURES = NUMERIC_FEATURES + CATEGORICAL
BASELINES = ("last_value", "mean_last7_obs", "same_weekday_last_week", "long_mean")
# The risk models (the chance of a day below the threshold, the day's runs) also see how many
# pass/fail runs a series has on its days, how often its days fall below, and a ready-made
# estimate of a day below the threshold (1 - the chance that every run passes).
RUN_STATE_FEATURES = (
    "runs_last", "runs_mean_28d", "runs_long_mean", "days_observed_28d", "below_share_28d", "below_share_long",
)
RUN_TARGET_FEATURES = ("weekday_runs_mean", "runs_estimate", "binomial_risk")
RISK_FEATURES = FEATURES + RUN_STATE_FEATURES + RUN_TARGET_FEATURES
DEFAULT_THRESHOLD = 100.0
GRID_ROWS_PER_CHUNK = 50_000  # series x days of one chunk's state grid (~70 columns each)


# grid columns that only `with_target` reads (per-weekday means and failing-run shares, the last
# 7 days' values)
HELPER_COLUMNS = ("_weekday", *(f"_weekday_mean_{j}" for j in range(1, 8)), *(f"_weekday_runs_{j}" for j in range(1, 8)),
                  *(f"_weekday_fails_{j}" for j in range(1, 8)),
                  *(f"_lag_{j}" for j in range(7)))


def state_grid(daily: pl.DataFrame, until: date, threshold: float = DEFAULT_THRESHOLD) -> pl.DataFrame:
    """Trailing state of every series on every day from its first observation to `until`
    (`threshold`: the pass percentage a day's value counts as "below" under)."""
    days = daily.filter(pl.col("business_date") <= until)
    if days.height == 0:
        return _empty_grid()
    spans = days.group_by(SERIES_KEY).agg(pl.col("business_date").min().alias("first"))
    grid = (
        spans.lazy()
        .with_columns(pl.date_ranges("first", pl.lit(until), interval="1d").alias("business_date"))
        .explode("business_date")
        .drop("first")
        .join(days.lazy().select([*SERIES_KEY, "business_date", "pass_pct", "passes", "fails"]),
              on=[*SERIES_KEY, "business_date"], how="left")
    )
    # means of the last 7 observed days and an exponentially weighted mean, over observations
    observed = days.sort([*SERIES_KEY, "business_date"]).select(  # eager: rolling over sorted rows
        *SERIES_KEY,
        "business_date",
        pl.col("pass_pct").rolling_mean(7, min_samples=1).over(SERIES_KEY).alias("mean_last7_obs"),
        pl.col("pass_pct").ewm_mean(alpha=EWM_ALPHA, adjust=True).over(SERIES_KEY).alias("ewm_mean"),
    )
    # rolling windows and fills below read rows in date order: sort after the last join
    grid = grid.join(observed.lazy(), on=[*SERIES_KEY, "business_date"], how="left").sort([*SERIES_KEY, "business_date"])

    v = pl.col("pass_pct")
    seen = v.is_not_null().cast(pl.Int64)
    value = v.fill_null(0.0)
    grid = grid.with_columns(
        seen.alias("_seen"),
        value.alias("_value"),
        (value * value).alias("_square"),
        ((v < 100.0).fill_null(False)).cast(pl.Int64).alias("_failing"),
        ((v < threshold).fill_null(False)).cast(pl.Int64).alias("_below"),
        (pl.col("passes") + pl.col("fails")).fill_null(0).cast(pl.Int64).alias("_decided"),
        pl.col("fails").fill_null(0).cast(pl.Int64).alias("_fails"),
        pl.when(v.is_not_null()).then(pl.col("business_date")).alias("_seen_date"),
        pl.col("business_date").dt.weekday().alias("_weekday"),  # 1 = Monday
    )
    by = SERIES_KEY
    exprs = [
        v.forward_fill().over(by).alias("last_value"),
        (pl.col("business_date") - pl.col("_seen_date").forward_fill().over(by)).dt.total_days().alias("days_since_last"),
        pl.col("mean_last7_obs").forward_fill().over(by),
        pl.col("ewm_mean").forward_fill().over(by),
        pl.col("_seen").cum_sum().over(by).alias("n_obs"),
        (pl.col("_value").cum_sum().over(by) / pl.col("_seen").cum_sum().over(by)).alias("long_mean"),
    ]
    for k in WINDOWS:
        n = pl.col("_seen").rolling_sum(k, min_samples=1).over(by)
        total = pl.col("_value").rolling_sum(k, min_samples=1).over(by)
        exprs.append(pl.when(n > 0).then(total / n).alias(f"mean_{k}d"))
    n28 = pl.col("_seen").rolling_sum(28, min_samples=1).over(by)
    mean28 = pl.col("_value").rolling_sum(28, min_samples=1).over(by) / n28
    square28 = pl.col("_square").rolling_sum(28, min_samples=1).over(by) / n28
    exprs.append(pl.when(n28 > 0).then((square28 - mean28 * mean28).clip(lower_bound=0).sqrt()).alias("std_28d"))
    exprs.append(pl.when(n28 > 0).then(pl.col("_failing").rolling_sum(28, min_samples=1).over(by) / n28).alias("fail_share_28d"))
    decided28 = pl.col("_decided").rolling_sum(28, min_samples=1).over(by)
    decided_all = pl.col("_decided").cum_sum().over(by)
    exprs += [
        pl.when(v.is_not_null()).then(pl.col("_decided")).forward_fill().over(by).alias("runs_last"),
        pl.when(n28 > 0).then(decided28 / n28).alias("runs_mean_28d"),
        (decided_all / pl.col("_seen").cum_sum().over(by)).alias("runs_long_mean"),
        n28.alias("days_observed_28d"),
        pl.when(decided28 > 0).then(pl.col("_fails").rolling_sum(28, min_samples=1).over(by) / decided28)
        .alias("run_fail_share_28d"),
        (pl.col("_fails").cum_sum().over(by) / decided_all).alias("run_fail_share_long"),
        pl.when((decided90 := pl.col("_decided").rolling_sum(90, min_samples=1).over(by)) > 0)
        .then(pl.col("_fails").rolling_sum(90, min_samples=1).over(by) / decided90).alias("run_fail_share_90d"),
        pl.when(n28 > 0).then(pl.col("_below").rolling_sum(28, min_samples=1).over(by) / n28).alias("below_share_28d"),
        (pl.col("_below").cum_sum().over(by) / pl.col("_seen").cum_sum().over(by)).alias("below_share_long"),
    ]
    for j in range(1, 8):  # mean value and mean runs per weekday so far
        on_day = (pl.col("_weekday") == j).cast(pl.Int64)
        count = (pl.col("_seen") * on_day).cum_sum().over(by)
        exprs.append(pl.when(count > 0).then((pl.col("_value") * on_day).cum_sum().over(by) / count).alias(f"_weekday_mean_{j}"))
        exprs.append(pl.when(count > 0).then((pl.col("_decided") * on_day).cum_sum().over(by) / count)
                     .alias(f"_weekday_runs_{j}"))
        decided_j = (pl.col("_decided") * on_day).cum_sum().over(by)
        exprs.append(pl.when(decided_j > 0).then((pl.col("_fails") * on_day).cum_sum().over(by) / decided_j)
                     .alias(f"_weekday_fails_{j}"))
    for lag in range(7):  # the value `lag` days before (same weekday last week comes from these)
        exprs.append(v.shift(lag).over(by).alias(f"_lag_{lag}"))
    return grid.with_columns(exprs).drop("_value", "_square", "_failing", "_below", "_decided", "_fails", "_seen_date",
                                         "_seen", "passes", "fails").collect()


def _empty_grid() -> pl.DataFrame:
    return pl.DataFrame(schema={"dataset_uuid": pl.String, "rule_code": pl.String, "business_date": pl.Date})


def with_target(rows: pl.DataFrame) -> pl.DataFrame:
    """Target-day features and the same-weekday baseline for rows holding a grid state (as of
    `origin`) and a `target_date`."""
    target_weekday = pl.col("target_date").dt.weekday()
    weekday_mean = _pick([f"_weekday_mean_{j}" for j in range(1, 8)], target_weekday - 1)
    # the latest day <= origin with the target's weekday is (origin weekday - target weekday) mod 7 back
    back = (pl.col("_weekday") - target_weekday) % 7
    same_weekday = _pick([f"_lag_{j}" for j in range(7)], back)
    weekday_runs = _pick([f"_weekday_runs_{j}" for j in range(1, 8)], target_weekday - 1)
    weekday_fails = _pick([f"_weekday_fails_{j}" for j in range(1, 8)], target_weekday - 1)
    # runs on the target's weekday when it has been seen on that weekday, else the series' mean
    runs_estimate = pl.coalesce(weekday_runs, "runs_long_mean").clip(lower_bound=1.0)
    run_fail = pl.coalesce("run_fail_share_28d", "run_fail_share_long").clip(0.0, 1.0)
    rows = rows.with_columns(
        weekday_runs.alias("weekday_runs_mean"),
        weekday_fails.alias("weekday_run_fail_share"),
        runs_estimate.alias("runs_estimate"),
        (1.0 - (1.0 - run_fail).pow(runs_estimate)).alias("binomial_risk"),
    )
    return rows.with_columns(
        (pl.col("target_date") - pl.col("origin")).dt.total_days().alias("horizon"),
        target_weekday.alias("target_weekday"),
        pl.col("target_date").dt.day().alias("target_day"),
        pl.col("target_date").dt.month().alias("target_month"),
        (weekday_mean - pl.col("long_mean")).alias("weekday_effect"),
        # a ready-made estimate the trees can refine: the recent level moved by the weekday effect
        (pl.coalesce("mean_90d", "long_mean") + (weekday_mean - pl.col("long_mean")).fill_null(0.0))
        .clip(0.0, 100.0).alias("weekday_adjusted_mean"),
        same_weekday.fill_null(pl.col("last_value")).alias("same_weekday_last_week"),
        (100.0 * (1.0 - (pl.coalesce("run_fail_share_90d", "run_fail_share_long")
                         + (pl.col("weekday_run_fail_share") - pl.col("run_fail_share_long")).fill_null(0.0))))
        .clip(0.0, 100.0).alias("weekday_adjusted_rate"),
    ).drop(HELPER_COLUMNS, strict=False)  # read above only: examples need not carry them


def _pick(columns: list[str], index: pl.Expr) -> pl.Expr:
    """The value of `columns[index]` on each row (a when/then chain: a list of the columns with
    `list.get` gives the same values, many times slower)."""
    chosen = pl.when(index == 0).then(pl.col(columns[0]))
    for i, name in enumerate(columns[1:], start=1):
        chosen = chosen.when(index == i).then(pl.col(name))
    return chosen


def states_at(daily: pl.DataFrame, until: date, wanted: pl.DataFrame, grid_rows: int = GRID_ROWS_PER_CHUNK,
              threshold: float = DEFAULT_THRESHOLD) -> pl.DataFrame:
    """The grid rows of `wanted` (SERIES_KEY + business_date), built a few series at a time (each
    chunk's grid, series x days from their first day to `until`, near `grid_rows` rows): every
    statistic is per series, so chunks give the same rows, and only the wanted days are kept
    (memory follows the chunk, not series x days)."""
    keys = wanted.select(SERIES_KEY).unique()
    days = (daily.filter(pl.col("business_date") <= until).join(keys, on=SERIES_KEY, how="semi")
            .sort([*SERIES_KEY, "business_date"]))
    spans = days.group_by(SERIES_KEY, maintain_order=True).agg(
        pl.len().alias("_days"), ((pl.lit(until) - pl.col("business_date").min()).dt.total_days() + 1).alias("_grid"))
    chunks = spans.group_by(((pl.col("_grid").cum_sum() - pl.col("_grid")) // max(1, grid_rows)).alias("_chunk"),
                            maintain_order=True).agg(pl.col("_days").sum())
    parts, start = [], 0
    for length in chunks["_days"].to_list():  # each chunk's series are consecutive rows of `days`
        grid = state_grid(days.slice(start, length), until, threshold)
        parts.append(grid.join(wanted, on=[*SERIES_KEY, "business_date"], how="semi"))
        start += length
    if not parts:
        return state_grid(daily.clear(), until, threshold)
    return pl.concat(parts, how="vertical_relaxed")


def origin_states(daily: pl.DataFrame, until: date, origins: list[date],
                  threshold: float = DEFAULT_THRESHOLD) -> pl.DataFrame:
    """States of every series of `daily` on each of `origins`."""
    keys = daily.select(SERIES_KEY).unique()
    wanted = keys.join(pl.DataFrame({"business_date": origins}, schema={"business_date": pl.Date}), how="cross")
    return states_at(daily, until, wanted, threshold=threshold)


def training_examples(daily: pl.DataFrame, states: pl.DataFrame, horizon: int) -> pl.DataFrame:
    """Every (series, origin, target day) with an observed target 1..horizon days after an
    origin, with the origin's state; `states` are grid rows on the origin days. The labels are
    `target` (the day's pass percentage) and `target_runs` (its pass/fail runs), never features."""
    states = states.filter(pl.col("n_obs") > 0).rename({"business_date": "origin"})
    targets = daily.select(
        *SERIES_KEY, pl.col("business_date").alias("target_date"), pl.col("pass_pct").alias("target"),
        (pl.col("passes") + pl.col("fails")).cast(pl.Int64).alias("target_runs"),
    )
    horizons = pl.DataFrame({"_h": list(range(1, horizon + 1))}, schema={"_h": pl.Int32})
    pairs = (
        states.lazy()
        .join(horizons.lazy(), how="cross")
        .with_columns((pl.col("origin") + pl.duration(days=pl.col("_h"))).alias("target_date"))
        .drop("_h")
        .join(targets.lazy(), on=[*SERIES_KEY, "target_date"], how="inner")
        .collect()
    )
    return with_target(pairs)


def attach_attributes(rows: pl.DataFrame, attributes: pl.DataFrame) -> pl.DataFrame:
    columns = [c for c in CATEGORICAL if c != "rule_code"]
    return rows.join(attributes.select([*SERIES_KEY, *columns]), on=SERIES_KEY, how="left")
