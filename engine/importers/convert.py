"""From a tool's result files to results-log rows: find the files, let the format's importer
build the `imported` view (sql/import_*.sql), then map it to the log of SPEC §2 (sql/import.sql)."""

from __future__ import annotations

import glob
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pyarrow as pa

from ..database import Database
from ..errors import InputError
from ..queries import query

WARN_AS = ("fail", "pass", "unknown")
_GLOB_CHARS = set("*?[")


@dataclass(frozen=True)
class ImportOptions:
    """How a tool's results become log rows (the documented mapping's overrides)."""

    format: str
    inputs: tuple[str, ...]
    manifest: Path | None = None  # dbt only: names what each test tests
    source: str | None = None  # overrides the source column
    tenant: str | None = None  # overrides the tenant column
    business_date: date | None = None  # overrides the execution date
    timezone: str = "UTC"  # where the execution time is cut into a date
    warn_as: str = "fail"  # what a dbt / Soda / Elementary `warn` counts as

    def fingerprint(self) -> str:
        """The mapping options as text: the same file imported another way is other content."""
        return json.dumps({"format": self.format, "source": self.source, "tenant": self.tenant,
                           "business_date": None if self.business_date is None else self.business_date.isoformat(),
                           "timezone": self.timezone, "warn_as": self.warn_as}, sort_keys=True)


@dataclass
class FileFacts:
    """What one input file was, and what of it was left out."""

    path: str
    kind: str  # e.g. "dbt run_results v6", "gx validation result (1.x)"
    left_out: dict[str, int] = field(default_factory=dict)  # reason -> items


class Importer(Protocol):
    """One tool's result files: which files a directory holds, and how they become `imported`."""

    name: str
    suffixes: tuple[str, ...]  # the file names a directory is searched for

    def load(self, db: Database, files: list[Path], options: ImportOptions) -> list[FileFacts]:
        """Check the files (InputError naming the first bad one) and create the `imported` view."""
        ...


@dataclass
class ImportReport:
    format: str
    files: list[dict[str, Any]]
    rows: int = 0
    statuses: dict[str, int] = field(default_factory=dict)  # pass / fail / unknown
    tool_statuses: dict[str, int] = field(default_factory=dict)  # as the tool wrote them
    left_out: dict[str, int] = field(default_factory=dict)
    rules: int = 0
    output: str | None = None
    rules_output: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


FORMATS = ("dbt", "gx", "soda", "elementary")


def importer_for(name: str) -> Importer:
    """The importer of FORMAT `name` (its module, e.g. importers/dbt.py)."""
    import importlib

    if name not in FORMATS:
        raise InputError(f"unknown import format {name!r}", hint="use one of: " + ", ".join(FORMATS))
    return importlib.import_module(f"{__package__}.{name}").IMPORTER


