"""Analysts' SQL files: one `name.sql` holding one SELECT becomes an output table `name`.

The contract is in `sql/README.md`. Files run in order (directories in the order given, files
sorted by name within each), after the summary, on the relations `results`, `daily`, `summary`
and `rules` and on the outputs of earlier files, with DuckDB's external access off and its
configuration locked. Values are bound as `$parameters`, never formatted into SQL.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb

from ..database import Database, interrupted
from ..errors import ExitCode, InputError, first_line
from ..queries import query

SQL_DIR_ENV = "DQS_SQL_DIR"
BUILTIN_PARAMS = ("as_of", "reference_date")
RELATIONS = ("results", "daily", "summary", "rules")
ROW_RELATIONS = frozenset({"results", "daily"})  # these need the input rows kept after the summary
# columns `results` adds to the input's own; an extra input column cannot use these names
RESULTS_OWN_COLUMNS = frozenset({"status", "input_file", "input_line"})
# names of the engine's own output files: an analyst output must not replace them
BUILTIN_OUTPUT_STEMS = frozenset({"full_summary", "nl_all_rows", "summary", "rejects", "run_report"})

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_PARAM_LINE = re.compile(r"--\s*param:\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")
_TRAILING_SEMICOLON = re.compile(r";(\s*(--[^\n]*)?)*\Z")
_CREATE_PREFIX = 'CREATE TEMP TABLE "{name}" AS\n'  # `name` matched _NAME: safe to quote


@dataclass(frozen=True)
class AnalystFile:
    """One analyst SQL file: its output name, text, description and declared defaults."""

    name: str
    path: Path
    text: str
    description: str
    defaults: dict[str, str] = field(default_factory=dict)

    @property
    def body(self) -> str:
        """The statement as written (same lines and columns as the file), without a final `;`."""
        return _TRAILING_SEMICOLON.sub("", self.text.rstrip())


@dataclass(frozen=True)
class Problem:
    """What is wrong with one file, where DuckDB (or the contract) says so."""

    path: Path
    message: str
    line: int | None = None
    column: int | None = None
    source_line: str | None = None
    hint: str | None = None

    def location(self) -> str:
        where = str(self.path)
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return where

    def render(self) -> str:
        text = f"{self.location()}: {self.message}"
        if self.source_line is not None:
            text += f"\n    {self.line} | {self.source_line}"
            if self.column is not None:
                pad = " " * (len(str(self.line)) + 3 + self.column - 1)
                text += f"\n    {pad}^"
        return text


class AnalystSqlError(InputError):
    """An analyst file cannot run; names the file, the line and DuckDB's message."""

    def __init__(self, problem: Problem, hint: str | None = None, exit_code: ExitCode = ExitCode.BAD_INPUT) -> None:
        super().__init__(f"SQL file {problem.location()}: {problem.message}", hint=problem.hint or hint)
        self.problem = problem
        self.exit_code = exit_code
        if problem.source_line is not None:
            self.detail = problem.render().split("\n", 1)[1]


# ---------------------------------------------------------------------------------------------
# discovery


def examples_dir() -> Path:
    """The example files shipped with dqs (`sql/examples`)."""
    return Path(str(resources.files("dqs.sql").joinpath("examples")))


def sql_dirs(given: Sequence[Path] | None) -> list[Path]:
    """The folders to run: those given, else `$DQS_SQL_DIR` (a path list), else none."""
    if given:
        return list(given)
    env = os.environ.get(SQL_DIR_ENV, "")
    return [Path(p) for p in env.split(os.pathsep) if p.strip()]


def discover(dirs: Sequence[Path]) -> list[AnalystFile]:
    """Every `*.sql` file of the folders, in run order. Bad folders or names stop here."""
    found: list[AnalystFile] = []
    seen: dict[str, Path] = {}
    for folder in dirs:
        if not folder.is_dir():
            raise InputError(
                f"SQL folder {folder} does not exist" if not folder.exists() else f"SQL folder {folder} is not a folder",
                hint="pass a folder of .sql files with --sql-dir (or $DQS_SQL_DIR)",
            )
        for path in sorted(p for p in folder.iterdir() if p.suffix == ".sql" and p.is_file()):
            name = path.stem
            if not _NAME.match(name):
                raise InputError(
                    f"SQL file {path}: {name!r} cannot name an output table",
                    hint="name files with letters, digits and underscores, starting with a letter (e.g. worst_rules.sql)",
                )
            if name.lower() in seen:
                raise InputError(
                    f"SQL file {path}: output {name!r} is also made by {seen[name.lower()]}",
                    hint="give each SQL file a different name",
                )
            seen[name.lower()] = path
            found.append(read_file(path))
    return found


