"""Forecasting from a history store: the store's daily table gives the same History as the raw
log of the same files (so the same models and predictions), `--store-version` pins what the
store held, predictions from a store use its newest day as the origin, and nothing after an
origin reaches its features or risk through the store either."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from conftest import run_dqs
from dqs.engine import InputError
from dqs.engine.forecast.bundle import load_bundle
from dqs.engine.forecast.features import RISK_FEATURES, origin_states
from dqs.engine.forecast.predict import (
    OUTPUT_COLUMNS, check_threshold, predict_requests, prediction_history, request_features,
)
from dqs.engine.forecast.series import read_history, read_store_history
from dqs.engine.forecast.train import predict_risk, predict_rows
from dqs.engine.generate import GenerateOptions, generate_log, write_rules
from dqs.engine.store.ingest import IngestOptions, ingest

KEY = ["dataset_uuid", "rule_code", "business_date"]


def _flip(frame: pl.DataFrame) -> pl.DataFrame:
    """Every pass becomes a fail and every fail a pass (other texts stay)."""
    status = pl.col("results").str.to_lowercase()
    return frame.with_columns(
        pl.when(status.str.contains("pass")).then(pl.lit('{"result": "fail"}'))
        .when(status.str.contains("fail")).then(pl.lit('{"result": "pass"}'))
        .otherwise(pl.col("results")).alias("results"))


@pytest.fixture(scope="module")
def logs(tmp_path_factory) -> dict:
    """A generated log (with some malformed rows: untrimmed keys, rejects) split by date into
    early.csv and late.csv; late.csv also repeats one series' last day under another source (the
    latest row decides a series' attributes). `a-early.csv` + `b-late.csv` in `both/` are the
    same files in input order for a one-shot read; `store` holds them as versions 1 and 2."""
    folder = tmp_path_factory.mktemp("forecast-store")
    log = folder / "log.csv"
    generate_log(GenerateOptions(rows=24_000, output=log, seed=9, malformed_share=0.01))
    write_rules(folder / "rules.json")
    frame = pl.read_csv(log, infer_schema=False)
    day = pl.col("business_date").str.slice(0, 10)
    cut = "2026-10-09"
    early, late = frame.filter(day <= cut), frame.filter(day > cut)
    ok = frame.filter(pl.col("dataset_uuid").str.contains(r"^[0-9a-f-]+$") & pl.col("business_date").str.contains(r"^\d{4}-\d{2}-\d{2}$"))
    twin_key = ok.row(0, named=True)
    twin = ok.filter((pl.col("dataset_uuid") == twin_key["dataset_uuid"]) & (pl.col("rule_code") == twin_key["rule_code"]))
    twin = twin.filter(pl.col("business_date") == twin["business_date"].max()).with_columns(pl.lit("zz-copy").alias("source"))
    late = pl.concat([late, twin])
    both = folder / "both"
    both.mkdir()
    early.write_csv(both / "a-early.csv")
    late.write_csv(both / "b-late.csv")
    store = folder / "store"
    ingest(IngestOptions(inputs=(str(both / "a-early.csv"),), store=store))
    ingest(IngestOptions(inputs=(str(both / "b-late.csv"),), store=store))
    # the same early days, with every later result flipped: nothing after `cut` may reach an origin <= cut
    flipped = folder / "flipped"
    flipped.mkdir()
    early.write_csv(flipped / "a-early.csv")
    _flip(late).write_csv(flipped / "b-late.csv")
    ingest(IngestOptions(inputs=(str(flipped / "a-early.csv"), str(flipped / "b-late.csv")), store=folder / "store-flipped"))
    return {"folder": folder, "both": both, "store": store, "flipped": folder / "store-flipped",
            "rules": folder / "rules.json", "cut": date.fromisoformat(cut), "twin": (twin_key["dataset_uuid"], twin_key["rule_code"])}


def test_store_history_equals_the_raw_logs(logs) -> None:
    raw = read_history(str(logs["both"]), logs["rules"])
    stored, source = read_store_history(logs["store"], logs["rules"])
    assert source["version"] == 2 and raw.daily.height > 5000
    assert stored.daily.equals(raw.daily) and stored.daily.schema == raw.daily.schema
    assert stored.attributes.equals(raw.attributes)
    assert stored.attributes["rule_type"].null_count() < stored.attributes.height  # the rules were joined
    twin = stored.attributes.filter((pl.col("dataset_uuid") == logs["twin"][0]) & (pl.col("rule_code") == logs["twin"][1]))
    assert twin["source"].to_list() == ["zz-copy"]  # the latest row in input order
    # an earlier version is the first file alone
    early_raw = read_history(str(logs["both"] / "a-early.csv"), logs["rules"])
    early_store, early_source = read_store_history(logs["store"], logs["rules"], version=1)
    assert early_source["version"] == 1 and early_store.last_date == logs["cut"]
    assert early_store.daily.equals(early_raw.daily) and early_store.attributes.equals(early_raw.attributes)


@pytest.fixture(scope="module")
def models(logs) -> dict:
    folder = logs["folder"]
    from_store = run_dqs("train", "--store", logs["store"], "--rules", logs["rules"], "--model", folder / "m-store",
                         "--horizon", "7", "--as-of", "2026-10-16")
    assert from_store.returncode == 0, from_store.stderr
    from_raw = run_dqs("train", logs["both"], logs["rules"], "--model", folder / "m-raw", "--horizon", "7",
                       "--as-of", "2026-10-16")
    assert from_raw.returncode == 0, from_raw.stderr
    return {"store": folder / "m-store", "raw": folder / "m-raw", "train_stdout": from_store.stdout}


def test_training_from_the_store_gives_the_raw_logs_model(logs, models) -> None:
    for name in ("model.txt", "risk_model.txt", "runs_model.txt"):
        assert (models["store"] / name).read_text() == (models["raw"] / name).read_text(), name
    store_meta = json.loads((models["store"] / "metadata.json").read_text())
    raw_meta = json.loads((models["raw"] / "metadata.json").read_text())
    assert store_meta["training_source"]["store"] == str(logs["store"]) and store_meta["training_source"]["version"] == 2
    for key in ("bands", "risk", "training_window", "category_levels"):
        assert store_meta[key] == raw_meta[key]
    assert pl.read_parquet(models["store"] / "history.parquet").equals(pl.read_parquet(models["raw"] / "history.parquet"))
    assert "expected calibration error" in models["train_stdout"] and "band by pass/fail runs" in models["train_stdout"]


def test_predictions_from_the_store_use_its_newest_day(logs, models, tmp_path: Path) -> None:
    stored, _ = read_store_history(logs["store"])
    last = stored.last_date
    keys = stored.daily.select("dataset_uuid", "rule_code").unique().sort("dataset_uuid", "rule_code").head(20)
    requests = keys.join(pl.DataFrame({"business_date": [str(last + timedelta(days=h)) for h in (1, 3, 7)]}), how="cross")
    requests.write_csv(tmp_path / "requests.csv")
    outputs = {}
    for name, extra in (("store", ["--store", logs["store"]]), ("raw", ["--history", logs["both"]])):
        out = tmp_path / f"{name}.csv"
        result = run_dqs("batch-predict", "--model", models[name], "--input", tmp_path / "requests.csv", "--output", out, *extra)
        assert result.returncode == 0, result.stderr
        outputs[name] = pl.read_csv(out)
    # the store's newest day is the origin: the bundle (trained --as-of earlier) is not retrained
    got = outputs["store"]
    assert list(got.columns) == [*requests.columns, *OUTPUT_COLUMNS]
    assert got["horizon_days"].to_list() == [1, 3, 7] * keys.height
    assert got["probability_below_threshold"].is_between(0, 1).all() and (got["expected_runs"] >= 1).all()
    # the raw log of the same files (merged into the bundle's history, which it contains) answers the same
    assert got.equals(outputs["raw"])
    # --store-version pins the history: the origin is that version's newest day
    bundle = load_bundle(models["store"])
    early, _ = read_store_history(logs["store"], version=1)
    uuid, rule, target = requests.row(0)
    pinned_target = str(logs["cut"] + timedelta(days=3))
    expected = predict_requests(bundle, prediction_history(bundle, early), requests.head(1).with_columns(
        pl.lit(pinned_target).alias("business_date")))
    one = run_dqs("predict", "--model", models["store"], "--store", logs["store"], "--store-version", "1",
                  "--dataset-uuid", uuid, "--rule-code", rule, "--date", pinned_target, "--json")
    assert one.returncode == 0, one.stderr
    answer = json.loads(one.stdout)
    assert answer["history_last_day"] == str(logs["cut"]) and answer["horizon_days"] == 3
    for column in ("predicted_pass_percentage", "lower_pass_percentage", "upper_pass_percentage",
                   "probability_below_threshold", "expected_runs"):
        assert np.isclose(answer[column], expected[column][0]), column
    sentence = run_dqs("predict", "--model", models["store"], "--store", logs["store"],
                       "--dataset-uuid", uuid, "--rule-code", rule, "--date", target)
    assert sentence.returncode == 0, sentence.stderr
    assert f"{uuid} / {rule} on {target}: " in sentence.stdout and "chance that at least one run fails" in sentence.stdout


def test_validate_model_on_the_store(logs, models, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    result = run_dqs("validate-model", "--model", models["store"], "--store", logs["store"], "--report", report)
    assert result.returncode == 0, result.stderr
    data = json.loads(report.read_text())
    assert data["origins"][0] == "2026-10-16" and data["examples"] > 0  # after the training window
    risk = data["risk"]
    assert risk["threshold"] == 100 and risk["examples"] == data["examples"]
    assert 0 <= risk["ece"] <= 1 and risk["brier"]["model"] >= 0 and risk["brier"]["baseline"] >= 0
    assert sum(b["n"] for b in risk["reliability"]) == risk["examples"]
    assert sum(b["n"] for b in data["band"]["by_runs"]) == data["examples"]
    pinned = run_dqs("validate-model", "--model", models["store"], "--store", logs["store"], "--store-version", "1")
    assert pinned.returncode == 0, pinned.stderr  # version 1 ends before the model's last day: in-sample origins


def test_nothing_after_an_origin_reaches_it_through_the_store(logs, models) -> None:
    bundle = load_bundle(models["store"])
    real, _ = read_store_history(logs["store"])
    flipped, _ = read_store_history(logs["flipped"])
    cut = logs["cut"]
    assert not real.daily.equals(flipped.daily)  # the later days differ
    origins = [cut - timedelta(days=k) for k in (0, 7, 30)]
    states = [origin_states(h.daily, h.last_date, origins).sort(KEY) for h in (real, flipped)]
    assert states[0].height > 100 and states[0].equals(states[1])
    requests = states[0].select("dataset_uuid", "rule_code", pl.col("business_date").alias("origin")).with_columns(
        (pl.col("origin") + pl.duration(days=3)).alias("target_date"))
    served = []
    for history in (real, flipped):
        features = request_features(prediction_history(bundle, history), requests, bundle.threshold)
        scored = predict_risk(predict_rows(features, bundle.booster, bundle.levels, bundle.bands, bundle.best_iteration),
                              bundle.risk, bundle.levels)
        served.append(scored.sort("dataset_uuid", "rule_code", "origin"))
    columns = ["predicted", "lower", "upper", "probability_below_threshold", "expected_runs", *RISK_FEATURES]
    assert served[0].select(columns).equals(served[1].select(columns))


def test_store_options_are_checked(logs, models) -> None:
    both_inputs = run_dqs("train", logs["both"], "--store", logs["store"], "--model", logs["folder"] / "x")
    assert both_inputs.returncode == 2 and "INPUT or --store" in both_inputs.stderr
    rules_as_input = run_dqs("train", logs["rules"], "--store", logs["store"], "--model", logs["folder"] / "x")
    assert rules_as_input.returncode == 2 and "--rules" in rules_as_input.stderr
    no_store = run_dqs("batch-predict", "--model", models["store"], "--input", "x.csv", "--output", "y.csv", "--store-version", "1")
    assert no_store.returncode == 2 and "--store-version needs --store" in no_store.stderr
    twice = run_dqs("validate-model", "--model", models["store"], "--store", logs["store"], "--test-data", logs["both"])
    assert twice.returncode == 2 and "both give the history" in twice.stderr
    missing = run_dqs("predict", "--model", models["store"], "--store", logs["store"], "--store-version", "9",
                      "--dataset-uuid", "x", "--rule-code", "1", "--date", "2026-11-01")
    assert missing.returncode == 2 and "no version 9" in missing.stderr
    other = run_dqs("predict", "--model", models["store"], "--store", logs["store"], "--threshold", "95",
                    "--dataset-uuid", "x", "--rule-code", "1", "--date", "2026-11-01")
    assert other.returncode == 2 and "trained for --threshold 100" in other.stderr and "--threshold 95" in other.stderr
    bundle = load_bundle(models["store"])
    assert check_threshold(bundle, None) == check_threshold(bundle, 100.0) == 100.0
    with pytest.raises(InputError):
        check_threshold(bundle, 99.5)


def test_a_damaged_store_is_refused(logs, tmp_path: Path) -> None:
    import shutil

    from dqs.engine.store.tables import StoreError

    copy = tmp_path / "store"
    shutil.copytree(logs["store"], copy)
    next((copy / "daily").rglob("*.parquet")).unlink()
    with pytest.raises(StoreError, match="damaged"):
        read_store_history(copy)
