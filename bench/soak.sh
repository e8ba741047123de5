#!/usr/bin/env bash
# Memory soak of the generic webhook with wrk, on loopback only.
#   bench/soak.sh [MINUTES] [RATE] [WINDOW_SECONDS]
# Starts `sunledger demo` on a fresh data folder and runs the mixed load
# (90% queries, 8% posts, 2% complaints) paced to RATE requests/s for MINUTES,
# in windows of WINDOW_SECONDS. Requests are signed afresh for every window,
# since the generic webhook refuses timestamps older than 5 minutes; every
# post and complaint carries a new message id, so the log keeps growing.
# Samples the server's RSS and SQLite's share of it every 10 s and prints
# them with the peak (VmHWM).
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-10}
rate=${2:-5000}
window=${3:-120}
conns=64
port=18100
trap 'kill $(cat "$data/pid" "$data/sink.pid" 2>/dev/null) 2>/dev/null || true; kill $(jobs -p) 2>/dev/null || true; rm -rf "$data"' EXIT
source bench/demo-server.sh
start=$(date +%s)
(while kill -0 $pid 2>/dev/null; do
   sqlite_kb=$(curl -s http://127.0.0.1:$port/metrics | awk '/^sunledger_storage_memory_bytes/ {printf "%d", $2 / 1024}')
   echo "$(( $(date +%s) - start ))s $(awk '/VmRSS/ {print $2}' /proc/$pid/status) ($sqlite_kb)" >> "$data/rss"
   sleep 10
 done) &
end=$((start + minutes * 60))
n=0
while [ "$(date +%s)" -lt "$end" ]; do
  left=$((end - $(date +%s)))
  secs=$((left < window ? left : window))
  [ "$secs" -ge 5 ] || break
  n=$((n + 1))
  python3 bench/wrk/make_requests.py "$data/d/bots.json" "$data/req.txt" $((rate * secs * 11 / 10)) mix
  printf '== window %d at %ds (%ds): ' "$n" "$(( $(date +%s) - start ))" "$secs"
  wrk -t2 -c$conns -d${secs}s --latency -s bench/wrk/signed.lua http://127.0.0.1:$port \
      -- "$data/req.txt" 2 "$rate" "$conns" | grep -E 'throughput|errors' | paste -sd' ' -
done
echo "== RSS of the server in kB, with SQLite's share in brackets (/metrics storage_memory_bytes):"
paste -sd' ' "$data/rss" | fold -w 120 -s
echo "== peak RSS (VmHWM): $(awk '/VmHWM/ {print $2, $3}' /proc/$pid/status)"
echo "== entries in the ledger: $(curl -s http://127.0.0.1:$port/metrics | awk '/^sunledger_ledger_entries/ {print $2}')"
