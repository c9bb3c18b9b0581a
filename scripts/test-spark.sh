#!/usr/bin/env bash
# Spark parity tests: the README's test command with the Spark extra (PySpark, sqlglot) installed,
# running only the tests marked `spark` (Spark local mode; needs Java 17). Extra arguments go
# to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v java >/dev/null 2>&1 && [ -z "${JAVA_HOME:-}" ]; then
    echo "scripts/test-spark.sh: Java 17 is needed for Spark (set JAVA_HOME or put java on PATH)" >&2
    exit 1
fi
DQS_EXTRAS=test,spark exec bash scripts/test.sh -m spark "$@"
