"""The history store: ingest one invocation at a time, summarize from the store, and get the
bytes a one-shot run over the same files in the same order gives (SPEC §10)."""

from __future__ import annotations

import json
import os
import shutil
from datetime import date, timedelta
from pathlib import Path
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from conftest import COLUMNS, read_csv, run_dqs, write_log
from dqs.engine.inputs import scan
from dqs.engine.inputs.scan import PLAIN_CSV_BYTES, CsvStream
from dqs.engine.store.ingest import IngestOptions, ingest
from dqs.engine.summary.summarize import SummarizeOptions, summarize
from test_property import RULES, row

CONTRACT = ("full_summary.csv", "nl_all_rows.txt", "rejects.csv", "summary.parquet")


def assert_same_outputs(one_shot: Path, from_store: Path, names=CONTRACT) -> None:
    for name in names:
        assert (from_store / name).read_bytes() == (one_shot / name).read_bytes(), f"{name} differs"


def split_csv(log: Path, folder: Path, parts: int, seed: int = 1) -> list[Path]:
    """The log's data lines cut at random points into `parts` files named in order."""
    import random

    lines = log.read_text(encoding="utf-8").splitlines(keepends=True)
    header, body = lines[0], lines[1:]
    cuts = sorted(random.Random(seed).sample(range(1, len(body)), parts - 1))
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k, (start, end) in enumerate(zip([0, *cuts], [*cuts, len(body)])):
        path = folder / f"part-{k:02d}.csv"
        path.write_text(header + "".join(body[start:end]), encoding="utf-8")
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> dict[str, Path]:
    """A generated log with malformed rows and unknown statuses, cut into 6 files."""
    tmp = tmp_path_factory.mktemp("generated")
    log = tmp / "log.csv"
    result = run_dqs("generate", "--rows", "30000", "--seed", "5", "--malformed-share", "0.01",
                     "--output", log, "--rules", tmp / "rules.json")
    assert result.returncode == 0, result.stderr
    split_csv(log, tmp / "parts", 6)
    return {"dir": tmp, "log": log, "parts": tmp / "parts", "rules": tmp / "rules.json"}


def test_ingest_one_file_at_a_time_equals_the_one_shot(generated, tmp_path: Path) -> None:
    parts = sorted(generated["parts"].iterdir())
    store = tmp_path / "store"
    for path in parts:
        result = run_dqs("ingest", path, "--store", store)
        assert result.returncode == 0, result.stderr
    again = run_dqs("ingest", parts[2], "--store", store)  # re-running a day's job is harmless
    assert again.returncode == 0, again.stderr
    assert "skipped" in again.stderr and "already ingested" in again.stderr

    for as_of in (None, "2026-06-15", "2025-03-01"):
        extra = [] if as_of is None else ["--as-of", as_of]
        one = tmp_path / f"one-{as_of}"
        from_store = tmp_path / f"store-{as_of}"
        assert run_dqs("summarize", generated["parts"], generated["rules"], "-o", one, *extra).returncode == 0
        result = run_dqs("summarize", "--store", store, "--rules", generated["rules"], "-o", from_store, *extra)
        assert result.returncode == 0, result.stderr
        assert_same_outputs(one, from_store)
        report = json.loads((from_store / "run_report.json").read_text())
        expected = json.loads((one / "run_report.json").read_text())
        for key in ("rows_read", "rows_accepted", "rows_rejected", "rows_unknown_status", "rows_after_as_of",
                    "rows_pass", "rows_fail", "groups", "reference_date", "unknown_rule_codes"):
            assert report[key] == expected[key], key
        assert report["store"]["version"] == len(parts)


def test_the_daily_one_liner_ingests_then_summarizes(generated, tmp_path: Path) -> None:
    parts = sorted(generated["parts"].iterdir())
    store = tmp_path / "store"
    for path in parts:
        result = run_dqs("summarize", path, generated["rules"], "--store", store, "-o", tmp_path / "daily")
        assert result.returncode == 0, result.stderr
    assert run_dqs("summarize", generated["parts"], generated["rules"], "-o", tmp_path / "one").returncode == 0
    assert_same_outputs(tmp_path / "one", tmp_path / "daily")
    report = json.loads((tmp_path / "daily" / "run_report.json").read_text())
    assert report["store"]["ingested"]["files"][0]["action"] == "ingest"


