#!/usr/bin/env bash
# The independent checker on a large log (issue #15): `sunledger check` of
# one village log of about a million entries, read from its tiles.
#   bench/check-tiles.sh [MONTHS] [PER_MONTH] [DIR]
# Fills a folder with build/bench/make_deployment (one village, MONTHS x
# PER_MONTH entries; default 100 x 10,000 = 1,000,000, every month closed
# with its statement), serves it with `sunledger serve` and times
# `sunledger check --url .../logs/v001` (every tile and bundle fetched over
# loopback HTTP, every leaf hashed, every statement added up again); then
# the same from `export-tiles` output served by `python3 -m http.server`.
# With DIR, the filled folder is kept there for the next run.
set -euo pipefail
cd "$(dirname "$0")/.."
months=${1:-100}
per_month=${2:-10000}
dir=${3:-}
bin=./build/sunledger
port=18096
keep=1
if [ -z "$dir" ]; then keep=0; dir=$(mktemp -d "${TMPDIR:-/tmp}/sunledger-check-XXXXXX"); fi
trap 'kill $(cat "$dir/pid" "$dir/py.pid" 2>/dev/null) 2>/dev/null || true; rm -f "$dir/pid" "$dir/py.pid"; [ $keep = 1 ] || rm -rf "$dir"' EXIT
if [ ! -f "$dir/d/sunledger.db" ]; then
  "$bin" --data "$dir/d" init --origin bench.example/sunledger >/dev/null
  ./build/bench/make_deployment "$dir/d" --villages 1 --months "$months" --per-month "$per_month" --complaints 0
fi
key=$("$bin" --data "$dir/d" key show)
log=$("$bin" --data "$dir/d" village list | cut -f1 | head -1)
"$bin" --data "$dir/d" serve --listen 127.0.0.1:$port --rate-limit 0 2>"$dir/log" &
echo $! > "$dir/pid"
for i in $(seq 600); do curl -sf http://127.0.0.1:$port/healthz >/dev/null && break; sleep 0.2; done
time_check() {  # URL
  local start end out
  start=$(date +%s.%N)
  out=$("$bin" check --url "$1" --key "$key")
  end=$(date +%s.%N)
  echo "$out" | grep -E 'tree rebuilt|statements|checked:'
  entries=$(echo "$out" | sed -nE 's/.*tree rebuilt from ([0-9]+) entries.*/\1/p')
  python3 -c "import sys; e, s = int(sys.argv[1]), float(sys.argv[3]) - float(sys.argv[2]); print(f'{e} entries in {s:.2f} s: {e / s:,.0f} entries/s')" "$entries" "$start" "$end"
}
echo "== sunledger serve"
time_check "http://127.0.0.1:$port/logs/$log"
"$bin" --data "$dir/d" export-tiles --to "$dir/tiles" >/dev/null
python3 -m http.server $((port + 1)) --bind 127.0.0.1 --directory "$dir/tiles" >/dev/null 2>&1 &
echo $! > "$dir/py.pid"
for i in $(seq 50); do curl -sf "http://127.0.0.1:$((port + 1))/$log/checkpoint" >/dev/null && break; sleep 0.1; done
echo "== python3 -m http.server on export-tiles output"
time_check "http://127.0.0.1:$((port + 1))/$log"
