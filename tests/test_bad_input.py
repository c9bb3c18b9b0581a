"""Bad input through the real CLI: the documented exit code, one error line with a hint on
stderr, no traceback, and an existing output directory left exactly as it was."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from conftest import COLUMNS, run_dqs, write_log

GOOD_ROW = {
    "source": "erp", "tenant_id": "t1", "dataset_uuid": "u1", "dataset_name": "orders",
    "rule_code": "101", "business_date": "2024-06-30", "results": '{"result": "pass"}',
    "level_of_execution": "DATASET", "attribute_name": "", "dataset_record_count": "10",
    "filtered_record_count": "10",
}
RULE = {"rule_name": "n", "rule_type": "t", "dimension": "d", "rule_description": "x", "category": "C1"}


def _case_files(tmp: Path, case: str) -> list[str]:
    """Build the inputs of one case; returns the CLI arguments (before --output-dir)."""
    log = write_log(tmp / "log.csv", [GOOD_ROW])
    if case == "missing_file":
        return ["summarize", str(tmp / "nope.csv")]
    if case == "empty_file":
        (tmp / "empty.csv").write_bytes(b"")
        return ["summarize", str(tmp / "empty.csv")]
    if case == "missing_columns":
        write_log(tmp / "cols.csv", [GOOD_ROW], [c for c in COLUMNS if c not in ("results", "rule_code")])
        return ["summarize", str(tmp / "cols.csv")]
    if case == "duplicate_header":
        write_log(tmp / "dup.csv", [GOOD_ROW], COLUMNS + ["source"])
        return ["summarize", str(tmp / "dup.csv")]
    if case == "garbage_bytes":
        (tmp / "garbage.csv").write_bytes(bytes(range(256)) * 4)
        return ["summarize", str(tmp / "garbage.csv")]
    if case == "latin1_row":
        data = (tmp / "log.csv").read_bytes() + "erp,t1,u1,caf\xe9,101,2024-06-30,,D,,1,1\n".encode("latin-1")
        (tmp / "latin1.csv").write_bytes(data)
        return ["summarize", str(tmp / "latin1.csv")]
    if case == "ragged_row":
        data = (tmp / "log.csv").read_text() + "erp,t1,u1,o,101,2024-06-30,x,D,,1,1,extra,more\n"
        (tmp / "ragged.csv").write_text(data)
        return ["summarize", str(tmp / "ragged.csv")]
    if case == "truncated_gzip":
        blob = gzip.compress((tmp / "log.csv").read_bytes() * 200)
        (tmp / "cut.csv.gz").write_bytes(blob[: len(blob) // 2])
        return ["summarize", str(tmp / "cut.csv.gz")]
    if case == "empty_directory":
        (tmp / "nothing").mkdir()
        (tmp / "nothing" / "notes.md").write_text("no data here")
        return ["summarize", str(tmp / "nothing")]
    if case == "glob_matches_nothing":
        return ["summarize", str(tmp / "*.parquet")]
    if case == "mixed_formats":
        (tmp / "mixed").mkdir()
        write_log(tmp / "mixed" / "a.csv", [GOOD_ROW])
        (tmp / "mixed" / "b.parquet").write_bytes(b"PAR1")
        return ["summarize", str(tmp / "mixed")]
    if case == "rules_not_json":
        (tmp / "rules.json").write_text("{not json")
        return ["summarize", str(log), str(tmp / "rules.json")]
    if case == "rules_not_object":
        (tmp / "rules.json").write_text("[1, 2]")
        return ["summarize", str(log), str(tmp / "rules.json")]
    if case == "rules_missing_field":
        (tmp / "rules.json").write_text(json.dumps({"101": {k: v for k, v in RULE.items() if k != "dimension"}}))
        return ["summarize", str(log), str(tmp / "rules.json")]
    if case == "rules_missing_file":
        return ["summarize", str(log), str(tmp / "absent.json")]
    if case == "rules_duplicate_codes":
        (tmp / "rules.json").write_text(json.dumps({"007": RULE, "7": RULE}))
        return ["summarize", str(log), str(tmp / "rules.json")]
    if case == "bad_as_of":
        return ["summarize", str(log), "--as-of", "30/06/2024"]
    if case == "unknown_option":
        return ["summarize", str(log), "--colour", "red"]
    if case == "bad_memory_limit":
        return ["summarize", str(log), "--memory-limit", "lots"]
    raise AssertionError(case)


CASES = {
    # case: (exit code, fragment of the message)
    "missing_file": (2, "does not exist"),
    "empty_file": (2, "empty"),
    "missing_columns": (2, "missing required columns: rule_code, results"),
    "duplicate_header": (2, "duplicate column names: source"),
    "garbage_bytes": (2, "UTF-8"),
    "latin1_row": (2, "latin1.csv"),
    "ragged_row": (2, "more fields"),
    "truncated_gzip": (2, "cut.csv.gz"),
    "empty_directory": (2, "holds no data files"),
    "glob_matches_nothing": (2, "matches no files"),
    "mixed_formats": (2, "mixes CSV and Parquet"),
    "rules_not_json": (2, "is not valid JSON"),
    "rules_not_object": (2, "is not a JSON object"),
    "rules_missing_field": (2, "rule '101' is missing dimension"),
    "rules_missing_file": (2, "does not exist"),
    "rules_duplicate_codes": (2, "are the same rule"),
    "bad_as_of": (2, "is not a date"),
    "unknown_option": (2, "--colour"),
    "bad_memory_limit": (2, "memory"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input(case: str, tmp_path: Path) -> None:
    code, fragment = CASES[case]
    out = tmp_path / "out"
    out.mkdir()
    previous = {"full_summary.csv": "previous run\n", "nl_all_rows.txt": "previous sentence\n"}
    for name, text in previous.items():
        (out / name).write_text(text)
    args = _case_files(tmp_path, case)
    result = run_dqs(*args, "--output-dir", str(out))
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    assert fragment in result.stderr
    assert result.stdout == ""
    if case != "unknown_option":  # typer's own usage message for option typos
        lines = result.stderr.strip().splitlines()
        assert lines[0].startswith("dqs: error: ") and len(lines) == 2, result.stderr
        assert lines[1].startswith("Hint: ")
    assert sorted(p.name for p in out.iterdir()) == sorted(previous)
    for name, text in previous.items():
        assert (out / name).read_text() == text


def test_missing_output_dir_option(tmp_path: Path) -> None:
    log = write_log(tmp_path / "log.csv", [GOOD_ROW])
    result = run_dqs("summarize", str(log))
    assert result.returncode == 2
    assert "--output-dir" in result.stderr and "Traceback" not in result.stderr
