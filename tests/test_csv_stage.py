"""CSV staging in Polars (engine/inputs/csv_stage.py) against the row stream into DuckDB's SQL checks.

The two paths must agree on every figure: the Polars recognizer only decides which rows skip the
SQL checks, never what a row means.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from conftest import write_log
from dqs.engine.inputs import csv_stage
from dqs.engine.generate import GenerateOptions, generate_log
from dqs.engine.summary.summarize import SummarizeOptions, summarize

OUTPUTS = ("full_summary.csv", "nl_all_rows.txt", "rejects.csv")
COUNTS = ("rows_read", "rows_accepted", "rows_rejected", "rows_unknown_status", "rows_after_as_of",
          "rows_pass", "rows_fail", "groups", "reference_date", "input_files")


def _both_paths(monkeypatch: pytest.MonkeyPatch, tmp: Path, log: str, **options) -> tuple[dict, dict]:
    polars = summarize(SummarizeOptions(input=log, output_dir=tmp / "polars", **options))
    with monkeypatch.context() as patch:
        patch.setattr(csv_stage, "suits", lambda paths: False)  # every CSV takes the row stream
        stream = summarize(SummarizeOptions(input=log, output_dir=tmp / "stream", **options))
    for name in OUTPUTS:
        assert (tmp / "polars" / name).read_bytes() == (tmp / "stream" / name).read_bytes(), name
    return polars.as_dict(), stream.as_dict()


@pytest.mark.parametrize(("as_of", "memory_limit"), [(None, None), (date(2025, 3, 1), None), (None, "256MB")])
def test_polars_staging_equals_the_row_stream(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, as_of,
                                              memory_limit) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    # two files, malformed rows in both (rejects name file and line), statuses of every kind
    for seed, name in ((5, "a.csv"), (6, "b.csv")):
        generate_log(GenerateOptions(rows=30_000, output=logs / name, seed=seed, malformed_share=0.03))
    # "256MB": both paths in their lean form (smaller chunks and batches)
    polars, stream = _both_paths(monkeypatch, tmp_path, str(logs), as_of=as_of, memory_limit=memory_limit)
    assert polars["rows_rejected"] > 0
    assert {k: polars[k] for k in COUNTS} == {k: stream[k] for k in COUNTS}


def test_latest_row_among_regular_and_irregular_rows_of_one_day(tmp_path: Path, monkeypatch) -> None:
    """Rows of one group on its latest day, canonical and not: the last one in the file wins,
    whichever path checked it."""
    base = {"source": "s", "tenant_id": "t", "dataset_uuid": "u", "dataset_name": "n", "rule_code": "101",
            "results": '{"result": "pass"}', "level_of_execution": "DATASET", "attribute_name": ""}
    rows = [
        {**base, "business_date": "2025-01-02", "dataset_record_count": "1", "filtered_record_count": "1"},
        {**base, "business_date": "2025-01-02T09:00", "dataset_record_count": "2.00", "filtered_record_count": "2",
         "level_of_execution": "ATTRIBUTE"},
        {**base, "business_date": "2025-01-02", "dataset_record_count": "3", "filtered_record_count": "3.0"},
        {**base, "business_date": "2025-01-01", "dataset_record_count": "4", "filtered_record_count": "4"},
        {**base, "source": " s", "business_date": "2025-01-02 ", "dataset_record_count": "05",
         "filtered_record_count": "5", "level_of_execution": "ROW"},
    ]
    log = write_log(tmp_path / "log.csv", rows)
    _both_paths(monkeypatch, tmp_path, str(log))
    summary = (tmp_path / "polars" / "full_summary.csv").read_text(encoding="utf-8").splitlines()
    assert len(summary) == 2
    assert summary[1].split(",")[10:13] == ["2025-01-02", "5", "5"]
    assert summary[1].endswith(",ROW")
    report = json.loads((tmp_path / "polars" / "run_report.json").read_text())
    assert report["rows_accepted"] == 5


def test_a_large_file_of_mostly_irregular_rows_or_distinct_groups_takes_the_row_stream(tmp_path: Path, monkeypatch) -> None:
    base = {"tenant_id": "t", "dataset_uuid": "u", "dataset_name": "n", "rule_code": "101",
            "business_date": "2025-01-02", "results": "", "level_of_execution": "", "attribute_name": "",
            "dataset_record_count": "1", "filtered_record_count": "1"}
    padded = write_log(tmp_path / "padded.csv", [{**base, "source": " s"}] * 50)
    clean = write_log(tmp_path / "clean.csv", [{**base, "source": "s"}] * 50)
    distinct = write_log(tmp_path / "distinct.csv", [{**base, "source": "s", "dataset_uuid": f"u{i}"} for i in range(50)])
    monkeypatch.setattr(csv_stage, "SAMPLED_FILE_BYTES", 0)  # sample even these small files
    assert csv_stage.suits((clean,))
    assert not csv_stage.suits((clean, padded))
    assert not csv_stage.suits((distinct,))  # every row its own group: DuckDB bounds that one


def test_a_small_memory_limit_reads_leaner_to_the_same_outputs(tmp_path: Path) -> None:
    log = tmp_path / "log.csv"
    generate_log(GenerateOptions(rows=40_000, output=log, seed=9, malformed_share=0.01))
    default = summarize(SummarizeOptions(input=str(log), output_dir=tmp_path / "default"))
    lean = summarize(SummarizeOptions(input=str(log), output_dir=tmp_path / "lean", memory_limit="256MB"))
    assert lean.memory_limit == "256MB"
    for name in OUTPUTS:
        assert (tmp_path / "default" / name).read_bytes() == (tmp_path / "lean" / name).read_bytes(), name
    assert {k: default.as_dict()[k] for k in COUNTS} == {k: lean.as_dict()[k] for k in COUNTS}
