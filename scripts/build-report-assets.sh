#!/usr/bin/env bash
# Build the front-end assets `dqs report` embeds into its HTML: install the pinned npm packages of
# report/package-lock.json (`npm ci`) and copy their distributed files into engine/report/assets/
# (git-ignored, shipped as package data), with a manifest of names, versions and sha256.
# Skipped when the assets already match the lock file (pass --force to rebuild).
set -euo pipefail
cd "$(dirname "$0")/.."
ASSETS=engine/report/assets
LOCK_SHA=$(sha256sum report/package-lock.json | cut -d' ' -f1)
if [ "${1:-}" != "--force" ] && [ -f "$ASSETS/manifest.json" ] && grep -q "\"lock_sha256\": \"$LOCK_SHA\"" "$ASSETS/manifest.json"; then
    exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
    echo "build-report-assets: npm is needed to build the report's assets (Node.js 18 or newer)" >&2
    exit 1
fi
(cd report && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
tmp=$(mktemp -d "$ASSETS.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
UPLOT=report/node_modules/uplot
cp "$UPLOT/dist/uPlot.iife.min.js" "$tmp/uPlot.iife.min.js"
cp "$UPLOT/dist/uPlot.min.css" "$tmp/uPlot.min.css"
cp "$UPLOT/LICENSE" "$tmp/uPlot.LICENSE"
UPLOT_VERSION=$(node -p "require('./$UPLOT/package.json').version")
{
    echo "{"
    echo "  \"built_by\": \"scripts/build-report-assets.sh\","
    echo "  \"lock_sha256\": \"$LOCK_SHA\","
    echo "  \"packages\": {\"uplot\": \"$UPLOT_VERSION\"},"
    echo "  \"files\": {"
    first=1
    for f in uPlot.iife.min.js uPlot.min.css uPlot.LICENSE; do
        [ $first -eq 1 ] || echo ","
        first=0
        printf '    "%s": "%s"' "$f" "$(sha256sum "$tmp/$f" | cut -d' ' -f1)"
    done
    echo ""
    echo "  }"
    echo "}"
} > "$tmp/manifest.json"
rm -rf "$ASSETS"
mv "$tmp" "$ASSETS"
trap - EXIT
echo "build-report-assets: uPlot $UPLOT_VERSION -> $ASSETS" >&2
