"""`python -m bench` / `dqs bench`: run the cases and print a table a person can read."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .runner import DEFAULT_SIZES, format_table, run_case, selected_cases, selected_sizes


def run(sizes: str = DEFAULT_SIZES, formats: list[str] | None = None, json_path: Path | None = None) -> int:
    cases = selected_cases(selected_sizes(sizes), formats)
    results = []
    for case in cases:
        sys.stderr.write(f"running {case.name} ...\n")
        results.append(run_case(case))
    print(format_table(results))
    if json_path is not None:
        json_path.write_text(json.dumps([m.as_dict() for m in results], indent=2) + "\n")
    return 0 if all(m.within_ceiling for m in results) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help="comma-separated: 100k,1m,10m,100m")
    parser.add_argument("--format", action="append", choices=["csv", "parquet"])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    return run(args.sizes, args.format, args.json)
