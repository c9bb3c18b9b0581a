#!/usr/bin/env bash
# Run the test suite from a bare Python: creates .venv if needed, installs dqs with its test
# extras (DQS_EXTRAS, default "test"), builds the report's assets, runs pytest. Extra arguments go
# to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/pip install --quiet --upgrade pip
.venv/bin/pip install --quiet -e ".[${DQS_EXTRAS:-test}]"
bash scripts/build-report-assets.sh  # `dqs report`'s front-end assets (npm ci; skipped when up to date)
set +e
.venv/bin/python -m pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
    echo "pytest collected no tests" >&2
    exit 1
fi
exit "$status"
