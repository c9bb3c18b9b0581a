"""The bad-input corpus: real files under tests/corpus, one case per row of
tests/corpus/cases.csv (case, expected exit code, message fragment, CLI arguments).

Every case runs the real CLI. A failing case (exit 2) prints exactly one `dqs: error:` line with
the fragment and one `Hint:` line, no traceback, and leaves the output directory's files as they
were. Exit 0 cases do the job; exit 1 cases are batch predictions whose rows failed (the file is
written, each failed row says why). Cases marked {made} need a file too big or too fragile to
commit (a 10 MB cell, a 100k-rule file, damaged model bundles); they are made by MAKERS below.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from pathlib import Path

import pytest

from conftest import COLUMNS, run_dqs
from dqs.engine.generate import GenerateOptions, generate_log

CORPUS = Path(__file__).parent / "corpus"
CASES = list(csv.DictReader((CORPUS / "cases.csv").open(encoding="utf-8", newline="")))


def _big_cell(tmp: Path, model: Path) -> Path:
    path = tmp / "big_cell.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(COLUMNS)
        cell = json.dumps({"result": "pass", "detail": "x" * (10 * 1024 * 1024)})
        writer.writerow(["erp", "t1", "u1", "orders", "101", "2024-06-30", cell, "DATASET", "", "10", "10"])
        writer.writerow(["erp", "t1", "u1", "orders", "101", "2024-06-29", '{"result": "fail"}', "DATASET", "", "9", "9"])
    return path


def _huge_rules(tmp: Path, model: Path) -> Path:
    path = tmp / "rules.json"
    entry = {"rule_name": "n" * 60, "rule_type": "t", "dimension": "d", "rule_description": "x" * 100, "category": "C1"}
    path.write_text(json.dumps({f"R{i:06d}": entry for i in range(100_000)}), encoding="utf-8")
    return path


def _damaged(change):
    def make(tmp: Path, model: Path) -> Path:
        copy = tmp / "model"
        shutil.copytree(model, copy)
        change(copy)
        return copy
    return make


def _tamper(bundle: Path) -> None:
    meta = bundle / "metadata.json"
    meta.write_text(meta.read_text().replace('"horizon": ', '"horizon": 1'), encoding="utf-8")


def _truncate(bundle: Path) -> None:
    data = (bundle / "model.txt").read_bytes()
    (bundle / "model.txt").write_bytes(data[: len(data) // 2])


def _wrong_version(bundle: Path) -> None:
    meta = json.loads((bundle / "metadata.json").read_text())
    meta["format_version"] = 99
    (bundle / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")
    sums = json.loads((bundle / "checksums.json").read_text())
    sums["metadata.json"] = hashlib.sha256((bundle / "metadata.json").read_bytes()).hexdigest()
    (bundle / "checksums.json").write_text(json.dumps(sums), encoding="utf-8")


MAKERS = {
    "summarize_10mb_cell": _big_cell,
    "rules_huge_file": _huge_rules,
    "model_missing_file": _damaged(lambda b: (b / "model.txt").unlink()),
    "model_tampered_file": _damaged(_tamper),
    "model_truncated_file": _damaged(_truncate),
    "model_wrong_version": _damaged(_wrong_version),
    "model_checksums_missing": _damaged(lambda b: (b / "checksums.json").unlink()),
}


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("corpus-model")
    generate_log(GenerateOptions(rows=30_000, output=tmp / "log.csv", seed=5))
    result = run_dqs("train", tmp / "log.csv", "--model", tmp / "model")
    assert result.returncode == 0, result.stderr
    return tmp / "model"


def test_the_corpus_is_large_and_every_case_is_real() -> None:
    assert len(CASES) >= 40
    assert len({c["case"] for c in CASES}) == len(CASES)
    for case in CASES:
        for token in case["args"].split():
            if token.startswith("{corpus}") and "nope" not in token and "*" not in token:
                assert Path(token.replace("{corpus}", str(CORPUS))).exists(), token
        assert ("{made}" in case["args"]) == (case["case"] in MAKERS)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_corpus_case(case: dict, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "full_summary.csv").write_text("previous run\n")
    (out / "predictions.csv").write_text("previous predictions\n")
    before = _snapshot(out)
    values = {"corpus": str(CORPUS), "out": str(out), "tmp": str(tmp_path)}
    if "{model}" in case["args"] or case["case"].startswith("model_"):
        values["model"] = str(request.getfixturevalue("model"))
    if case["case"] in MAKERS:
        values["made"] = str(MAKERS[case["case"]](tmp_path, Path(values.get("model", tmp_path))))
    args = [token.format(**values) for token in case["args"].split()]
    result = run_dqs(*args)

    expected = int(case["exit"])
    assert result.returncode == expected, result.stderr
    assert "Traceback" not in result.stderr
    if expected == 2:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 2, result.stderr
        assert lines[0].startswith("dqs: error: ") and case["fragment"] in lines[0], result.stderr
        assert lines[1].startswith("Hint: ")
        assert result.stdout == ""
        assert _snapshot(out) == before
    elif expected == 1:  # rows failed: the predictions are written and say why
        assert case["fragment"] in result.stderr
        rows = list(csv.DictReader((out / "predictions.csv").open(encoding="utf-8")))
        assert rows and all(r["status"] == "error" and r["error"] for r in rows)
    else:
        if case["args"].startswith("summarize"):
            report = json.loads((out / "run_report.json").read_text())
            assert report["rows_read"] == report["rows_accepted"] + report["rows_rejected"]
