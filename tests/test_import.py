"""`dqs import` and `dqs ingest --from` on files written by the real tools (tests/interop, made by
scripts/interop/make_fixtures.sh): per run, the rows per status equal what the tool itself
reported (tests/interop/expected.json, taken from the tool's console and statistics)."""

from __future__ import annotations

import csv
import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from conftest import read_csv, run_dqs

INTEROP = Path(__file__).parent / "interop"
EXPECTED: dict[str, dict] = json.loads((INTEROP / "expected.json").read_text(encoding="utf-8"))
MAPPED = {"pass": "pass", "fail": "fail", "warn": "fail", "error": "unknown", "skipped": "unknown", "runtime error": "unknown"}


def _log(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _manifest_for(run: Path) -> Path:
    """The manifest dbt wrote with a run: beside it, else the newest of its version's runs."""
    beside = run.parent / "manifest.json"
    if beside.is_file():
        return beside
    return sorted(run.parent.parent.glob("*/manifest.json"))[-1]


def _runs(prefix: str) -> list[str]:
    return sorted(k for k, v in EXPECTED.items() if k.startswith(prefix) and v.get("simulated_day")
                  and (INTEROP / k).is_file() and not k.endswith("manifest.json"))


DBT_RUNS = [k for k in _runs("dbt/") if EXPECTED[k].get("console_tests")]


@pytest.mark.parametrize("run", DBT_RUNS)
def test_dbt_rows_per_status_equal_what_dbt_reported(run: str, tmp_path: Path) -> None:
    expected = EXPECTED[run]
    path = INTEROP / run
    out = tmp_path / "log.csv"
    result = run_dqs("import", "dbt", str(path), "--manifest", str(_manifest_for(path)), "-o", str(out))
    assert result.returncode == 0, result.stderr
    rows = _log(out)
    # one row per executed test, each with the status dbt printed for it
    by_test = {row["rule_code"].split(".")[2]: json.loads(row["results"]) for row in rows}
    assert {name: r["status"] for name, r in by_test.items()} == expected["console_tests"]
    assert {name: r["result"] for name, r in by_test.items()} == {
        name: MAPPED[status] for name, status in expected["console_tests"].items()}
    counts = Counter(json.loads(row["results"])["status"] for row in rows)
    assert (counts["pass"], counts["fail"], counts["warn"], counts["error"], counts["skipped"]) == (
        expected["pass"], expected["fail"], expected["warn"], expected["error"], expected["skip"])
    # dbt's own summary line counts every node: what is not a test is left out, and says so
    assert expected["console_summary"]["TOTAL"] == len(rows) + sum(
        int(n) for n in _left_out(result.stderr).values())
    assert all(row["business_date"] == expected["simulated_day"] for row in rows)
    assert all(row["dataset_record_count"] == "" and row["filtered_record_count"] == "" for row in rows)


def _left_out(stderr: str) -> dict[str, str]:
    line = next((ln for ln in stderr.splitlines() if ln.strip().startswith("left out:")), "left out:")
    parts = [p.strip() for p in line.split(":", 1)[1].split(",") if p.strip()]
    return {p.split(" ", 1)[1]: p.split(" ", 1)[0].replace(",", "") for p in parts}


def test_dbt_without_a_manifest_each_test_is_its_own_dataset(tmp_path: Path) -> None:
    run = INTEROP / DBT_RUNS[-1]
    out = tmp_path / "log.csv"
    assert run_dqs("import", "dbt", str(run), "-o", str(out)).returncode == 0
    rows = _log(out)
    assert len(rows) == len(EXPECTED[DBT_RUNS[-1]]["console_tests"])
    assert all(row["dataset_uuid"] == row["rule_code"] and row["rule_code"].startswith("test.") for row in rows)


def test_dbt_compile_results_are_left_out_and_counted(tmp_path: Path) -> None:
    compiled = INTEROP / "dbt/v6/compile/run_results.json"
    out = tmp_path / "log.csv"
    result = run_dqs("import", "dbt", str(compiled), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert _log(out) == []
    tests = EXPECTED["dbt/v6/compile/run_results.json"]["from_file_test_status_counts"]["success"]
    assert _left_out(result.stderr)["test nodes with status success (not executed)"] == str(tests)


def test_dbt_days_summarize_to_one_group_per_model_and_test(tmp_path: Path) -> None:
    """Three simulated days, imported together then summarized: one group per (dataset, test),
    with the pass / fail totals dbt reported day by day."""
    runs = [r for r in DBT_RUNS if r.startswith("dbt/v6/day")]
    assert len(runs) == 3
    out = tmp_path / "log.parquet"
    manifest = _manifest_for(INTEROP / runs[-1])
    assert run_dqs("import", "dbt", *[str(INTEROP / r) for r in runs], "--manifest", str(manifest),
                   "-o", str(out), "--rules-output", str(tmp_path / "rules.json")).returncode == 0
    summary = tmp_path / "summary"
    result = run_dqs("summarize", str(out), str(tmp_path / "rules.json"), "-o", str(summary))
    assert result.returncode == 0, result.stderr
    header, *rows = read_csv(summary / "full_summary.csv")
    by_test = {row[header.index("rule_name")]: row for row in rows}
    assert len(rows) == len(by_test) == len(EXPECTED[runs[0]]["console_tests"])
    for name, row in by_test.items():
        statuses = [MAPPED[EXPECTED[r]["console_tests"][name]] for r in runs]
        assert int(row[header.index("pass_count_total")]) == statuses.count("pass"), name
        assert int(row[header.index("fail_count_total")]) == statuses.count("fail"), name
        assert row[header.index("dataset_uuid")].split(".")[0] in ("model", "seed", "source", "snapshot"), name
        assert row[header.index("business_date_latest")] == EXPECTED[runs[-1]]["simulated_day"]
        assert row[header.index("dataset_record_count_latest")] == ""  # unknown, not 0


def test_ingest_from_twice_changes_nothing_and_equals_import(tmp_path: Path) -> None:
    runs = [str(INTEROP / r) for r in DBT_RUNS if r.startswith("dbt/v6/day")]
    manifest = str(_manifest_for(Path(runs[-1])))
    store = tmp_path / "store"
    first = run_dqs("ingest", "--from", "dbt", *runs, "--manifest", manifest, "--store", str(store))
    assert first.returncode == 0, first.stderr
    again = run_dqs("ingest", "--from", "dbt", *runs, "--manifest", manifest, "--store", str(store))
    assert again.returncode == 0 and "nothing new" in again.stderr, again.stderr
    history = run_dqs("store", "history", str(store), "--json")
    assert len(history.stdout.splitlines()) == 2  # the empty store, then one ingest
    info = json.loads(run_dqs("store", "info", str(store), "--json").stdout)
    assert info["files"] == 3

    log = tmp_path / "log.csv"
    assert run_dqs("import", "dbt", *runs, "--manifest", manifest, "-o", str(log)).returncode == 0
    assert run_dqs("summarize", str(log), "-o", str(tmp_path / "a")).returncode == 0
    assert run_dqs("summarize", "--store", str(store), "-o", str(tmp_path / "b")).returncode == 0
    for name in ("full_summary.csv", "nl_all_rows.txt"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()

    # the same file mapped another way is other content: refused, then replaced on request
    changed = run_dqs("ingest", "--from", "dbt", runs[0], "--manifest", manifest, "--warn-as", "pass", "--store", str(store))
    assert changed.returncode == 2 and "--replace" in changed.stderr
    replaced = run_dqs("ingest", "--from", "dbt", runs[0], "--manifest", manifest, "--warn-as", "pass",
                       "--store", str(store), "--replace")
    assert replaced.returncode == 0, replaced.stderr


def test_options_override_the_mapping(tmp_path: Path) -> None:
    run = str(INTEROP / DBT_RUNS[-1])
    out = tmp_path / "log.csv"
    result = run_dqs("import", "dbt", run, "-o", str(out), "--source", "warehouse", "--tenant", "acme",
                     "--business-date", "2026-01-31", "--warn-as", "unknown")
    assert result.returncode == 0, result.stderr
    rows = _log(out)
    assert {r["source"] for r in rows} == {"warehouse"} and {r["tenant_id"] for r in rows} == {"acme"}
    assert {r["business_date"] for r in rows} == {"2026-01-31"}
    warned = [json.loads(r["results"]) for r in rows if json.loads(r["results"])["status"] == "warn"]
    assert warned and all(w["result"] == "unknown" for w in warned)
    # dbt ran at 06:00 UTC: in Honolulu (UTC-10) that is the day before
    late = tmp_path / "hnl.csv"
    assert run_dqs("import", "dbt", run, "-o", str(late), "--timezone", "Pacific/Honolulu").returncode == 0
    day = EXPECTED[DBT_RUNS[-1]]["simulated_day"]
    from datetime import date, timedelta
    assert {r["business_date"] for r in _log(late)} == {(date.fromisoformat(day) - timedelta(days=1)).isoformat()}


def test_help_shows_each_formats_mapping() -> None:
    for fmt, words in (("dbt", "attached_node"), ("gx", "element_count"), ("soda", "scanStartTimestamp"),
                       ("elementary", "failed_row_count")):
        result = run_dqs("import", fmt, "--help")
        assert result.returncode == 0 and words in result.stdout, fmt


# --- bad input: exit 2, one line naming the file and what was expected, a hint, nothing written


def _bad(tmp_path: Path, name: str, content: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def _refused(result, *words: str) -> None:
    assert result.returncode == 2, result.stderr
    first = result.stderr.splitlines()[0]
    assert all(w in first for w in words), first
    assert "Hint:" in result.stderr


def test_bad_input_stops_with_exit_2_and_writes_nothing(tmp_path: Path) -> None:
    run = INTEROP / DBT_RUNS[-1]
    text = run.read_text(encoding="utf-8")
    manifest = _manifest_for(run)
    out = tmp_path / "imported.csv"
    cases = [
        (["dbt", str(_bad(tmp_path, "truncated.json", text[: len(text) // 2]))], ["truncated.json", "not valid JSON"]),
        (["dbt", str(_bad(tmp_path, "log.csv", "source,tenant_id\na,b\n"))], ["log.csv", "not valid JSON"]),
        (["dbt", str(_bad(tmp_path, "list.json", "[1, 2]"))], ["list.json", "not an object", "run_results"]),
        (["dbt", str(manifest)], ["manifest", "expected a dbt run_results.json"]),
        (["dbt", str(_bad(tmp_path, "v99.json", text.replace("run-results/v6.json", "run-results/v99.json")))],
         ["v99.json", "v99 is not supported"]),
        (["dbt", str(INTEROP / _runs("gx/")[0])], ["not a dbt artifact"]),
        (["gx", str(run)], ["not a Great Expectations result"]),
        (["soda", str(run)], ["not a Soda scan result"]),
        (["elementary", str(run)], ["expected an export of Elementary"]),
        (["dbt", str(run), "--manifest", str(run)], ["not a dbt manifest.json"]),
        (["dbt", str(run), "--manifest", str(_bad(tmp_path, "other.json", json.dumps({
            "metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json"},
            "nodes": {}, "sources": {}})))], ["does not describe test", "expected the manifest of the same dbt project"]),
        (["dbt", str(run), "--timezone", "Mars/Olympus"], ["--timezone"]),
        (["dbt", str(run), "--warn-as", "maybe"], ["--warn-as"]),
        (["dbt", str(tmp_path / "missing.json")], ["does not exist"]),
    ]
    for args, words in cases:
        result = run_dqs("import", *args, "-o", str(out))
        _refused(result, *words)
        assert not out.exists() and not list(tmp_path.glob(".imported.csv.*")), args
    store = tmp_path / "store"
    result = run_dqs("ingest", "--from", "dbt", str(tmp_path / "truncated.json"), "--store", str(store))
    _refused(result, "truncated.json")
    assert not (store / "files").exists() or json.loads(run_dqs("store", "info", str(store), "--json").stdout)["files"] == 0


def test_raw_logs_keep_the_rule_that_empty_counts_reject(tmp_path: Path) -> None:
    """Only rows that dqs import wrote may leave the counts empty."""
    log = tmp_path / "raw.csv"
    header = "source,tenant_id,dataset_uuid,dataset_name,rule_code,business_date,results,level_of_execution,attribute_name,dataset_record_count,filtered_record_count\n"
    log.write_text(header
                   + 's,t,u,n,r,2026-11-01,"{""result"":""pass""}",DATASET,,,\n'
                   + 's,t,u,n,r,2026-11-02,"{""importer"":""dbt"",""result"":""fail""}",DATASET,,,\n'
                   + 's,t,u,n,r,2026-11-03,"{""importer"":""dbt"",""result"":""pass""}",DATASET,,x,\n', encoding="utf-8")
    out = tmp_path / "out"
    assert run_dqs("summarize", str(log), "-o", str(out)).returncode == 0
    rejects = read_csv(out / "rejects.csv")
    assert [r[1:3] for r in rejects[1:]] == [
        ["1", "dataset_record_count is empty; filtered_record_count is empty"],
        ["3", "dataset_record_count is not a whole number >= 0"]]
    header_row, row = read_csv(out / "full_summary.csv")
    assert row[header_row.index("fail_count_total")] == "1"
    assert row[header_row.index("dataset_record_count_latest")] == ""


GX_FILES = [k for k in _runs("gx/") if "statistics" in EXPECTED[k]]


@pytest.mark.parametrize("name", GX_FILES)
def test_gx_rows_per_status_equal_gx_statistics(name: str, tmp_path: Path) -> None:
    expected = EXPECTED[name]
    out = tmp_path / "log.csv"
    result = run_dqs("import", "gx", str(INTEROP / name), "-o", str(out))
    assert result.returncode == 0, result.stderr
    rows = _log(out)
    statuses = Counter(json.loads(r["results"])["result"] for r in rows)
    assert len(rows) == expected["statistics"]["evaluated_expectations"]
    assert statuses["pass"] == expected["statistics"]["successful_expectations"]
    # GX counts an expectation that raised as unsuccessful; dqs keeps it as an unknown status
    assert statuses["unknown"] == expected["exceptions"]
    assert statuses["fail"] + statuses["unknown"] == expected["statistics"]["unsuccessful_expectations"]
    assert {r["business_date"] for r in rows} == {expected["simulated_day"]}
    counted = [r for r in rows if r["dataset_record_count"]]
    assert counted and all(int(r["filtered_record_count"] or 0) <= int(r["dataset_record_count"]) for r in counted)


def test_gx_validations_store_folder_equals_its_files(tmp_path: Path) -> None:
    """The folder GX's file context wrote, searched recursively, gives the rows of the three
    days' suite results (the store's backend id file is not a result and is not read)."""
    for version in ("v0", "v1"):
        folder, files = INTEROP / "gx" / version / "validations", sorted((INTEROP / "gx" / version).glob("day*.json"))
        a, b = tmp_path / f"{version}-store.csv", tmp_path / f"{version}-files.csv"
        assert run_dqs("import", "gx", str(folder), "-o", str(a)).returncode == 0
        assert run_dqs("import", "gx", *map(str, files), "-o", str(b)).returncode == 0
        key = lambda r: (r["business_date"], r["rule_code"], r["results"])  # noqa: E731
        assert sorted(map(key, _log(a))) == sorted(map(key, _log(b))) and len(_log(a)) == 18


SODA_FILES = [k for k in _runs("soda/") if "pass" in EXPECTED[k]]


@pytest.mark.parametrize("name", SODA_FILES)
def test_soda_rows_per_outcome_equal_what_soda_reported(name: str, tmp_path: Path) -> None:
    expected = EXPECTED[name]
    out = tmp_path / "log.csv"
    result = run_dqs("import", "soda", str(INTEROP / name), "-o", str(out))
    assert result.returncode == 0, result.stderr
    rows = _log(out)
    tool = Counter(json.loads(r["results"])["status"] for r in rows)
    mapped = Counter(json.loads(r["results"])["result"] for r in rows)
    unevaluated = tool["not evaluated"] + tool["unevaluated"]
    assert (tool["pass"], tool["warn"], tool["fail"], unevaluated) == (
        expected["pass"], expected["warn"], expected["fail"], expected["not_evaluated"])
    assert (mapped["pass"], mapped["fail"], mapped["unknown"]) == (
        expected["pass"], expected["fail"] + expected["warn"], expected["not_evaluated"])
    if expected.get("console_checks"):  # v3: each check with the outcome its console printed
        assert {r["rule_code"]: json.loads(r["results"])["status"].replace(" ", "_") for r in rows} == expected["console_checks"]


def test_soda_scan_that_aborted_is_counted_not_invented(tmp_path: Path) -> None:
    out = tmp_path / "log.csv"
    result = run_dqs("import", "soda", str(INTEROP / "soda/v3/error_scan.json"), "-o", str(out))
    assert result.returncode == 0 and _log(out) == []
    assert "scans with errors" in result.stderr


def test_elementary_export_csv_and_parquet(tmp_path: Path) -> None:
    """An export of elementary_test_results with the table's own columns (dqs could not run
    Elementary here: its dbt package comes from hub.getdbt.com; the rows below are the statuses
    of the real dbt fixtures, in Elementary's column layout)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    runs = [r for r in DBT_RUNS if r.startswith("dbt/v6/day")]
    rows = []
    for run in runs:
        for result in json.loads((INTEROP / run).read_text())["results"]:
            if result["unique_id"].startswith("test."):
                rows.append({"id": f"{run}:{result['unique_id']}", "test_unique_id": result["unique_id"],
                             "model_unique_id": "model.dqs_interop.stg_orders", "detected_at": f"{EXPECTED[run]['simulated_day']} 06:00:00",
                             "database_name": "dev", "schema_name": "main", "table_name": "stg_orders",
                             "column_name": None, "test_type": "dbt_test", "test_short_name": result["unique_id"].split(".")[2],
                             "severity": "ERROR", "status": result["status"], "failures": result["failures"],
                             "failed_row_count": -1})
    table = pa.Table.from_pylist(rows)
    pq.write_table(table, tmp_path / "etr.parquet")
    with (tmp_path / "etr.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=table.column_names)
        writer.writeheader()
        writer.writerows(rows)
    logs = {}
    for name in ("etr.parquet", "etr.csv"):
        out = tmp_path / f"{name}.log.csv"
        result = run_dqs("import", "elementary", str(tmp_path / name), "-o", str(out))
        assert result.returncode == 0, result.stderr
        logs[name] = _log(out)
    assert logs["etr.parquet"] == logs["etr.csv"] and len(logs["etr.csv"]) == len(rows)
    for run in runs:
        day = [r for r in logs["etr.csv"] if r["business_date"] == EXPECTED[run]["simulated_day"]]
        statuses = Counter(json.loads(r["results"])["result"] for r in day)
        e = EXPECTED[run]
        assert (statuses["pass"], statuses["fail"], statuses["unknown"]) == (e["pass"], e["fail"] + e["warn"], e["error"] + e["skip"])
    assert all(json.loads(r["results"])["failed_row_count"] is None for r in logs["etr.csv"])  # -1: not computed
    missing = tmp_path / "bad.csv"
    missing.write_text("id,status\n1,pass\n")
    _refused(run_dqs("import", "elementary", str(missing), "-o", str(tmp_path / "x.csv")), "bad.csv", "test_unique_id")


def test_import_of_many_files_is_one_query_not_a_loop(tmp_path: Path) -> None:
    """2,000 dbt files (copies of a real one in folders by day) import in one pass; the rate is
    measured by bench/importers.py, here only that every file counts once."""
    run = INTEROP / DBT_RUNS[-1]
    for i in range(2000):
        folder = tmp_path / "runs" / f"{i:05d}"
        folder.mkdir(parents=True)
        shutil.copy(run, folder / "run_results.json")
    out = tmp_path / "log.parquet"
    result = run_dqs("import", "dbt", str(tmp_path / "runs"), "-o", str(out), "-q")
    assert result.returncode == 0, result.stderr
    import pyarrow.parquet as pq

    assert pq.read_metadata(out).num_rows == 2000 * len(EXPECTED[DBT_RUNS[-1]]["console_tests"])
