#!/usr/bin/env bash
# Instructions the whole server process executes per signed `账目 2022-11`
# (issue #18), deterministic whatever the machine's load:
#   bench/callgrind-query.sh [SUNLEDGER_BINARY] [COUNT]
# Runs `serve --rate-limit 0` on demo data under callgrind, sends COUNT
# (1,000) requests to warm up (villagers recorded, caches filled), zeroes the
# counters, sends COUNT more (the same villagers, new message ids) one after
# another on one connection, and prints the instructions (Ir) per request.
# CALLGRIND_KEEP=FILE keeps the measured profile for `callgrind_annotate FILE`.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-./build/sunledger}
count=${2:-1000}
port=18097
data=$(mktemp -d)
trap 'kill $(cat "$data/pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$data"' EXIT
"$bin" --data "$data/d" demo --no-serve >/dev/null 2>&1
valgrind --tool=callgrind --callgrind-out-file="$data/cg.out" "$bin" --data "$data/d" serve \
    --listen 127.0.0.1:$port --rate-limit 0 >/dev/null 2>"$data/log" &
echo $! > "$data/pid"
for i in $(seq 600); do curl -sf http://127.0.0.1:$port/healthz >/dev/null && break; sleep 0.1; done
python3 bench/wrk/make_requests.py "$data/d/bots.json" "$data/warm.txt" "$count" statement
python3 bench/wrk/send_sequential.py "$data/warm.txt" $port
callgrind_control -z "$(cat "$data/pid")" >/dev/null
sleep 1  # new message ids: make_requests names them by the second
python3 bench/wrk/make_requests.py "$data/d/bots.json" "$data/measured.txt" "$count" statement
python3 bench/wrk/send_sequential.py "$data/measured.txt" $port
callgrind_control -d "$(cat "$data/pid")" >/dev/null
total=$(grep -h '^summary:' "$data"/cg.out.* | tail -1 | awk '{print $2}')
if [ -n "${CALLGRIND_KEEP:-}" ]; then cp "$(ls -t "$data"/cg.out.* | head -1)" "$CALLGRIND_KEEP"; fi
echo "instructions per request (callgrind Ir): $((total / count)) ($total for $count requests)"
