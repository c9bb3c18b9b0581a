"""Small CSV files in the plain dialect are read by pyarrow, every other file by Polars
(engine/inputs/plain_csv.py): the two readings must be the same table, so no figure depends on
which reader a file met. Polars' reading is the reference: `CsvStream.batches()`."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from dqs.engine.generate import GenerateOptions, generate_log
from dqs.engine.inputs import plain_csv, scan
from dqs.engine.inputs.plain_csv import is_plain, quotes_well_placed, valid_utf8
from dqs.engine.inputs.scan import CsvStream
from dqs.engine.inputs.sources import REQUIRED_COLUMNS

CORPUS = Path(__file__).parent / "corpus" / "summarize"


def polars_reading(paths: tuple[Path, ...], columns: tuple[str, ...]) -> list[dict] | None:
    """What Polars reads (None when it refuses the file)."""
    stream = CsvStream(paths, columns)
    try:
        return pa.Table.from_batches(list(stream.batches()), stream.schema()).to_pylist()
    except Exception:
        return None


def plain_reading(paths: tuple[Path, ...], columns: tuple[str, ...]) -> list[dict] | None:
    tables = CsvStream(paths, columns)._plain_tables()
    return None if tables is None else [r for t in tables for r in t.to_pylist()]


def assert_same_when_plain(paths: tuple[Path, ...], columns: tuple[str, ...]) -> bool:
    plain = plain_reading(paths, columns)
    if plain is not None:
        assert plain == polars_reading(paths, columns)
    return plain is not None


# -- the dialect check itself -------------------------------------------------------------------

@pytest.mark.parametrize(("text", "placed"), [
    ('a,b\n1,2\n', True),
    ('a,b\n"1","x,y"\n', True),
    ('a,b\n"","say ""hi"""\n', True),
    ('a,b\n"""",""""""\n', True),        # one quote, two quotes
    ('a,b\n1"2,3\n', False),              # a quote inside an unquoted field
    ('a,b\n"1"2,3\n', False),             # text after a closing quote
    ('a,b\n1,"2\n', False),               # never closes
    ('a,b\n1,"2\n3"\n', False),           # a line feed inside quotes
    ('a,b\n1, "2"\n', False),             # a space before the opening quote
])
def test_quotes_well_placed(text: str, placed: bool) -> None:
    assert quotes_well_placed(text.encode()) is placed


@pytest.mark.parametrize("data", [
    b"a,b\r\n1,2\r\n", b"\xef\xbb\xbfa,b\n1,2\n", b"a,b\n1,2", b"a,b\n\n1,2\n", b"a,b\n1,\x002\n",
    b"a,b\n\xe9,2\n",  # Latin-1
    b"a,b\n\xed\xa0\x80,2\n",  # a UTF-16 surrogate
    b'"a""q",b\n1,2\n',  # Polars keeps the doubled quote in the column name
])
def test_what_is_not_plain(data: bytes) -> None:
    assert not is_plain(data)


def test_utf8_is_checked_across_chunks(monkeypatch) -> None:
    monkeypatch.setattr(plain_csv, "UTF8_CHUNK", 3)
    assert valid_utf8("é—€😀 plain".encode())  # characters cut by every chunk boundary
    assert not valid_utf8("é—€".encode()[:-1])  # cut short at the end


