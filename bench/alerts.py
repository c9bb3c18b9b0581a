"""`dqs alerts` against the anomaly detection users run today, on generated logs whose incidents
are known (issue 17).

    python -m dqs.bench.alerts [--rows 1000000] [--seed 7] [--eval-days 90] [--json FILE]

Data: `dqs generate --rows N --seed S --truth truth.parquet` (in $DQS_BENCH_DATA/alerts, default
./.bench-data/alerts); beside the truth, truth_incidents.parquet lists every incident (first and
last day of each run of incident days of a series). A model is trained with `dqs train LOG --model
M --as-of CUT` on the days before the last `eval-days` days; every method is then scored on the same
series-days after the cut: each day a series has pass/fail runs on, its daily pass percentage.

Methods, all looking for drops of the daily pass percentage, each day scored as of its own run:

- dqs: the one-step forecast as of the day before (`engine.alerts`, the code behind `dqs alerts`),
  flagged when the beta-binomial probability of a value this low or lower is <= 1% (severity
  low; see SEVERITY_PROBABILITY).
- Elementary z-score (dbt-data-reliability, `get_anomaly_scores_query.sql`): training set = the
  series' values in the training period (`days_back`, default 14 days) up to and including the
  scored day (a window "rows between unbounded preceding and current row" over buckets after
  detection end - days_back); anomaly_score = (value - avg) / stddev (sample), null when the
  training set has one value, 0 when stddev is 0; anomalous when the score < -anomaly_sensitivity
  (3) with anomaly_direction drop. Seasonality off, and `day_of_week`: the training set is the
  same weekday only, and `get_days_back` multiplies days_back by 7 (98 days, up to 14 values).
- Deequ OnlineNormalStrategy (defaults: lower/upperDeviationFactor 3.0, ignoreStartPercentage
  0.1, ignoreAnomalies true), as in `OnlineNormalStrategy.scala`: a running mean and population
  variance that include the current value (weight 1/(index+1)), anomalous outside mean +- 3 std,
  the first 10% of the series never flagged, an anomaly's value taken back out of the running
  statistics; a drop is an anomaly below the mean. The series is the metric history up to the
  first evaluated day when the 10% is counted (later days add at most eval-days points).

Scores per method: incident recall (incidents starting in the evaluated days, with a run on one of
their first two days, that are flagged on one of those days: within 1 day of the start), incidents
flagged at any day of the incident, the median detection delay (first flag - start, days, over
incidents flagged at some day of the incident), and false alerts: flags on series-days outside
every incident, per 1,000 such series-days. For dqs the same share is the check on its
probability: its 1% bar could give at most about 10 flags per 1,000 ordinary series-days if the
probability were exact and continuous; being discrete (a count of passes out of a few runs) it is
conservative, and the figure shows by how much.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from .runner import data_dir, dqs_command, run_measured

KEY = ["dataset_uuid", "rule_code"]
END = date(2026, 10, 30)  # the generator's default last day
SENSITIVITY = 3.0  # Elementary's anomaly_sensitivity default
DAYS_BACK = 14  # Elementary's days_back (training_period) default
DEEQU_FACTOR = 3.0
DEEQU_IGNORE_START = 0.1


def prepare(rows: int, seed: int, eval_days: int) -> dict:
    """The generated log, its truth and incidents, and a model trained before the cut (made once)."""
    folder = data_dir() / "alerts"
    folder.mkdir(parents=True, exist_ok=True)
    log, truth = folder / f"log-{rows}-{seed}.parquet", folder / f"truth-{rows}-{seed}.parquet"
    incidents = folder / f"truth-{rows}-{seed}_incidents.parquet"
    cut = END - timedelta(days=eval_days)
    model = folder / f"model-{rows}-{seed}-{cut}"
    if not incidents.exists():
        wall, _, code, tail = run_measured(dqs_command() + ["generate", "--rows", str(rows), "--output", str(log),
                                                            "--seed", str(seed), "--truth", str(truth)])
        if code != 0:
            raise SystemExit(f"dqs generate failed ({code}): {tail}")
    if not (model / "checksums.json").exists():
        wall, peak, code, tail = run_measured(dqs_command() + ["train", str(log), "--model", str(model),
                                                               "--as-of", cut.isoformat()])
        if code != 0:
            raise SystemExit(f"dqs train failed ({code}): {tail}")
    return {"log": log, "truth": truth, "incidents": incidents, "model": model, "cut": cut}


def dqs_flags(model: Path, log: Path, first: date, last: date) -> tuple[pl.DataFrame, float, float]:
    """dqs's flags on every series-day in [first, last] (one call: the states of every origin at once)."""
    from dqs.engine.alerts.detect import AlertOptions, bundle_dispersion, one_step_forecasts, score_forecasts
    from dqs.engine.forecast.bundle import load_bundle
    from dqs.engine.forecast.predict import prediction_history
    from dqs.engine.forecast.series import read_history

    bundle = load_bundle(model)
    history = prediction_history(bundle, read_history(str(log)))
    start = time.perf_counter()
    rho = bundle_dispersion(bundle)
    scored = score_forecasts(one_step_forecasts(bundle, history, first, last), rho, AlertOptions())
    seconds = time.perf_counter() - start
    # the drop-side probability of every day (1 where the day is not below its forecast): the
    # comparison rows at other bars are drawn from it
    probability = pl.when(pl.col("observed") < pl.col("expected")).then(pl.col("probability")).otherwise(1.0)
    return scored.select(*KEY, "business_date", pl.col("flagged").alias("dqs"), probability.alias("_p")), rho, seconds


