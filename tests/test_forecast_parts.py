"""Backtests and batches of predictions a part of the series at a time (the memory ceiling of
`validate-model`, `batch-predict` and `predict`): every part size gives what one part gives, the
scores add up exactly, and a bundle's history extended by newer results in DuckDB equals the
in-memory merge."""

from __future__ import annotations

import json
import math
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings, strategies as st

from conftest import run_dqs
from dqs.engine.forecast.backtest import EmptyHistory, backtest
from dqs.engine.forecast.bundle import load_bundle, merge_history, save_bundle
from dqs.engine.forecast.evaluation import RUNS_LABELS, Scores
from dqs.engine.forecast.features import BASELINES, state_grid, states_at
from dqs.engine.forecast.parts import assign_parts
from dqs.engine.forecast.predict import predict_batch, predict_requests
from dqs.engine.forecast.series import History, load_log_daily, read_history
from dqs.engine.forecast.train import TrainOptions, train
from dqs.engine.forecast.training_data import history_loader
from dqs.engine.generate import GenerateOptions, generate_log


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("parts")
    log, truth = folder / "log.csv", folder / "truth.parquet"
    generate_log(GenerateOptions(rows=40_000, output=log, seed=12, truth=truth))
    history = read_history(str(log))
    bundle = save_bundle(folder / "model", train(history, TrainOptions(horizon=14, max_examples=100_000)), history)
    return {"folder": folder, "log": log, "truth": truth, "history": history, "bundle": load_bundle(bundle),
            "bundle_path": bundle}


def _close(a, b, path: str = "") -> None:
    """Equal reports, floats to 1e-9 relative (sums in another order round differently)."""
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for key in a:
            _close(a[key], b[key], f"{path}/{key}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _close(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), (path, a, b)
    else:
        assert a == b, (path, a, b)


def _scored(rows: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    target = rng.choice([0.0, 50.0, 100.0, 66.6], rows)
    missing = rng.random(rows) < 0.2
    predicted = np.clip(target + rng.normal(0, 20, rows), 0, 100)
    frame = {
        "dataset_uuid": rng.choice(["a", "b", "c"], rows), "rule_code": rng.choice(["1", "2"], rows),
        "target_date": pl.date_range(pl.date(2026, 1, 1), pl.date(2026, 1, 1), eager=True).sample(rows, with_replacement=True),
        "target": target, "target_runs": rng.integers(1, 9, rows), "horizon": rng.integers(1, 29, rows),
        "predicted": predicted, "lower": np.clip(predicted - 30, 0, 100), "upper": np.clip(predicted + 20, 0, 100),
        "probability_below_threshold": rng.random(rows), "expected_runs": rng.random(rows) * 4 + 1,
        "below_share_long": np.where(missing, np.nan, rng.random(rows)),
        "runs_long_mean": np.where(missing, np.nan, rng.random(rows) * 3 + 1),
    }
    for name in BASELINES:
        frame[name] = np.where(rng.random(rows) < 0.1, np.nan, rng.random(rows) * 100)
    return pl.DataFrame(frame).with_columns(pl.col("below_share_long", "runs_long_mean", *BASELINES).fill_nan(None))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), cuts=st.lists(st.integers(0, 400), max_size=6))
def test_scores_added_in_parts_equal_one_add(seed: int, cuts: list[int]) -> None:
    scored = _scored(400, seed)
    truth = scored.select("dataset_uuid", "rule_code", pl.col("target_date").alias("business_date"),
                          (pl.col("target") * 0.9).alias("true_pass_percentage")).unique(
        ["dataset_uuid", "rule_code", "business_date"])
    whole = Scores(0.8, 100.0, with_truth=True).add(scored, truth).report()
    parts = Scores(0.8, 100.0, with_truth=True)
    bounds = sorted({0, 400, *cuts})
    for lo, hi in zip(bounds, bounds[1:]):
        parts.add(scored.slice(lo, hi - lo), truth)
    _close(whole, parts.report())
    assert [r["runs"] for r in whole["band"]["by_runs"]] == [label for label in RUNS_LABELS]
    assert whole["risk"]["examples"] == 400 and whole["truth"]["overall"]["model"]["n"] == 400


def test_a_part_never_splits_a_series_and_follows_the_budget() -> None:
    costs = pl.DataFrame({"dataset_uuid": ["b", "a", "c", "d", "e"], "rule_code": ["1"] * 5,
                          "cost": [30, 50, 500, 10, 10]})
    parts = assign_parts(costs, 60)
    assert parts["dataset_uuid"].to_list() == ["a", "b", "c", "d", "e"]  # key order
    assert parts["part"].to_list() == [0, 0, 1, 2, 2]  # numbered from 0 without gaps
    # a part starts below the budget: it holds at most the budget plus its last series
    sizes = parts.join(costs, on=["dataset_uuid", "rule_code"]).group_by("part").agg(
        (pl.col("cost").sum() - pl.col("cost").last()).alias("before_last"))
    assert sizes["before_last"].max() < 60


