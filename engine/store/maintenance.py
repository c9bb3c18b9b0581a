"""`dqs store info | history | compact`: what a store holds, its versions, and compaction."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa

from .tables import DATA_TABLES, TABLES, Store, damaged, writing

DEFAULT_RETAIN_HOURS = 168  # Delta Lake's own default: a week of time travel survives compaction


def disk_usage(folder: Path) -> tuple[int, int]:
    """Files and bytes under a folder (data files and transaction log alike)."""
    count = size = 0
    for root, _dirs, names in os.walk(folder):
        for name in names:
            try:
                size += os.stat(os.path.join(root, name)).st_size
                count += 1
            except FileNotFoundError:
                pass
    return count, size


def info(store: Store) -> dict[str, Any]:
    """Files, rows, date range, versions and size on disk of the newest version."""
    snapshot = store.snapshot()
    head = snapshot.commit
    files = snapshot.files
    dates = _date_range(snapshot)
    tables = {}
    for name in TABLES:
        count, size = disk_usage(store.path / name)
        tables[name] = {"files_on_disk": count, "bytes_on_disk": size}
        if name in DATA_TABLES:
            tables[name]["version"] = head.table_versions[name]
            tables[name]["data_files"] = len(snapshot.table(name).file_uris())
    commits = store.commits()
    return {
        "store": str(store.path),
        "schema_version": store.schema_version,
        "version": head.version,
        "versions": len(commits),
        "created_at": commits[0].committed_at.isoformat(timespec="seconds"),
        "last_commit_at": head.committed_at.isoformat(timespec="seconds"),
        "files": files.num_rows,
        "rows_read": sum(files["rows_read"].to_pylist()),
        "rows_accepted": sum(files["rows_accepted"].to_pylist()),
        "rows_rejected": sum(files["rows_rejected"].to_pylist()),
        "groups": head.groups,
        "first_business_date": None if dates[0] is None else dates[0].isoformat(),
        "reference_date": None if head.reference_date is None else head.reference_date.isoformat(),
        "bytes_on_disk": sum(t["bytes_on_disk"] for t in tables.values()),
        "tables": tables,
    }


def _date_range(snapshot):
    """The first and last business date, from the daily table's file statistics (no data read)."""
    try:
        actions = pa.table(snapshot.table("daily").get_add_actions(flatten=True))
    except Exception as exc:
        raise damaged(snapshot.store.path, exc) from exc
    names = actions.schema.names
    lows = actions.column("min.business_date").to_pylist() if "min.business_date" in names else []
    highs = actions.column("max.business_date").to_pylist() if "max.business_date" in names else []
    lows = [d for d in lows if d is not None]
    highs = [d for d in highs if d is not None]
    return (min(lows) if lows else None, max(highs) if highs else None)


def history(store: Store) -> list[dict[str, Any]]:
    """Every store version, oldest first."""
    keep = ("version", "committed_at", "operation", "files_added", "files_replaced", "files_skipped",
            "rows_accepted", "rows_rejected", "reference_date", "groups", "dqs_version")
    return [{k: c.row[k] for k in keep} for c in store.commits()]


@dataclass
class CompactReport:
    version: int
    retain_hours: int
    tables: dict[str, dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def compact(store: Store, retain_hours: int = DEFAULT_RETAIN_HOURS, on_wait=None) -> CompactReport:
    """Rewrite each table's small files into large ones, then remove the files no version
    younger than `retain_hours` needs (Delta vacuum). One new store version; its summaries are
    those of the version before (only the files change)."""
    tables: dict[str, dict[str, Any]] = {}
    with store.writer(on_wait) as head:
        for name in DATA_TABLES:
            path = store.path / name
            before_files, before_bytes = disk_usage(path)
            with writing(store.path):
                table = store.live(name)
                metrics = table.optimize.compact()
                removed = table.vacuum(retention_hours=retain_hours, enforce_retention_duration=False, dry_run=False)
            after_files, after_bytes = disk_usage(path)
            tables[name] = {
                "files_compacted": metrics.get("numFilesRemoved", 0),
                "files_written": metrics.get("numFilesAdded", 0),
                "files_vacuumed": len(removed),
                "bytes_before": before_bytes,
                "bytes_after": after_bytes,
                "files_on_disk_before": before_files,
                "files_on_disk_after": after_files,
            }
        commit = store.append_commit({
            "version": head.commit.version + 1, "committed_at": datetime.now(timezone.utc), "operation": "compact",
            "files_added": 0, "files_replaced": 0, "files_skipped": 0, "rows_accepted": 0, "rows_rejected": 0,
            "reference_date": head.commit.reference_date, "groups": head.commit.groups,
            **{f"{name}_version": store.table_version(name) for name in DATA_TABLES},
        })
    return CompactReport(commit.version, retain_hours, tables)
