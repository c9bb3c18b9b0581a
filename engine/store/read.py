"""A summary from a store snapshot: the relations summary.sql and outputs.sql read
(`group_counts`, `rejected`, `input_files`), made from the store's tables instead of a pass
over raw files.

At the snapshot's own reference date the kept summary state is the answer (one row per group,
whatever the history's length). `--as-of` folds the daily state up to that date instead, with
the same SQL that maintains the kept state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pyarrow as pa

from ..database import Database
from ..queries import query
from .tables import PARTITIONS, SCHEMAS, Snapshot


def register_files(db: Database, view: str, name: str, paths: list[str]) -> None:
    """`view` in `db`: the given Parquet files of store table `name` (without its partition
    column), or an empty relation of its schema."""
    if paths:
        db.relation(query("store.sql", "table_files"), {"files": paths}).create_view(view, replace=True)
    else:
        schema = SCHEMAS[name]
        for column in PARTITIONS.get(name, []):
            schema = schema.remove(schema.get_field_index(column))
        db.register(view, schema.empty_table())


def drop_view(db: Database, view: str) -> None:
    db.unregister(view)  # a registered Arrow object, or a view made by register_files


@dataclass(frozen=True)
class StoreFigures:
    """What a store summary reports beside its outputs (the run report's totals)."""

    reference: date | None
    input_files: list[dict[str, Any]]
    rows_read: int
    rows_accepted: int
    rows_rejected: int
    rows_unknown_status: int
    rows_after_as_of: int
    rows_pass: int
    rows_fail: int


def fold_daily(db: Database, daily_files: list[str], reference: date | None, as_of: date | None) -> int:
    """`summary_state` at `reference`, folded from every daily row of `daily_files` dated on or
    before `as_of` (all when None); returns the accepted rows dated after `as_of`."""
    register_files(db, "arriving", "daily", daily_files)
    db.register("state_before", SCHEMAS["state"].empty_table())
    register_files(db, "departing", "daily", [])
    try:
        db.register("summary_state", db.arrow(query("store.sql", "fold_state"),
                                              {"reference": reference, "previous": None, "as_of": as_of}))
        return 0 if as_of is None else db.scalar(query("store.sql", "rows_after_as_of"), {"as_of": as_of})
    finally:
        for name in ("arriving", "state_before", "departing"):
            drop_view(db, name)


def prepare_summary(db: Database, snapshot: Snapshot, as_of: date | None, engine: Any = None,
                    state: pa.Table | None = None) -> StoreFigures:
    """Leave `group_counts`, `rejected` and `input_files` in `db` for the snapshot (`as_of`:
    SPEC §4's --as-of). Needs ingest.sql's macros. At the snapshot's own reference date the kept
    state is read (or `state`, when the caller holds the snapshot's state table: the ingest that
    wrote it); otherwise, or when `engine` (an Engine, e.g. Spark) is given, the daily state is
    folded, by that engine."""
    files = snapshot.files
    db.register("input_files", pa.table({"file_index": files["file_id"], "path": files["path"]}))
    rows_after = 0
    if engine is None and (as_of is None or as_of == snapshot.commit.reference_date):
        reference = snapshot.commit.reference_date
        db.register("summary_state", snapshot.arrow("state") if state is None else state)
    else:
        reference = as_of if as_of is not None else snapshot.commit.reference_date
        fold = fold_daily if engine is None else engine.fold_store
        rows_after = fold(db, snapshot.file_paths("daily"), reference, as_of)
    db.execute(query("store.sql", "group_counts_from_state"))
    totals = db.arrow(query("store.sql", "state_totals")).to_pylist()[0]
    register_files(db, "store_rejects_table", "rejects", snapshot.file_paths("rejects"))
    db.execute(query("store.sql", "store_rejects"))
    per_file = [
        {"path": r["path"], "rows_read": r["rows_read"], "rows_accepted": r["rows_accepted"],
         "rows_rejected": r["rows_rejected"]}
        for r in files.select(["path", "rows_read", "rows_accepted", "rows_rejected"]).to_pylist()
    ]
    return StoreFigures(
        reference=reference,
        input_files=per_file,
        rows_read=sum(f["rows_read"] for f in per_file),
        rows_accepted=sum(f["rows_accepted"] for f in per_file),
        rows_rejected=sum(f["rows_rejected"] for f in per_file),
        rows_unknown_status=totals["unknown_rows"],
        rows_after_as_of=rows_after,
        rows_pass=totals["pass_rows"],
        rows_fail=totals["fail_rows"],
    )


def prepare_analysis(db: Database, snapshot: Snapshot, as_of: date | None) -> None:
    """Analysts' `results` and `daily` from the store's rows (no pass over raw files)."""
    register_files(db, "store_rows", "rows", snapshot.file_paths("rows"))
    try:
        db.execute(query("store.sql", "store_results"), {"as_of": as_of})
    finally:
        drop_view(db, "store_rows")
    db.create_table("daily", query("portable.sql", "daily"))
