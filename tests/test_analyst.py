"""Analysts' SQL files: the shipped examples against Polars computations of the same metric,
the relations' contract, safety (no file system, no configuration changes), and errors that
name the file and the line."""

from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from conftest import COLUMNS, read_csv, run_dqs, write_log
from dqs.engine.summary.analyst import examples_dir
from dqs.engine.generate import GenerateOptions, generate_log, write_rules
from dqs.engine.summary.summarize import SummarizeOptions, summarize
from reference import status_of

KEY = ["source", "tenant_id", "dataset_uuid", "dataset_name", "rule_code"]


@pytest.fixture(scope="module")
def examples_run(tmp_path_factory: pytest.TempPathFactory):
    """One generated log (no malformed rows), summarized with the shipped examples."""
    tmp = tmp_path_factory.mktemp("examples")
    log, rules = tmp / "log.csv", tmp / "rules.json"
    generate_log(GenerateOptions(rows=60_000, output=log, seed=11))
    write_rules(rules)
    out = tmp / "out"
    report = summarize(SummarizeOptions(
        input=str(log), output_dir=out, rules=rules, sql_dirs=(examples_dir(),),
        params={"top": "7", "min_flips": "3"},
    ))
    return log, out, report


def _summary(out: Path) -> pl.DataFrame:
    return pl.read_parquet(out / "summary.parquet")


def test_worst_offenders_matches_polars(examples_run) -> None:
    _, out, _ = examples_run
    expected = (
        _summary(out)
        .filter(pl.col("pass_count_1m") + pl.col("fail_count_1m") > 0)
        .with_columns((pl.col("fail_rate_1m") - pl.col("fail_rate_3m")).alias("fail_rate_change"))
        .sort(["fail_rate_change", *KEY], descending=[True] + [False] * 5)
        .head(7)  # --param top=7 overrides the file's default of 20
    )
    got = pl.read_parquet(out / "worst_offenders.parquet")
    assert got.height == 7
    assert got.select(KEY).rows() == expected.select(KEY).rows()
    assert got["fail_rate_change"].to_list() == expected["fail_rate_change"].to_list()
    assert got["decided_1m"].to_list() == (expected["pass_count_1m"] + expected["fail_count_1m"]).to_list()


def test_tenant_dimension_rollup_matches_polars(examples_run) -> None:
    _, out, _ = examples_run
    expected = (
        _summary(out)
        .with_columns(pl.col("dimension").fill_null("(unknown)"))
        .group_by("tenant_id", "dimension")
        .agg(
            pl.len().alias("groups"),
            pl.col("pass_count_total").sum(), pl.col("fail_count_total").sum(),
            pl.col("pass_count_1m").sum(), pl.col("fail_count_1m").sum(),
            (pl.col("trend_flag") == "up").sum().alias("groups_trending_up"),
        )
        .sort("tenant_id", "dimension")
    )
    got = pl.read_parquet(out / "tenant_dimension_rollup.parquet")
    assert got.height == expected.height > 1
    for column in ("tenant_id", "dimension", "groups", "pass_count_total", "fail_count_total",
                   "pass_count_1m", "fail_count_1m", "groups_trending_up"):
        assert got[column].to_list() == expected[column].to_list(), column
    total = expected["pass_count_total"] + expected["fail_count_total"]
    assert got["fail_rate_total"].to_list() == pytest.approx((expected["fail_count_total"] / total).to_list())
    assert "(unknown)" in got["dimension"].to_list()  # the generated rules leave two codes undescribed


def _daily_from_log(log: Path) -> pl.DataFrame:
    """Per series and day counts, straight from the CSV, statuses by the Python reference."""
    raw = pl.read_csv(log, infer_schema=False)
    texts = raw["results"].fill_null("").unique()
    status = dict(zip(texts.to_list(), [status_of(t) for t in texts.to_list()]))
    return (
        raw.with_columns(
            pl.col("results").fill_null("").replace_strict(status).alias("status"),
            pl.col("business_date").str.slice(0, 10).str.to_date(),
        )
        .group_by("dataset_uuid", "rule_code", "business_date")
        .agg(
            (pl.col("status") == "pass").sum().alias("passes"),
            (pl.col("status") == "fail").sum().alias("fails"),
            (pl.col("status") == "unknown").sum().alias("unknown"),
            pl.len().alias("runs"),
        )
    )


