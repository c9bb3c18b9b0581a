"""Named SQL blocks loaded from the `.sql` files shipped in `dqs.sql` (aiosql style).

A file holds blocks that start with `-- name: <name>`; the comment lines right after it are the
block's documentation. Values are bound as `$parameters`, never formatted into the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

_NAME = re.compile(r"^--\s*name:\s*([A-Za-z_][A-Za-z0-9_]*)\s*$")
_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


@dataclass(frozen=True)
class Query:
    name: str
    doc: str
    sql: str
    file: str

    @property
    def parameters(self) -> frozenset[str]:
        """Names of the `$parameters` the statement binds (string literals stripped first)."""
        return frozenset(_PARAM.findall(re.sub(r"'(?:[^']|'')*'", "''", self.sql)))


def parse_queries(text: str, file: str) -> dict[str, Query]:
    queries: dict[str, Query] = {}
    name: str | None = None
    doc: list[str] = []
    body: list[str] = []

    def flush() -> None:
        if name is not None:
            sql = "\n".join(body).strip().rstrip(";").strip()
            if name in queries:
                raise ValueError(f"{file}: query {name!r} is defined twice")
            queries[name] = Query(name, "\n".join(doc).strip(), sql, file)

    for line in text.splitlines():
        match = _NAME.match(line.strip())
        if match:
            flush()
            name, doc, body = match.group(1), [], []
        elif name is not None and not body and line.strip().startswith("--"):
            doc.append(line.strip()[2:].strip())
        elif name is not None:
            body.append(line)
    flush()
    return queries


@cache
def load_queries(filename: str) -> dict[str, Query]:
    """The named blocks of one built-in SQL file, e.g. `load_queries("summary.sql")`."""
    text = resources.files("dqs.sql").joinpath(filename).read_text(encoding="utf-8")
    return parse_queries(text, filename)


def query(filename: str, name: str) -> Query:
    return load_queries(filename)[name]
