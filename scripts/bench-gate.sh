#!/usr/bin/env bash
# Run the benchmark cases of DQS_BENCH_SIZES (default 100k), plus those named in DQS_BENCH_CASES
# (default: training on the 1M-row log under a 1GB limit), with pytest-benchmark and compare
# them with bench/baseline.json. Needs the .venv made by scripts/test.sh or scripts/demo.sh.
# Timings on a shared machine are noisy: a case that fails the gate is measured once more,
# and the gate fails only when the second measurement fails as well.
set -euo pipefail
cd "$(dirname "$0")/.."
export DQS_BENCH_SIZES="${DQS_BENCH_SIZES:-100k}"
export DQS_BENCH_REPEAT="${DQS_BENCH_REPEAT:-5}"
export DQS_BENCH_CASES="${DQS_BENCH_CASES-train-csv-1m}"
mkdir -p .bench-data
for attempt in 1 2; do
    .venv/bin/python -m pytest bench -q -p no:cacheprovider --benchmark-json=.bench-data/results.json
    if .venv/bin/python -m bench.compare .bench-data/results.json; then
        exit 0
    fi
    echo "benchmark gate failed (attempt $attempt)" >&2
done
exit 1
