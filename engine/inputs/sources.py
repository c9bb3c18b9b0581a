"""Find the files behind an INPUT argument and check their headers before any work starts."""

from __future__ import annotations

import csv
import glob
import gzip
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pyarrow.parquet as pq

from ..errors import InputError

REQUIRED_COLUMNS: tuple[str, ...] = (
    "source",
    "tenant_id",
    "dataset_uuid",
    "dataset_name",
    "rule_code",
    "business_date",
    "results",
    "level_of_execution",
    "attribute_name",
    "dataset_record_count",
    "filtered_record_count",
)

Format = Literal["csv", "parquet"]
# what a directory's data files are called (a single file given by name is read whatever its name)
_CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.gzip")
_PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")
_GLOB_CHARS = set("*?[")


@dataclass(frozen=True)
class InputFiles:
    """The data files of one input, in the order that defines "input order" (sorted paths)."""

    paths: tuple[Path, ...]
    format: Format
    columns: tuple[str, ...]  # union of the files' columns, first-seen order


def _format_of(path: Path) -> Format | None:
    name = path.name.lower()
    if name.endswith(_PARQUET_SUFFIXES):
        return "parquet"
    if name.endswith(_CSV_SUFFIXES):
        return "csv"
    return None


def _sniff_format(path: Path) -> Format:
    with path.open("rb") as fh:
        head = fh.read(4)
    return "parquet" if head == b"PAR1" else "csv"


def resolve_input(spec: str | Path) -> InputFiles:
    """Resolve one file, a directory (its data files) or a glob into sorted data files."""
    text = str(spec)
    path = Path(text)
    if path.is_file():
        paths = [path]
        formats = {_format_of(path) or _sniff_format(path)}
    else:
        if path.is_dir():
            candidates = sorted(p for p in path.iterdir() if p.is_file() and _format_of(p))
            if not candidates:
                raise InputError(
                    f"directory {text} holds no data files",
                    hint="put .csv, .csv.gz or .parquet files in it, or pass a file or a glob",
                )
        elif _GLOB_CHARS & set(text):
            candidates = sorted(Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file())
            if not candidates:
                raise InputError(
                    f"glob {text} matches no files",
                    hint="check the pattern; quote it so the shell does not expand it",
                )
        else:
            raise InputError(f"input {text} does not exist", hint="check the path")
        paths = candidates
        formats = {_format_of(p) or _sniff_format(p) for p in paths}
    if len(formats) > 1:
        raise InputError(
            f"input {text} mixes CSV and Parquet files",
            hint="convert the files to one format or pass them separately",
        )
    fmt = formats.pop()
    columns = _check_headers(paths, fmt)
    return InputFiles(tuple(paths), fmt, columns)


def csv_header(path: Path) -> list[str]:
    """The header row of a CSV (optionally gzip) file, BOM removed."""
    try:
        with path.open("rb") as raw:
            magic = raw.read(2)
        opener = gzip.open if magic == b"\x1f\x8b" else open
        with opener(path, "rb") as fh:  # type: ignore[operator]
            text = io.TextIOWrapper(fh, encoding="utf-8-sig", newline="")
            row = next(csv.reader(text), None)
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path}: not valid UTF-8 ({exc.reason} at byte {exc.start} of the first block read)",
            hint="re-encode the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)",
        ) from exc
    except (OSError, EOFError, csv.Error) as exc:
        raise InputError(f"{path}: cannot read the header: {exc}", hint="check the file") from exc
    if not row or not any(cell.strip() for cell in row):
        raise InputError(
            f"{path}: file is empty (no header row)",
            hint="a results file starts with a header naming the columns: "
            + ",".join(REQUIRED_COLUMNS),
        )
    return row


def parquet_columns(path: Path) -> list[str]:
    try:
        return list(pq.read_schema(path).names)
    except Exception as exc:  # pyarrow raises several unrelated types for a bad file
        raise InputError(
            f"{path}: not a readable Parquet file ({exc})", hint="check the file"
        ) from exc


def _check_headers(paths: list[Path], fmt: Format) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for path in paths:
        names = csv_header(path) if fmt == "csv" else parquet_columns(path)
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise InputError(
                f"{path}: duplicate column names: {', '.join(duplicates)}",
                hint="each column name must appear once in the header",
            )
        missing = [c for c in REQUIRED_COLUMNS if c not in names]
        if missing:
            hint = "column names are exact and case-sensitive; required: " + ", ".join(REQUIRED_COLUMNS)
            delimiter = next((d for d in (";", "\t", "|") if fmt == "csv" and len(names) == 1 and d in names[0]), None)
            if delimiter is not None:
                hint = f"the header looks {delimiter!r}-separated; dqs reads comma-separated CSV"
            raise InputError(f"{path}: missing required columns: {', '.join(missing)}", hint=hint)
        for name in names:
            seen.setdefault(name, None)
    return tuple(seen)
