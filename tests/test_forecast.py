"""Forecasting: no leakage (features, predictions and risk), train/predict feature parity,
time-ordered splits, bundle safety, per-row errors, the risk's calibration, and the CLI commands
end to end (the store path: test_forecast_store.py)."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from conftest import run_dqs
from dqs.engine import InputError
from dqs.engine.forecast.bundle import load_bundle, save_bundle
from dqs.engine.forecast.features import FEATURES, RISK_FEATURES, origin_states, state_grid, states_at, training_examples
from dqs.engine.forecast.train import TrainOptions, apply_isotonic, fit_isotonic, predict_risk, predict_rows, train
from dqs.engine.generate import GenerateOptions, generate_log
from dqs.engine.forecast.predict import predict_requests, request_features
from dqs.engine.forecast.series import History, read_history


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("forecast")
    log = folder / "log.csv"
    generate_log(GenerateOptions(rows=60_000, output=log, seed=4, truth=folder / "truth.parquet"))
    history = read_history(str(log))
    model = train(history, TrainOptions(horizon=14, max_examples=200_000))
    bundle_path = save_bundle(folder / "model", model, history)
    return {"folder": folder, "log": log, "history": history, "model": model, "bundle": bundle_path}


def _series(history: History) -> tuple[str, str]:
    row = history.daily.group_by("dataset_uuid", "rule_code").len().sort("len", descending=True).row(0)
    return row[0], row[1]


def _perturbed_after(daily: pl.DataFrame, origin) -> pl.DataFrame:
    """Every day after `origin` changed: passes and fails swapped (so the value, the runs' fail
    share and the days below any threshold change), more runs, and every odd day dropped."""
    later = pl.col("business_date") > origin
    return daily.with_columns(
        pl.when(later).then(pl.col("fails") + 1).otherwise(pl.col("passes")).alias("passes"),
        pl.when(later).then(pl.col("passes") + 2).otherwise(pl.col("fails")).alias("fails"),
    ).with_columns(
        pl.when(later).then(100.0 * pl.col("passes") / (pl.col("passes") + pl.col("fails"))).otherwise(pl.col("pass_pct")).alias("pass_pct")
    ).filter((pl.col("business_date") <= origin) | (pl.col("business_date").dt.day() % 2 == 0))


def test_features_do_not_look_past_the_origin(trained) -> None:
    history: History = trained["history"]
    daily = history.daily
    origin = daily["business_date"].max() - timedelta(days=60)
    changed = _perturbed_after(daily, origin)
    for threshold in (100.0, 90.0):
        grid = state_grid(daily, daily["business_date"].max(), threshold)
        changed_grid = state_grid(changed, daily["business_date"].max(), threshold)
        before = grid.filter(pl.col("business_date") <= origin).sort("dataset_uuid", "rule_code", "business_date")
        after = changed_grid.filter(pl.col("business_date") <= origin).sort("dataset_uuid", "rule_code", "business_date")
        assert before.height > 1000 and {"runs_mean_28d", "below_share_long", "run_fail_share_28d"} <= set(before.columns)
        assert before.equals(after)


def test_predictions_and_risk_do_not_look_past_the_origin(trained) -> None:
    """The whole prediction (value, band, probability, runs) for targets after an origin is the
    same whatever happens after the origin."""
    history: History = trained["history"]
    bundle = load_bundle(trained["bundle"])
    origin = history.last_date - timedelta(days=45)
    changed = History(_perturbed_after(history.daily, origin), history.attributes)
    assert not changed.daily.equals(history.daily)
    keys = history.daily.filter(pl.col("business_date") <= origin).select("dataset_uuid", "rule_code").unique()
    requests = keys.join(pl.DataFrame({"target_date": [origin + timedelta(days=h) for h in (1, 5, 14)]}), how="cross").with_columns(
        pl.lit(origin).alias("origin"))
    served = []
    for h in (history, changed):
        rows = predict_rows(request_features(h, requests, bundle.threshold), bundle.booster, bundle.levels, bundle.bands,
                            bundle.best_iteration)
        served.append(predict_risk(rows, bundle.risk, bundle.levels).sort("dataset_uuid", "rule_code", "target_date"))
    columns = ["predicted", "lower", "upper", "probability_below_threshold", "expected_runs", *RISK_FEATURES]
    assert served[0].height == requests.height > 100
    assert served[0].select(columns).equals(served[1].select(columns))


def test_states_built_in_chunks_of_series_equal_the_whole_grid(trained) -> None:
    history: History = trained["history"]
    grid = state_grid(history.daily, history.last_date)
    wanted = grid.select("dataset_uuid", "rule_code", "business_date").gather_every(37)
    chunked = states_at(history.daily, history.last_date, wanted, grid_rows=3_000)
    whole = grid.join(wanted, on=["dataset_uuid", "rule_code", "business_date"], how="semi")
    key = ["dataset_uuid", "rule_code", "business_date"]
    assert chunked.height == wanted.height
    assert chunked.sort(key).equals(whole.sort(key))


def test_training_and_prediction_build_the_same_features(trained) -> None:
    history: History = trained["history"]
    last = history.last_date
    origin = last - timedelta(days=20)
    examples = training_examples(history.daily, origin_states(history.daily, last, [origin]), 14).sort(
        "dataset_uuid", "rule_code", "target_date")
    assert examples.height > 100
    # the prediction path, given only the history up to the origin
    cut = History(history.daily.filter(pl.col("business_date") <= origin), history.attributes)
    requests = examples.select("dataset_uuid", "rule_code", "target_date", "origin")
    from dqs.engine.forecast.features import attach_attributes

    served = request_features(cut, requests).sort("dataset_uuid", "rule_code", "target_date")
    trained_side = attach_attributes(examples, history.attributes)
    numeric = [f for f in FEATURES if served[f].dtype.is_numeric()]
    assert np.allclose(served.select(numeric).to_numpy().astype(float), trained_side.select(numeric).to_numpy().astype(float),
                       equal_nan=True)
    for f in set(FEATURES) - set(numeric):
        assert served[f].to_list() == trained_side[f].to_list()


def test_splits_are_ordered_by_date(trained) -> None:
    window = trained["model"].window
    train_end = window["train_origins"].split("..")[1]
    valid_start, valid_end = window["validation_origins"].split("..")
    calib_start = window["calibration_origins"].split("..")[0]
    assert train_end < valid_start <= valid_end < calib_start <= window["last_day"]
    m = trained["model"].metrics
    assert m["train_examples"] > 0 and m["validation_examples"] > 0 and m["calibration_examples"] > 0


def test_bundle_round_trip_gives_identical_predictions(trained) -> None:
    history: History = trained["history"]
    bundle = load_bundle(trained["bundle"])
    uuid, rule = _series(history)
    day = history.last_date
    requests = pl.DataFrame({"dataset_uuid": [uuid] * 3, "rule_code": [rule] * 3,
                             "business_date": [str(day + timedelta(days=h)) for h in (1, 7, 14)]})
    loaded = predict_requests(bundle, bundle.history, requests)
    assert loaded["status"].to_list() == ["ok"] * 3
    model = trained["model"]
    features = request_features(history, requests.select(
        "dataset_uuid", "rule_code", pl.col("business_date").str.to_date().alias("target_date")).with_columns(pl.lit(day).alias("origin")))
    direct = predict_rows(features, model.booster, model.levels, model.bands, model.best_iteration)
    assert np.allclose(loaded["predicted_pass_percentage"].to_numpy(), direct["predicted"].to_numpy())
    risk = predict_risk(direct, model.risk, model.levels)
    assert np.allclose(loaded["probability_below_threshold"].to_numpy(), risk["probability_below_threshold"].to_numpy())
    assert np.allclose(loaded["expected_runs"].to_numpy(), risk["expected_runs"].to_numpy())
    assert loaded["probability_below_threshold"].is_between(0, 1).all() and (loaded["expected_runs"] >= 1).all()
    assert (loaded["lower_pass_percentage"] <= loaded["predicted_pass_percentage"]).all()
    assert (loaded["predicted_pass_percentage"] <= loaded["upper_pass_percentage"]).all()


@pytest.mark.parametrize("damage", ["model_byte", "risk_model_byte", "runs_model_missing", "history_truncated",
                                    "metadata_version", "checksums_missing"])
def test_damaged_bundles_are_refused(trained, tmp_path: Path, damage: str) -> None:
    copy = tmp_path / "model"
    shutil.copytree(trained["bundle"], copy)
    if damage in ("model_byte", "risk_model_byte"):
        name = "model.txt" if damage == "model_byte" else "risk_model.txt"
        data = bytearray((copy / name).read_bytes())
        data[200] = (data[200] + 1) % 256
        (copy / name).write_bytes(bytes(data))
    elif damage == "runs_model_missing":
        (copy / "runs_model.txt").unlink()
    elif damage == "history_truncated":
        data = (copy / "history.parquet").read_bytes()
        (copy / "history.parquet").write_bytes(data[: len(data) // 2])
    elif damage == "metadata_version":
        meta = json.loads((copy / "metadata.json").read_text())
        meta["format_version"] = 99
        (copy / "metadata.json").write_text(json.dumps(meta))
    else:
        (copy / "checksums.json").unlink()
    with pytest.raises(InputError):
        load_bundle(copy)
    result = run_dqs("predict", "--model", copy, "--dataset-uuid", "x", "--rule-code", "1", "--date", "2026-11-01")
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_per_row_errors_and_exit_codes(trained, tmp_path: Path) -> None:
    history: History = trained["history"]
    uuid, rule = _series(history)
    last = history.last_date
    first = history.daily.filter((pl.col("dataset_uuid") == uuid) & (pl.col("rule_code") == rule))["business_date"].min()
    rows = [
        (uuid, rule, str(last + timedelta(days=3)), "ok"),
        (uuid, rule, str(last + timedelta(days=15)), "horizon"),
        ("no-such-dataset", rule, str(last + timedelta(days=1)), "unknown series"),
        (uuid, rule, "2026-13-01", "not a valid"),
        (uuid, rule, str(first - timedelta(days=5)), "before the series"),
        (uuid, rule, str(last - timedelta(days=10)), "ok"),  # inside the history: as of the day before
    ]
    requests = tmp_path / "requests.csv"
    pl.DataFrame({"dataset_uuid": [r[0] for r in rows], "rule_code": [r[1] for r in rows],
                  "business_date": [r[2] for r in rows], "ticket": [str(i) for i in range(len(rows))]}).write_csv(requests)
    out = tmp_path / "out.csv"
    result = run_dqs("batch-predict", "--model", trained["bundle"], "--input", requests, "--output", out)
    assert result.returncode == 1, result.stderr
    got = pl.read_csv(out, infer_schema=False)
    assert got["ticket"].to_list() == [str(i) for i in range(len(rows))]  # passed through, in order
    for row, expected in zip(got.iter_rows(named=True), rows):
        if expected[3] == "ok":
            assert row["status"] == "ok" and row["error"] in ("", None) and float(row["predicted_pass_percentage"]) >= 0
            assert 0 <= float(row["probability_below_threshold"]) <= 1 and float(row["expected_runs"]) >= 1
        else:
            assert row["status"] == "error" and expected[3] in row["error"], row
            assert row["probability_below_threshold"] in ("", None) and row["expected_runs"] in ("", None)
    one = run_dqs("predict", "--model", trained["bundle"], "--dataset-uuid", "no-such-dataset", "--rule-code", rule,
                  "--date", str(last + timedelta(days=1)))
    assert one.returncode == 2 and "unknown series" in one.stderr
    ok = run_dqs("predict", "--model", trained["bundle"], "--dataset-uuid", uuid, "--rule-code", rule,
                 "--date", str(last + timedelta(days=2)), "--json")
    assert ok.returncode == 0, ok.stderr
    answer = json.loads(ok.stdout)
    assert answer["horizon_days"] == 2 and answer["lower_pass_percentage"] <= answer["upper_pass_percentage"]
    assert answer["threshold"] == 100 and 0 <= answer["probability_below_threshold"] <= 1 and answer["expected_runs"] >= 1
    text = run_dqs("predict", "--model", trained["bundle"], "--dataset-uuid", uuid, "--rule-code", rule,
                   "--date", str(last + timedelta(days=2)))
    assert text.returncode == 0, text.stderr
    assert (f"{uuid} / {rule} on {last + timedelta(days=2)}: {answer['predicted_pass_percentage']:.0f}% expected to pass; "
            f"{answer['probability_below_threshold']:.0%} chance that at least one run fails (80% band ") in text.stdout


def test_train_and_validate_through_the_cli(trained, tmp_path: Path) -> None:
    log, truth = trained["log"], trained["folder"] / "truth.parquet"
    last = trained["history"].last_date
    model = tmp_path / "model"
    result = run_dqs("train", log, "--model", model, "--horizon", "14", "--as-of", str(last - timedelta(days=28)))
    assert result.returncode == 0, result.stderr
    assert "model MAE / best baseline MAE" in result.stdout
    report = tmp_path / "report.json"
    result = run_dqs("validate-model", "--model", model, "--test-data", log, "--truth", truth, "--report", report)
    assert result.returncode == 0, result.stderr
    data = json.loads(report.read_text())
    assert data["origin_count"] >= 1 and data["examples"] > 0
    for target in ("observed", "truth"):
        assert set(data[target]["overall"]) == {"model", "last_value", "mean_last7_obs", "same_weekday_last_week", "long_mean"}
    assert 0.0 <= data["band"]["coverage"] <= 1.0
    assert [b["runs"] for b in data["band"]["by_runs"]][:2] == ["1", "2"]
    risk = data["risk"]
    assert {"brier", "ece", "reliability", "runs"} <= set(risk) and risk["examples"] == data["examples"]
    assert "expected calibration error" in result.stdout and "band by pass/fail runs" in result.stdout


def test_training_is_deterministic(trained) -> None:
    history: History = trained["history"]
    options = TrainOptions(horizon=14, max_examples=200_000)
    again = train(history, options)
    first = trained["model"].booster.model_to_string(num_iteration=trained["model"].best_iteration)
    second = again.booster.model_to_string(num_iteration=again.best_iteration)
    assert first == second
    assert trained["model"].bands == again.bands
    for name in ("classifier", "runs"):
        a, b = getattr(trained["model"].risk, name), getattr(again.risk, name)
        assert a.model_to_string() == b.model_to_string()
    assert trained["model"].risk.calibration == again.risk.calibration


def test_isotonic_calibration_is_monotone_and_honest() -> None:
    rng = np.random.default_rng(3)
    raw = rng.uniform(0, 1, 50_000)
    truth = raw ** 2  # the raw scores overstate the chance
    label = (rng.uniform(0, 1, raw.size) < truth).astype(float)
    calibration = fit_isotonic(raw, label)
    assert np.all(np.diff(calibration["probability"]) >= 0) and np.all(np.diff(calibration["raw"]) >= 0)
    fitted = apply_isotonic(np.array([0.1, 0.5, 0.9]), calibration)
    assert np.allclose(fitted, [0.01, 0.25, 0.81], atol=0.04)
    assert fit_isotonic(np.array([]), np.array([]))["raw"] == [0.0, 1.0]


def test_risk_is_calibrated_on_the_calibration_slice(trained) -> None:
    risk = trained["model"].report["risk"]
    assert risk["ece"] < 0.03 and risk["brier"]["model"] < risk["brier"]["baseline"]
    assert abs(risk["runs"]["mean_expected"] - risk["runs"]["mean_observed"]) < 0.05