settings_store = settings(
    max_examples=int(os.environ.get("DQS_STORE_EXAMPLES", 25)), deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@settings_store
@given(rows=st.lists(row, max_size=30), cuts=st.lists(st.integers(0, 30), max_size=3),
       as_of=st.none() | st.sampled_from([date(2024, 6, 30), date(2024, 6, 30) - timedelta(days=45)]),
       batched=st.booleans(), csv_reader=st.sampled_from(["pyarrow", "polars"]))
def test_random_logs_split_at_random_points(tmp_path_factory, rows, cuts, as_of, batched, csv_reader) -> None:
    """`csv_reader`: the ingest reads small plain files with pyarrow, others with Polars
    (the one-shot summary stages CSV with Polars); both must give the one-shot's bytes."""
    tmp = tmp_path_factory.mktemp("split")
    points = sorted({min(c, len(rows)) for c in cuts})
    bounds = list(zip([0, *points], [*points, len(rows)]))
    paths = [write_log(tmp / "parts" / f"p{k:02d}.csv", rows[a:b]) for k, (a, b) in enumerate(bounds)]
    rules = tmp / "rules.json"
    rules.write_text(json.dumps(RULES), encoding="utf-8")
    store = tmp / "store"
    read_plain = CsvStream._plain_tables
    readers = []

    def spied(stream):  # which reader each ingest used (a value in a row may make a file irregular)
        tables = read_plain(stream)
        readers.append("pyarrow" if tables is not None else "polars")
        return tables

    with patch.object(scan, "PLAIN_CSV_BYTES", PLAIN_CSV_BYTES if csv_reader == "pyarrow" else 0), \
            patch.object(CsvStream, "_plain_tables", spied):
        if batched:  # one invocation with every file: sorted path order within it
            ingest(IngestOptions(inputs=tuple(str(p) for p in reversed(paths)), store=store))
        else:
            for path in paths:
                ingest(IngestOptions(inputs=(str(path),), store=store))
    event(f"ingests read by {' and '.join(sorted(set(readers)))}")
    summarize(SummarizeOptions(input=str(tmp / "parts"), output_dir=tmp / "one", rules=rules, as_of=as_of, threads=2))
    summarize(SummarizeOptions(input=None, store=store, output_dir=tmp / "store-out", rules=rules, as_of=as_of,
                               threads=2))
    assert_same_outputs(tmp / "one", tmp / "store-out")


def test_replace_swaps_a_files_rows_and_equals_the_corrected_one_shot(generated, tmp_path: Path) -> None:
    parts = tmp_path / "parts"
    shutil.copytree(generated["parts"], parts)
    store = tmp_path / "store"
    assert run_dqs("ingest", parts, "--store", store).returncode == 0

    target = sorted(parts.iterdir())[1]
    lines = target.read_text(encoding="utf-8").splitlines(keepends=True)
    # a correction: some rows dropped, one row's outcome flipped, one row added
    flipped = lines[1].replace('"pass"', '"fail"') if '"pass"' in lines[1] else lines[1].replace('"fail"', '"pass"')
    target.write_text(lines[0] + flipped + "".join(lines[2:-40]) + lines[-1], encoding="utf-8")

    refused = run_dqs("ingest", target, "--store", store)
    assert refused.returncode == 2
    assert "ingested before" in refused.stderr and "--replace" in refused.stderr
    history = run_dqs("store", "history", store, "--json")
    assert len(history.stdout.splitlines()) == 2  # creation and the first ingest: nothing was written

    replaced = run_dqs("ingest", target, "--store", store, "--replace")
    assert replaced.returncode == 0, replaced.stderr
    assert "replaced" in replaced.stderr
    assert run_dqs("summarize", parts, generated["rules"], "-o", tmp_path / "one").returncode == 0
    assert run_dqs("summarize", "--store", store, "--rules", generated["rules"], "-o", tmp_path / "st").returncode == 0
    assert_same_outputs(tmp_path / "one", tmp_path / "st")

    # the next daily ingest after a replace folds into the rebuilt state
    day = write_log(parts / "part-99.csv", [dict(zip(COLUMNS, [
        "s1", "t1", "u1", "ds", "101", "2026-10-31", '{"result": "fail"}', "DATASET", "", "5", "5"]))])
    assert run_dqs("ingest", day, "--store", store).returncode == 0
    assert run_dqs("summarize", parts, generated["rules"], "-o", tmp_path / "one2").returncode == 0
    assert run_dqs("summarize", "--store", store, "--rules", generated["rules"], "-o", tmp_path / "st2").returncode == 0
    assert_same_outputs(tmp_path / "one2", tmp_path / "st2")


def test_store_version_and_ingested_before_give_back_earlier_summaries(generated, tmp_path: Path) -> None:
    parts = sorted(generated["parts"].iterdir())
    store = tmp_path / "store"
    earlier = {}
    for k, path in enumerate(parts[:4], start=1):
        assert run_dqs("ingest", path, "--store", store).returncode == 0
        out = tmp_path / f"v{k}"
        assert run_dqs("summarize", "--store", store, "-o", out).returncode == 0
        earlier[k] = out
    assert run_dqs("ingest", *parts[4:], "--store", store).returncode == 0

    for k in (1, 3):
        again = tmp_path / f"again-v{k}"
        result = run_dqs("summarize", "--store", store, "--store-version", str(k), "-o", again)
        assert result.returncode == 0, result.stderr
        assert_same_outputs(earlier[k], again)
    commits = [json.loads(line) for line in run_dqs("store", "history", store, "--json").stdout.splitlines()]
    just_after_2 = commits[3]["committed_at"]  # the commit of version 3, so the time is before it
    before = tmp_path / "before"
    assert run_dqs("summarize", "--store", store, "--ingested-before", just_after_2, "-o", before).returncode == 0
    assert_same_outputs(earlier[2], before)

    missing = run_dqs("summarize", "--store", store, "--store-version", "99", "-o", tmp_path / "x")
    assert missing.returncode == 2 and "no version 99" in missing.stderr


def test_compact_keeps_every_summary(generated, tmp_path: Path) -> None:
    store = tmp_path / "store"
    for path in sorted(generated["parts"].iterdir()):
        assert run_dqs("ingest", path, "--store", store).returncode == 0
    assert run_dqs("summarize", "--store", store, "--as-of", "2026-01-01", "-o", tmp_path / "before-asof").returncode == 0
    assert run_dqs("summarize", "--store", store, "-o", tmp_path / "before").returncode == 0
    info_before = json.loads(run_dqs("store", "info", store, "--json").stdout)
    result = run_dqs("store", "compact", store, "--retain-hours", "0")
    assert result.returncode == 0, result.stderr
    assert "files vacuumed" in result.stdout
    info_after = json.loads(run_dqs("store", "info", store, "--json").stdout)
    assert info_after["tables"]["rows"]["data_files"] < info_before["tables"]["rows"]["data_files"]
    assert info_after["version"] == info_before["version"] + 1
    assert run_dqs("summarize", "--store", store, "-o", tmp_path / "after").returncode == 0
    assert run_dqs("summarize", "--store", store, "--as-of", "2026-01-01", "-o", tmp_path / "after-asof").returncode == 0
    assert_same_outputs(tmp_path / "before", tmp_path / "after")
    assert_same_outputs(tmp_path / "before-asof", tmp_path / "after-asof")
    # a version whose files compaction removed says so, in one line with a hint
    old = run_dqs("summarize", "--store", store, "--store-version", "2", "--as-of", "2026-01-01", "-o", tmp_path / "old")
    assert old.returncode == 2, old.stderr
    assert "can no longer be read" in old.stderr and "Hint:" in old.stderr


def test_analyst_sql_reads_results_and_daily_from_the_store(generated, tmp_path: Path) -> None:
    sql = tmp_path / "sql"
    sql.mkdir()
    (sql / "per_file.sql").write_text(
        "-- rows per input file and status\n"
        "SELECT input_file, status, count(*) AS n, max(input_line) AS last_line FROM results\n"
        "GROUP BY ALL ORDER BY ALL\n", encoding="utf-8")
    (sql / "busy_days.sql").write_text(
        "-- the busiest series-days\n"
        "SELECT dataset_uuid, rule_code, business_date, runs, passes, fails, unknown FROM daily\n"
        "ORDER BY runs DESC, dataset_uuid, rule_code, business_date LIMIT 50\n", encoding="utf-8")
    store = tmp_path / "store"
    assert run_dqs("ingest", generated["parts"], "--store", store).returncode == 0
    for as_of in (None, "2026-01-01"):
        extra = [] if as_of is None else ["--as-of", as_of]
        one, st_out = tmp_path / f"one{as_of}", tmp_path / f"st{as_of}"
        assert run_dqs("summarize", generated["parts"], "-o", one, "--sql-dir", sql, *extra).returncode == 0
        result = run_dqs("summarize", "--store", store, "-o", st_out, "--sql-dir", sql, *extra)
        assert result.returncode == 0, result.stderr
        assert_same_outputs(one, st_out, CONTRACT + ("per_file.csv", "busy_days.csv"))


def test_ingest_refuses_what_is_not_a_store(tmp_path: Path, generated) -> None:
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "notes.txt").write_text("x")
    result = run_dqs("ingest", generated["log"], "--store", tmp_path / "plain")
    assert result.returncode == 2
    assert "is not a dqs store" in result.stderr and "Hint:" in result.stderr
    assert sorted(p.name for p in (tmp_path / "plain").iterdir()) == ["notes.txt"]

    result = run_dqs("summarize", "--store", tmp_path / "nowhere", "-o", tmp_path / "out")
    assert result.returncode == 2 and "does not exist" in result.stderr