def test_flapping_rules_matches_polars(examples_run) -> None:
    log, out, report = examples_run
    reference = date.fromisoformat(report.reference_date)
    days = 30
    outcomes = (
        _daily_from_log(log)
        .filter(pl.col("passes") + pl.col("fails") > 0)
        .filter(pl.col("business_date") > reference - timedelta(days=days))
        .with_columns(pl.when(pl.col("fails") > 0).then(pl.lit("fail")).otherwise(pl.lit("pass")).alias("outcome"))
        .sort("dataset_uuid", "rule_code", "business_date")
        .with_columns(pl.col("outcome").shift(1).over("dataset_uuid", "rule_code").alias("previous"))
    )
    expected = (
        outcomes.group_by("dataset_uuid", "rule_code")
        .agg(
            pl.len().alias("observed_days"),
            (pl.col("outcome") == "fail").sum().alias("fail_days"),
            (pl.col("previous").is_not_null() & (pl.col("outcome") != pl.col("previous"))).sum().alias("flips"),
        )
        .filter(pl.col("flips") >= 3)  # --param min_flips=3
        .sort(["flips", "dataset_uuid", "rule_code"], descending=[True, False, False])
    )
    got = pl.read_parquet(out / "flapping_rules.parquet")
    assert got.height == expected.height > 0
    assert got.select("dataset_uuid", "rule_code", "observed_days", "fail_days", "flips").rows() == \
        expected.select("dataset_uuid", "rule_code", "observed_days", "fail_days", "flips").rows()
    assert got["flip_rate"].to_list() == pytest.approx(
        (expected["flips"] / (expected["observed_days"] - 1)).to_list())


def test_outputs_come_as_csv_and_parquet_and_are_reported(examples_run) -> None:
    _, out, report = examples_run
    for name in ("worst_offenders", "tenant_dimension_rollup", "flapping_rules"):
        csv_rows = read_csv(out / f"{name}.csv")
        parquet = pl.read_parquet(out / f"{name}.parquet")
        assert csv_rows[0] == parquet.columns and len(csv_rows) - 1 == parquet.height
        assert f"{name}.csv" in report.outputs and f"{name}.parquet" in report.outputs
    assert [Path(p).name for p in report.sql_files] == [
        "flapping_rules.sql", "tenant_dimension_rollup.sql", "worst_offenders.sql"]
    assert report.sql_reads_rows  # flapping_rules reads `daily`


def test_files_on_summary_only_cost_no_second_pass(tmp_path: Path) -> None:
    log = write_log(tmp_path / "log.csv", [_row("2024-03-01", "pass")])
    sql = _sql_dir(tmp_path, {"w.sql": (examples_dir() / "worst_offenders.sql").read_text()})
    report = summarize(SummarizeOptions(input=str(log), output_dir=tmp_path / "out", sql_dirs=(sql,)))
    assert not report.sql_reads_rows and (tmp_path / "out" / "w.csv").is_file()


# ---------------------------------------------------------------------------------------------
# the relations


def _row(day: str, status: str, **extra: str) -> dict:
    return {
        "source": " erp ", "tenant_id": "t", "dataset_uuid": "u", "dataset_name": "d", "rule_code": "7",
        "business_date": day, "results": json.dumps({"result": status}), "level_of_execution": "DATASET",
        "attribute_name": "", "dataset_record_count": "10", "filtered_record_count": "4", **extra,
    }


