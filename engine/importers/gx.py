"""Great Expectations: suite validation results (0.x and 1.x), checkpoint and validation-operator
results, and a validations store's folder of JSON files (searched recursively)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..database import Database
from ..errors import InputError
from ..queries import query
from .convert import FileFacts, ImportOptions, load_text

_EXPECTED = "a Great Expectations validation or checkpoint result"


@dataclass(frozen=True)
class GxImporter:
    name: str = "gx"
    suffixes: tuple[str, ...] = (".json",)

    def load(self, db: Database, files: list[Path], options: ImportOptions) -> list[FileFacts]:
        load_text(db, files, _EXPECTED)
        facts: list[FileFacts] = []
        for row in db.arrow(query("import_gx.sql", "gx_kinds")).to_pylist():
            if row["kind"] is None:
                raise InputError(f"{row['path']}: not a Great Expectations result (no results, run_results or "
                                 f"validation_results); expected {_EXPECTED}",
                                 hint="give the JSON of an ExpectationSuiteValidationResult (to_json_dict), a "
                                 "checkpoint result, or the validations store folder")
            version = row["gx_version"] or "unknown version"
            facts.append(FileFacts(row["path"], f"gx {row['kind']} ({version})"))
        db.execute(query("import_gx.sql", "gx_validations"))
        db.execute(query("import_gx.sql", "gx_results"))
        db.execute(query("import_gx.sql", "gx_imported"), {"source": options.source, "tenant": options.tenant})
        return facts


IMPORTER = GxImporter()
