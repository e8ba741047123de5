#!/usr/bin/env bash
# Load test of the generic webhook with wrk, on loopback only, bounded in time.
#   bench/run-wrk.sh [SECONDS] [CONNECTIONS] [query|post|mix|all] [RATE]
# Without RATE, wrk sends as fast as the server answers (throughput at
# saturation); with RATE (requests/s), latency is measured at that load.
# Starts `sunledger demo` on a fresh data folder, then runs three loads:
# villager queries, durable official posts (each a new message id), and the
# mixed load; prints throughput, p50/p99 latency and errors for each.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
conns=${2:-64}
rate=${4:-0}
port=18099
trap 'kill $(cat "$data/pid" "$data/sink.pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$data"' EXIT
source bench/demo-server.sh
run() {  # kind count
  python3 bench/wrk/make_requests.py "$data/d/bots.json" "$data/$1.txt" "$2" "$1"
  echo "== $1: ${seconds}s, $conns connections, 2 wrk threads$([ "$rate" -gt 0 ] && echo ", paced to $rate requests/s")"
  # Each wrk thread loads its own share of the requests.
  wrk -t2 -c"$conns" -d"${seconds}s" --latency -s bench/wrk/signed.lua http://127.0.0.1:$port \
      -- "$data/$1.txt" 2 "$rate" "$conns" | grep -E 'requests|throughput|Non-2xx|Socket errors' || true
}
case "${3:-all}" in
  query) run query 20000 ;;
  post) run post $((seconds * 6000)) ;;
  mix) run mix $((seconds * 8000)) ;;
  *) run query 20000; run post $((seconds * 6000)); run mix $((seconds * 8000)) ;;
esac
echo "== peak RSS of the server: $(grep VmHWM /proc/$(cat "$data/pid")/status | awk '{print $2, $3}')"
