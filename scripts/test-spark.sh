#!/usr/bin/env bash
# Spark parity tests: installs dqs with its Spark extra (PySpark, sqlglot) into .venv and runs
# the tests marked `spark` (Spark local mode; needs Java 17). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
if ! command -v java >/dev/null 2>&1 && [ -z "${JAVA_HOME:-}" ]; then
    echo "scripts/test-spark.sh: Java 17 is needed for Spark (set JAVA_HOME or put java on PATH)" >&2
    exit 1
fi
.venv/bin/pip install --quiet --upgrade pip
.venv/bin/pip install --quiet -e '.[test,spark]'
set +e
.venv/bin/python -m pytest -m spark "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
    echo "pytest collected no Spark tests" >&2
    exit 1
fi
exit "$status"