def read_file(path: Path) -> AnalystFile:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"SQL file {path} is not UTF-8 ({exc.reason} at byte {exc.start})",
                         hint="save the file as UTF-8") from exc
    except OSError as exc:
        raise InputError(f"cannot read SQL file {path}: {exc.strerror}", hint="check the file") from exc
    description = ""
    defaults: dict[str, str] = {}
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("--"):
            break
        param = _PARAM_LINE.match(stripped)
        if param:
            defaults[param.group(1)] = param.group(2)
        elif not description and stripped.lstrip("-").strip():
            description = stripped.lstrip("-").strip()
    return AnalystFile(path.stem, path, text, description, defaults)


def parse_params(pairs: Iterable[str]) -> dict[str, str]:
    """`key=value` pairs from `--param`; values are text (cast them in SQL)."""
    params: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not _NAME.match(key):
            raise InputError(f"--param {pair!r} is not key=value", hint="write --param top=20")
        if key in BUILTIN_PARAMS:
            raise InputError(f"--param {key} is set by dqs itself", hint=f"{', '.join(BUILTIN_PARAMS)} cannot be overridden; use --as-of")
        params[key] = value
    return params


# ---------------------------------------------------------------------------------------------
# checks that need no data


def _parser() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    con.execute("SET errors_as_json = true")
    return con


def static_problems(files: Sequence[AnalystFile], params: dict[str, str]) -> list[Problem]:
    """Problems found without any relation: names, one SELECT per file, parameters."""
    problems: list[Problem] = []
    parser = _parser()
    try:
        for f in files:
            if f.name.lower() in BUILTIN_OUTPUT_STEMS | set(RELATIONS):
                problems.append(Problem(f.path, f"the name {f.name!r} belongs to dqs (a relation or a built-in output)"))
                continue
            try:
                statements = parser.extract_statements(f.body)
            except duckdb.Error as exc:
                problems.append(_problem(f, exc, offset=0))
                continue
            if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
                kinds = ", ".join(str(s.type).rsplit(".", 1)[-1] for s in statements) or "nothing"
                problems.append(Problem(
                    f.path,
                    f"a SQL file holds exactly one SELECT (found: {kinds}); analyst SQL cannot copy, "
                    "attach, install, load, set or change anything",
                    hint="keep one SELECT per file; dqs writes each file's result as NAME.csv and NAME.parquet",
                ))
                continue
            missing = sorted(statements[0].named_parameters - set(BUILTIN_PARAMS) - params.keys() - f.defaults.keys())
            for name in missing:
                line, column = find_token(f.body, "$" + name)
                problems.append(Problem(
                    f.path, f"parameter ${name} has no value", line, column, source_line(f.body, line),
                    hint=f"pass --param {name}=VALUE, or give it a default in the file: -- param: {name} = VALUE",
                ))
    finally:
        parser.close()
    return problems


def parameters(f: AnalystFile) -> frozenset[str]:
    """The `$names` the file's statement binds (as DuckDB parses them: not in comments or strings)."""
    parser = _parser()
    try:
        return frozenset(parser.extract_statements(f.body)[0].named_parameters)
    finally:
        parser.close()


def needs_rows(files: Sequence[AnalystFile]) -> bool:
    """Whether any file reads `results` or `daily` (which keep the input rows after the summary)."""
    for f in files:
        # parameters stand in as NULL: the statement is only parsed for its table names
        text = re.sub(r"\$[A-Za-z_][A-Za-z0-9_]*", "NULL", f.body)
        try:
            names = {n.lower() for n in duckdb.get_table_names(text, qualified=False)}
        except duckdb.Error:
            return True  # cannot tell: keep the rows
        if names & ROW_RELATIONS:
            return True
    return False


