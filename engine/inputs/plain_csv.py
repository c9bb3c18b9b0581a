"""Small CSV files in the plain dialect, read without Polars.

A daily run reads one day's file, a few MB, and Polars' import alone costs it 0.1 s. pyarrow,
loaded by every run, reads such a file in milliseconds. But the two readers differ on irregular
CSV (stray quotes, carriage returns, short rows, quoted empty values, a missing last line feed),
and every figure must be the same whichever reads a file. So a file is read here only when it is
in the *plain* dialect, where CSV has one reading:

- UTF-8 without a byte-order mark, `\\n` line ends (no `\\r` anywhere), ending in a line feed,
  no empty line, no NUL byte;
- a header without doubled quotes (Python's csv module undoes them in a column name, Polars
  keeps them);
- every quote well placed: a quoted field opens right after a comma or a line start, closes
  right before a comma or a line end, and holds quotes only doubled, and no line feed;
- every row with as many fields as the header (pyarrow's reader checks this).

There a field is the text between its commas (unquoted and with `""` undone when quoted), an
empty unquoted field is NULL and a quoted one the empty text, as Polars reads it; and the n-th
data row is line n + 1. Any other file returns None and goes to Polars, as before. The tests
hold the two readers to equal tables on generated plain files and on the bad-input corpus.
"""

from __future__ import annotations

import codecs
from pathlib import Path

import numpy as np
import pyarrow as pa

QUOTE, LINE_FEED, COMMA = ord('"'), ord("\n"), ord(",")
_BOUNDARY = np.zeros(256, dtype=bool)
_BOUNDARY[[COMMA, LINE_FEED]] = True


def quotes_well_placed(data: bytes) -> bool:
    """Whether every quote of `data` is where the plain dialect allows it (see the module
    docstring). Between consecutive quotes the text alternates: inside a quoted field, outside
    one. An outside stretch that is empty is a doubled quote within a field; any other must
    start after a closing quote with a comma or line feed and end, before the next opening
    quote, with one. Line feeds must all lie outside: an even number of quotes before each."""
    text = np.frombuffer(data, dtype=np.uint8)
    quotes = np.flatnonzero(text == QUOTE)
    if quotes.size == 0:
        return True
    if quotes.size % 2:
        return False  # a quoted field never closes
    first, last = quotes[0], quotes[-1]
    if first > 0 and not _BOUNDARY[text[first - 1]]:
        return False
    if last + 1 < text.size and not _BOUNDARY[text[last + 1]]:
        return False
    closing, opening = quotes[1:-1:2], quotes[2::2]
    between = opening > closing + 1  # not a doubled quote
    if not (_BOUNDARY[text[closing[between] + 1]].all() and _BOUNDARY[text[opening[between] - 1]].all()):
        return False
    line_feeds = np.flatnonzero(text == LINE_FEED)
    return not (np.searchsorted(quotes, line_feeds) % 2).any()


def is_plain(data: bytes) -> bool:
    """Whether `data` is in the plain dialect, as far as it can be told without parsing it."""
    if not data.endswith(b"\n") or data.startswith((b"\xef\xbb\xbf", b"\x1f\x8b", b"\n")):
        return False
    if b"\r" in data or b"\n\n" in data or b"\0" in data:
        return False
    if b'""' in data[: data.index(b"\n")]:
        return False
    return valid_utf8(data) and quotes_well_placed(data)


UTF8_CHUNK = 1 << 20


def valid_utf8(data: bytes) -> bool:
    """Whether `data` is UTF-8, checked a MiB at a time: decoding it whole would hold up to four
    times its size as a Python string."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(data)
    try:
        for start in range(0, len(view), UTF8_CHUNK):
            decoder.decode(view[start:start + UTF8_CHUNK])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def read_plain_csv(path: Path, header: list[str], columns: tuple[str, ...]) -> pa.Table | None:
    """`columns` of the (small: it is read whole) file, as text, NULL where the header lacks
    one, when it is a plain CSV file whose header is `header`; None otherwise."""
    import pyarrow.csv as csv

    if not columns:
        return None  # a table without columns could not carry the row count
    try:
        data = path.read_bytes()
    except OSError:
        return None  # Polars reports the problem
    if not is_plain(data):
        return None
    present = [c for c in columns if c in header]
    try:
        table = csv.read_csv(
            pa.py_buffer(data),
            # the header is csv_header's reading of the first row (Polars', in this dialect)
            read_options=csv.ReadOptions(column_names=header, skip_rows=1),
            parse_options=csv.ParseOptions(delimiter=",", quote_char='"', double_quote=True, escape_char=False,
                                           newlines_in_values=False, ignore_empty_lines=False),
            convert_options=csv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=False,
                # at least one column, so the table has the file's rows (an empty list means all)
                include_columns=present or header[:1],
            ),
        )
    except pa.ArrowException:  # a row with another field count, say
        return None
    rows = table.num_rows
    return pa.table([table.column(c) if c in header else pa.nulls(rows, pa.string()) for c in columns],
                    names=list(columns))
