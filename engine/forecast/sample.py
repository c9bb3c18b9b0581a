"""Which series a model learns from: a bounded, stratified, weighted sample planned before any
example is built, so that training memory follows the sample, not the history.

Every series' examples are kept or dropped together (its origins and horizons stay whole, the
features are per series). Series are grouped into strata: rule code x how densely the series
reports (daily, weekdays, sparse) x whether it has failing days (most runs failing: incidents).
Each stratum keeps at least `minimum` series (rare rules and sparse series are never sampled
away), strata with failing days are kept at twice the rate of the others, and the rate is set so
that the expected examples fit the budget. A kept series' examples carry the weight
`series in stratum / series kept`, so the weighted sample stands for the whole history.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from .series import SERIES_KEY

MINIMUM_PER_STRATUM = 3
SERIES_FACTOR = 4.0  # series are sampled down to this many times the example budget, examples after
FAILING_BOOST = 2.0  # strata with failing days (incidents) are sampled at this multiple of the rate
DENSE_SHARE = 0.75  # observed days / days spanned: at least this is "daily"
WEEKDAY_SHARE = 0.4  # at least this is "weekdays", below it "sparse"


@dataclass(frozen=True)
class SamplePlan:
    """The sampled series with their weights, and what the plan decided."""

    series: pl.DataFrame  # SERIES_KEY, weight
    summary: dict

    @property
    def complete(self) -> bool:
        return self.summary["series_sampled"] == self.summary["series"]


def strata(stats: pl.DataFrame) -> pl.DataFrame:
    """`stats` (one row per series: rule_code, first_day, last_day, observed_days, failing_days,
    expected_examples) with its `stratum` and the stratum's `boost`."""
    span = (pl.col("last_day") - pl.col("first_day")).dt.total_days() + 1
    share = pl.col("observed_days") / span
    density = (pl.when(share >= DENSE_SHARE).then(pl.lit("daily"))
               .when(share >= WEEKDAY_SHARE).then(pl.lit("weekdays")).otherwise(pl.lit("sparse")))
    failing = pl.col("failing_days") > 0
    return stats.with_columns(
        pl.concat_str([pl.col("rule_code"), density, pl.when(failing).then(pl.lit("failing")).otherwise(pl.lit("steady"))],
                      separator="|").alias("stratum"),
        pl.when(failing).then(pl.lit(FAILING_BOOST)).otherwise(pl.lit(1.0)).alias("boost"),
    )


def plan_sample(stats: pl.DataFrame, budget: int, seed: int, minimum: int = MINIMUM_PER_STRATUM,
                series_factor: float = SERIES_FACTOR) -> SamplePlan:
    """The series to learn from, and the share of their examples to keep, so that the examples
    stay within `budget`: series are sampled (stratified) down to `series_factor` x `budget`
    expected examples, then each of their examples is kept with the same probability (more
    series with fewer examples each teach the model more than a few whole series)."""
    total = int(stats["expected_examples"].sum()) if stats.height else 0
    summary = {"series": stats.height, "expected_examples": total, "budget": int(budget)}
    if total <= budget * series_factor:
        return SamplePlan(stats.select(SERIES_KEY).with_columns(pl.lit(1.0).alias("weight")),
                          {**summary, "series_sampled": stats.height, "sampled_examples": total, "strata": None,
                           "series_rate": 1.0, "example_rate": min(1.0, budget / total) if total else 1.0})
    budget_examples, budget = budget, int(budget * series_factor)
    ranked = strata(stats).with_columns(
        # a seeded order inside each stratum: the first n of it are kept
        pl.concat_str(SERIES_KEY, separator="\x1f").hash(seed).rank("ordinal").over("stratum").alias("_rank"),
    )
    sizes = ranked.group_by("stratum").agg(
        pl.len().alias("n"), pl.col("boost").first(), pl.col("expected_examples").sum().alias("examples"),
    )
    floor = (pl.lit(minimum, pl.Float64) / pl.col("n")).clip(upper_bound=1.0)

    def kept(rate: float) -> pl.DataFrame:
        share = pl.max_horizontal(floor, (pl.col("boost") * rate).clip(upper_bound=1.0))
        return sizes.with_columns((share * pl.col("n")).round().clip(lower_bound=1).cast(pl.Int64).alias("kept"))

    def examples(rate: float) -> float:
        chosen = kept(rate)
        return float((chosen["examples"] * chosen["kept"] / chosen["n"]).sum())

    lo, hi = 0.0, 1.0  # the smallest sample (rate 0: the strata's minimums) may exceed it: then more are thinned
    for _ in range(40):  # bisection on the base rate: expected examples grow with it
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if examples(mid) <= budget else (lo, mid)
    chosen = kept(lo).select("stratum", "n", "kept")
    sample = (
        ranked.join(chosen, on="stratum")
        .filter(pl.col("_rank") <= pl.col("kept"))
        .with_columns((pl.col("n") / pl.col("kept")).cast(pl.Float64).alias("weight"))
        .sort(SERIES_KEY)
    )
    sampled = int(sample["expected_examples"].sum())
    summary |= {"series_sampled": sample.height, "sampled_examples": sampled, "strata": sizes.height,
                "series_rate": lo, "example_rate": min(1.0, budget_examples / sampled) if sampled else 1.0,
                "minimum_per_stratum": minimum, "failing_boost": FAILING_BOOST}
    return SamplePlan(sample.select(*SERIES_KEY, "weight"), summary)