def _sql_dir(tmp: Path, files: dict[str, str], name: str = "sql") -> Path:
    folder = tmp / name
    folder.mkdir(exist_ok=True)
    for file, text in files.items():
        (folder / file).write_text(text, encoding="utf-8")
    return folder


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_results_has_typed_columns_extras_and_excludes_rejects(tmp_path: Path, fmt: str) -> None:
    rows = [_row("2024-03-01", "pass", team="a"), _row("2024-03-02", "FAIL ", team="b"),
            _row("not a date", "pass", team="c"), _row("2024-03-05", "pass", team="d"),
            _row("2024-03-02", "maybe", team="e")]
    log = write_log(tmp_path / "log.csv", rows, COLUMNS + ["team"])
    if fmt == "parquet":
        pl.read_csv(log, infer_schema=False).write_parquet(tmp_path / "log.parquet")
        log = tmp_path / "log.parquet"
    sql = _sql_dir(tmp_path, {
        "a_rows.sql": "-- every row\nSELECT * FROM results ORDER BY input_line",
        "b_days.sql": "SELECT * FROM daily ORDER BY business_date",
        "c_uses_a.sql": "-- depends on an earlier output by name\nSELECT team, status FROM a_rows WHERE status <> 'pass'",
    })
    out = tmp_path / "out"
    summarize(SummarizeOptions(input=str(log), output_dir=out, sql_dirs=(sql,), as_of=date(2024, 3, 4)))
    got = pl.read_parquet(out / "a_rows.parquet")
    assert got.columns[:14] == [
        "source", "tenant_id", "dataset_uuid", "dataset_name", "rule_code", "business_date", "results",
        "status", "level_of_execution", "attribute_name", "dataset_record_count", "filtered_record_count",
        "input_file", "input_line"]
    assert got.columns[14:] == ["team"]
    # the rejected row (line 3) and the row after --as-of (line 4) are not in `results`
    assert got["input_line"].to_list() == [1, 2, 5]
    assert got["team"].to_list() == ["a", "b", "e"]
    assert got["status"].to_list() == ["pass", "fail", "unknown"]
    assert got["source"].to_list() == ["erp"] * 3  # trimmed
    assert got.schema["business_date"] == pl.Date and got.schema["dataset_record_count"] == pl.Int64
    assert got["attribute_name"].to_list() == [None] * 3
    days = pl.read_parquet(out / "b_days.parquet")
    assert days.select("business_date", "passes", "fails", "unknown", "runs").rows() == [
        (date(2024, 3, 1), 1, 0, 0, 1), (date(2024, 3, 2), 0, 1, 1, 2)]
    assert read_csv(out / "c_uses_a.csv") == [["team", "status"], ["b", "fail"], ["e", "unknown"]]


def test_builtin_and_user_parameters_are_bound(tmp_path: Path) -> None:
    log = write_log(tmp_path / "log.csv", [_row("2024-03-01", "pass"), _row("2024-03-09", "fail")])
    sql = _sql_dir(tmp_path, {"p.sql": (
        "-- parameters\n-- param: label = default label\n-- param: n = 1\n"
        "SELECT $reference_date AS r, $as_of AS a, $label AS label, CAST($n AS INTEGER) + 1 AS n1, "
        "'$label stays text' AS literal FROM summary")})
    out = tmp_path / "out"
    result = run_dqs("summarize", log, "-o", out, "--sql-dir", sql, "--param", "n=41", "-q")
    assert result.returncode == 0, result.stderr
    assert read_csv(out / "p.csv") == [["r", "a", "label", "n1", "literal"],
                                        ["2024-03-09", "", "default label", "42", "$label stays text"]]


def test_sql_dir_from_environment_and_listing(tmp_path: Path) -> None:
    log = write_log(tmp_path / "log.csv", [_row("2024-03-01", "pass")])
    first = _sql_dir(tmp_path, {"b.sql": "-- Bee: counts groups\nSELECT count(*) AS n FROM summary"}, "one")
    second = _sql_dir(tmp_path, {"a.sql": "-- Ay: reads b\nSELECT n + 1 AS m FROM b"}, "two")
    env = {"DQS_SQL_DIR": f"{first}:{second}"}
    listing = run_dqs("sql", "list", env=env)
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    assert "b" in lines[1] and "Bee: counts groups" in lines[1]
    assert "a" in lines[2] and "Ay: reads b" in lines[2]  # folders in order, then names
    out = tmp_path / "out"
    result = run_dqs("summarize", log, "-o", out, "-q", env=env)
    assert result.returncode == 0, result.stderr
    assert read_csv(out / "a.csv") == [["m"], ["2"]]
    examples = run_dqs("sql", "list")
    assert "worst_offenders" in examples.stdout and "flapping_rules" in examples.stdout


