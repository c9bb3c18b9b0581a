#!/usr/bin/env bash
# Regenerate tests/interop/: result files written by the real dbt, Great
# Expectations and Soda over three simulated days (2026-11-01 .. 2026-11-03).
#
#   bash scripts/interop/make_fixtures.sh
#
# Every tool gets its own virtualenv under $DQS_INTEROP_WORK (default
# /tmp/dqs-interop), outside the repo; the product's .venv is never touched.
# The venvs are kept between runs (a stamp file records what was installed),
# so a second run only re-runs the tools. Each tool runs under faketime at
# 06:00 UTC of its simulated day, so the dates inside the files are the
# simulated ones. The files are copied as the tools wrote them, never edited.
# Then collect_expected.py writes tests/interop/expected.json from what the
# tools themselves reported (console summaries, in-memory result statistics).
#
# Needs: python3.11 (DQS_INTEROP_PYTHON), faketime (Debian: apt-get install
# faketime), PyPI. Exits non-zero on the first failure.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
WORK=${DQS_INTEROP_WORK:-/tmp/dqs-interop}
FINAL=$REPO/tests/interop
# Everything is written to a staging folder first; tests/interop is replaced
# only once every tool has run and expected.json agrees with the files.
OUT=$WORK/stage
PY=${DQS_INTEROP_PYTHON:-python3.11}
# Older dbt versions to run besides 1.12 ("1.3" does not start on Python 3.11).
DBT_OLD=${DQS_INTEROP_DBT_OLD:-"1.7 1.6 1.5 1.4"}

