#!/usr/bin/env bash
# CTest's WebBrowser: the public web in Debian's chromium, driven by
# playwright-core (pinned in package.json and package-lock.json, installed by
# `npm ci` when node_modules is missing; no browser download).
# run-browser-test.sh SUNLEDGER_BINARY SCREENSHOT_DIR MERKLE_VECTORS_DIR
# Fails, never skips, when node, npm or chromium is missing: scripts/install-deps installs them.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
binary="$1" screenshots="$2" vectors="$3"

for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "WebBrowser: $tool is missing; run scripts/install-deps" >&2; exit 1; }
done
chromium="${SUNLEDGER_CHROMIUM:-/usr/bin/chromium}"
[ -x "$chromium" ] || { echo "WebBrowser: no chromium at $chromium; run scripts/install-deps" >&2; exit 1; }

if [ ! -d "$here/node_modules/playwright-core" ]; then
  echo "WebBrowser: npm ci (playwright-core, as package-lock.json pins it)"
  # PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: playwright-core downloads nothing, but say so anyway.
  (cd "$here" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --prefer-offline) ||
    { echo "WebBrowser: npm ci failed in $here (offline? run it once with the network)" >&2; exit 1; }
fi
exec node "$here/browser_test.mjs" --binary "$binary" --screenshots "$screenshots" --vectors "$vectors"
