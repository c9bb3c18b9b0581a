"""Write tests/interop/expected.json: for every fixture file, what the tool
itself reported for that run.

Usage: python collect_expected.py WORK_DIR OUT_DIR     (stdlib only)

Sources, per tool (make_fixtures.sh saves them under WORK_DIR):
  dbt   the console of the run: the "Done. PASS=.." line verbatim, its counts,
        and each test's status from dbt's per-node lines ("9 of 17 WARN 1 name"),
        plus the versions from "Running with dbt=" / "Registered adapter:".
  GX    result.statistics and success of the in-memory result objects, saved
        by gx1_run.py / gx0_run.py (WORK_DIR/stats).
  Soda  v3: the scan summary of the console ("N/M checks PASSED", the "Oops!"
        line), v4: the "# Summary" table of `soda contract verify` and the
        outcomes of the in-memory CheckResults (WORK_DIR/stats).

Counts that this script derives from the fixture files themselves are kept
apart, under keys that start with "from_file_", and are only used to check
that the file agrees with what the tool said (the script fails if not).
"""
import glob
import json
import os
import re
import sys
from collections import Counter

ANSI = re.compile(r"\x1b\[[0-9;]*m")
WORK, OUT = sys.argv[1], sys.argv[2]
expected: dict[str, dict] = {}
problems: list[str] = []


def installed(venv: str):
    """What make_fixtures.sh installed into that venv (its stamp file)."""
    stamp = os.path.join(WORK, "venvs", venv, ".dqs-stamp")
    return open(stamp).read().strip() if os.path.exists(stamp) else None


def rel(path: str) -> str:
    return os.path.relpath(path, OUT).replace(os.sep, "/")


def read_console(path: str) -> list[str]:
    with open(path, encoding="utf-8", errors="replace") as f:
        return [ANSI.sub("", line.rstrip("\n")) for line in f]


def read_rc(path: str):
    return int(open(path).read().strip()) if os.path.exists(path) else None


# ----------------------------------------------------------------------- dbt
NODE_LINE = re.compile(r"^\S*\s*\d+ of \d+ (PASS|WARN \d+|FAIL \d+|ERROR|SKIP test|OK|SKIP relation)\s+(\S+)")
START_TEST = re.compile(r"^\S*\s*\d+ of \d+ START test (\S+)")
CONSOLE_STATUS = {"PASS": "pass", "WARN": "warn", "FAIL": "fail", "ERROR": "error", "SKIP": "skipped"}
TS = re.compile(r"^\d\d:\d\d:\d\d\s+")


def dbt_console(lines: list[str]) -> dict:
    info: dict = {}
    for line in lines:
        body = TS.sub("", line).strip()
        m = re.search(r"Running with dbt=(\S+)", body)
        if m:
            info["dbt_version"] = m.group(1)
        m = re.search(r"Registered adapter: (\S+)=(\S+)", body)
        if m:
            info["adapter"] = f"{m.group(1)} {m.group(2)}"
        if body.startswith("Found "):
            info["found"] = body
        if body.startswith("Done. "):
            info["console"] = body
            info["console_summary"] = {k: int(v) for k, v in re.findall(r"([A-Z-]+)=(\d+)", body)}
    tests: dict[str, str] = {}
    started = set()
    for line in lines:
        m = START_TEST.match(line)
        if m:
            started.add(m.group(1))
            continue
        m = NODE_LINE.match(line)
        if not m:
            continue
        word, name = m.group(1), m.group(2)
        if word == "SKIP test":
            tests[name] = "skipped"
        elif word.split()[0] in CONSOLE_STATUS and word != "SKIP relation" and name in started:
            tests[name] = CONSOLE_STATUS[word.split()[0]]
    info["console_tests"] = dict(sorted(tests.items()))
    return info


