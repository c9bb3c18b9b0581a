"""Input forms: several files, globs, directories, gzip and Parquet give the same summary,
and input order (sorted paths, then line) decides ties on the latest date."""

from __future__ import annotations

import gzip
import shutil
from datetime import date
from pathlib import Path

from conftest import read_csv, run_dqs, write_log
from dqs.engine.summary.summarize import SummarizeOptions, summarize


def _row(day: str, status: str, count: str, level: str = "DATASET", source: str = "erp") -> dict:
    return {
        "source": source, "tenant_id": "t", "dataset_uuid": "u", "dataset_name": "d", "rule_code": "1",
        "business_date": day, "results": f'{{"result": "{status}"}}', "level_of_execution": level,
        "attribute_name": "", "dataset_record_count": count, "filtered_record_count": count,
    }


def test_ties_across_files_follow_sorted_path_order(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    # b.csv sorts after a.csv, so its row is "last in input" although it is on line 1
    write_log(logs / "b.csv", [_row("2024-01-02", "pass", "20", "B")])
    write_log(logs / "a.csv", [_row("2024-01-02", "fail", "10", "A"), _row("2024-01-01", "pass", "5"),
                                _row("2024-01-02", "pass", "11", "A2"), _row("bad", "pass", "1")])
    out = tmp_path / "out"
    report = summarize(SummarizeOptions(input=str(logs), output_dir=out))
    rows = read_csv(out / "full_summary.csv")
    header, (row,) = rows[0], rows[1:]
    got = dict(zip(header, row))
    assert got["dataset_record_count_latest"] == "20" and got["last_execution_level"] == "B"
    assert (got["pass_count_total"], got["fail_count_total"]) == ("3", "1")
    assert [f["rows_read"] for f in report.input_files] == [4, 1]
    rejects = read_csv(out / "rejects.csv")
    assert [(Path(r[0]).name, r[1]) for r in rejects[1:]] == [("a.csv", "4")]

    glob_out = tmp_path / "glob_out"
    summarize(SummarizeOptions(input=str(logs / "*.csv"), output_dir=glob_out))
    assert (glob_out / "full_summary.csv").read_bytes() == (out / "full_summary.csv").read_bytes()


def test_gzip_input_equals_plain(tmp_path: Path) -> None:
    log = write_log(tmp_path / "log.csv", [_row("2024-01-0%d" % d, "pass", str(d)) for d in range(1, 8)])
    with open(log, "rb") as src, gzip.open(tmp_path / "log.csv.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    summarize(SummarizeOptions(input=str(log), output_dir=tmp_path / "plain"))
    summarize(SummarizeOptions(input=str(tmp_path / "log.csv.gz"), output_dir=tmp_path / "gz"))
    for name in ("full_summary.csv", "nl_all_rows.txt"):
        assert (tmp_path / "plain" / name).read_bytes() == (tmp_path / "gz" / name).read_bytes()


def test_parquet_and_csv_of_the_same_log_summarize_identically(tmp_path: Path) -> None:
    for fmt in ("csv", "parquet"):
        result = run_dqs("generate", "--rows", "20000", "--seed", "3", "--output", tmp_path / f"log.{fmt}")
        assert result.returncode == 0, result.stderr
        summarize(SummarizeOptions(input=str(tmp_path / f"log.{fmt}"), output_dir=tmp_path / fmt))
    for name in ("full_summary.csv", "nl_all_rows.txt", "rejects.csv"):
        assert (tmp_path / "csv" / name).read_bytes() == (tmp_path / "parquet" / name).read_bytes()


def test_small_memory_limit_gives_the_same_output(tmp_path: Path) -> None:
    log = tmp_path / "log.csv"
    assert run_dqs("generate", "--rows", "200000", "--seed", "5", "--malformed-share", "0.01",
                   "--output", log).returncode == 0
    summarize(SummarizeOptions(input=str(log), output_dir=tmp_path / "big"))
    summarize(SummarizeOptions(input=str(log), output_dir=tmp_path / "small", memory_limit="64MB", threads=1))
    for name in ("full_summary.csv", "nl_all_rows.txt", "rejects.csv", "summary.parquet"):
        assert (tmp_path / "big" / name).read_bytes() == (tmp_path / "small" / name).read_bytes()
    leftovers = [p.name for p in (tmp_path / "small").iterdir() if p.name.startswith(".dqs-")]
    assert leftovers == []


def test_typed_parquet_with_nulls_and_negative_counts(tmp_path: Path) -> None:
    import datetime

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({
        "source": ["erp", "erp", None, "erp", "erp"],
        "tenant_id": ["t"] * 5,
        "dataset_uuid": ["u"] * 5,
        "dataset_name": ["d"] * 5,
        "rule_code": [7, 7, 7, 7, 7],  # an integer column: matched as text
        "business_date": [datetime.date(2024, 1, 2), None, datetime.date(2024, 1, 2),
                          datetime.date(2024, 1, 3), datetime.date(2024, 1, 1)],
        "results": ['{"result": "pass"}'] * 5,
        "level_of_execution": ["DATASET"] * 5,
        "attribute_name": [None] * 5,
        "dataset_record_count": pa.array([5, 5, 5, -1, 4], pa.int64()),
        "filtered_record_count": pa.array([1, 1, 1, 1, None], pa.int32()),
    })
    pq.write_table(table, tmp_path / "typed.parquet")
    out = tmp_path / "out"
    report = summarize(SummarizeOptions(input=str(tmp_path / "typed.parquet"), output_dir=out))
    assert (report.rows_read, report.rows_accepted, report.rows_rejected) == (5, 1, 4)
    rejects = read_csv(out / "rejects.csv")
    assert [(r[1], r[2]) for r in rejects[1:]] == [
        ("2", "business_date is empty"),
        ("3", "source is empty"),
        ("4", "dataset_record_count is not a whole number >= 0"),
        ("5", "filtered_record_count is empty"),
    ]
    row = dict(zip(*read_csv(out / "full_summary.csv")))
    assert row["business_date_latest"] == "2024-01-02" and row["pass_count_total"] == "1"


def test_wrong_guess_of_the_reference_date_costs_a_second_pass_not_a_wrong_figure(tmp_path: Path) -> None:
    # The newest row comes first and the file is larger than the tail that is sampled for the
    # guess, so the windows of the first pass are anchored on the wrong date.
    newest = _row("2024-12-31", "fail", "1")
    older = [_row(f"2024-0{1 + i % 9}-1{i % 10}", "pass" if i % 3 else "fail", str(i)) for i in range(20000)]
    log = write_log(tmp_path / "log.csv", [newest] + older)
    assert log.stat().st_size > 1 << 20
    guessed = summarize(SummarizeOptions(input=str(log), output_dir=tmp_path / "guessed"))
    known = summarize(SummarizeOptions(input=str(log), output_dir=tmp_path / "known", as_of=date(2024, 12, 31)))
    assert guessed.input_passes == 2 and known.input_passes == 1
    assert guessed.reference_date == "2024-12-31"
    for name in ("full_summary.csv", "nl_all_rows.txt"):
        assert (tmp_path / "guessed" / name).read_bytes() == (tmp_path / "known" / name).read_bytes()
    row = dict(zip(*read_csv(tmp_path / "guessed" / "full_summary.csv")))
    assert row["fail_count_1m"] == "1" and row["pass_count_1m"] == "0"


def test_a_second_run_into_the_same_directory_waits_for_the_first(tmp_path: Path) -> None:
    import subprocess
    import sys

    log = write_log(tmp_path / "log.csv", [_row("2024-01-02", "pass", "3")])
    out = tmp_path / "out"
    out.mkdir()
    # another process holds the directory lock for a while, as a running dqs would
    released = tmp_path / "released"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, os, pathlib, time\n"
        f"fd = os.open({str(out)!r}, os.O_RDONLY); fcntl.flock(fd, fcntl.LOCK_EX)\n"
        "print('locked', flush=True); time.sleep(1)\n"
        f"pathlib.Path({str(released)!r}).touch(); os.close(fd)\n")], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    report = summarize(SummarizeOptions(input=str(log), output_dir=out))
    assert released.exists()  # it finished only after the other process let go of the directory
    holder.wait(timeout=30)
    assert report.rows_read == 1
    assert sorted(p.name for p in out.iterdir()) == sorted(report.outputs)