case "$WORK" in "$REPO"|"$REPO"/*) echo "DQS_INTEROP_WORK must be outside the repo" >&2; exit 2;; esac
command -v "$PY" >/dev/null || { echo "no $PY" >&2; exit 2; }
command -v faketime >/dev/null || { echo "faketime is needed (apt-get install faketime)" >&2; exit 2; }

mkdir -p "$WORK"/{venvs,logs,console,stats,home,runs}
# No tool may write into the real home (~/.soda, ~/.dbt, telemetry ids).
export HOME=$WORK/home
export DBT_SEND_ANONYMOUS_USAGE_STATS=false DO_NOT_TRACK=1
export TQDM_DISABLE=1 GX_ANALYTICS_ENABLED=false
export SODA_CORE_TELEMETRY_ENABLED=false
export PIP_DISABLE_PIP_VERSION_CHECK=1
mkdir -p "$HOME/.soda"
printf 'send_anonymous_usage_stats: false\n' > "$HOME/.soda/config.yml"

log() { printf '[make_fixtures] %s\n' "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

# clock DAY CMD...: run CMD with the clock at 06:00 UTC of 2026-11-0DAY.
clock() { local d=$1; shift; TZ=UTC faketime -f "@2026-11-0${d} 06:00:00" "$@"; }

# venv NAME SPEC INSTALL_FN: (re)create $WORK/venvs/NAME unless its stamp says SPEC.
venv() {
  local name=$1 spec=$2 fn=$3 dir=$WORK/venvs/$1
  if [[ -f $dir/.dqs-stamp && $(cat "$dir/.dqs-stamp") == "$spec" ]]; then return 0; fi
  log "installing $name ($spec)"
  rm -rf "$dir"
  "$PY" -m venv "$dir"
  if ! "$fn" "$dir" >"$WORK/logs/install-$name.log" 2>&1; then
    grep -v 'is ignored: it is neither a file nor a directory' "$WORK/logs/install-$name.log" | tail -15 >&2
    die "install of $name; see $WORK/logs/install-$name.log"
  fi
  printf '%s' "$spec" > "$dir/.dqs-stamp"
}

pipi() { local dir=$1; shift; "$dir/bin/python" -m pip install -q "$@"; }

# dbt-core 1.12 requires dbt-core-experimental-parser, whose build downloads a
# wheel from the internet (only used with --use-v2-parser): install dbt-core
# without deps, then every requirement of its metadata but that one.
DBT12_SPEC="dbt-core==1.12.6 dbt-duckdb==1.11.1 duckdb==2.0.1"
install_dbt12() {
  pipi "$1" --no-deps dbt-core==1.12.6
  "$1/bin/python" - <<'EOF'
import importlib.metadata as m, subprocess, sys
reqs = [r for r in m.requires("dbt-core")
        if "extra ==" not in r and not r.startswith("dbt-core-experimental-parser")]
subprocess.run([sys.executable, "-m", "pip", "install", "-q", *reqs], check=True)
EOF
  pipi "$1" --no-deps dbt-duckdb==1.11.1
  pipi "$1" duckdb==2.0.1
}
declare -A DBT_OLD_SPEC=(
  [1.7]="dbt-core==1.7.20 dbt-duckdb==1.7.5 duckdb==2.0.1"
  [1.6]="dbt-core==1.6.19 dbt-duckdb==1.6.2 duckdb==2.0.1"
  [1.5]="dbt-core==1.5.12 dbt-duckdb==1.5.2 duckdb==2.0.1"
  [1.4]="dbt-core==1.4.10 dbt-duckdb==1.4.2 duckdb==2.0.1"
  [1.3]="dbt-core==1.3.8 dbt-duckdb==1.3.4 duckdb==2.0.1"
)
CUR_SPEC=
install_spec() { # shellcheck disable=SC2086
  pipi "$1" $CUR_SPEC; }
GX1_SPEC="great-expectations==1.24.1"
GX0_SPEC="great-expectations==0.18.22 pandas==2.1.4 numpy==1.26.4"
SODA3_SPEC="soda-core-duckdb==3.5.6"
SODA4_SPEC="soda-core==4.28.0 soda-duckdb==4.28.0"

# ---------------------------------------------------------------- data
DATA=$WORK/runs/data
for d in 1 2 3; do "$PY" "$HERE/make_data.py" "$d" "$DATA/day$d"; done

rm -rf "$OUT" "$WORK/console" "$WORK/stats"
mkdir -p "$OUT" "$WORK/console" "$WORK/stats"

# ---------------------------------------------------------------- dbt
# run_dbt LABEL VENV DEST MANIFEST_DAYS [compile]
run_dbt() {
  local label=$1 venvdir=$2 dest=$3 mdays=$4 compile=${5:-} proj=$WORK/runs/dbt-$1 rc d
  rm -rf "$proj"; cp -r "$HERE/dbt_project" "$proj"; mkdir -p "$proj/seeds"
  export DQS_INTEROP_DUCKDB=$proj/dqs.duckdb
  mkdir -p "$WORK/console/dbt-$label"
  for d in 1 2 3; do
    cp "$DATA/day$d/raw_customers.csv" "$DATA/day$d/raw_orders.csv" "$proj/seeds/"
    rm -f "$proj/target/run_results.json" "$proj/target/manifest.json"
    log "dbt $label day$d: dbt build"
    set +e
    (cd "$proj" && clock "$d" "$venvdir/bin/dbt" build --profiles-dir .) \
      >"$WORK/console/dbt-$label/day$d.log" 2>&1
    rc=$?
    set -e
    # dbt build exits 1 when a node errors or a test fails: expected here.
    [[ $rc -le 1 && -f $proj/target/run_results.json ]] || {
      tail -20 "$WORK/console/dbt-$label/day$d.log" >&2; die "dbt $label day$d (rc=$rc)"; }
    grep -q 'Done\. PASS=' "$WORK/console/dbt-$label/day$d.log" || die "dbt $label day$d: no summary line"
    echo "$rc" > "$WORK/console/dbt-$label/day$d.rc"
    mkdir -p "$dest/day$d"
    cp "$proj/target/run_results.json" "$dest/day$d/run_results.json"
    if [[ " $mdays " == *" $d "* ]]; then cp "$proj/target/manifest.json" "$dest/day$d/manifest.json"; fi
  done
  if [[ -n $compile ]]; then
    rm -f "$proj/target/run_results.json"
    log "dbt $label: dbt compile"
    (cd "$proj" && TZ=UTC faketime -f "@2026-11-03 07:00:00" "$venvdir/bin/dbt" compile --profiles-dir .) \
      >"$WORK/console/dbt-$label/compile.log" 2>&1 || {
      tail -20 "$WORK/console/dbt-$label/compile.log" >&2; die "dbt $label compile"; }
    echo 0 > "$WORK/console/dbt-$label/compile.rc"
    mkdir -p "$dest/compile"
    cp "$proj/target/run_results.json" "$dest/compile/run_results.json"
  fi
  unset DQS_INTEROP_DUCKDB
}

venv dbt-1.12 "$DBT12_SPEC" install_dbt12
run_dbt 1.12 "$WORK/venvs/dbt-1.12" "$OUT/dbt/v6" "1 2 3" compile
for v in $DBT_OLD; do
  [[ -n ${DBT_OLD_SPEC[$v]:-} ]] || die "no install spec for dbt $v"
  CUR_SPEC=${DBT_OLD_SPEC[$v]}
  venv "dbt-$v" "$CUR_SPEC" install_spec
  # Older versions: every day's run_results, one manifest (day 1) to keep the size down.
  rm -rf "$WORK/runs/out-dbt-$v"
  run_dbt "$v" "$WORK/venvs/dbt-$v" "$WORK/runs/out-dbt-$v" "1"
  # File them under the run_results schema version that dbt wrote (v4, v5 ...).
  schema=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["metadata"]["dbt_schema_version"].rsplit("/",1)[1].removesuffix(".json"))' \
    "$WORK/runs/out-dbt-$v/day1/run_results.json")
  mkdir -p "$OUT/dbt/$schema"
  mv "$WORK/runs/out-dbt-$v" "$OUT/dbt/$schema/dbt-$v"
done

# ---------------------------------------------------------------- Great Expectations
CUR_SPEC=$GX1_SPEC; venv gx-1 "$CUR_SPEC" install_spec
proj=$WORK/runs/gx1; rm -rf "$proj"; mkdir -p "$proj" "$OUT/gx/v1"
for d in 1 2 3; do
  log "gx 1.x day$d"
  (cd "$proj" && clock "$d" "$WORK/venvs/gx-1/bin/python" "$HERE/gx1_run.py" "$proj" "$DATA/day$d" "$d" \
     "$OUT/gx/v1/day$d.json" "$WORK/stats/gx1-day$d.json") >"$WORK/console/gx1-day$d.log" 2>&1 || {
    tail -20 "$WORK/console/gx1-day$d.log" >&2; die "gx 1.x day$d"; }
done
cp -r "$proj/gx/uncommitted/validations" "$OUT/gx/v1/validations"

CUR_SPEC=$GX0_SPEC; venv gx-0.18 "$CUR_SPEC" install_spec
proj=$WORK/runs/gx0; rm -rf "$proj"; mkdir -p "$proj" "$OUT/gx/v0"
for d in 1 2 3; do
  log "gx 0.18 day$d"
  (cd "$proj" && clock "$d" "$WORK/venvs/gx-0.18/bin/python" "$HERE/gx0_run.py" "$proj" "$DATA/day$d" "$d" \
     "$OUT/gx/v0/day$d.json" "$OUT/gx/v0/checkpoint_day$d.json" "$WORK/stats/gx0-day$d.json") \
     >"$WORK/console/gx0-day$d.log" 2>&1 || { tail -20 "$WORK/console/gx0-day$d.log" >&2; die "gx 0.18 day$d"; }
done
cp -r "$proj/gx/uncommitted/validations" "$OUT/gx/v0/validations"

# ---------------------------------------------------------------- Soda Core v3
CUR_SPEC=$SODA3_SPEC; venv soda-3 "$CUR_SPEC" install_spec
proj=$WORK/runs/soda3; rm -rf "$proj"; mkdir -p "$proj" "$OUT/soda/v3"
cp "$HERE/soda/config.yml" "$HERE/soda/checks.yml" "$HERE/soda/checks_error.yml" "$proj/"
export DQS_SODA_DUCKDB=$proj/dqs.duckdb
soda3() { # soda3 DAY CHECKS OUTFILE LOGNAME: a scan; exit 0-2 (pass/warn/fail) or 3 (errors) are results
  local d=$1 checks=$2 outfile=$3 name=$4 rc
  "$WORK/venvs/soda-3/bin/python" "$HERE/load_duckdb.py" "$DATA/day$d" "$DQS_SODA_DUCKDB"
  log "soda v3 $name"
  set +e
  rm -f "$proj/$name.json"
  (cd "$proj" && clock "$d" "$WORK/venvs/soda-3/bin/soda" scan -d dqs -c config.yml "$checks" -srf "$name.json") \
    >"$WORK/console/soda3-$name.log" 2>&1
  rc=$?
  set -e
  echo "$rc" > "$WORK/console/soda3-$name.rc"
  [[ $rc -le 3 && -f $proj/$name.json ]] || { tail -20 "$WORK/console/soda3-$name.log" >&2; die "soda v3 $name (rc=$rc)"; }
  cp "$proj/$name.json" "$outfile"
}
for d in 1 2 3; do soda3 "$d" checks.yml "$OUT/soda/v3/day$d.json" "day$d"; done
# A check on a missing column: Soda 3.5 + duckdb 1.0 aborts the whole scan.
soda3 1 checks_error.yml "$OUT/soda/v3/error_scan.json" error_scan
unset DQS_SODA_DUCKDB

# ---------------------------------------------------------------- Soda Core v4
CUR_SPEC=$SODA4_SPEC; venv soda-4 "$CUR_SPEC" install_spec
proj=$WORK/runs/soda4; rm -rf "$proj"; mkdir -p "$proj" "$OUT/soda/v4"
cp "$HERE"/soda4/*.yml "$proj/"
export DQS_SODA4_DUCKDB=$proj/dqs.duckdb
soda4() { # soda4 DAY CONTRACT OUTFILE NAME
  local d=$1 contract=$2 outfile=$3 name=$4
  "$WORK/venvs/soda-4/bin/python" "$HERE/load_duckdb.py" "$DATA/day$d" "$DQS_SODA4_DUCKDB"
  log "soda v4 $name"
  # The CLI's own summary table (its exit status says whether checks failed).
  set +e
  (cd "$proj" && clock "$d" "$WORK/venvs/soda-4/bin/soda" contract verify -c "$contract" -ds ds.yml) \
    >"$WORK/console/soda4-$name.log" 2>&1
  echo $? > "$WORK/console/soda4-$name.rc"
  set -e
  grep -q '^# Summary' "$WORK/console/soda4-$name.log" || {
    tail -20 "$WORK/console/soda4-$name.log" >&2; die "soda v4 $name: no summary"; }
  # The same verification, saved as the Soda Cloud results body (see soda4_run.py).
  (cd "$proj" && clock "$d" "$WORK/venvs/soda-4/bin/python" "$HERE/soda4_run.py" ds.yml "$contract" \
     "$outfile" "$WORK/stats/soda4-$name.json") >"$WORK/console/soda4-$name-api.log" 2>&1 || {
    tail -20 "$WORK/console/soda4-$name-api.log" >&2; die "soda v4 $name (api)"; }
}
for d in 1 2 3; do soda4 "$d" customers_contract.yml "$OUT/soda/v4/day$d.json" "day$d"; done
soda4 1 customers_contract_error.yml "$OUT/soda/v4/error.json" error
unset DQS_SODA4_DUCKDB

# ---------------------------------------------------------------- expected.json
"$PY" "$HERE/collect_expected.py" "$WORK" "$OUT"

# ---------------------------------------------------------------- swap in
mkdir -p "$FINAL"
rm -rf "$FINAL/dbt" "$FINAL/gx" "$FINAL/soda" "$FINAL/expected.json"
cp -r "$OUT/dbt" "$OUT/gx" "$OUT/soda" "$OUT/expected.json" "$FINAL/"
log "done: $(find "$FINAL" -type f | wc -l) files under tests/interop, $(du -sh "$FINAL" | cut -f1)"