def dbt_entries() -> None:
    for logdir in sorted(glob.glob(os.path.join(WORK, "console", "dbt-*"))):
        label = os.path.basename(logdir)[len("dbt-"):]
        if label == "1.12":
            dest = os.path.join(OUT, "dbt", "v6")
        else:
            hits = glob.glob(os.path.join(OUT, "dbt", "*", f"dbt-{label}"))
            if len(hits) != 1:
                problems.append(f"dbt {label}: no fixture folder")
                continue
            dest = hits[0]
        for log in sorted(glob.glob(os.path.join(logdir, "*.log"))):
            run = os.path.basename(log)[:-4]  # day1 .. day3, compile
            info = dbt_console(read_console(log))
            rr_path = os.path.join(dest, run, "run_results.json")
            with open(rr_path) as f:
                rr = json.load(f)
            tool = f"dbt-core {info.get('dbt_version')}"
            if info.get("adapter"):  # dbt 1.4 does not print its adapter
                tool += f" ({info['adapter']})"
            command = "dbt compile" if run == "compile" else "dbt build"
            file_tests = Counter(r["status"] for r in rr["results"] if r["unique_id"].startswith("test."))
            file_nodes: dict[str, Counter] = {}
            for r in rr["results"]:
                file_nodes.setdefault(r["unique_id"].split(".")[0], Counter())[r["status"]] += 1
            console_counts = Counter(info["console_tests"].values())
            entry = {
                "tool": tool,
                "installed": installed(f"dbt-{label}"),
                "command": command,
                "simulated_day": None if run == "compile" else f"2026-11-0{run[-1]}",
                "exit_code": read_rc(log[:-4] + ".rc"),
                "console": info.get("console"),
                "console_summary": info.get("console_summary"),
                "console_found": info.get("found"),
            }
            if run != "compile":
                entry.update({
                    # test nodes, as dbt's per-node console lines report them
                    "pass": console_counts.get("pass", 0),
                    "warn": console_counts.get("warn", 0),
                    "fail": console_counts.get("fail", 0),
                    "error": console_counts.get("error", 0),
                    "skip": console_counts.get("skipped", 0),
                    "console_tests": info["console_tests"],
                })
                if dict(console_counts) != dict(file_tests):
                    problems.append(f"{rel(rr_path)}: console {dict(console_counts)} != file {dict(file_tests)}")
            entry["from_file_schema"] = rr["metadata"]["dbt_schema_version"]
            entry["from_file_test_status_counts"] = dict(sorted(file_tests.items()))
            entry["from_file_node_status_counts"] = {k: dict(sorted(v.items())) for k, v in sorted(file_nodes.items())}
            expected[rel(rr_path)] = entry
            mf = os.path.join(dest, run, "manifest.json")
            if os.path.exists(mf):
                with open(mf) as f:
                    schema = json.load(f)["metadata"]["dbt_schema_version"]
                expected[rel(mf)] = {
                    "tool": tool,
                    "command": command,
                    "run_results": rel(rr_path),
                    "console_found": info.get("found"),
                    "from_file_schema": schema,
                }


# ----------------------------------------------------------------------- GX
def gx_entries() -> None:
    for major, stats_glob in (("v1", "gx1-day*.json"), ("v0", "gx0-day*.json")):
        for stats_path in sorted(glob.glob(os.path.join(WORK, "stats", stats_glob))):
            day = re.search(r"day(\d)", os.path.basename(stats_path)).group(1)
            with open(stats_path) as f:
                st = json.load(f)
            s = st["statistics"]
            entry = {
                "tool": st["tool"],
                "installed": installed("gx-1" if major == "v1" else "gx-0.18"),
                "simulated_day": f"2026-11-0{day}",
                "validation_result_identifier": st["validation_result_identifier"],
                "success": st["success"],
                "statistics": s,
                "evaluated": s["evaluated_expectations"],
                "successful": s["successful_expectations"],
                "unsuccessful": s["unsuccessful_expectations"],
                "exceptions": st["exceptions"],
            }
            files = [os.path.join(OUT, "gx", major, f"day{day}.json")]
            # the validations store file of this run: <suite>/<run_name>/<run_time>/<batch_id>.json
            key = st["validation_result_identifier"].split("::", 1)[1]
            files.append(os.path.join(OUT, "gx", major, "validations", *key.split("/")[:-1],
                                      key.split("/")[-1] + ".json"))
            for path in files:
                if not os.path.exists(path):
                    problems.append(f"missing {rel(path)}")
                    continue
                with open(path) as f:
                    fs = json.load(f)["statistics"]
                if fs != s:
                    problems.append(f"{rel(path)}: statistics differ from the tool's")
                expected[rel(path)] = dict(entry)
            cp = os.path.join(OUT, "gx", major, f"checkpoint_day{day}.json")
            if os.path.exists(cp):
                e = dict(entry)
                e["checkpoint_success"] = st["checkpoint_success"]
                e["kind"] = "CheckpointResult.to_json_dict()"
                expected[rel(cp)] = e
    for path in sorted(glob.glob(os.path.join(OUT, "gx", "*", "validations", ".ge_store_backend_id"))):
        expected[rel(path)] = {"tool": "great_expectations", "kind": "store backend id (not a result)"}


# ----------------------------------------------------------------------- Soda
SODA3_COUNT = re.compile(r"(\d+)/(\d+) checks? (PASSED|WARNED|FAILED|NOT EVALUATED)")
SODA3_CHECK = re.compile(r"^\s+(.*) \[(PASSED|WARNED|FAILED|NOT EVALUATED)\]$")
SODA3_WORD = {"PASSED": "pass", "WARNED": "warn", "FAILED": "fail", "NOT EVALUATED": "not_evaluated"}


