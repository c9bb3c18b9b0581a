"""Training under a memory ceiling: the stratified sample of series (weights, minimums, budget,
determinism), the SQL's count of each series' examples against the examples actually built, the
chunked example builder against the whole-history one, and the CLI's refusal of a limit too low
to train in (exit 1, naming the limit). Peak memory itself is measured by `python -m
dqs.bench.train` from fresh processes, not here."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest

from conftest import run_dqs
from dqs.engine.forecast.examples import build_slices, encode
from dqs.engine.forecast.features import RISK_FEATURES, attach_attributes, origin_states, training_examples
from dqs.engine.forecast.sample import MINIMUM_PER_STRATUM, plan_sample, strata
from dqs.engine.forecast.series import History, read_history
from dqs.engine.forecast.train import TrainOptions, category_levels, data_options, train
from dqs.engine.forecast.training_data import (
    MINIMUM_EXAMPLES, MemoryLimitTooLow, example_budget, history_loader, origins, training_data,
)
from dqs.engine.generate import GenerateOptions, generate_log

KEY = ["dataset_uuid", "rule_code"]


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> History:
    folder = tmp_path_factory.mktemp("sample")
    log = folder / "log.csv"
    generate_log(GenerateOptions(rows=40_000, output=log, seed=11))
    return read_history(str(log))


def _stats(n_per_rule: dict[str, int], seed: int = 0) -> pl.DataFrame:
    """Made-up per-series statistics: rules of very different sizes, dense and sparse series,
    some with failing days."""
    rng = np.random.default_rng(seed)
    rows = []
    for rule, n in n_per_rule.items():
        for i in range(n):
            observed = int(rng.choice([700, 400, 100]))
            rows.append({"dataset_uuid": f"ds-{rule}-{i:05d}", "rule_code": rule, "first_day": date(2025, 1, 1),
                         "last_day": date(2026, 12, 31), "observed_days": observed,
                         "failing_days": int(rng.random() < 0.4) * 3, "expected_examples": observed * 4})
    return pl.DataFrame(rows)


def test_small_histories_are_not_sampled() -> None:
    stats = _stats({"101": 10, "102": 5})
    plan = plan_sample(stats, budget=10**9, seed=1)
    assert plan.complete and plan.series.height == 15
    assert plan.series["weight"].to_list() == [1.0] * 15
    assert plan.summary["example_rate"] == 1.0


def test_the_sample_keeps_every_stratum_and_weights_stand_for_it() -> None:
    stats = _stats({"101": 4000, "102": 2500, "R7": 2})  # R7: a rare rule
    budget = 100_000
    plan = plan_sample(stats, budget=budget, seed=3)
    assert not plan.complete
    layered = strata(stats).join(plan.series, on=KEY, how="left")
    per_stratum = layered.group_by("stratum").agg(
        pl.len().alias("n"), pl.col("weight").is_not_null().sum().alias("kept"), pl.col("weight").sum().alias("weights"))
    # every stratum is kept (at least its minimum), and its weights add up to its size
    assert (per_stratum["kept"] >= per_stratum["n"].clip(upper_bound=MINIMUM_PER_STRATUM)).all()
    assert np.allclose(per_stratum["weights"].to_numpy(), per_stratum["n"].to_numpy())
    assert set(plan.series.filter(pl.col("rule_code") == "R7")["dataset_uuid"]) == {"ds-R7-00000", "ds-R7-00001"}
    # the examples kept (series x example rate) fit the budget
    sampled = stats.join(plan.series, on=KEY)["expected_examples"].sum()
    assert sampled * plan.summary["example_rate"] <= budget * 1.001
    # strata with failing days are kept at a higher share than steady ones
    share = layered.with_columns(pl.col("stratum").str.ends_with("failing").alias("failing")).group_by("failing").agg(
        pl.col("weight").is_not_null().mean())
    shares = dict(zip(share["failing"].to_list(), share["weight"].to_list()))
    assert shares[True] > 1.5 * shares[False]


def test_the_sample_is_seeded() -> None:
    stats = _stats({"101": 3000, "102": 3000})
    one, same, other = (plan_sample(stats, budget=50_000, seed=s) for s in (5, 5, 6))
    assert one.series.equals(same.series)
    assert not one.series.equals(other.series)


def test_the_sql_counts_the_examples_each_series_gives(history: History) -> None:
    options = TrainOptions(horizon=14)
    first, last = history.daily["business_date"].min(), history.daily["business_date"].max()
    grid = origins(first, last, options.origin_step, options.warmup_days)
    built = training_examples(history.daily, origin_states(history.daily, last, grid), options.horizon)
    actual = built.group_by(KEY).len()
    with training_data(history_loader(history), **{**data_options(options), "max_examples": 10**9}) as data:
        assert data.sample["expected_examples"] == built.height
        assert data.daily.equals(history.daily.select(data.daily.columns))
        written = pl.read_parquet(data.history_file)
    assert written.equals(history.daily.select(written.columns))
    assert actual.height == history.daily.select(KEY).unique().height


def test_chunked_examples_equal_the_whole_history_s(history: History) -> None:
    options = TrainOptions(horizon=14)
    first, last = history.daily["business_date"].min(), history.daily["business_date"].max()
    grid = origins(first, last, options.origin_step, options.warmup_days)
    valid_start, calib_start = grid[int(len(grid) * 0.7)], grid[int(len(grid) * 0.85)]
    levels = category_levels(history.attributes)
    weights = history.daily.select(KEY).unique().with_columns(pl.lit(1.0).alias("weight"))
    slices = build_slices(history.daily, history.attributes, weights, last, grid, valid_start, calib_start,
                          options.horizon, options.threshold, levels)
    whole = attach_attributes(training_examples(history.daily, origin_states(history.daily, last, grid), options.horizon),
                              history.attributes).sort([*KEY, "origin", "target_date"])
    expected = whole.filter(pl.col("origin") >= calib_start)
    assert slices.calib.rows == expected.height
    assert np.array_equal(slices.calib.matrix(), encode(expected, levels, RISK_FEATURES), equal_nan=True)
    train_rows = whole.filter((pl.col("origin") < valid_start) & (pl.col("target_date") < valid_start))
    assert slices.train.rows == train_rows.height
    assert np.array_equal(slices.train.labels("target"), train_rows["target"].to_numpy())


def test_training_keeps_to_its_example_budget(history: History) -> None:
    trained = train(history, TrainOptions(horizon=14, max_examples=30_000))
    m = trained.metrics
    kept = m["train_examples"] + m["validation_examples"] + m["calibration_examples"]
    assert m["sample"]["expected_examples"] > 30_000
    assert 0.9 * 30_000 <= kept <= 1.05 * 30_000  # one seeded draw per example
    assert m["sample"]["example_rate"] < 1


def test_a_limit_without_room_for_examples_names_the_limit_to_raise() -> None:
    assert example_budget(2**30, 1_000, 1_500_000) == 1_500_000
    with pytest.raises(MemoryLimitTooLow) as raised:
        example_budget(8 * 2**20, 1_000, 1_500_000)
    needed = int(raised.value.hint.split("at least ")[1].removesuffix("MB"))
    assert example_budget(needed * 2**20, 1_000, 1_500_000) >= MINIMUM_EXAMPLES
    assert raised.value.exit_code == 1


def test_a_memory_limit_too_low_to_train_in_is_exit_1(tmp_path) -> None:
    log = tmp_path / "log.csv"
    generate_log(GenerateOptions(rows=20_000, output=log, seed=2))
    result = run_dqs("train", str(log), "--model", str(tmp_path / "model"), "--memory-limit", "4MB")
    assert result.returncode == 1, result.stderr
    # DuckDB's reading or the examples' room, whichever runs out first, says to raise the limit
    assert "Hint: raise --memory-limit" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "model").exists()


def test_daily_series_built_in_parts_equal_one_pass(history: History, tmp_path, monkeypatch) -> None:
    from dqs.engine.forecast import series

    log = tmp_path / "log.csv"
    generate_log(GenerateOptions(rows=40_000, output=log, seed=11))
    monkeypatch.setattr(series, "ROWS_PER_BYTE", 3_000 / 2**30)  # about a dozen parts, each of whole series
    parted = read_history(str(log))
    assert parted.daily.equals(history.daily)
    assert parted.attributes.equals(history.attributes)
