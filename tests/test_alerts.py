"""`dqs alerts` (issue 17): the one-step forecast of day D never sees day D or later, an ongoing
incident is one alert with its start date, --fail-on exit codes, header-only outputs when
nothing is flagged, bad input is exit 2 with a hint; the engine's flags and the generator's
incident truth."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from conftest import read_csv, run_dqs
from dqs.engine.alerts import ALERT_COLUMNS, AlertOptions, find_alerts
from dqs.engine.alerts.detect import one_step_forecasts
from dqs.engine.alerts.outputs import sentences
from dqs.engine.forecast.bundle import load_bundle, save_bundle
from dqs.engine.forecast.series import History, read_history
from dqs.engine.forecast.train import TrainOptions, train
from dqs.engine.generate import GenerateOptions, generate_log, incidents_path
from dqs.engine.store.ingest import IngestOptions, ingest

KEY = ["dataset_uuid", "rule_code"]
FAIL = '{"result": "fail"}'


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> dict:
    """A small generated log, a tiny model trained on it, and a copy of the log where one series
    fails every one of 20 runs on the three days D-2, D-1 and D (an incident that goes on)."""
    folder = tmp_path_factory.mktemp("alerts")
    log = folder / "log.csv"
    generate_log(GenerateOptions(rows=24_000, output=log, seed=9, truth=folder / "truth.parquet"))
    history = read_history(str(log))
    model = folder / "model"
    save_bundle(model, train(history, TrainOptions(horizon=7, max_examples=50_000)), history)
    day = history.last_date - timedelta(days=5)
    # a series that reported on D-3 and on at least 60 days before
    counts = history.daily.filter(pl.col("business_date") < day - timedelta(days=2)).group_by(KEY).agg(
        pl.len().alias("n"), (pl.col("business_date") == day - timedelta(days=3)).any().alias("seen"))
    uuid, rule = counts.filter(pl.col("seen") & (pl.col("n") >= 60)).sort("n", *KEY, descending=[True, False, False]).row(0)[:2]
    frame = pl.read_csv(log, infer_schema=False)
    template = frame.filter((pl.col("dataset_uuid") == uuid) & (pl.col("rule_code") == rule)).row(0, named=True)
    incident_days = [day - timedelta(days=k) for k in (2, 1, 0)]
    text_days = [d.isoformat() for d in incident_days]
    kept = frame.filter(~((pl.col("dataset_uuid") == uuid) & (pl.col("rule_code") == rule)
                          & pl.col("business_date").str.slice(0, 10).is_in(text_days)))
    fails = pl.DataFrame([{**template, "business_date": d, "results": FAIL} for d in text_days for _ in range(20)])
    incident_log = folder / "incident.csv"
    pl.concat([kept, fails.select(frame.columns)]).write_csv(incident_log)
    return {"folder": folder, "log": log, "model": model, "history": history, "day": day, "series": (uuid, rule),
            "incident_log": incident_log, "incident_start": incident_days[0]}


def _perturbed_from(daily: pl.DataFrame, day: date) -> pl.DataFrame:
    """Every day >= `day` changed: passes and fails swapped, more runs, and every odd day dropped."""
    later = pl.col("business_date") >= day
    return daily.with_columns(
        pl.when(later).then(pl.col("fails") + 1).otherwise(pl.col("passes")).alias("passes"),
        pl.when(later).then(pl.col("passes") + 2).otherwise(pl.col("fails")).alias("fails"),
    ).with_columns(
        pl.when(later).then(100.0 * pl.col("passes") / (pl.col("passes") + pl.col("fails"))).otherwise(pl.col("pass_pct"))
        .alias("pass_pct")
    ).filter((pl.col("business_date") <= day) | (pl.col("business_date").dt.day() % 2 == 0))


FORECAST = ["dataset_uuid", "rule_code", "business_date", "expected", "lower", "upper", "origin", "history_days",
            "history_first_day", "history_last_day"]


def test_the_forecast_of_day_d_never_sees_day_d_or_later(setup) -> None:
    bundle = load_bundle(setup["model"])
    history: History = setup["history"]
    day = setup["day"]
    changed = History(_perturbed_from(history.daily, day), history.attributes)
    assert not changed.daily.equals(history.daily)
    one, two = (one_step_forecasts(bundle, h, day, day) for h in (history, changed))
    assert one.height > 10 and one["origin"].unique().to_list() == [day - timedelta(days=1)]
    assert (one["history_last_day"] <= day - timedelta(days=1)).all()
    assert one.select(FORECAST).equals(two.select(FORECAST))
    assert not one["observed"].equals(two["observed"])  # the day itself did change
    # many days at once (the lookback, the benchmark): each day's forecast only reads days before it
    many, many_changed = (one_step_forecasts(bundle, h, day - timedelta(days=6), day + timedelta(days=3))
                          for h in (history, changed))
    before = pl.col("business_date") <= day
    assert many.filter(before).select(FORECAST).equals(many_changed.filter(before).select(FORECAST))
    assert many.filter(pl.col("business_date") == day).select(FORECAST).equals(one.select(FORECAST))


def test_an_ongoing_incident_is_one_alert_with_its_start_date(setup, tmp_path: Path) -> None:
    out = tmp_path / "out" / "alerts.csv"
    day = setup["day"]
    result = run_dqs("alerts", setup["incident_log"], "--model", setup["model"], "--date", day.isoformat(), "--output", out)
    assert result.returncode == 0, result.stderr
    alerts = pl.read_csv(out, try_parse_dates=True)
    assert tuple(alerts.columns) == ALERT_COLUMNS
    assert set(alerts["business_date"].to_list()) == {day}  # the file holds day D only
    uuid, rule = setup["series"]
    mine = alerts.filter((pl.col("dataset_uuid") == uuid) & (pl.col("rule_code").cast(pl.String) == rule))
    assert mine.height == 1
    row = mine.row(0, named=True)
    assert row["ongoing_since"] == setup["incident_start"] and row["days_flagged"] == 3
    assert row["observed_pass_percentage"] == 0.0 and row["runs"] == 20 and row["probability"] < 1e-3
    assert row["expected_pass_percentage"] > row["observed_pass_percentage"] and row["severity"] in ("medium", "high", "critical")
    assert row["forecast_origin"] == day - timedelta(days=1) and row["history_last_day"] == day - timedelta(days=1)
    text = (out.parent / "alerts.txt").read_text(encoding="utf-8").splitlines()
    assert len(text) == alerts.height
    line = next(t for t in text if uuid in t)
    assert line.startswith(f"\u2022 On {day}, dataset ") and f"ongoing since {setup['incident_start']} (3 flagged days)" in line
    assert "passed 0.00% of 20 runs where" in line and "\u2014 severity" in line
    assert (out.parent / "at_risk.csv").exists() and "series checked" in result.stderr
    assert not list(out.parent.glob(".*partial"))


def test_fail_on_exit_codes_and_header_only_outputs(setup, tmp_path: Path) -> None:
    common = [setup["incident_log"], "--model", setup["model"], "--date", setup["day"].isoformat()]
    flagged = run_dqs("alerts", *common, "--output", tmp_path / "a" / "alerts.csv", "--fail-on", "low")
    assert flagged.returncode == 3, flagged.stderr
    assert len(read_csv(tmp_path / "a" / "alerts.csv")) > 1  # the outputs are complete before exit 3
    # nothing can be flagged with --min-runs 1000: header-only files, exit 0 even with --fail-on low
    quiet = run_dqs("alerts", *common, "--output", tmp_path / "b" / "alerts.parquet", "--fail-on", "low",
                    "--min-runs", "1000")
    assert quiet.returncode == 0, quiet.stderr
    empty = pl.read_parquet(tmp_path / "b" / "alerts.parquet")
    assert empty.height == 0 and tuple(empty.columns) == ALERT_COLUMNS
    assert (tmp_path / "b" / "alerts.txt").read_text() == "" and (tmp_path / "b" / "at_risk.parquet").exists()
    csv = run_dqs("alerts", *common, "--output", tmp_path / "c" / "alerts.csv", "--min-runs", "1000")
    assert csv.returncode == 0 and read_csv(tmp_path / "c" / "alerts.csv") == [list(ALERT_COLUMNS)]


@pytest.mark.parametrize("args, words", [
    (["--direction", "sideways"], "--direction"),
    (["--min-severity", "urgent"], "--min-severity"),
    (["--fail-on", "urgent"], "--fail-on"),
    (["--date", "2099-01-01"], "after the last day"),
    (["--date", "yesterday"], "not a date"),
    (["--horizon", "30"], "--horizon"),
    (["--output", "alerts.json"], "neither .csv nor .parquet"),
])
def test_bad_input_is_exit_2_with_a_hint(setup, tmp_path: Path, args: list[str], words: str) -> None:
    result = run_dqs("alerts", setup["log"], "--model", setup["model"], "--output", tmp_path / "alerts.csv", *args)
    assert result.returncode == 2, result.stderr
    assert words in result.stderr and "Hint:" in result.stderr
    assert not (tmp_path / "alerts.csv").exists()


def test_bad_sources_are_exit_2_with_a_hint(setup, tmp_path: Path) -> None:
    out = ["--output", tmp_path / "alerts.csv"]
    cases = (
        [setup["log"], "--model", tmp_path / "no-model"],  # no bundle there
        [setup["log"], "--model", setup["model"], "--store", tmp_path / "store"],  # two histories
        ["--model", setup["model"]],  # no history at all
        [tmp_path / "missing.csv", "--model", setup["model"]],
    )
    for args in cases:
        result = run_dqs("alerts", *args, *out)
        assert result.returncode == 2 and "Hint:" in result.stderr, (args, result.stderr)


def test_the_store_gives_the_same_alerts_as_the_log(setup, tmp_path: Path) -> None:
    store = tmp_path / "store"
    ingest(IngestOptions(inputs=(str(setup["incident_log"]),), store=store))
    common = ["--model", setup["model"], "--date", setup["day"].isoformat()]
    from_log = run_dqs("alerts", setup["incident_log"], *common, "--output", tmp_path / "log" / "alerts.csv")
    from_store = run_dqs("alerts", "--store", store, *common, "--output", tmp_path / "store" / "alerts.csv")
    assert from_log.returncode == from_store.returncode == 0, from_store.stderr
    for name in ("alerts.csv", "alerts.txt", "at_risk.csv"):
        assert (tmp_path / "log" / name).read_bytes() == (tmp_path / "store" / name).read_bytes()


def test_noise_controls_and_directions(setup) -> None:
    bundle = load_bundle(setup["model"])
    history = read_history(str(setup["incident_log"]))
    day = setup["day"]
    base = find_alerts(bundle, history, AlertOptions(day=day))
    assert base.alerts.height >= 1 and base.reaches("low") and (base.alerts["direction"] == "drop").all()
    assert find_alerts(bundle, history, AlertOptions(day=day, min_drop=101.0)).alerts.height == 0
    assert find_alerts(bundle, history, AlertOptions(day=day, min_runs=21)).alerts.height == 0
    rises = find_alerts(bundle, history, AlertOptions(day=day, direction="rise")).alerts
    assert (rises["observed_pass_percentage"] > rises["expected_pass_percentage"]).all()
    top = find_alerts(bundle, history, AlertOptions(day=day, min_severity="high")).alerts
    assert set(top["severity"].to_list()) <= {"high", "critical"}
    assert len(sentences(base.alerts)) == base.alerts.height


def test_the_generator_writes_its_incidents(setup) -> None:
    incidents = pl.read_parquet(incidents_path(setup["folder"] / "truth.parquet"))
    truth = pl.read_parquet(setup["folder"] / "truth.parquet")
    assert incidents.height > 20 and (incidents["incident_end"] >= incidents["incident_start"]).all()
    assert (incidents["incident_days"] == (incidents["incident_end"] - incidents["incident_start"]).dt.total_days() + 1).all()
    # incident days are the ones the generator pushed down: far below the same series' other days
    days = truth.join(incidents, on=KEY).filter(pl.col("business_date").is_between("incident_start", "incident_end"))
    inside = days.select(KEY + ["business_date"]).unique()
    others = truth.join(inside, on=[*KEY, "business_date"], how="anti")
    assert days["true_pass_percentage"].mean() < 30 < others["true_pass_percentage"].mean()