def test_backtest_in_parts_equals_one_part(model) -> None:
    bundle, history = model["bundle"], model["history"]
    load = history_loader(history)
    whole = backtest(bundle, load, truth=model["truth"])
    split = backtest(bundle, load, truth=model["truth"], part_bytes=1)
    assert whole.pop("parts") == 1 and split.pop("parts") > 20  # one series per part
    _close(whole, split)
    assert whole["examples"] > 5_000 and whole["truth"]["overall"]["model"]["n"] == whole["examples"]


def test_backtest_of_a_history_without_results_is_refused(model, tmp_path: Path) -> None:
    empty = History(model["history"].daily.clear(), model["history"].attributes)
    with pytest.raises(EmptyHistory):
        backtest(model["bundle"], history_loader(empty))


def _requests(history: History) -> pl.DataFrame:
    """A request per series for 1, 7, 14 and 40 days (beyond the horizon) after the history,
    keys with spaces around, an unknown series and a bad date, shuffled, with extra columns."""
    last = history.last_date
    keys = history.daily.select("dataset_uuid", "rule_code").unique().sort("dataset_uuid", "rule_code")
    targets = pl.DataFrame({"business_date": [(last + timedelta(days=d)).isoformat() for d in (1, 7, 14, 40)]})
    requests = keys.join(targets, how="cross").with_columns(pl.col("dataset_uuid") + pl.lit(" "))  # trimmed on use
    extra = pl.DataFrame({"dataset_uuid": ["no-such-series", keys["dataset_uuid"][0]], "rule_code": ["1", keys["rule_code"][0]],
                          "business_date": [targets["business_date"][0], "2026-13-01"]})
    # extra columns are kept, whatever their names (`part` is the batch's own word for a part)
    return pl.concat([requests, extra]).sample(fraction=1.0, shuffle=True, seed=3).with_columns(
        pl.int_range(pl.len()).cast(pl.String).alias("request_id"), pl.lit("kept").alias("part"))


def test_batch_in_parts_equals_one_part_and_keeps_the_input_order(model) -> None:
    bundle, history = model["bundle"], model["history"]
    requests = _requests(history)
    load = history_loader(history)
    whole = predict_batch(bundle, load, requests)
    split = predict_batch(bundle, load, requests, part_bytes=1)
    assert whole.equals(split)
    assert whole["request_id"].to_list() == requests["request_id"].to_list()
    assert whole.equals(predict_requests(bundle, history, requests))  # the whole history in memory
    statuses = whole["status"].value_counts().sort("status")
    assert statuses["status"].to_list() == ["error", "ok"] and whole.filter(pl.col("status") == "error").height >= 2


def test_the_bundle_history_extended_in_duckdb_equals_the_merge(model, tmp_path: Path) -> None:
    bundle = model["bundle"]
    newer_log = tmp_path / "newer.csv"
    generate_log(GenerateOptions(rows=8_000, output=newer_log, seed=12, end_date=date(2027, 1, 20)))
    merged = merge_history(bundle.history, read_history(str(newer_log)))
    requests = _requests(merged)
    in_memory = predict_requests(bundle, merged, requests)
    loader = bundle.loader(lambda db, folder: load_log_daily(db, folder, str(newer_log)))
    assert predict_batch(bundle, loader, requests, part_bytes=50_000).equals(in_memory)
    assert in_memory.filter(pl.col("status") == "ok").height > 100


def test_validate_model_under_a_small_memory_limit(model, tmp_path: Path) -> None:
    """Through the CLI, on a larger log of other series: a limit small enough to need several
    parts gives the report of the default limit."""
    log = tmp_path / "larger.parquet"
    generate_log(GenerateOptions(rows=200_000, output=log, seed=31, format="parquet"))
    reports = {}
    for limit in ("1GB", "100MB"):
        reports[limit] = tmp_path / f"report-{limit}.json"
        result = run_dqs("validate-model", "--model", str(model["bundle_path"]), "--test-data", str(log),
                         "--memory-limit", limit, "--report", str(reports[limit]))
        assert result.returncode == 0, result.stderr
    default, small = (json.loads(reports[k].read_text()) for k in ("1GB", "100MB"))
    assert default.pop("parts") == 1 and small.pop("parts") > 1
    _close(default, small)


def test_states_in_chunks_skip_series_that_start_after_the_day(model) -> None:
    """A series whose first day is after `until` has no state there, and the chunks of the
    others stay whole (a chunk boundary never cuts a series)."""
    daily = model["history"].daily
    until = daily["business_date"].max() - timedelta(days=100)
    # named to sort first, so its empty span comes before every other series'
    late = daily.filter(pl.col("business_date") > until).with_columns(pl.lit("0-late-series").alias("dataset_uuid"))
    mixed = pl.concat([daily, late]).sort("dataset_uuid", "rule_code", "business_date")
    wanted = mixed.select("dataset_uuid", "rule_code").unique().with_columns(pl.lit(until).alias("business_date"))
    key = ["dataset_uuid", "rule_code", "business_date"]
    whole = state_grid(mixed, until).join(wanted, on=key, how="semi").sort(key)
    chunked = states_at(mixed, until, wanted, grid_rows=2_000).sort(key)
    assert chunked.equals(whole) and whole.height > 20
    assert "0-late-series" not in chunked["dataset_uuid"].to_list()