# ---------------------------------------------------------------------------------------------
# running


def prepare_relations(db: Database, *, as_of: Any, keep_input: bool) -> None:
    """Build `results` and `daily` (when asked), then hide the engine's own tables."""
    if keep_input:
        db.execute(query("analyst.sql", "create_results"), {"as_of": as_of})
        db.create_table("daily", query("portable.sql", "daily"))
    for name in ("input_files", "summary_state", "store_rejects_table"):  # registered Arrow objects
        db.unregister(name)
    db.execute(query("analyst.sql", "drop_internals"))


def lock_down(db: Database) -> None:
    db.execute(query("analyst.sql", "lock_down"))


def run_files(db: Database, files: Sequence[AnalystFile], params: dict[str, str],
              builtins: dict[str, Any], stop_at_first: bool = True) -> list[Problem]:
    """Create one table per file, in order. At run time the first problem raises; `dqs sql
    check` (stop_at_first=False) collects them all."""
    problems: list[Problem] = []
    for f in files:
        values = {**builtins, **f.defaults, **params}
        bound = {k: values[k] for k in parameters(f)}
        prefix = _CREATE_PREFIX.format(name=f.name)
        try:
            db.con.execute(prefix + f.body, bound or None).fetchall()
        except (duckdb.Error, RuntimeError) as exc:
            if interrupted(exc):
                raise KeyboardInterrupt from None
            problem = _problem(f, exc, offset=len(prefix.encode()))
            if stop_at_first:
                raise _as_error(problem, exc) from exc
            problems.append(problem)
    return problems


def _as_error(problem: Problem, exc: duckdb.Error) -> AnalystSqlError:
    if isinstance(exc, duckdb.OutOfMemoryException):
        return AnalystSqlError(problem, hint="raise --memory-limit (or DQS_MEMORY_LIMIT)", exit_code=ExitCode.FAILURE)
    if isinstance(exc, duckdb.PermissionException):
        return AnalystSqlError(problem, hint="analyst SQL reads only results, daily, summary, rules and earlier "
                                             "outputs; it cannot read or write files")
    return AnalystSqlError(problem, hint="fix the file; `dqs sql check DIR` checks every file without data")


def write_outputs(db: Database, files: Sequence[AnalystFile], path_for, spill: Path) -> list[str]:
    """Write each output as `name.csv` and `name.parquet` (paths from `path_for(filename)`).

    The locked connection cannot write files, so its tables are streamed as Arrow batches to a
    second connection that only runs dqs' own COPY statements."""
    writer = Database(memory_limit="256MB", threads=1, temp_directory=spill)
    written = []
    try:
        for f in files:
            for suffix, block in ((".csv", "write_output_csv"), (".parquet", "write_output_parquet")):
                reader = db.table_reader(f.name)
                writer.register("analyst_output", reader)
                try:
                    writer.execute(query("analyst.sql", block), {"path": str(path_for(f.name + suffix))})
                finally:
                    writer.unregister("analyst_output")
                written.append(f.name + suffix)
    finally:
        writer.close()
    return written


# ---------------------------------------------------------------------------------------------
# error positions


def _problem(f: AnalystFile, exc: duckdb.Error, offset: int) -> Problem:
    """A DuckDB error as a Problem with a line and column in the file, when DuckDB gives one."""
    kind, message, position = _parse_error(exc)
    line = column = None
    if position is not None:
        line, column = _line_column(f.body, position - offset)
    elif (token := re.search(r'"([^"]+)"|with name (\S+) does not exist', message)) is not None:
        line, column = find_token(f.body, token.group(1) or token.group(2))
    text = f"{kind}: {message}" if kind else message
    return Problem(f.path, text, line, column, source_line(f.body, line))


def _parse_error(exc: duckdb.Error) -> tuple[str, str, int | None]:
    text = str(exc).strip()
    head, _, rest = text.partition(": ")
    if rest.startswith("{"):
        try:
            data = json.loads(rest)
        except ValueError:
            data = None
        if isinstance(data, dict):
            position = data.get("position")
            message = " ".join(str(data.get("exception_message", rest)).split("\n")[:1])
            return head, message, int(position) if position is not None and str(position).isdigit() else None
    return head, first_line(rest or text), None


