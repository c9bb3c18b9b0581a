"""Fuzzing the CSV reader: random cells, quoting, line endings and encodings.

Whatever the bytes, `dqs summarize` either does the job (exit 0, and every row read is either
accepted or rejected) or refuses the input (exit 2) with one error line and a hint, never a
crash. Runs the CLI's entry point in-process (same code as the console script) so that many
examples fit in the suite; DQS_FUZZ_EXAMPLES raises the count.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import COLUMNS
from dqs.cli.app import main

EXAMPLES = int(os.environ.get("DQS_FUZZ_EXAMPLES", "60"))

texts = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
cells = st.one_of(
    st.sampled_from(["", " ", "erp", " t1 ", "101", "007", "2024-06-30", "2024-02-30", "2024-06-30T10:00",
                     "10", "10.0", "-1", "1e3", '{"result": "pass"}', '{"status": "FAIL"}', "[1]", "null",
                     'a,b', 'say "hi"', "line\nbreak", "\r", "\x00"]),
    texts,
)
headers = st.one_of(
    st.permutations(COLUMNS).map(list),
    st.permutations(COLUMNS).map(lambda c: list(c) + ["extra"]),
    st.permutations(COLUMNS).map(lambda c: list(c)[1:]),  # a missing column
    st.lists(texts, min_size=1, max_size=12),
)


@st.composite
def csv_files(draw) -> bytes:
    header = draw(headers)
    rows = draw(st.lists(st.lists(cells, min_size=len(header) - 1, max_size=len(header) + 1), max_size=15))
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONE]))
    ending = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=quoting, lineterminator=ending, escapechar="\\")
    for record in [header, *rows]:
        try:
            writer.writerow(record)
        except csv.Error:  # one empty field unquoted (QUOTE_NONE) is an empty line, which csv refuses to write
            buffer.write(ending)
    text = buffer.getvalue()
    if draw(st.booleans()):
        text = text[: draw(st.integers(0, len(text)))]  # cut anywhere
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "utf-16"]))
    data = text.encode(encoding, errors="replace")
    if draw(st.integers(0, 9)) == 0:
        data += draw(st.binary(max_size=20))
    return data


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                       HealthCheck.too_slow])
@given(data=csv_files())
def test_random_csv_never_crashes(data: bytes, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    log = tmp_path / "log.csv"
    log.write_bytes(data)
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exited:
        main(["summarize", str(log), "-o", str(out), "-q"])
    code = exited.value.code
    stderr = capsys.readouterr().err
    assert code in (0, 2), stderr
    # "dqs: error: unexpected ..." is how a bug is rendered; decoders may say "unexpected end of data"
    assert "Traceback" not in stderr and "dqs: error: unexpected" not in stderr, stderr
    if code == 0:
        report = json.loads((out / "run_report.json").read_text())
        assert report["rows_accepted"] + report["rows_rejected"] == report["rows_read"]
    else:
        lines = stderr.strip().splitlines()
        assert lines[0].startswith("dqs: error: ") and lines[-1].startswith("Hint: "), stderr
