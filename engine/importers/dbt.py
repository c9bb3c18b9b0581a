"""dbt: `run_results.json` (schemas v1-v6) and, optionally, a `manifest.json` (v4-v12).

Only executed test nodes become rows; models, seeds, snapshots, hooks, unit tests and the
`success` that `dbt compile` / `docs generate` give test nodes are left out and counted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..database import Database
from ..errors import EngineError, InputError
from ..queries import query
from .convert import FileFacts, ImportOptions, load_text

RUN_RESULTS_VERSIONS = range(1, 7)
MANIFEST_VERSIONS = range(4, 13)
_SCHEMA = re.compile(r"https://schemas\.getdbt\.com/dbt/([a-z-]+)/v(\d+)\.json")
_EXPECTED = "a dbt run_results.json (schema v1-v6)"


def _schema(url: str | None) -> tuple[str, int] | None:
    match = _SCHEMA.fullmatch(url or "")
    return None if match is None else (match.group(1), int(match.group(2)))


@dataclass(frozen=True)
class DbtImporter:
    name: str = "dbt"
    suffixes: tuple[str, ...] = ("run_results.json",)

    def load(self, db: Database, files: list[Path], options: ImportOptions) -> list[FileFacts]:
        load_text(db, files, _EXPECTED)
        facts: list[FileFacts] = []
        for row in db.arrow(query("import_dbt.sql", "dbt_kinds")).to_pylist():
            schema = _schema(row["schema_url"])
            if schema is None:
                raise InputError(f"{row['path']}: not a dbt artifact (no metadata.dbt_schema_version); expected {_EXPECTED}",
                                 hint="give the target/run_results.json that dbt build, test or run writes")
            kind, version = schema
            if kind == "manifest":
                raise InputError(f"{row['path']}: a dbt manifest (v{version}), not run results; expected {_EXPECTED}",
                                 hint=f"pass the manifest with --manifest {row['path']}, and the run_results.json as FILE")
            if kind != "run-results":
                raise InputError(f"{row['path']}: a dbt {kind} artifact (v{version}); expected {_EXPECTED}",
                                 hint="give the target/run_results.json that dbt build, test or run writes")
            if version not in RUN_RESULTS_VERSIONS or row["results_kind"] != "ARRAY":
                raise InputError(f"{row['path']}: dbt run_results schema v{version} is not supported; expected {_EXPECTED}",
                                 hint="dqs reads run_results v1-v6 (dbt 0.19 to 1.10+); check for a newer dqs")
            facts.append(FileFacts(row["path"], f"dbt run_results v{version}"))
        self._manifest(db, options.manifest)
        db.execute(query("import_dbt.sql", "dbt_results"))
        for row in db.arrow(query("import_dbt.sql", "dbt_left_out")).to_pylist():
            facts[row["file_index"]].left_out[row["reason"]] = row["nodes"]
        if options.manifest is not None:
            unknown = db.arrow(query("import_dbt.sql", "dbt_unknown_tests")).to_pylist()
            if unknown:
                first = unknown[0]
                raise InputError(
                    f"manifest {options.manifest} does not describe test {first['unique_id']} of "
                    f"{files[first['file_index']]}; expected the manifest of the same dbt project",
                    hint="give the manifest.json dbt wrote with these results (the newest one describes every test), or leave --manifest out")
        db.execute(query("import_dbt.sql", "dbt_imported"), {
            "source": options.source, "tenant": options.tenant, "warn_as": options.warn_as})
        return facts

    @staticmethod
    def _manifest(db: Database, manifest: Path | None) -> None:
        if manifest is None:
            db.execute(query("import_dbt.sql", "dbt_no_manifest"))
            return
        try:
            url = db.scalar(query("import_dbt.sql", "dbt_manifest_version"), {"manifest": str(manifest)})
        except EngineError:  # not JSON, or no JSON object
            url = None
            valid = False
        else:
            valid = True
        schema = _schema(url)
        if not valid or schema is None or schema[0] != "manifest":
            raise InputError(f"{manifest}: not a dbt manifest.json; expected a dbt manifest (schema v4-v12)",
                             hint="give the target/manifest.json dbt wrote with the run results")
        if schema[1] not in MANIFEST_VERSIONS:
            raise InputError(f"{manifest}: dbt manifest schema v{schema[1]} is not supported; expected v4-v12",
                             hint="leave --manifest out (each test becomes its own dataset), or check for a newer dqs")
        db.execute(query("import_dbt.sql", "dbt_manifest_nodes"), {"manifest": str(manifest)})


IMPORTER = DbtImporter()