def check_options(options: ImportOptions) -> None:
    if options.warn_as not in WARN_AS:
        raise InputError(f"--warn-as {options.warn_as!r} is not one of {', '.join(WARN_AS)}",
                         hint="--warn-as fail (default), pass or unknown")
    try:
        ZoneInfo(options.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(f"--timezone {options.timezone!r} is not a time zone",
                         hint="give an IANA name such as UTC, Europe/Paris or America/New_York") from None
    if options.manifest is not None and options.format != "dbt":
        raise InputError("--manifest is for dbt results", hint="drop --manifest, or use FORMAT dbt")
    if options.manifest is not None and not options.manifest.is_file():
        raise InputError(f"manifest {options.manifest} does not exist", hint="check the path of --manifest")
    for name, value in (("--source", options.source), ("--tenant", options.tenant)):
        if value is not None and not value.strip():
            raise InputError(f"{name} is empty", hint=f"give {name} a name, or leave it out")


def find_files(importer: Importer, inputs: tuple[str, ...]) -> list[Path]:
    """Every file of the inputs (files, directories searched recursively, globs), once, sorted by
    path: the order rows take in the log."""
    found: dict[Path, None] = {}
    for spec in inputs:
        path = Path(spec)
        if path.is_file():
            found[path] = None
        elif path.is_dir():
            matches = sorted(p for p in path.rglob("*") if p.is_file() and p.name.lower().endswith(importer.suffixes))
            if not matches:
                raise InputError(f"directory {spec} holds no {importer.name} result files",
                                 hint=f"{importer.name} files are named *" + ", *".join(importer.suffixes))
            found.update(dict.fromkeys(matches))
        elif _GLOB_CHARS & set(spec):
            matches = sorted(Path(p) for p in glob.glob(spec, recursive=True) if Path(p).is_file())
            if not matches:
                raise InputError(f"glob {spec} matches no files", hint="check the pattern; quote it so the shell does not expand it")
            found.update(dict.fromkeys(matches))
        else:
            raise InputError(f"input {spec} does not exist", hint="check the path")
    return sorted(found, key=str)


def register_files(db: Database, files: list[Path]) -> None:
    db.register("import_files", pa.table({
        "file_index": pa.array(range(len(files)), pa.int32()),
        "path": pa.array([str(p) for p in files], pa.string()),
    }))


def load_text(db: Database, files: list[Path], expected: str) -> None:
    """`import_text`: the files' content, read by DuckDB; every file must be a JSON object."""
    register_files(db, files)
    for path in files:
        try:
            with path.open("rb") as fh:
                head = fh.read(4096)
        except OSError as exc:
            raise InputError(f"{path}: cannot be read: {exc.strerror}", hint="check the file") from exc
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 4:  # not just a character cut by the 4096-byte read
                raise InputError(f"{path}: not a UTF-8 text file; expected {expected}",
                                 hint="give the JSON file the tool wrote") from None
    db.execute(query("import.sql", "import_text"), {"paths": [str(p) for p in files]})
    for row in db.arrow(query("import.sql", "import_json_valid")).to_pylist():
        raise InputError(f"{row['path']}: not valid JSON (truncated or another format?); expected {expected}",
                         hint="give the file as the tool wrote it")
    for row in db.arrow(query("import.sql", "import_json_objects")).to_pylist():
        raise InputError(f"{row['path']}: a JSON {str(row['json_kind']).lower()}, not an object; expected {expected}",
                         hint="give the file as the tool wrote it")


@dataclass
class Imported:
    """The imported rows of one invocation, held in `db` as `imported_log`."""

    db: Database
    files: list[Path]
    report: ImportReport

    def table(self) -> pa.Table:
        """The log's rows (SPEC §2 columns), in log order."""
        return self.db.table("log_rows")

    def write_log(self, path: Path) -> None:
        """Write the log as CSV or Parquet (by its name), atomically."""
        block = "write_log_parquet" if path.name.lower().endswith((".parquet", ".pq")) else "write_log_csv"
        with _atomic(path) as staging:
            self.db.execute(query("import.sql", block), {"path": str(staging)})
        self.report.output = str(path)

    def rules(self) -> dict[str, dict[str, str]]:
        """Rules metadata (SPEC §3) from what the tool describes."""
        rows = self.db.arrow(query("import.sql", "import_rules")).to_pylist()
        return {r.pop("rule_code"): r for r in rows}

    def write_rules(self, path: Path) -> None:
        rules = self.rules()
        with _atomic(path) as staging:
            staging.write_text(json.dumps(rules, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        self.report.rules_output = str(path)
        self.report.rules = len(rules)

    def file_tables(self) -> Iterator[tuple[Path, pa.Table]]:
        """Each input file with its own rows (in order), for the store's ledger (one entry per file)."""
        table = self.table()
        sizes = self.db.arrow(query("import.sql", "import_file_rows")).column("rows").to_pylist()
        offset = 0
        for path, size in zip(self.files, sizes, strict=True):
            yield path, table.slice(offset, size)
            offset += size


@contextmanager
def _atomic(path: Path) -> Iterator[Path]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    staging = Path(name)
    try:
        yield staging
        os.replace(staging, path)
    finally:
        staging.unlink(missing_ok=True)


def import_results(options: ImportOptions, db: Database) -> Imported:
    """Read the inputs of `options` into `imported_log` in `db`; nothing is written yet."""
    check_options(options)
    importer = importer_for(options.format)
    files = find_files(importer, options.inputs)
    db.execute(query("import.sql", "import_settings"))
    facts = importer.load(db, files, options)
    db.execute(query("import.sql", "import_log"), {
        "business_date": options.business_date, "timezone": options.timezone})
    db.execute(query("import.sql", "import_log_rows"))
    report = ImportReport(format=options.format, files=[asdict(f) for f in facts])
    for row in db.arrow(query("import.sql", "import_counts")).to_pylist():
        report.rows += row["rows"]
        report.statuses[row["status"]] = report.statuses.get(row["status"], 0) + row["rows"]
        report.tool_statuses[row["tool_status"]] = report.tool_statuses.get(row["tool_status"], 0) + row["rows"]
        entry = report.files[row["file_index"]]
        entry.setdefault("rows", {})
        entry["rows"][row["status"]] = entry["rows"].get(row["status"], 0) + row["rows"]
    for f in facts:
        for reason, n in f.left_out.items():
            report.left_out[reason] = report.left_out.get(reason, 0) + n
    undated = db.scalar(query("import.sql", "import_undated"))
    if undated:
        raise InputError(f"{undated} imported check(s) carry no execution time",
                         hint="give the day they are for with --business-date YYYY-MM-DD")
    return Imported(db, files, report)
