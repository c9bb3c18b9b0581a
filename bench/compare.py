"""Regression gate: compare benchmark results with `bench/baseline.json`.

    python -m bench.compare RESULTS.json [--baseline bench/baseline.json] [--tolerance 0.25]

RESULTS.json is pytest-benchmark's `--benchmark-json` output (our figures are in each
benchmark's `extra_info`) or the JSON written by `dqs bench --json`. A case fails when its
ratio to the floor is more than `tolerance` above the baseline ratio, or when its peak RSS is
above its ceiling. Exit code 0 when every case passes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

BASELINE = Path(__file__).with_name("baseline.json")
DEFAULT_TOLERANCE = 0.25


def load_results(path: Path) -> list[dict]:
    data = json.loads(Path(path).read_text())
    if isinstance(data, dict) and "benchmarks" in data:
        return [b["extra_info"] for b in data["benchmarks"] if b.get("extra_info", {}).get("case")]
    if isinstance(data, list):
        return data
    raise ValueError(f"{path}: neither pytest-benchmark JSON nor a list of measurements")


def compare(results: list[dict], baseline: dict, tolerance: float | None = None) -> tuple[bool, list[str]]:
    """Returns (all passed, one line per case)."""
    tol = baseline.get("tolerance", DEFAULT_TOLERANCE) if tolerance is None else tolerance
    cases = baseline.get("cases", {})
    ok = True
    lines = []
    for r in results:
        name = r["case"]
        problems = []
        if r["peak_rss_mb"] > r["ceiling_mb"]:
            problems.append(f"peak RSS {r['peak_rss_mb']:.0f} MB above ceiling {r['ceiling_mb']} MB")
        base = cases.get(name)
        if base is None:
            verdict = "new (no baseline)"
        else:
            limit = base["ratio"] * (1 + tol)
            if r["ratio"] > limit:
                problems.append(f"ratio {r['ratio']:.2f} above {limit:.2f} (baseline {base['ratio']:.2f} + {tol:.0%})")
            verdict = f"ratio {r['ratio']:.2f} vs baseline {base['ratio']:.2f}"
        if problems:
            ok = False
            lines.append(f"FAIL {name}: " + "; ".join(problems))
        else:
            lines.append(f"ok   {name}: {verdict}, peak {r['peak_rss_mb']:.0f}/{r['ceiling_mb']} MB")
    if not results:
        ok = False
        lines.append("FAIL no benchmark results to compare")
    return ok, lines


def baseline_from(result_files: list[Path], tolerance: float = DEFAULT_TOLERANCE) -> dict:
    """A baseline from measured runs: per case, the highest ratio seen (so noise between runs on
    the reference machine is not mistaken for a regression later)."""
    cases: dict[str, dict] = {}
    for path in result_files:
        for r in load_results(path):
            entry = cases.setdefault(r["case"], {"ratio": r["ratio"], "ceiling_mb": r["ceiling_mb"], "runs": []})
            entry["ratio"] = max(entry["ratio"], r["ratio"])
            entry["runs"].append({k: r[k] for k in ("ratio", "wall_s", "floor_wall_s", "peak_rss_mb")})
    return {"tolerance": tolerance, "cases": dict(sorted(cases.items()))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, nargs="+")
    parser.add_argument("--baseline", type=Path, default=BASELINE)
    parser.add_argument("--tolerance", type=float, default=None)
    parser.add_argument("--write-baseline", action="store_true",
                        help="write --baseline from the results (highest ratio per case) instead of comparing")
    args = parser.parse_args(argv)
    if args.write_baseline:
        data = baseline_from(args.results, args.tolerance if args.tolerance is not None else DEFAULT_TOLERANCE)
        args.baseline.write_text(json.dumps(data, indent=2) + "\n")
        print(f"wrote {args.baseline} ({len(data['cases'])} cases)")
        return 0
    results = [r for path in args.results for r in load_results(path)]
    ok, lines = compare(results, json.loads(args.baseline.read_text()), args.tolerance)
    print("\n".join(lines))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
