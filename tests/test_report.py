"""`dqs report`: the HTML file's data equal the summary's (full_summary.csv), the per-series days
equal the store's daily counts, hostile input stays text, the page is locked down by its CSP,
and the command's errors (assets not built, bad options) are clear. The page itself is driven in
a real browser by test_report_browser.py."""

from __future__ import annotations

import csv
import html.parser
import json
import re
import shutil
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from conftest import run_dqs, write_log
from dqs.engine.report import assets as report_assets
from dqs.engine.report.html import script_json
from dqs.engine.report.payload import Payload, decode

REFERENCE = date(2026, 6, 30)
HOSTILE = {
    "script": '<script>window.__pwned = 1; alert("x")</script>',
    "end_script": "</script><script>window.__pwned = 2</script><!--",
    "img": "<img src=x onerror=\"window.__pwned = 3\">",
    "quotes": "Quote \" and ' and ` and &amp; &lt;b&gt;",
    "newlines": "line one\nline two\r\nand\ta tab",
    "rtl": "\u05e9\u05dc\u05d5\u05dd \u202eevil\u202c \u0645\u0631\u062d\u0628\u0627",
    "separators": "para\u2028graph\u2029end",
}


def hostile_rows() -> tuple[list[dict], dict]:
    """A small log whose names attack the page, plus groups whose fail rates are exact ties at
    two decimals (1 and 5 failures in 800 runs: 0.125% and 0.625%), days with many runs (more
    than a byte holds) and unknown statuses; and a rules file with hostile metadata."""
    rows: list[dict] = []

    def add(day: date, status: str, *, source="src", tenant="tenant-a", uuid="u-1", name="plain", rule="101", n=1):
        results = {"pass": '{"result": "pass"}', "fail": '{"result": "fail"}'}.get(status, '{"result": "skipped"}')
        rows.extend({"source": source, "tenant_id": tenant, "dataset_uuid": uuid, "dataset_name": name, "rule_code": rule,
                     "business_date": day.isoformat(), "results": results, "level_of_execution": "DATASET",
                     "attribute_name": "", "dataset_record_count": "1200", "filtered_record_count": "1000"}
                    for _ in range(n))

    for k, (key, name) in enumerate(HOSTILE.items()):
        for d in range(0, 120, 3):
            add(REFERENCE - timedelta(days=d), "fail" if (d + k) % 4 == 0 else "pass", uuid=f"u-{key}", name=name,
                tenant=HOSTILE["img"] if key == "img" else "tenant-a", source=HOSTILE["quotes"] if key == "quotes" else "src",
                rule="R<1>" if key == "script" else "101")
    for fails, uuid in ((1, "tie-1"), (5, "tie-5")):
        for i in range(800):
            add(REFERENCE - timedelta(days=i % 20), "fail" if i < fails else "pass", uuid=uuid, name=f"ties {fails}", rule="102")
    add(REFERENCE, "pass", uuid="busy", name="busy day", rule="103", n=9)  # 9 passes: beyond a byte's 0-7
    add(REFERENCE, "fail", uuid="busy", name="busy day", rule="103", n=2)
    add(REFERENCE - timedelta(days=1), "unknown", uuid="busy", name="busy day", rule="103", n=3)
    add(REFERENCE - timedelta(days=1), "pass", uuid="busy", name="busy day", rule="103", n=1)
    add(REFERENCE - timedelta(days=400), "fail", uuid="old", name="only long ago", rule="104")
    rules = {
        "101": {"rule_name": "<b>bold</b> & \"quoted\"", "rule_type": "volume", "dimension": "Completeness",
                "rule_description": "</script>", "category": "C1"},
        "102": {"rule_name": "Tie check", "rule_type": "validity", "dimension": "\u05de\u05de\u05d3", "rule_description": "d",
                "category": 2},
    }
    return rows, rules


def write_hostile(folder: Path) -> tuple[Path, Path]:
    rows, rules = hostile_rows()
    log = write_log(folder / "log.csv", rows)
    rules_path = folder / "rules.json"
    rules_path.write_text(json.dumps(rules), encoding="utf-8")
    return log, rules_path


