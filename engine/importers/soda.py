"""Soda Core scan results (`soda scan ... -srf FILE`, Soda Core v3)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..database import Database
from ..errors import InputError
from ..queries import query
from .convert import FileFacts, ImportOptions, json_problem, load_text

_EXPECTED = "a Soda scan results file (soda scan -srf)"


@dataclass(frozen=True)
class SodaImporter:
    name: str = "soda"
    suffixes: tuple[str, ...] = (".json",)

    def load(self, db: Database, files: list[Path], options: ImportOptions) -> list[FileFacts]:
        load_text(db, files)
        facts: list[FileFacts] = []
        for row in db.arrow(query("import_soda.sql", "soda_kinds")).to_pylist():
            problem = json_problem(row["path"], row["is_json"], row["json_kind"], _EXPECTED)
            if problem is not None:
                raise problem
            if not row["is_scan"]:
                raise InputError(f"{row['path']}: not a Soda scan result (no checks and scanStartTimestamp); expected {_EXPECTED}",
                                 hint="write it with `soda scan -d SOURCE -c config.yml checks.yml -srf results.json`")
            fact = FileFacts(row["path"], f"soda scan results ({row['producer']})")
            if row["has_errors"]:
                # Soda v3 leaves a check it could not evaluate out of `checks`: nothing to import
                fact.left_out["scans with errors (checks Soda could not evaluate are not in the file)"] = 1
            facts.append(fact)
        db.execute(query("import_soda.sql", "soda_checks"))
        db.execute(query("import_soda.sql", "soda_imported"),
                   {"source": options.source, "tenant": options.tenant, "warn_as": options.warn_as})
        return facts


IMPORTER = SodaImporter()
