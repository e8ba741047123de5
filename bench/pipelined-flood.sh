#!/usr/bin/env bash
# A client that pipelines and never reads, against `sunledger serve` on demo
# data, on loopback only, bounded in time.
#   bench/pipelined-flood.sh [CONNECTIONS] [PIPELINED] [SECONDS]
# Each connection sends PIPELINED `GET /v1/villages/shuangjiang/entries` at
# once and reads nothing; meanwhile a normal client asks /healthz every
# 0.25 s. Prints the normal client's latencies and how many entries pages the
# server rendered (from /metrics): the cost of the flood.
set -euo pipefail
cd "$(dirname "$0")/.."
conns=${1:-256}
pipelined=${2:-1500}
seconds=${3:-10}
port=18097
trap 'kill $(cat "$data/pid" "$data/sink.pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$data"' EXIT
source bench/demo-server.sh >/dev/null
python3 bench/wrk/pipelined_flood.py $port "$conns" "$pipelined" "$seconds"
echo "== peak RSS of the server: $(grep VmHWM /proc/$(cat "$data/pid")/status | awk '{print $2, $3}')"