def test_a_column_named_like_the_line_number_goes_to_polars(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("a,_dqs_file_index\n1,x\n", encoding="utf-8")
    assert plain_reading((path,), ("a", "_dqs_file_index")) is None


# -- the readings agree -------------------------------------------------------------------------

def test_a_generated_log_is_plain_and_read_the_same(tmp_path: Path) -> None:
    log = tmp_path / "log.csv"
    generate_log(GenerateOptions(rows=5000, output=log, seed=3, malformed_share=0.05))
    assert b'"' in log.read_bytes()  # its results are quoted JSON
    assert assert_same_when_plain((log,), REQUIRED_COLUMNS + ("absent",))


def test_several_files_are_numbered_each_from_one(tmp_path: Path) -> None:
    paths = []
    for k in range(3):
        path = tmp_path / f"p{k}.csv"
        path.write_text("a,b\n" + "".join(f"{k},{i}\n" for i in range(k + 1)), encoding="utf-8")
        paths.append(path)
    plain = plain_reading(tuple(paths), ("b", "a"))
    assert plain is not None and plain == polars_reading(tuple(paths), ("b", "a"))
    assert [(r["_dqs_file_index"], r["_dqs_line_number"]) for r in plain] == [(0, 1), (1, 1), (1, 2), (2, 1), (2, 2), (2, 3)]


def test_inputs_over_the_size_go_to_polars(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "log.csv"
    path.write_text("a,b\n" + "1,2\n" * 300_000, encoding="utf-8")  # 1.2 MB
    assert plain_reading((path,), ("a",)) is not None
    assert CsvStream((path,), ("a",), lean=True)._plain_tables() is None  # a small --memory-limit: 1 MiB
    monkeypatch.setattr(scan, "PLAIN_CSV_BYTES", 4)
    assert plain_reading((path,), ("a",)) is None
    assert CsvStream((path,), ("a",)).reader().read_all().to_pylist() == polars_reading((path,), ("a",))


def test_a_column_the_header_lacks_keeps_the_rows(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("a,b\n1,2\n3,4\n", encoding="utf-8")
    assert plain_reading((path,), ("absent",)) == polars_reading((path,), ("absent",))


def test_a_daily_ingest_of_a_plain_file_does_not_load_polars(tmp_path: Path) -> None:
    """The point of the plain reader: the daily run's ingest reads the day without Polars."""
    log = tmp_path / "day.csv"
    generate_log(GenerateOptions(rows=2000, output=log, seed=4, malformed_share=0.02))
    script = (
        "import sys\n"
        "from dqs.engine.store.ingest import IngestOptions, ingest\n"
        f"report = ingest(IngestOptions(inputs=({str(log)!r},), store=__import__('pathlib').Path({str(tmp_path / 'store')!r})))\n"
        "print(report.rows_read, 'polars' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["2000", "False"]


@pytest.mark.parametrize("path", sorted(p for p in CORPUS.iterdir() if p.suffix == ".csv"), ids=lambda p: p.name)
def test_the_bad_input_corpus_reads_the_same(path: Path) -> None:
    try:
        header = next(csv.reader(path.open(encoding="utf-8", newline="")), [])
    except UnicodeDecodeError:
        header = []
    columns = tuple(dict.fromkeys([*REQUIRED_COLUMNS, *header]))
    plain = assert_same_when_plain((path,), columns)
    if path.name in ("bom.csv", "crlf.csv", "quoted_newlines.csv", "ragged.csv", "nul_bytes.csv", "latin1.csv"):
        assert not plain


CHARS = ["a", "7", " ", "\t", ",", '"', "é", "—", "{", ":"]
NAMES = ["a", "b", "c d", "", "é", " e", "x,y"]  # header names, quoted or not (a comma: quoted)
IRREGULAR_CHARS = ["\n", "\r"]


@st.composite
def csv_file(draw) -> bytes:
    """CSV text: for a third of the files, with the irregular cases mixed in (raw, unescaped
    fields, line feeds and CRs in values, rows of another length, CRLF, a BOM, empty lines, a
    missing last line feed); well-formed for the rest."""
    irregular = not draw(st.integers(0, 2))
    chars = st.sampled_from(CHARS + IRREGULAR_CHARS if irregular else CHARS)
    columns = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=4, unique=True))

    def chance(n: int) -> bool:  # one in n, in an irregular file
        return irregular and not draw(st.integers(0, n - 1))

    def field() -> str:
        text = "".join(draw(st.lists(chars, max_size=5)))
        if chance(4):
            return text
        if draw(st.booleans()):
            return '"' + text.replace('"', '""') + '"'
        return "".join(c for c in text if c not in ',"\n\r')

    rows = []
    for _ in range(draw(st.integers(0, 6))):
        width = draw(st.integers(1, 5)) if chance(4) else len(columns)
        rows.append(",".join(field() for _ in range(width)))
    end = "\r\n" if chance(4) else "\n"
    header = ",".join(f'"{c}"' if "," in c or draw(st.booleans()) else c for c in columns)
    text = end.join([header, *rows]) + ("" if chance(4) else end)
    if chance(6):
        text = "\n" + text
    if chance(6):
        text = text.replace(end, end + end, 1)
    return (b"\xef\xbb\xbf" if chance(6) else b"") + text.encode()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=csv_file(), wanted=st.lists(st.sampled_from([*NAMES, "absent"]), min_size=1, unique=True))
def test_random_files_read_the_same_or_go_to_polars(tmp_path: Path, data: bytes, wanted: list[str]) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    event("read by pyarrow" if assert_same_when_plain((path,), tuple(wanted)) else "left to Polars")
