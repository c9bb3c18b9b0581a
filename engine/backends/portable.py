"""SQL written once: DuckDB's dialect transpiled for Spark with sqlglot.

`DqsSpark` is the Spark dialect with dqs' patches for what sqlglot does not translate the way
dqs needs. `spark_problems` finds what would not run on Spark (DuckDB-only functions and
table functions, constructs sqlglot cannot translate), with the line and column of each.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import cache

from ..errors import InputError


def _sqlglot():
    try:
        import sqlglot
    except ImportError as exc:  # an optional extra
        raise InputError("the Spark target needs sqlglot", hint="pip install 'dqs[spark]'") from exc
    return sqlglot


@cache
def dialect():
    """The Spark dialect dqs writes (a subclass, so gaps are patched here, not in strings)."""
    _sqlglot()
    from sqlglot import exp
    from sqlglot.dialects.spark import Spark

    def full_match(self, e: exp.RegexpFullMatch) -> str:
        # DuckDB's regexp_full_match(s, p) matches the whole text; Spark has only RLIKE
        pattern = e.expression
        if isinstance(pattern, exp.Literal) and pattern.is_string:
            anchored: exp.Expression = exp.Literal.string(f"^(?:{pattern.this})$")
        else:
            anchored = exp.Concat(expressions=[exp.Literal.string("^(?:"), pattern, exp.Literal.string(")$")])
        return self.sql(exp.RegexpLike(this=e.this, expression=anchored))

    class DqsSpark(Spark):
        class Generator(Spark.Generator):
            TRANSFORMS = {**Spark.Generator.TRANSFORMS, exp.RegexpFullMatch: full_match}

    return DqsSpark


def transpile(sql: str, extra_columns: Sequence[str] = (), table: str | None = None) -> str:
    """One DuckDB SELECT as Spark SQL; `$name` parameters become `:name` markers.
    `extra_columns` are appended to the select list (as quoted identifiers of `table`)."""
    sqlglot = _sqlglot()
    if not extra_columns:
        return sqlglot.transpile(sql, read="duckdb", write=dialect(), unsupported_level=sqlglot.ErrorLevel.RAISE)[0]
    from sqlglot import exp

    tree = sqlglot.parse_one(sql, read="duckdb")
    for name in extra_columns:
        tree = tree.select(exp.column(name, table=table, quoted=True), copy=False)
    return tree.sql(dialect=dialect(), unsupported_level=sqlglot.ErrorLevel.RAISE)


# functions sqlglot parses as known expressions that Spark still lacks
_DUCKDB_ONLY_TABLES = ("read_csv", "read_csv_auto", "read_parquet", "parquet_scan", "read_json", "read_json_auto",
                       "read_text", "read_blob", "glob", "range", "generate_series", "duckdb_settings")


def spark_problems(sql: str) -> Iterator[tuple[str, int | None, int | None]]:
    """(message, line, column) for each construct of `sql` that would not run on Spark."""
    sqlglot = _sqlglot()
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except sqlglot.errors.ParseError as exc:
        error = exc.errors[0] if exc.errors else {}
        yield f"sqlglot cannot parse it: {error.get('description', exc)}", error.get("line"), error.get("col")
        return
    for node in tree.walk():
        if isinstance(node, exp.Anonymous):
            meta = node.meta or {}
            name = node.name.lower()
            kind = "table function" if isinstance(node.parent, exp.Table) or name in _DUCKDB_ONLY_TABLES else "function"
            yield f"DuckDB-only {kind} {node.name}() has no Spark translation", meta.get("line"), _column(meta)
        elif isinstance(node, exp.Table) and not isinstance(node.this, exp.Identifier):
            function = node.this
            name = getattr(function, "sql_name", lambda: type(function).__name__)()
            yield f"table function {name}() reads files; it is not portable", None, None
    try:
        transpile(sql)
    except sqlglot.errors.UnsupportedError as exc:
        yield f"sqlglot cannot translate it for Spark: {exc}", None, None


def _column(meta: dict) -> int | None:
    """sqlglot's `col` is where the token ends; the caller wants where it starts."""
    if "col" in meta and "start" in meta and "end" in meta:
        return meta["col"] - (meta["end"] - meta["start"])
    return meta.get("col")
