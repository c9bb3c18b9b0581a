"""Soda Core scan results: v3 (`soda scan ... -srf FILE`) and v4 (the scan results a contract
verification publishes)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..database import Database
from ..errors import InputError
from ..queries import query
from .convert import FileFacts, ImportOptions, load_text

_EXPECTED = "a Soda scan results file (soda scan -srf)"


@dataclass(frozen=True)
class SodaImporter:
    name: str = "soda"
    suffixes: tuple[str, ...] = (".json",)

    def load(self, db: Database, files: list[Path], options: ImportOptions) -> list[FileFacts]:
        load_text(db, files, _EXPECTED)
        facts: list[FileFacts] = []
        for row in db.arrow(query("import_soda.sql", "soda_kinds")).to_pylist():
            if not row["is_scan"]:
                raise InputError(f"{row['path']}: not a Soda scan result (no checks and scanStartTimestamp); expected {_EXPECTED}",
                                 hint="write it with `soda scan -d SOURCE -c config.yml checks.yml -srf results.json`")
            fact = FileFacts(row["path"], f"soda scan results ({row['producer']})")
            if row["has_errors"] and row["producer"].endswith("v3"):
                # a scan that aborted: Soda v3 lists no check it could not run, not even in its summary
                fact.left_out["scans with errors (Soda lists no results for the checks it could not run)"] = 1
            facts.append(fact)
        db.execute(query("import_soda.sql", "soda_checks"))
        db.execute(query("import_soda.sql", "soda_unevaluated"))
        db.execute(query("import_soda.sql", "soda_imported"),
                   {"source": options.source, "tenant": options.tenant, "warn_as": options.warn_as})
        return facts


IMPORTER = SodaImporter()