def payload_of(page: str) -> tuple[dict, dict, dict]:
    """The meta JSON, and the payload's header and columns, of a report page."""
    meta = json.loads(re.search(r'<script type="application/json" id="dqs-meta">(.*?)</script>', page, re.S).group(1))
    blob = re.search(r'<script type="application/octet-stream" id="dqs-data">([A-Za-z0-9+/=]*)</script>', page).group(1)
    header, columns = decode(blob)
    return meta, header, columns


def values(header: dict, columns: dict, name: str) -> list:
    """A payload column as Python values (dictionary text, integers with their offset, None)."""
    meta = header["columns"][name]
    data = columns[name]
    if "dictionary" in meta:
        return [meta["dictionary"][i] for i in data.tolist()]
    null, add = meta.get("null"), meta.get("add", 0)
    return [None if v == null else int(v) + add for v in data.tolist()]


def read_summary(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> dict[str, Path]:
    """The hostile log under a directory whose path holds `</script>`, its one-shot summary and
    its report."""
    tmp = tmp_path_factory.mktemp("hostile")
    folder = tmp / "x</script><b>y"  # the path itself ends up in the page (provenance)
    folder.mkdir(parents=True)
    log, rules = write_hostile(folder)
    out = tmp / "out"
    result = run_dqs("summarize", log, rules, "-o", out, "--quiet")
    assert result.returncode == 0, result.stderr
    report = tmp / "report.html"
    result = run_dqs("report", log, rules, "-o", report)
    assert result.returncode == 0, result.stderr
    assert "dqs report:" in result.stderr and "Traceback" not in result.stderr
    return {"log": log, "rules": rules, "out": out, "report": report, "tmp": tmp}


def test_the_report_data_equal_full_summary_csv(hostile) -> None:
    meta, header, columns = payload_of(hostile["report"].read_text(encoding="utf-8"))
    expected = read_summary(hostile["out"] / "full_summary.csv")
    assert meta["groups"] == len(expected) == header["totals"]["groups"]
    text_columns = ("source", "tenant_id", "dataset_uuid", "dataset_name", "rule_code", "rule_name", "rule_type",
                    "dimension", "rule_description", "category", "last_execution_level", "trend_flag")
    for name in text_columns:
        assert values(header, columns, name) == [row[name] for row in expected], name
    for name in ("dataset_record_count_latest", "filtered_record_count_latest", "pass_count_total", "fail_count_total",
                 "pass_count_1m", "fail_count_1m", "pass_count_3m", "fail_count_3m", "pass_count_12m", "fail_count_12m"):
        assert values(header, columns, name) == [int(row[name]) for row in expected], name
    days = values(header, columns, "business_date_latest")
    assert [(date(1970, 1, 1) + timedelta(days=d)).isoformat() for d in days] == [r["business_date_latest"] for r in expected]
    # the page divides the counts as summary.sql does: the same doubles as the CSV's rates
    for window in ("total", "1m", "3m", "12m"):
        p = np.array(values(header, columns, f"pass_count_{window}"), dtype=np.float64)
        f = np.array(values(header, columns, f"fail_count_{window}"), dtype=np.float64)
        with np.errstate(invalid="ignore"):
            rates = np.where(p + f == 0, 0.0, f / (p + f))
        assert [repr(float(r)) for r in rates] == [repr(float(row[f"fail_rate_{window}"])) for row in expected]
    report = json.loads((hostile["out"] / "run_report.json").read_text())
    assert meta["rows"]["read"] == report["rows_read"] and meta["rows"]["rejected"] == report["rows_rejected"]
    assert meta["rows"]["unknown_status"] == report["rows_unknown_status"] == 3
    assert meta["reference_date"] == report["reference_date"] == REFERENCE.isoformat()
    totals = header["totals"]
    assert totals["pass_total"] == sum(int(r["pass_count_total"]) for r in expected)
    assert totals["fail_1m"] == sum(int(r["fail_count_1m"]) for r in expected)
    assert totals["trend_up"] == sum(r["trend_flag"] == "up" for r in expected)


def test_per_series_days_equal_the_logs_daily_counts(hostile) -> None:
    meta, header, columns = payload_of(hostile["report"].read_text(encoding="utf-8"))
    rows, _ = hostile_rows()
    log = pl.DataFrame(rows)
    window = meta["history"]["days"]
    assert window == 365 and meta["history"]["first"] == (REFERENCE - timedelta(days=364)).isoformat()
    status = pl.col("results").str.extract(r'"result": "(\w+)"')
    daily = (log.with_columns(status.alias("status"), pl.col("business_date").str.to_date())
             .filter(pl.col("business_date") > REFERENCE - timedelta(days=window))
             .group_by("dataset_uuid", "rule_code", "business_date")
             .agg((pl.col("status") == "pass").sum().alias("p"), (pl.col("status") == "fail").sum().alias("f"),
                  (~pl.col("status").is_in(["pass", "fail"])).sum().alias("u")))
    uuids = values(header, columns, "dataset_uuid")
    codes = values(header, columns, "rule_code")
    matrix = columns["history"].reshape(len(uuids), window)
    escapes = dict(zip(columns["escape_cell"].tolist(), zip(columns["escape_passes"].tolist(),
                                                              columns["escape_fails"].tolist(),
                                                              columns["escape_unknown"].tolist())))
    first = REFERENCE - timedelta(days=window - 1)
    got = {}
    for g, d in zip(*np.nonzero(matrix)):
        code = int(matrix[g, d])
        counts = escapes[int(g) * window + int(d)] if code == 255 else (code & 7, (code >> 3) & 7, code >> 6)
        got[(uuids[g], codes[g], first + timedelta(days=int(d)))] = counts
    want = {(r["dataset_uuid"], r["rule_code"], r["business_date"]): (r["p"], r["f"], r["u"]) for r in daily.to_dicts()}
    assert got == want
    assert got[("busy", "103", REFERENCE)] == (9, 2, 0)  # through the escape columns
    assert not any(k[0] == "old" for k in got)  # 400 days ago: outside the window, still in the summary
    assert "old" in uuids
    overall = header["overall"]["days"]
    assert sum(overall["passes"]) == sum(v[0] for k, v in want.items() if k[2] > REFERENCE - timedelta(days=365))


def test_hostile_values_never_become_markup(hostile) -> None:
    page = hostile["report"].read_text(encoding="utf-8")
    for value in HOSTILE.values():
        assert value not in page
    assert "window.__pwned" not in page
    assert "</script><b>y" not in page  # the folder name, in the provenance JSON, is escaped

    class Elements(html.parser.HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.tags: list[tuple[str, dict]] = []

        def handle_starttag(self, tag, attrs):
            self.tags.append((tag, dict(attrs)))

    parser = Elements()
    parser.feed(page)
    scripts = [attrs for tag, attrs in parser.tags if tag == "script"]
    assert [s.get("type") for s in scripts] == ["application/json", "application/octet-stream", "text/plain", None, None]
    assert {tag for tag, _ in parser.tags} <= {"html", "head", "meta", "title", "link", "style", "body", "header", "h1", "p",
                                               "nav", "a", "main", "noscript", "section", "h2", "div", "h3", "span",
                                               "details", "summary", "dl", "table", "thead", "tr", "th", "tbody", "ol",
                                               "label", "input", "select", "button", "footer", "script"}
    meta, header, _ = payload_of(page)
    assert HOSTILE["end_script"] in header["columns"]["dataset_name"]["dictionary"]
    assert any("</script><b>y" in f["path"] for f in meta["files"])


def test_the_page_forbids_network_access(hostile) -> None:
    page = hostile["report"].read_text(encoding="utf-8")
    policy = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', page).group(1)
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'none'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert directives["img-src"] == "data:"
    assert len(directives["script-src"].split()) == 2 and len(directives["style-src"].split()) == 1
    assert page.index("Content-Security-Policy") < page.index("<script")
    assert not re.search(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", page)


def test_script_json_is_safe_inside_a_script_element() -> None:
    value = {"a": "</script><!-- & \u2028 \u2029 >", "b": ["<", ">", "&"]}
    text = script_json(value)
    assert not set(text) & {"<", ">", "&", "\u2028", "\u2029"}
    assert json.loads(text) == value


def test_payload_round_trip_with_nulls_and_large_values() -> None:
    import pyarrow as pa

    payload = Payload()
    payload.integers("small", pa.array([0, 5, None, 255]))
    payload.integers("big", pa.array([0, 2**40, None]))
    payload.integers("huge", pa.array([2**62, 1]))
    payload.integers("negative", pa.array([-5, 7]))
    payload.integers("dates", pa.array([20000, 20030]), offset=20000)
    payload.integers("shuffled", pa.array([1, 70000, None, 3]), shuffle=True)
    payload.text("names", pa.array(["b", "a", "b", "\u05e9"]))
    payload.header["x"] = {"y": [1, 2]}
    header, columns = decode(payload.encode_base64())
    types = {name: header["columns"][name]["type"] for name in header["columns"]}
    assert types == {"small": "u16", "big": "f64", "huge": "i64", "negative": "i32", "dates": "u8", "names": "u8",
                     "shuffled": "u32"}
    assert values(header, columns, "shuffled") == [1, 70000, None, 3]
    assert values(header, columns, "small") == [0, 5, None, 255]
    big = columns["big"]
    assert big[1] == 2**40 and np.isnan(big[2])
    assert columns["huge"].tolist() == [2**62, 1]
    assert values(header, columns, "dates") == [20000, 20030]
    assert values(header, columns, "names") == ["b", "a", "b", "\u05e9"]
    assert header["columns"]["names"]["dictionary"] == ["a", "b", "\u05e9"]
    assert header["x"] == {"y": [1, 2]}


def test_a_store_report_equals_the_input_report_and_pins_versions(hostile, tmp_path: Path) -> None:
    store = tmp_path / "store"
    log, rules = hostile["log"], hostile["rules"]
    older = tmp_path / "older.csv"
    lines = log.read_text(encoding="utf-8").splitlines(keepends=True)
    older.write_text("".join(lines[:121]), encoding="utf-8")  # the first 120 rows: one line each
    assert run_dqs("ingest", older, "--store", store, "--quiet").returncode == 0
    assert run_dqs("ingest", log, "--store", store, "--quiet").returncode == 0
    assert run_dqs("report", "--store", store, "--rules", rules, "-o", tmp_path / "v1.html", "--store-version", "1",
                   "--quiet").returncode == 0
    result = run_dqs("report", "--store", store, "--rules", rules, "-o", tmp_path / "v2.html", "--quiet")
    assert result.returncode == 0, result.stderr
    meta1, header1, _ = payload_of((tmp_path / "v1.html").read_text(encoding="utf-8"))
    meta2, header2, columns2 = payload_of((tmp_path / "v2.html").read_text(encoding="utf-8"))
    assert meta1["store"]["version"] == 1 and meta2["store"]["version"] == 2
    assert meta1["rows"]["read"] == 120 and meta2["store"]["temporary"] is False
    # the store holds older.csv and the log (whose rows repeat older's): the summary of both
    out = tmp_path / "out"
    assert run_dqs("summarize", "--store", store, "--rules", rules, "-o", out, "--quiet").returncode == 0
    expected = read_summary(out / "full_summary.csv")
    assert values(header2, columns2, "pass_count_total") == [int(r["pass_count_total"]) for r in expected]
    assert [f["path"] for f in meta2["files"]] == [str(older), str(log)]


def test_as_of_moves_the_reference_date(hostile, tmp_path: Path) -> None:
    as_of = REFERENCE - timedelta(days=10)
    out = tmp_path / "out"
    assert run_dqs("summarize", hostile["log"], hostile["rules"], "-o", out, "--as-of", as_of.isoformat(),
                   "--quiet").returncode == 0
    report = tmp_path / "r.html"
    result = run_dqs("report", hostile["log"], hostile["rules"], "-o", report, "--as-of", as_of.isoformat(),
                     "--history-days", "30", "--quiet")
    assert result.returncode == 0, result.stderr
    meta, header, columns = payload_of(report.read_text(encoding="utf-8"))
    expected = read_summary(out / "full_summary.csv")
    assert meta["reference_date"] == as_of.isoformat() and meta["as_of"] == as_of.isoformat()
    assert meta["history"] == {**meta["history"], "days": 30, "first": (as_of - timedelta(days=29)).isoformat()}
    assert values(header, columns, "fail_count_1m") == [int(r["fail_count_1m"]) for r in expected]
    assert meta["rows"]["after_as_of"] > 0
    assert header["overall"]["days"]["day"][-1] <= as_of.isoformat()


def test_an_empty_log_gives_an_empty_report(tmp_path: Path) -> None:
    log = write_log(tmp_path / "empty.csv", [])
    report = tmp_path / "r.html"
    result = run_dqs("report", log, "-o", report)
    assert result.returncode == 0, result.stderr
    meta, header, columns = payload_of(report.read_text(encoding="utf-8"))
    assert meta["groups"] == 0 and meta["reference_date"] is None and columns["history"].size == 0


@pytest.mark.parametrize("args, message", [
    ((), "needs INPUT, or --store"),
    (("LOG", "--store-version", "1"), "--store-version needs --store"),
    (("--store", "STORE"), "does not exist"),
    (("LOG", "--model", "NOWHERE"), "model bundle"),
    (("LOG", "RULES", "--rules", "RULES"), "given twice"),
    (("LOG", "--as-of", "2026-02-30"), "is not a date"),
])
def test_bad_options_exit_2_with_a_hint(hostile, tmp_path: Path, args, message) -> None:
    names = {"LOG": str(hostile["log"]), "RULES": str(hostile["rules"]), "STORE": str(tmp_path / "none"),
             "NOWHERE": str(tmp_path / "none")}
    result = run_dqs("report", *[names.get(a, a) for a in args], "-o", tmp_path / "r.html")
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Hint:" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "r.html").exists()


def test_missing_assets_stop_with_a_hint(hostile, tmp_path: Path, monkeypatch, capsys) -> None:
    from dqs.cli.app import main

    fake = tmp_path / "package"
    shutil.copytree(Path(report_assets.__file__).parent / "web", fake / "web")
    monkeypatch.setattr(report_assets.resources, "files", lambda _package: fake)
    with pytest.raises(SystemExit) as stop:
        main(["report", str(hostile["log"]), "-o", str(tmp_path / "r.html")])
    assert stop.value.code == 1
    err = capsys.readouterr().err
    assert "front-end assets are not built" in err and "scripts/build-report-assets.sh" in err
    (fake / "assets").mkdir()
    real = Path(report_assets.__file__).parent / "assets"
    for name in ("manifest.json", *report_assets.LIBRARY_FILES):
        shutil.copy(real / name, fake / "assets" / name)
    (fake / "assets" / "uPlot.min.css").write_text("/* changed */", encoding="utf-8")
    with pytest.raises(SystemExit) as stop:
        main(["report", str(hostile["log"]), "-o", str(tmp_path / "r.html")])
    assert stop.value.code == 1 and "does not match its manifest" in capsys.readouterr().err
    assert not (tmp_path / "r.html").exists()


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> dict[str, Path]:
    """A small generated log and a model trained on it with `dqs train`."""
    tmp = tmp_path_factory.mktemp("model")
    log = tmp / "log.csv"
    assert run_dqs("generate", "--rows", "40000", "--seed", "11", "--output", log, "--rules", tmp / "rules.json").returncode == 0
    result = run_dqs("train", log, "--model", tmp / "model", "--horizon", "10")
    assert result.returncode == 0, result.stderr
    return {"log": log, "rules": tmp / "rules.json", "model": tmp / "model", "tmp": tmp}


def test_forecasts_are_the_models_and_at_risk_follows_them(model, tmp_path: Path) -> None:
    # one series shows up in two groups (another source): they share its forecast
    log = tmp_path / "log.csv"
    frame = pl.read_csv(model["log"], infer_schema=False)
    first = frame.row(0, named=True)
    twin = frame.filter((pl.col("dataset_uuid") == first["dataset_uuid"]) & (pl.col("rule_code") == first["rule_code"]))
    pl.concat([frame, twin.head(30).with_columns(pl.lit("snowflake-replica").alias("source"))]).write_csv(log)
    report = tmp_path / "r.html"
    result = run_dqs("report", log, model["rules"], "-o", report, "--model", model["model"])
    assert result.returncode == 0, result.stderr
    meta, header, columns = payload_of(report.read_text(encoding="utf-8"))
    forecast = meta["forecast"]
    days, series = forecast["days"], forecast["series"]
    assert days == 7 and series == meta["groups"] - 1 and forecast["failed_series"] == 0
    assert forecast["origin"] == meta["reference_date"] and not forecast["one_group_per_series"]
    expected = columns["forecast_expected"].reshape(days, series)
    lower = expected.astype(np.int32) - columns["forecast_below"].reshape(days, series)
    upper = columns["forecast_upper"].reshape(days, series)
    assert (lower >= 0).all() and (lower <= expected).all() and (expected <= upper).all() and (upper <= 1000).all()
    uuids = values(header, columns, "dataset_uuid")
    codes = values(header, columns, "rule_code")
    group_series = columns["group_series"]
    twins = [g for g in range(len(uuids)) if (uuids[g], codes[g]) == (first["dataset_uuid"], first["rule_code"])]
    assert len(twins) == 2 and group_series[twins[0]] == group_series[twins[1]]
    # the same numbers as `dqs batch-predict` for the same series and days
    picks = [0, len(uuids) // 2, len(uuids) - 1]
    origin = date.fromisoformat(forecast["origin"])
    requests = pl.DataFrame({"dataset_uuid": [uuids[g] for g in picks for _ in range(days)],
                             "rule_code": [codes[g] for g in picks for _ in range(days)],
                             "business_date": [(origin + timedelta(days=h + 1)).isoformat() for _ in picks for h in range(days)]})
    requests.write_csv(tmp_path / "requests.csv")
    result = run_dqs("batch-predict", "--model", model["model"], "--input", tmp_path / "requests.csv",
                     "--output", tmp_path / "predicted.csv", "--history", log)
    assert result.returncode == 0, result.stderr
    predicted = pl.read_csv(tmp_path / "predicted.csv")
    got = np.array([expected[h, group_series[g]] for g in picks for h in range(days)]) / 10
    assert np.allclose(got, predicted["predicted_pass_percentage"].to_numpy(), atol=0.05)
    got_lower = np.array([lower[h, group_series[g]] for g in picks for h in range(days)]) / 10
    assert np.allclose(got_lower, predicted["lower_pass_percentage"].to_numpy(), atol=0.05)
    got_upper = np.array([upper[h, group_series[g]] for g in picks for h in range(days)]) / 10
    assert np.allclose(got_upper, predicted["upper_pass_percentage"].to_numpy(), atol=0.05)
    # the risk model's probability, in whole percent, as batch-predict gives it
    assert forecast["threshold"] == 100.0 and forecast["at_risk_by"] == "probability"
    chance = columns["forecast_probability"].reshape(days, series)
    got_chance = np.array([chance[h, group_series[g]] for g in picks for h in range(days)])
    want_chance = np.round(predicted["probability_below_threshold"].to_numpy() * 100)
    assert np.array_equal(got_chance, want_chance)
    # at risk: every listed group has a day at least 50% likely below the threshold, riskiest first
    highest = chance.max(axis=0)[group_series]
    risky = header["at_risk"]
    assert risky and all(highest[g] >= 100 * forecast["at_risk_probability"] for g in risky)
    assert [highest[g] for g in risky] == sorted((highest[g] for g in risky), reverse=True)
    assert forecast["at_risk_groups"] == int((highest >= 100 * forecast["at_risk_probability"]).sum())


def test_one_group_per_series_sends_no_mapping(model, tmp_path: Path) -> None:
    report = tmp_path / "r.html"
    result = run_dqs("report", model["log"], "-o", report, "--model", model["model"], "--quiet")
    assert result.returncode == 0, result.stderr
    meta, header, columns = payload_of(report.read_text(encoding="utf-8"))
    assert meta["forecast"]["one_group_per_series"] and "group_series" not in columns
    assert meta["forecast"]["series"] == meta["groups"] == 100
    assert meta["history"]["days"] == 365


def test_too_much_history_is_refused(hostile, tmp_path: Path, monkeypatch, capsys) -> None:
    from dqs.cli.app import main
    from dqs.engine.report import build

    monkeypatch.setattr(build, "HISTORY_CELL_LIMIT", 1000)
    with pytest.raises(SystemExit) as stop:
        main(["report", str(hostile["log"]), "-o", str(tmp_path / "r.html"), "--history-days", "365", "--quiet"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "series-days" in err and "--history-days 90" in err
    assert not (tmp_path / "r.html").exists() and not list(tmp_path.glob(".dqs-*"))