def elementary_flags(daily: pl.DataFrame, first: date, seasonality: bool) -> pl.DataFrame:
    """Elementary's z-score on every observed series-day from `first` on."""
    by = KEY + (["_weekday"] if seasonality else [])
    period = f"{DAYS_BACK * 7 if seasonality else DAYS_BACK}d"
    frame = daily.select(*KEY, "business_date", "pass_pct").with_columns(
        pl.col("business_date").dt.weekday().alias("_weekday")).sort([*by, "business_date"])
    stats = frame.rolling(index_column="business_date", period=period, closed="right", group_by=by).agg(
        pl.col("pass_pct").last().alias("value"), pl.col("pass_pct").mean().alias("avg"),
        pl.col("pass_pct").std(ddof=1).alias("std"), pl.len().alias("n"))
    score = (pl.when(pl.col("n") <= 1).then(None).when(pl.col("std") == 0).then(0.0)
             .otherwise((pl.col("value") - pl.col("avg")) / pl.col("std")))
    name = "elementary_dow" if seasonality else "elementary"
    return stats.filter(pl.col("business_date") >= first).select(
        *KEY, "business_date", (score < -SENSITIVITY).fill_null(False).alias(name))


def deequ_flags(daily: pl.DataFrame, first: date) -> pl.DataFrame:
    """Deequ's OnlineNormalStrategy over each series' daily values, vectorised across series (one
    step per position in the series)."""
    frame = daily.select(*KEY, "business_date", "pass_pct").sort([*KEY, "business_date"]).with_columns(
        pl.int_range(pl.len()).over(KEY).alias("_i"), pl.len().over(KEY).alias("_len"),
        (pl.col("business_date") < first).sum().over(KEY).alias("_before"))
    ids = frame.select(KEY).unique(maintain_order=True).with_row_index("_s")
    frame = frame.join(ids, on=KEY)
    n_series, width = ids.height, int(frame["_len"].max() or 0)
    values = np.full((n_series, width), np.nan)
    values[frame["_s"].to_numpy(), frame["_i"].to_numpy()] = frame["pass_pct"].to_numpy()
    before = np.zeros(n_series)
    before[frame["_s"].to_numpy()] = frame["_before"].to_numpy()
    skip = before * DEEQU_IGNORE_START  # values to skip: 10% of the series' history at the first evaluated day
    mean, variance, sn = np.zeros(n_series), np.zeros(n_series), np.zeros(n_series)
    flags = np.zeros((n_series, width), dtype=bool)
    for i in range(width):
        x = values[:, i]
        present = ~np.isnan(x)
        last_mean, last_var, last_sn = mean.copy(), variance.copy(), sn.copy()
        new_mean = x if i == 0 else last_mean + (x - last_mean) / (i + 1)
        new_sn = last_sn + (x - last_mean) * (x - new_mean)
        new_var = new_sn / (i + 1)
        std = np.sqrt(new_var)
        anomaly = present & (i >= skip) & ((x > new_mean + DEEQU_FACTOR * std) | (x < new_mean - DEEQU_FACTOR * std))
        flags[:, i] = anomaly & (x < new_mean)
        keep = present & ~anomaly  # ignoreAnomalies: an anomaly leaves mean and variance as they were
        mean = np.where(keep, new_mean, last_mean)
        variance = np.where(keep, new_var, last_var)
        sn = np.where(keep, new_sn, last_sn)
    frame = frame.with_columns(pl.Series("deequ", flags[frame["_s"].to_numpy(), frame["_i"].to_numpy()]))
    return frame.filter(pl.col("business_date") >= first).select(*KEY, "business_date", "deequ")


