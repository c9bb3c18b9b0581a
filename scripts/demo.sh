#!/usr/bin/env bash
# Quick start: set up a virtual environment, generate a sample log, summarize it.
# Usage: bash scripts/demo.sh [ROWS]   (default 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS="${1:-1000000}"
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/dqs ]; then
    "$PYTHON" -m venv .venv
    .venv/bin/pip install --quiet --upgrade pip
    .venv/bin/pip install --quiet -e .
fi
mkdir -p sample
.venv/bin/dqs generate --rows "$ROWS" --seed 42 --malformed-share 0.001 \
    --output sample/results.csv --rules sample/rules.json --truth sample/truth.parquet
.venv/bin/dqs summarize sample/results.csv sample/rules.json --output-dir sample/out
# the daily workflow: the log goes into a history store once (a rerun skips it; a demo of another
# size replaces it), and the summary from the store is the same, byte for byte
.venv/bin/dqs ingest sample/results.csv --store sample/store --replace
.venv/bin/dqs summarize --store sample/store --rules sample/rules.json --output-dir sample/out-store --quiet
cmp sample/out/full_summary.csv sample/out-store/full_summary.csv
echo "sample/out-store/full_summary.csv (from the store) equals sample/out/full_summary.csv"
echo
echo "First sentences of sample/out/nl_all_rows.txt:"
head -n 3 sample/out/nl_all_rows.txt
