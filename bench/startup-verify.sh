#!/usr/bin/env bash
# Start-up verification of a Lukou-sized deployment, through the real binary.
#
#   bench/startup-verify.sh [RUNS] [DIR]
#
# Without DIR: `sunledger init`s a fresh folder, fills it with
# build/bench/make_deployment (139 villages x 72 months x 100 entries =
# 1,000,800 village entries, and 2,000 complaints with their follow-ups),
# measures, and deletes it. With DIR: measures that folder (made the same way
# earlier; kept). Environment: VILLAGES, MONTHS, PER_MONTH, COMPLAINTS change
# the shape; SUNLEDGER_BIN measures another binary (to compare versions);
# COLD=1 evicts the database from the page cache before each run
# (posix_fadvise, no root needed), as after a reboot.
#
# Each run times `sunledger verify` (every log and the complaints, as serve
# checks them; the command as it stands checks the logs twice: once on their
# own, then again with the complaints) and the time from starting `serve` to
# its first 200 on /healthz, and prints the "verify at start" line serve logs.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${SUNLEDGER_BIN:-./build/sunledger}
gen=./build/bench/make_deployment
runs=${1:-3}
dir=${2:-}
keep=1
if [ -z "$dir" ]; then
  keep=0
  dir=$(mktemp -d "${TMPDIR:-/tmp}/sunledger-startup-XXXXXX")
fi
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  if [ "$keep" = 0 ]; then rm -rf "$dir"; fi
}
trap cleanup EXIT

if [ ! -f "$dir/d/sunledger.db" ]; then
  "$bin" --data "$dir/d" init --origin lukou.example/sunledger >/dev/null
  "$gen" "$dir/d" --villages "${VILLAGES:-139}" --months "${MONTHS:-72}" --per-month "${PER_MONTH:-100}" \
    --complaints "${COMPLAINTS:-2000}"
fi
echo "database: $(du -sh "$dir/d" | cut -f1)"

evict() {
  [ "${COLD:-0}" = 1 ] || return 0
  sync
  python3 - "$dir"/d/sunledger.db* <<'PY'
import os, sys
for p in sys.argv[1:]:
    fd = os.open(p, os.O_RDONLY)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    os.close(fd)
PY
}

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
for run in $(seq "$runs"); do
  evict
  t0=$(date +%s.%N)
  out=$("$bin" --data "$dir/d" verify)
  t1=$(date +%s.%N)
  echo "run $run: sunledger verify: $(awk "BEGIN{print $t1 - $t0}") s ($out)"

  evict
  t0=$(date +%s.%N)
  "$bin" --data "$dir/d" serve --listen "127.0.0.1:$port" 2>"$dir/serve.log" &
  pid=$!
  until curl -sf -o /dev/null "http://127.0.0.1:$port/healthz"; do
    kill -0 "$pid" 2>/dev/null || { cat "$dir/serve.log"; exit 1; }
    sleep 0.02
  done
  t1=$(date +%s.%N)
  echo "run $run: serve to first 200 on /healthz: $(awk "BEGIN{print $t1 - $t0}") s; $(grep -o 'verify at start: .*' "$dir/serve.log")"
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  pid=
done