METHODS = {
    "dqs": "dqs alerts (one-step forecast, probability <= 1%)",
    "elementary": "Elementary z-score, 14 days, sensitivity 3",
    "elementary_dow": "Elementary z-score, 14 days, sensitivity 3, seasonality day_of_week",
    "deequ": "Deequ OnlineNormalStrategy (3.0, 3.0, 0.1, ignoreAnomalies)",
}


def matched_bars(flags: pl.DataFrame, incidents: pl.DataFrame, rates: dict[str, float]) -> dict[str, float]:
    """For comparison only (it reads the truth): the dqs probability bar that gives, on the
    ordinary series-days, the false-alert rate of each other method."""
    inside = flags.join(incidents.select(*KEY, "incident_start", "incident_end"), on=KEY, how="left").with_columns(
        pl.col("business_date").is_between("incident_start", "incident_end").fill_null(False).alias("_in")
    ).group_by(*KEY, "business_date").agg(pl.col("_in").any())
    ordinary = flags.join(inside, on=[*KEY, "business_date"]).filter(~pl.col("_in"))["_p"].sort()
    bars = {}
    for method, rate in rates.items():
        allowed = int(rate / 1000 * ordinary.len())  # flags that rate allows on the ordinary days
        bars[method] = float(ordinary[allowed]) if 0 < allowed < ordinary.len() else 0.0
    return bars