def _line_column(text: str, byte_offset: int) -> tuple[int | None, int | None]:
    data = text.encode()
    if not 0 <= byte_offset <= len(data):
        return None, None
    before = data[:byte_offset].decode(errors="replace")
    line = before.count("\n") + 1
    column = len(before) - (before.rfind("\n") + 1) + 1
    return line, column


def find_token(text: str, token: str) -> tuple[int | None, int | None]:
    """First line and column where `token` appears outside a comment (a best effort)."""
    pattern = re.compile(re.escape(token) + (r"\b" if token[-1:].isalnum() or token.endswith("_") else ""), re.IGNORECASE)
    for number, line in enumerate(text.splitlines(), start=1):
        code = line.split("--", 1)[0]
        found = pattern.search(code)
        if found:
            return number, found.start() + 1
    return None, None


def source_line(text: str, line: int | None) -> str | None:
    if line is None:
        return None
    lines = text.splitlines()
    return lines[line - 1] if 0 < line <= len(lines) else None


# ---------------------------------------------------------------------------------------------
# `dqs sql check`


def check_files(files: Sequence[AnalystFile], params: dict[str, str], input: str | None = None,
                spark: bool = False) -> list[Problem]:
    """Every problem of every file, found by binding the files against empty relations built
    by the engine's own SQL (so their schemas are exactly those of a real run). `input`, when
    given, adds its extra columns to `results` (only its headers are read). With `spark`, also
    what would not translate to Spark SQL (engine/backends/portable.py)."""
    import pyarrow as pa

    from ..inputs.rules import load_rules
    from ..inputs.scan import CsvStream
    from ..inputs.sources import REQUIRED_COLUMNS, resolve_input

    problems = static_problems(files, params)
    broken = {p.path for p in problems}
    runnable = [f for f in files if f.path not in broken]

    db = Database(memory_limit="256MB", threads=1)
    try:
        source = resolve_input(input) if input is not None else None
        if source is not None and source.format == "parquet":
            from ..inputs.scan import register_parquet

            register_parquet(db, source)  # reads the footers only
            empty = db.arrow(query("analyst.sql", "no_rows"))
            db.unregister("raw_rows")
        else:
            extra = () if source is None else tuple(c for c in source.columns if c not in REQUIRED_COLUMNS)
            empty = CsvStream((), REQUIRED_COLUMNS + extra).schema().empty_table()
        db.register("raw_rows", empty)
        db.create_macros()
        db.register("input_files", pa.table({"file_index": pa.array([], pa.int32()), "path": pa.array([], pa.string())}))
        db.register("rules", load_rules(None))
        db.execute(query("ingest.sql", "create_checked_macro"))
        db.execute(query("ingest.sql", "create_stage_macro"))
        db.execute(query("ingest.sql", "stage_input"), {"as_of": None, "window_anchor": None})
        db.execute(query("ingest.sql", "parse_statuses"))
        db.execute(query("ingest.sql", "group_statuses"))
        db.execute(query("summary.sql", "group_counts"))
        db.execute(query("summary.sql", "summary"))
        prepare_relations(db, as_of=None, keep_input=True)
        db.unregister("raw_rows")
        lock_down(db)
        problems += run_files(db, runnable, params, {"as_of": None, "reference_date": None}, stop_at_first=False)
    finally:
        db.close()
    if spark:
        from ..backends.portable import spark_problems

        for f in runnable:
            for message, line, column in spark_problems(f.body):
                if line is None:
                    line, column = _locate_construct(f.body, message)
                problems.append(Problem(f.path, f"not portable to Spark: {message}", line, column, source_line(f.body, line)))
    order = {f.path: i for i, f in enumerate(files)}
    return sorted(problems, key=lambda p: (order.get(p.path, len(order)), p.line or 0))


def _locate_construct(text: str, message: str) -> tuple[int | None, int | None]:
    """The line of the construct a message names (`NAME()`), when the parser gave none."""
    name = re.search(r"(\w+)\(\)", message)
    return find_token(text, name.group(1) + "(") if name else (None, None)
