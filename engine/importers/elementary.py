"""Elementary: exports (CSV or Parquet) of the `elementary_test_results` table."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from ..database import Database
from ..errors import InputError
from ..inputs.sources import csv_header, parquet_columns
from ..queries import query
from .convert import FileFacts, ImportOptions, register_files

# the columns the mapping reads; an export must have the first ones, the others may be missing
REQUIRED = ("test_unique_id", "status", "detected_at")
OPTIONAL = ("id", "invocation_id", "model_unique_id", "created_at", "database_name", "schema_name", "table_name",
            "column_name", "test_type", "test_sub_type", "test_results_description", "test_name", "test_short_name",
            "severity", "failures", "failed_row_count")
_EXPECTED = "an export of Elementary's elementary_test_results table (CSV or Parquet)"


def _is_parquet(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(4) == b"PAR1"


@dataclass(frozen=True)
class ElementaryImporter:
    name: str = "elementary"
    suffixes: tuple[str, ...] = (".csv", ".parquet")

    def load(self, db: Database, files: list[Path], options: ImportOptions) -> list[FileFacts]:
        register_files(db, files)
        db.execute(query("import_elementary.sql", "elementary_columns"))
        tables: list[pa.Table] = []
        facts: list[FileFacts] = []
        for index, path in enumerate(files):
            parquet = _is_parquet(path)
            if path.name.lower().endswith(".json"):
                raise InputError(f"{path}: a JSON file; expected {_EXPECTED}",
                                 hint="export the elementary_test_results table to CSV or Parquet (e.g. with dbt show or your warehouse)")
            columns = parquet_columns(path) if parquet else csv_header(path)
            missing = [c for c in REQUIRED if c not in columns]
            if missing:
                raise InputError(f"{path}: missing column(s) {', '.join(missing)}; expected {_EXPECTED}",
                                 hint="export the table with its own column names: " + ", ".join(REQUIRED + OPTIONAL))
            table = db.arrow(query("import_elementary.sql", "elementary_parquet" if parquet else "elementary_csv"),
                             {"path": str(path)}).select(list(REQUIRED + OPTIONAL))
            table = table.append_column("file_index", pa.array(np.full(table.num_rows, index, np.int32)))
            table = table.append_column("position", pa.array(np.arange(1, table.num_rows + 1, dtype=np.int64)))
            tables.append(table)
            facts.append(FileFacts(str(path), f"elementary_test_results export ({'parquet' if parquet else 'csv'})"))
        db.register("elementary_rows", pa.concat_tables(tables))
        db.execute(query("import_elementary.sql", "elementary_imported"),
                   {"source": options.source, "tenant": options.tenant, "warn_as": options.warn_as})
        return facts


IMPORTER = ElementaryImporter()