def soda3_entries() -> None:
    for log in sorted(glob.glob(os.path.join(WORK, "console", "soda3-*.log"))):
        name = os.path.basename(log)[len("soda3-"):-4]
        lines = [re.sub(r"^\[\d\d:\d\d:\d\d\] ", "", line) for line in read_console(log)]
        counts = {"pass": 0, "warn": 0, "fail": 0, "not_evaluated": 0}
        checks = {}
        summary = None
        version = None
        errors = None
        for line in lines:
            m = re.match(r"Soda Core (\S+)", line)
            if m:
                version = m.group(1)
            m = SODA3_COUNT.search(line)
            if m:
                counts[SODA3_WORD[m.group(3)]] = int(m.group(1))
            m = SODA3_CHECK.match(line)
            if m:
                checks[m.group(1).strip()] = SODA3_WORD[m.group(2)]
            if line.startswith(("Oops!", "All is good", "Apart from the checks")):
                summary = line
                m = re.search(r"(\d+) errors?", line)
                errors = int(m.group(1)) if m else 0
        path = os.path.join(OUT, "soda", "v3", f"{name}.json")
        entry = {
            "tool": f"soda-core {version}",
            "installed": installed("soda-3"),
            "command": "soda scan -d dqs -c config.yml "
                       + ("checks_error.yml" if name == "error_scan" else "checks.yml") + f" -srf {name}.json",
            "simulated_day": "2026-11-01" if name == "error_scan" else f"2026-11-0{name[-1]}",
            "exit_code": read_rc(log[:-4] + ".rc"),
            "console": summary,
            **counts,
            "error": errors,
            "console_checks": checks,
        }
        if summary is None:
            # the scan aborted before its summary: keep what it printed
            entry["console_lines"] = [l for l in lines if l and not l.startswith((" ", "|"))][:8]
        with open(path) as f:
            data = json.load(f)
        entry["from_file_outcomes"] = dict(sorted(Counter(c["outcome"] for c in data["checks"]).items()))
        entry["from_file_flags"] = {k: data[k] for k in ("hasErrors", "hasWarnings", "hasFailures")}
        file_counts = entry["from_file_outcomes"]
        for k in ("pass", "warn", "fail"):
            if counts[k] != file_counts.get(k, 0):
                problems.append(f"{rel(path)}: console {k}={counts[k]} != file {file_counts.get(k, 0)}")
        expected[rel(path)] = entry


SODA4_ROW = re.compile(r"^\|\s*(Checks|Passed|Failed|Warned|Not Evaluated|Excluded|Runtime Errors)\s*\|\s*(\d+)\s*\|")


def soda4_entries() -> None:
    for log in sorted(glob.glob(os.path.join(WORK, "console", "soda4-*.log"))):
        name = os.path.basename(log)[len("soda4-"):-4]
        if name.endswith("-api"):
            continue
        summary = {}
        version = None
        for line in read_console(log):
            m = re.search(r"CLI v(\S+)", line)
            if m:
                version = m.group(1)
            m = SODA4_ROW.match(line)
            if m:
                summary[m.group(1)] = int(m.group(2))
        with open(os.path.join(WORK, "stats", f"soda4-{name}.json")) as f:
            st = json.load(f)
        path = os.path.join(OUT, "soda", "v4", f"{name}.json")
        contract = "customers_contract_error.yml" if name == "error" else "customers_contract.yml"
        entry = {
            "tool": f"soda-core {version}",
            "installed": installed("soda-4"),
            "command": f"soda contract verify -c {contract} -ds ds.yml",
            "file_written_by": "scripts/interop/soda4_run.py (soda-core's Soda Cloud payload builder)",
            "simulated_day": "2026-11-01" if name == "error" else f"2026-11-0{name[-1]}",
            "exit_code": read_rc(log[:-4] + ".rc"),
            "console_summary": summary,
            "total": summary.get("Checks"),
            "pass": summary.get("Passed"),
            "fail": summary.get("Failed"),
            "warn": summary.get("Warned"),
            "not_evaluated": summary.get("Not Evaluated"),
            "excluded": summary.get("Excluded"),
            "runtime_errors": summary.get("Runtime Errors"),
            "api_outcomes": st["outcomes"],
        }
        with open(path) as f:
            data = json.load(f)
        entry["from_file_outcomes"] = dict(sorted(Counter(c["outcome"] for c in data["checks"]).items()))
        entry["from_file_flags"] = {k: data[k] for k in ("hasErrors", "hasWarnings", "hasFailures")}
        if sum(entry["from_file_outcomes"].values()) != summary.get("Checks"):
            problems.append(f"{rel(path)}: {summary.get('Checks')} checks in the console, "
                            f"{sum(entry['from_file_outcomes'].values())} in the file")
        expected[rel(path)] = entry


dbt_entries()
gx_entries()
soda3_entries()
soda4_entries()

on_disk = {rel(p) for p in glob.glob(os.path.join(OUT, "**", "*"), recursive=True)
           if os.path.isfile(p)} | {rel(p) for p in glob.glob(os.path.join(OUT, "**", ".*"), recursive=True)
                                    if os.path.isfile(p)}
on_disk -= {"expected.json", "README.md"}
for missing in sorted(on_disk - set(expected)):
    problems.append(f"no expectation for {missing}")
if problems:
    for p in problems:
        print("collect_expected:", p, file=sys.stderr)
    sys.exit(1)
with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(dict(sorted(expected.items())), f, indent=2, sort_keys=False)
    f.write("\n")
print(f"collect_expected: {len(expected)} fixture files described", file=sys.stderr)