def test_a_store_of_a_newer_schema_is_refused(tmp_path: Path, generated) -> None:
    store = tmp_path / "store"
    assert run_dqs("ingest", sorted(generated["parts"].iterdir())[0], "--store", store).returncode == 0
    marker = json.loads((store / "dqs-store.json").read_text())
    marker["schema_version"] = 99
    (store / "dqs-store.json").write_text(json.dumps(marker))
    before = _files(store)
    for args in (("summarize", "--store", store, "-o", tmp_path / "out"), ("ingest", generated["log"], "--store", store),
                 ("store", "info", store)):
        result = run_dqs(*args)
        assert result.returncode == 2
        assert "schema version 99, newer than" in result.stderr and "upgrade dqs" in result.stderr
    assert _files(store) == before


@pytest.mark.parametrize("damage", ["state data file", "corrupt state data file", "daily log entry", "commits log"])
def test_a_damaged_store_is_a_one_line_error(tmp_path: Path, generated, damage: str) -> None:
    store = tmp_path / "store"
    assert run_dqs("ingest", *sorted(generated["parts"].iterdir())[:2], "--store", store).returncode == 0
    if damage == "corrupt state data file":
        victim = next((store / "state").glob("*.parquet"))
        data = bytearray(victim.read_bytes())
        data[len(data) // 2 :] = bytes(len(data) - len(data) // 2)  # zeroes over the footer: unreadable
        victim.write_bytes(bytes(data))
    else:
        if damage == "state data file":
            victim = next((store / "state").glob("*.parquet"))
        elif damage == "daily log entry":
            victim = sorted((store / "daily" / "_delta_log").glob("*.json"))[-1]
        else:
            victim = sorted((store / "commits" / "_delta_log").glob("*.json"))[0]
        victim.unlink()
    before = _files(store)
    if damage == "daily log entry":
        result = run_dqs("ingest", sorted(generated["parts"].iterdir())[3], "--store", store)
    else:
        result = run_dqs("summarize", "--store", store, "-o", tmp_path / "out")
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("dqs: error: store ") and "damaged" in lines[0]
    assert lines[-1].startswith("Hint:")
    assert "Traceback" not in result.stderr
    assert _files(store) == before  # the refusal wrote nothing into the store


def _files(root: Path) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes() for path in root.rglob("*") if path.is_file()}


