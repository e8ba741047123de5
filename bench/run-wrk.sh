#!/usr/bin/env bash
# Load test of the generic webhook with wrk, on loopback only, bounded in time.
#   bench/run-wrk.sh [SECONDS] [CONNECTIONS] [query|post|mix|all|peer|page] [RATE]
# Without RATE, wrk sends as fast as the server answers (throughput at
# saturation); with RATE (requests/s), latency is measured at that load.
# Starts `sunledger demo` on a fresh data folder, then runs three loads:
# villager queries, durable official posts (each a new message id), and the
# mixed load; prints throughput, p50/p99 latency and errors for each.
# `page` (issue #14) loads the public month page /villages/shuangjiang/2022-11
# (served from the page cache) with plain GETs: target 5,000 requests/s, p99 < 50 ms.
# `peer` (issue #18) runs, in the same run, Sunledger and the Go standard-library
# peer (bench/peers/go-bot, built with Debian's golang-go) on the same signed
# `账目 2022-11` requests and on bare /healthz, and prints the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
conns=${2:-64}
rate=${4:-0}
port=18099
trap 'kill $(cat "$data/pid" "$data/sink.pid" "$data/peer.pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$data"' EXIT
source bench/demo-server.sh
run() {  # kind count
  python3 bench/wrk/make_requests.py "$data/d/bots.json" "$data/$1.txt" "$2" "$1"
  echo "== $1: ${seconds}s, $conns connections, 2 wrk threads$([ "$rate" -gt 0 ] && echo ", paced to $rate requests/s")"
  # Each wrk thread loads its own share of the requests.
  wrk -t2 -c"$conns" -d"${seconds}s" --latency -s bench/wrk/signed.lua http://127.0.0.1:$port \
      -- "$data/$1.txt" 2 "$rate" "$conns" | grep -E 'requests|throughput|Non-2xx|Socket errors' || true
}
# One row of the peer comparison: NAME PORT signed|bare; prints the row and
# leaves "throughput p99" in $row.
measure() {
  local out
  if [ "$3" = signed ]; then
    # Signed now: the timestamps must stay within the 300 s window for the whole run.
    python3 bench/wrk/make_requests.py "$data/d/bots.json" "$data/statement.txt" 20000 statement
    out=$(wrk -t2 -c"$conns" -d"${seconds}s" -s bench/wrk/signed.lua http://127.0.0.1:$2 -- "$data/statement.txt" 2 0 "$conns")
  else
    out=$(wrk -t2 -c"$conns" -d"${seconds}s" -s bench/wrk/plain.lua http://127.0.0.1:$2/healthz)
  fi
  if echo "$out" | grep -E '^requests' | grep -vq 'connect 0 read 0 write 0 status 0 timeout 0'; then
    echo "   (errors: $(echo "$out" | grep -E '^requests'))"
    errors=1
  fi
  row=$(echo "$out" | sed -nE 's/^throughput ([0-9]+) req\/s.*p99 ([0-9.]+) ms.*/\1 \2/p')
  printf '%-10s %-7s %8s req/s  p99 %6s ms\n' "$1" "$3" $row
}
peer() {
  command -v go >/dev/null || { echo "peer: needs Go (Debian's golang-go)"; exit 1; }
  (cd bench/peers/go-bot && go build -o "$data/go-bot" .)
  python3 bench/wrk/peer_config.py "$bin" "$data/d" "$data/peer.json"
  local peer_port=$((port + 2))
  "$data/go-bot" -listen 127.0.0.1:$peer_port -config "$data/peer.json" 2>"$data/peer.log" &
  echo $! > "$data/peer.pid"
  for i in $(seq 50); do curl -sf http://127.0.0.1:$peer_port/healthz >/dev/null && break; sleep 0.1; done
  python3 bench/wrk/make_requests.py "$data/d/bots.json" "$data/statement.txt" 20000 statement
  # Both must give the same answer to the same signed request, or the race means nothing.
  python3 bench/wrk/same_answer.py "$data/statement.txt" $port $peer_port
  # The first question of each of the 4,000 (village, villager) pairs makes
  # Sunledger record the member once (a durable write the peer does not do):
  # a warm-up run, not counted, leaves both in their steady state.
  local keep=$seconds
  seconds=5; measure warm-up $port signed >/dev/null; measure warm-up $peer_port signed >/dev/null; seconds=$keep
  errors=0
  echo "== Sunledger and the Go peer, ${seconds}s each, $conns connections, 2 wrk threads"
  measure sunledger $port bare; local s_bare=$row
  measure sunledger $port signed; local s_signed=$row
  measure go-peer $peer_port bare; local g_bare=$row
  measure go-peer $peer_port signed; local g_signed=$row
  if [ "${errors:-0}" = 1 ]; then echo "errors above: no ratio is worth printing"; exit 1; fi
  python3 - "$s_bare" "$s_signed" "$g_bare" "$g_signed" <<'PY'
import sys
sb, ss, gb, gs = (float(a.split()[0]) for a in sys.argv[1:5])
print("signed query: Sunledger / Go peer = %.2f (target >= 1.2)" % (ss / gs))
print("Sunledger signed / own bare = %.2f (target >= 0.7); Go peer: %.2f" % (ss / sb, gs / gb))
PY
}

# The public month page, as a browser asks for it without compression.
page() {
  local path=/villages/shuangjiang/2022-11
  echo "== GET $path ($(curl -sf http://127.0.0.1:$port$path | wc -c) bytes): ${seconds}s, $conns connections, 2 wrk threads"
  wrk -t2 -c"$conns" -d"${seconds}s" --latency http://127.0.0.1:$port$path |
    grep -E 'Requests/sec|^ +(50|99)%|requests in|Non-2xx|Socket errors' || true
}

case "${3:-all}" in
  peer) peer ;;
  page) page ;;
  query) run query 20000 ;;
  post) run post $((seconds * 6000)) ;;
  mix) run mix $((seconds * 8000)) ;;
  *) run query 20000; run post $((seconds * 6000)); run mix $((seconds * 8000)) ;;
esac
echo "== peak RSS of the server: $(grep VmHWM /proc/$(cat "$data/pid")/status | awk '{print $2, $3}')"