# ---------------------------------------------------------------------------------------------
# safety and errors


def _snapshot(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture
def previous_run(tmp_path: Path):
    """A log and an output directory holding a complete earlier run."""
    log = write_log(tmp_path / "log.csv", [_row("2024-03-01", "pass"), _row("2024-03-02", "fail")])
    out = tmp_path / "out"
    assert run_dqs("summarize", log, "-o", out, "-q").returncode == 0
    return log, out, _snapshot(out)


@pytest.mark.parametrize("text, fragment", [
    ("SELECT * FROM read_csv('/etc/passwd')", "file system operations are disabled"),
    ("SELECT * FROM '/etc/passwd'", "Table with name /etc/passwd does not exist"),  # no file scans by name
    ("COPY summary TO '/tmp/dqs-should-not-exist.csv'", "exactly one SELECT (found: COPY)"),
    ("ATTACH '/tmp/dqs-should-not-exist.db' AS other", "exactly one SELECT (found: ATTACH)"),
    ("INSTALL httpfs", "exactly one SELECT (found: LOAD)"),
    ("LOAD httpfs", "exactly one SELECT (found: LOAD)"),
    ("SET memory_limit = '64GB'", "exactly one SELECT (found: SET)"),
    ("SELECT 1 AS x; SET memory_limit = '64GB'", "exactly one SELECT (found: SELECT, SET)"),
    ("SELECT * FROM glob('/etc/*')", "file system operations are disabled"),
])
def test_unsafe_files_are_refused_and_outputs_untouched(previous_run, tmp_path: Path, text: str, fragment: str) -> None:
    log, out, before = previous_run
    sql = _sql_dir(tmp_path, {"evil.sql": f"-- tries something\n{text}\n"})
    result = run_dqs("summarize", log, "-o", out, "--sql-dir", sql)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    first = result.stderr.splitlines()[0]
    assert first.startswith("dqs: error: SQL file ") and "evil.sql" in first and fragment in first
    assert "Hint:" in result.stderr
    assert _snapshot(out) == before
    assert not Path("/tmp/dqs-should-not-exist.csv").exists() and not Path("/tmp/dqs-should-not-exist.db").exists()


@pytest.mark.parametrize("text, location, fragment", [
    ("-- syntax\nSELECT source,\n  FROM summary WHERE\n", "bad.sql:3:16", "syntax error"),
    ("-- a column that is not there\nSELECT source,\n       bogus_column\nFROM summary\n", "bad.sql:3:8",
     'Referenced column "bogus_column" not found'),
    ("-- depends on a missing output\nSELECT *\nFROM   not_made_yet\n", "bad.sql:3:8",
     "Table with name not_made_yet does not exist"),
    ("-- a parameter nobody gives\nSELECT\n  $threshold AS t FROM summary\n", "bad.sql:3:3", "parameter $threshold has no value"),
])
def test_errors_name_file_and_line(previous_run, tmp_path: Path, text: str, location: str, fragment: str) -> None:
    log, out, before = previous_run
    sql = _sql_dir(tmp_path, {"bad.sql": text})
    result = run_dqs("summarize", log, "-o", out, "--sql-dir", sql)
    assert result.returncode == 2, result.stderr
    first = result.stderr.splitlines()[0]
    assert location in first and fragment in first, result.stderr
    line_number = int(location.split(":")[1])
    assert f"{line_number} | {text.splitlines()[line_number - 1]}" in result.stderr  # the offending line
    assert "Traceback" not in result.stderr
    assert _snapshot(out) == before


def test_a_failing_later_file_leaves_no_partial_outputs(previous_run, tmp_path: Path) -> None:
    log, out, before = previous_run
    sql = _sql_dir(tmp_path, {"a_fine.sql": "SELECT * FROM summary",
                              "b_fails.sql": "SELECT CAST('x' AS INTEGER) AS boom FROM summary"})
    result = run_dqs("summarize", log, "-o", out, "--sql-dir", sql)
    assert result.returncode == 2 and "b_fails.sql" in result.stderr.splitlines()[0]
    assert _snapshot(out) == before  # neither a_fine.* nor new built-in outputs appeared


@pytest.mark.parametrize("files, fragment", [
    ({"summary.sql": "SELECT 1 AS x"}, "belongs to dqs"),
    ({"full_summary.sql": "SELECT 1 AS x"}, "belongs to dqs"),
    ({"my-metric.sql": "SELECT 1 AS x"}, "cannot name an output table"),
])
def test_bad_names_are_refused(previous_run, tmp_path: Path, files: dict, fragment: str) -> None:
    log, out, before = previous_run
    result = run_dqs("summarize", log, "-o", out, "--sql-dir", _sql_dir(tmp_path, files))
    assert result.returncode == 2 and fragment in result.stderr.splitlines()[0], result.stderr
    assert _snapshot(out) == before


def test_same_name_in_two_folders_is_refused(previous_run, tmp_path: Path) -> None:
    log, out, before = previous_run
    one = _sql_dir(tmp_path, {"m.sql": "SELECT 1 AS x"}, "one")
    two = _sql_dir(tmp_path, {"m.sql": "SELECT 2 AS x"}, "two")
    result = run_dqs("summarize", log, "-o", out, "--sql-dir", one, "--sql-dir", two)
    assert result.returncode == 2 and "also made by" in result.stderr, result.stderr
    assert _snapshot(out) == before


def test_missing_sql_folder(previous_run, tmp_path: Path) -> None:
    log, out, before = previous_run
    result = run_dqs("summarize", log, "-o", out, "--sql-dir", tmp_path / "nope")
    assert result.returncode == 2 and "does not exist" in result.stderr.splitlines()[0]
    assert _snapshot(out) == before


# ---------------------------------------------------------------------------------------------
# dqs sql check


def test_check_reports_every_broken_file(tmp_path: Path) -> None:
    sql = _sql_dir(tmp_path, {
        "a_ok.sql": "-- fine\nSELECT tenant_id, count(*) AS n FROM summary GROUP BY tenant_id",
        "b_syntax.sql": "SELECT\n  FROM FROM results\n",
        "c_column.sql": "SELECT dataset_uuid,\n  no_such_column\nFROM daily\n",
        "d_missing.sql": "-- reads an output nobody makes\nSELECT * FROM\n  phantom\n",
        "e_uses_ok.sql": "SELECT n FROM a_ok",
    })
    result = run_dqs("sql", "check", sql)
    assert result.returncode == 2, result.stderr
    reported = [line for line in result.stdout.splitlines() if line.startswith(str(sql))]
    assert [Path(line.split(":")[0]).name for line in reported] == ["b_syntax.sql", "c_column.sql", "d_missing.sql"]
    assert ":2:" in reported[0] and ":2:3:" in reported[1] and ":3:3:" in reported[2]
    assert "3 of 5 SQL file(s) have problems" in result.stderr


def test_check_passes_the_examples_and_knows_extra_columns(tmp_path: Path) -> None:
    assert run_dqs("sql", "check", examples_dir()).returncode == 0
    sql = _sql_dir(tmp_path, {"t.sql": "SELECT team, count(*) AS n FROM results GROUP BY team"})
    assert run_dqs("sql", "check", sql).returncode == 2  # `team` is not a standard column
    log = write_log(tmp_path / "log.csv", [_row("2024-03-01", "pass", team="a")], COLUMNS + ["team"])
    result = run_dqs("sql", "check", sql, "--input", log)
    assert result.returncode == 0, result.stdout + result.stderr
