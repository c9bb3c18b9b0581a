"""Helpers shared by tests (importable because conftest puts tests/ on sys.path)."""

from conftest import COLUMNS, read_csv, run_dqs, write_log  # noqa: F401