def score(flags: pl.DataFrame, incidents: pl.DataFrame, first: date, last: date, methods: dict = None) -> dict:
    """Recall within 1 day of the start, recall at any incident day, median delay, false alerts."""
    days = flags.join(incidents.select(*KEY, "incident_start", "incident_end"), on=KEY, how="left").with_columns(
        pl.col("business_date").is_between(pl.col("incident_start"), pl.col("incident_end")).fill_null(False).alias("_in"))
    inside = days.group_by(*KEY, "business_date").agg(pl.col("_in").any().alias("in_incident"))
    series_days = flags.join(inside, on=[*KEY, "business_date"])
    wanted = incidents.filter(pl.col("incident_start").is_between(first, last))
    hits = wanted.join(flags, on=KEY).filter(pl.col("business_date").is_between("incident_start", "incident_end"))
    early = pl.col("business_date") <= pl.col("incident_start") + pl.duration(days=1)
    out = {"series_days": series_days.height, "incident_days": int(series_days["in_incident"].sum()),
           "incidents": hits.filter(early).select(*KEY, "incident_start").unique().height}
    for method in methods or METHODS:
        flagged = pl.col(method)
        ordinary = series_days.filter(~pl.col("in_incident"))
        # runs of consecutive flagged days (days the series reported on) inside the incident: more
        # than one means the incident was reported as new more than once
        starts = flagged & ~flagged.shift(1).over(KEY + ["incident_start"], order_by="business_date").fill_null(False)
        per_incident = hits.group_by(*KEY, "incident_start").agg(
            (early & flagged).any().alias("early"), (pl.col("business_date") - pl.col("incident_start")).dt.total_days()
            .filter(flagged).min().alias("delay"), early.any().alias("observable"),
            flagged.sum().alias("flagged_days"), pl.len().alias("observed_days"), starts.sum().alias("runs"))
        observable = per_incident.filter(pl.col("observable"))
        delays = per_incident["delay"].drop_nulls().to_list()
        out[method] = {
            "recall": round(observable["early"].mean() or 0.0, 4),
            "found_within_1_day": int(observable["early"].sum()),
            "found_at_any_day": len(delays),
            "median_delay_days": statistics.median(delays) if delays else None,
            "false_per_1000": round(1000 * ordinary[method].sum() / max(ordinary.height, 1), 2),
            "flags": int(series_days[method].sum()),
        }
        found = per_incident.filter(pl.col("flagged_days") > 0)
        out[method].update({
            "flagged_share_of_incident_days": round(found["flagged_days"].sum() / max(found["observed_days"].sum(), 1), 3),
            "found_reported_new_twice_or_more": int((found["runs"] >= 2).sum()),
        })
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dqs.bench.alerts", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--eval-days", type=int, default=90)
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args(argv)
    data = prepare(args.rows, args.seed, args.eval_days)
    first, last = data["cut"] + timedelta(days=1), END
    from dqs.engine.forecast.series import read_history

    daily = read_history(str(data["log"])).daily
    flags, rho, dqs_seconds = dqs_flags(data["model"], data["log"], first, last)
    # every method on the same series-days: those dqs can forecast (a run before the day)
    for frame in (elementary_flags(daily, first, False), elementary_flags(daily, first, True), deequ_flags(daily, first)):
        flags = flags.join(frame, on=[*KEY, "business_date"], how="left").with_columns(pl.col(frame.columns[-1]).fill_null(False))
    incidents = pl.read_parquet(data["incidents"])
    figures = score(flags, incidents, first, last)
    # comparison rows: dqs with its bar moved to each other method's false-alert rate (set from the truth)
    others = ("elementary", "elementary_dow", "deequ")
    bars = matched_bars(flags, incidents, {m: figures[m]["false_per_1000"] for m in others})
    matched = {f"dqs_at_{m}": f"  dqs, bar moved to {m}'s false-alert rate (p < {bars[m]:.2g})" for m in others}
    flags = flags.with_columns((pl.col("_p") < bars[m]).alias(f"dqs_at_{m}") for m in others)
    figures.update({k: v for k, v in score(flags, incidents, first, last, matched).items() if k in matched})
    figures["matched_bars"] = bars
    figures.update({"rows": args.rows, "seed": args.seed, "cut": data["cut"].isoformat(), "first_day": first.isoformat(),
                    "last_day": last.isoformat(), "dqs_dispersion": round(rho, 4), "dqs_seconds": round(dqs_seconds, 1)})
    print(f"{args.rows:,} rows, seed {args.seed}: trained up to {data['cut']}, scored {first}..{last}: "
          f"{figures['series_days']:,} series-days ({figures['incident_days']:,} inside incidents), "
          f"{figures['incidents']:,} incidents with a run within 1 day of their start; dqs scored them in "
          f"{dqs_seconds:.1f} s (dispersion rho {rho:.3f})")
    print(f"{'method':<72} {'recall':>7} {'found':>6} {'any day':>8} {'delay':>6} {'false/1000':>11} "
          f"{'flagged days':>13} {'new twice':>10}")
    for method, label in {**METHODS, **matched}.items():
        m = figures[method]
        delay = "-" if m["median_delay_days"] is None else f"{m['median_delay_days']:g}"
        print(f"{label:<72} {m['recall']:>7.1%} {m['found_within_1_day']:>6} {m['found_at_any_day']:>8} {delay:>6} "
              f"{m['false_per_1000']:>11.2f} {m['flagged_share_of_incident_days']:>13.1%} "
              f"{m['found_reported_new_twice_or_more']:>10}")
    d = figures["dqs"]
    for method in ("elementary", "elementary_dow", "deequ"):
        m = figures[method]
        beats = m["found_within_1_day"] > d["found_within_1_day"] and m["false_per_1000"] < d["false_per_1000"]
        print(f"dqs vs {method}: finds {d['found_within_1_day'] - m['found_within_1_day']:+d} incidents, "
              f"{d['false_per_1000'] - m['false_per_1000']:+.2f} false alerts per 1,000"
              f"{'; it beats dqs on both' if beats else ''}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
