"""Byte-exact golden outputs of the real CLI on small hand-checked inputs (tests/golden/*).

contract/: unsorted rows, several runs a day, ties on the latest date (last in input wins), window
boundaries at exactly R-30/R-31/R-90/R-91/R-365/R-366, the `status` key, case and space variants,
invalid JSON and non-object JSON, a rule missing from the rules file, zero-padded codes ('007'
matches '7'), commas, quotes, unicode and a newline in a name, dates with a time part, trimmed
keys, extra input columns and extra rule keys, and rejected rows of every kind.
as_of/: the same log with --as-of inside its history. header_only/: no data rows.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from conftest import run_dqs

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "args").is_file())


@pytest.mark.parametrize("case", CASES)
def test_golden_outputs(case: str, tmp_path: Path) -> None:
    folder = GOLDEN / case
    out = tmp_path / "out"
    args = shlex.split((folder / "args").read_text().replace("{out}", str(out)))
    result = run_dqs(*args, cwd=folder)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""  # results go to files; the run summary goes to stderr
    for expected in sorted((folder / "expected").iterdir()):
        produced = out / expected.name
        assert produced.read_bytes() == expected.read_bytes(), f"{case}/{expected.name} differs"
