"""The report's data, embedded once and compactly: typed columns in one binary blob, gzip-compressed
and base64-encoded into the page, which decodes it with the browser's own `DecompressionStream`.

Layout of the decompressed blob (all little-endian):

    uint32        length of the header, in bytes
    header        UTF-8 JSON: {"columns": {name: {"type", "offset", "length", ...}}, ...}
    padding       to a multiple of 8 bytes
    columns       each column's values, each starting at a multiple of 8 bytes

A column type is `u8`, `u16`, `u32`, `i32`, `f64` or `i64` (the page makes a typed array over the
bytes, without copying). Integer columns take the smallest type that holds them; a column with
missing values names its `null` value (the type's largest, not otherwise used). A `shuffle`d
column of a multi-byte type is stored byte plane by byte plane (every value's first byte, then
every second byte...): counts and dates compress a sixth better so. Text columns are
dictionary-encoded: their distinct values, sorted, in the header (`dictionary`), and one index per
row. Everything else the page needs (figures, dictionaries, lists) is in the header.
"""

from __future__ import annotations

import base64
import gzip
import json
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_TYPES: dict[str, np.dtype] = {
    "u8": np.dtype("<u1"), "u16": np.dtype("<u2"), "u32": np.dtype("<u4"),
    "i32": np.dtype("<i4"), "f64": np.dtype("<f8"), "i64": np.dtype("<i8"),
}
_UNSIGNED = ("u8", "u16", "u32")
_EXACT_DOUBLE = 2**53  # integers up to here are exact as JavaScript numbers
# deflate level 7 with the filtered strategy: within 1% of level 9's size on report data, 5x faster
GZIP_LEVEL = 7


def _unsigned_type(largest: int) -> str | None:
    for name in _UNSIGNED:
        if largest <= np.iinfo(_TYPES[name]).max:
            return name
    return None


@dataclass
class Payload:
    """Columns and header values, built up and then encoded once."""

    header: dict[str, Any] = field(default_factory=dict)
    _columns: dict[str, tuple[dict[str, Any], np.ndarray]] = field(default_factory=dict)

    def integers(self, name: str, values: pa.Array | pa.ChunkedArray | np.ndarray, *, offset: int = 0,
                 shuffle: bool = False) -> None:
        """An integer column (nulls allowed), stored as `value - offset` in the smallest type."""
        array = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else pa.array(values)
        if isinstance(array, pa.ChunkedArray):
            array = array.combine_chunks()
        nulls = array.null_count
        data = array.fill_null(offset).to_numpy(zero_copy_only=False).astype(np.int64) - offset
        meta: dict[str, Any] = {}
        if offset:
            meta["add"] = offset
        if shuffle:
            meta["shuffle"] = True
        low = int(data.min()) if data.size else 0
        high = int(data.max()) if data.size else 0
        kind = _unsigned_type(high + (1 if nulls else 0)) if low >= 0 else None
        if kind is None and low >= -(2**31) and high < 2**31 - (1 if nulls else 0):
            kind = "i32"
        if kind is None:
            kind = "f64" if max(abs(low), abs(high)) < _EXACT_DOUBLE else "i64"
        if nulls:
            mask = array.is_null().to_numpy(zero_copy_only=False)
            if kind in ("f64",):
                data = data.astype(np.float64)
                data[mask] = np.nan
                meta["null"] = "nan"
            else:
                sentinel = int(np.iinfo(_TYPES[kind]).max)
                data = data.copy()
                data[mask] = sentinel
                meta["null"] = sentinel
        self._add(name, kind, data, meta)

    def floats(self, name: str, values: np.ndarray) -> None:
        self._add(name, "f64", np.asarray(values, dtype=np.float64), {})

    def text(self, name: str, values: pa.Array | pa.ChunkedArray) -> None:
        """A text column (no nulls: the caller decides what a missing value reads as),
        dictionary-encoded with its distinct values sorted by code point."""
        array = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
        if array.null_count:
            raise ValueError(f"text column {name} has missing values")
        distinct = pc.unique(array)
        distinct = distinct.take(pc.sort_indices(distinct))
        indices = pc.index_in(array, value_set=distinct)
        self.integers(name, indices)
        self._columns[name][0]["dictionary"] = distinct.to_pylist()

    def raw(self, name: str, kind: str, data: np.ndarray, *, shuffle: bool = False) -> None:
        """A column given as an array of one of the payload's types."""
        self._add(name, kind, np.asarray(data, dtype=_TYPES[kind]), {"shuffle": True} if shuffle else {})

    def _add(self, name: str, kind: str, data: np.ndarray, meta: dict[str, Any]) -> None:
        if name in self._columns:
            raise ValueError(f"column {name} is added twice")
        data = np.ascontiguousarray(data, dtype=_TYPES[kind])
        if meta.get("shuffle") and data.itemsize == 1:
            del meta["shuffle"]
        self._columns[name] = ({"type": kind, **meta}, data)

    def encode(self) -> bytes:
        """The blob, gzip-compressed (not yet base64)."""
        columns: dict[str, Any] = {}
        offset = 0
        for name, (meta, data) in self._columns.items():
            columns[name] = {**meta, "offset": offset, "length": int(data.size)}
            offset += -(-data.nbytes // 8) * 8
        header = json.dumps({**self.header, "columns": columns}, ensure_ascii=False, separators=(",", ":"),
                            allow_nan=False).encode("utf-8")
        start = 4 + len(header)
        pad = -start % 8
        parts = [struct.pack("<I", len(header)), header, b"\0" * pad]
        for meta, data in self._columns.values():
            if meta.get("shuffle"):
                parts.append(data.view(np.uint8).reshape(-1, data.itemsize).T.tobytes())
            else:
                parts.append(data.tobytes())
            parts.append(b"\0" * (-data.nbytes % 8))
        deflate = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31, 9, zlib.Z_FILTERED)  # wbits 31: a gzip stream
        return deflate.compress(b"".join(parts)) + deflate.flush()

    def encode_base64(self) -> str:
        return base64.b64encode(self.encode()).decode("ascii")


def decode(blob: str | bytes) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The header and the columns of an encoded payload (base64 text or gzip bytes), as the page
    reads them: dictionary columns stay indices, `null` values stay as stored."""
    raw = gzip.decompress(base64.b64decode(blob) if isinstance(blob, str) else blob)
    (length,) = struct.unpack_from("<I", raw, 0)
    header = json.loads(raw[4:4 + length].decode("utf-8"))
    base = 4 + length + (-(4 + length) % 8)
    columns = {}
    for name, meta in header["columns"].items():
        dtype = _TYPES[meta["type"]]
        if meta.get("shuffle"):
            planes = np.frombuffer(raw, dtype=np.uint8, count=meta["length"] * dtype.itemsize, offset=base + meta["offset"])
            columns[name] = planes.reshape(dtype.itemsize, meta["length"]).T.copy().view(dtype).reshape(-1)
        else:
            columns[name] = np.frombuffer(raw, dtype=dtype, count=meta["length"], offset=base + meta["offset"])
    return header, columns