def test_two_ingests_at_once_never_count_a_file_twice(tmp_path: Path, generated) -> None:
    import subprocess
    import sys

    store = tmp_path / "store"
    args = [sys.executable, "-m", "dqs", "ingest", str(generated["parts"]), "--store", str(store)]
    procs = [subprocess.Popen(args, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outcomes = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    assert [code for code, _ in outcomes] == [0, 0], outcomes
    assert sum("nothing new" in err for _, err in outcomes) == 1  # the second waited, then skipped them all
    info = json.loads(run_dqs("store", "info", store, "--json").stdout)
    assert info["rows_read"] == sum(len(read_csv(p)) - 1 for p in generated["parts"].iterdir())
    assert info["version"] == 1


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 6 MiB tmpfs (needs root, as CI and the development machines run)."""
    import subprocess

    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mount)],
                                           capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_full_disk_is_a_one_line_error_and_the_store_is_unchanged(small_disk: Path, tmp_path: Path) -> None:
    from dqs.engine.generate import GenerateOptions, generate_log

    small, large = tmp_path / "a.csv", tmp_path / "b.csv"
    generate_log(GenerateOptions(rows=2_000, output=small, seed=1))
    generate_log(GenerateOptions(rows=400_000, output=large, seed=2))
    store = small_disk / "store"
    assert run_dqs("ingest", small, "--store", store).returncode == 0
    assert run_dqs("summarize", "--store", store, "-o", tmp_path / "before").returncode == 0

    full = run_dqs("ingest", large, "--store", store)
    assert full.returncode == 1, full.stderr
    lines = full.stderr.strip().splitlines()
    assert "no space left" in lines[0].lower() and lines[-1].startswith("Hint:"), full.stderr
    assert "Traceback" not in full.stderr

    assert run_dqs("summarize", "--store", store, "-o", tmp_path / "after").returncode == 0
    assert_same_outputs(tmp_path / "before", tmp_path / "after")
    assert json.loads(run_dqs("store", "info", store, "--json").stdout)["version"] == 1


def test_a_bad_sql_file_stops_the_daily_run_before_it_ingests(generated, tmp_path: Path) -> None:
    sql = tmp_path / "sql"
    sql.mkdir()
    (sql / "broken.sql").write_text("SELECT * FROM results WHERE\n", encoding="utf-8")
    store = tmp_path / "store"
    result = run_dqs("summarize", sorted(generated["parts"].iterdir())[0], "--store", store, "-o", tmp_path / "out",
                     "--sql-dir", sql)
    assert result.returncode == 2, result.stderr
    assert "broken.sql" in result.stderr
    assert not store.exists()  # nothing was ingested (the store was not even created)
