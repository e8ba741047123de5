#!/usr/bin/env bash
# PostgreSQL benchmarks (issue #17), on a throwaway cluster (bench/pg-cluster.sh)
# and loopback only:
#   bench/run-pg.sh appends
#     BM_DurableAppend (bench/ledger_bench.cc) on PostgreSQL: one entry per
#     transaction with a signed checkpoint, acknowledged after a durable
#     commit, with 1 and 16 clients. Target: >= 5,000/s with 16.
#   bench/run-pg.sh nodes [SECONDS] [CONNECTIONS]
#     The mixed webhook load of bench/run-wrk.sh (90% queries, 8% posts, 2%
#     complaints, receipts pushed to a sink) first through one node on SQLite,
#     then, on the same demo data migrated to PostgreSQL, through two
#     `serve --shared-database` nodes (half the connections each, each with
#     its own requests). Target: two nodes at least what one SQLite node serves.
#     SUNLEDGER_PG_STATS=1 also prints the statements the two nodes' load ran
#     most often (pg_stat_statements).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-appends}
seconds=${2:-30}
conns=${3:-64}
bin=${SUNLEDGER_BIN:-./build/sunledger}

appends() {
  source bench/pg-cluster.sh
  trap pg_stop EXIT
  # One database for each ledger the run opens (ledger_bench: SUNLEDGER_BENCH_DB):
  # Google Benchmark runs a case a few times while it sizes the iterations.
  local n
  for n in $(seq 40); do pg_sql "CREATE DATABASE bench_$n"; done
  SUNLEDGER_BENCH_DB="$pg_server/bench" ./build/bench/ledger_bench --benchmark_filter='^BM_DurableAppend'
}

# wrk's summary lines for one load; $1 names it in the output.
load() {  # NAME PORT FILE CONNECTIONS
  wrk -t1 -c"$4" -d"${seconds}s" -s bench/wrk/signed.lua "http://127.0.0.1:$2" -- "$3" 1 0 "$4" |
    grep -E '^(requests|throughput)' | sed "s/^/$1: /"
}

nodes() {
  port=18099
  source bench/pg-cluster.sh
  trap 'kill $(cat "$data/pid" "$data/pid2" "$data/sink.pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$data"; pg_stop' EXIT
  source bench/demo-server.sh  # one node on SQLite, on $port
  local n=$((seconds * 8000))
  python3 bench/wrk/make_requests.py "$data/d/bots.json" "$data/mix.txt" "$n" mix sqlite
  echo "== one node on SQLite: the mix, ${seconds}s, $conns connections"
  wrk -t2 -c"$conns" -d"${seconds}s" --latency -s bench/wrk/signed.lua "http://127.0.0.1:$port" \
      -- "$data/mix.txt" 2 0 "$conns" | grep -E '^(requests|throughput)'
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rm -f "$data/pid"

  pg_sql "CREATE DATABASE sunledger"
  "$bin" --data "$data/d" migrate --to "$pg_server/sunledger" | tail -n 1
  cp -a "$data/d" "$data/d2"
  "$bin" --data "$data/d" serve --shared-database --listen 127.0.0.1:$port --rate-limit 0 2>"$data/log1" &
  echo $! > "$data/pid"
  "$bin" --data "$data/d2" serve --shared-database --listen 127.0.0.1:$((port + 2)) --rate-limit 0 2>"$data/log2" &
  echo $! > "$data/pid2"
  for p in $port $((port + 2)); do
    for i in $(seq 100); do curl -sf "http://127.0.0.1:$p/healthz" >/dev/null && break; sleep 0.2; done
  done
  python3 bench/wrk/make_requests.py "$data/d/bots.json" "$data/mix1.txt" $((n / 2)) mix node1
  python3 bench/wrk/make_requests.py "$data/d/bots.json" "$data/mix2.txt" $((n / 2)) mix node2
  if [ "${SUNLEDGER_PG_STATS:-0}" = 1 ]; then  # count the load's statements only
    "$pg_bindir/psql" -X -q -h "$pg_dir" -U postgres -d sunledger \
      -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" -c "SELECT pg_stat_statements_reset()" >/dev/null
  fi
  echo "== two nodes on PostgreSQL: the mix, ${seconds}s, $((conns / 2)) connections to each"
  load node1 $port "$data/mix1.txt" $((conns / 2)) > "$data/out1" &
  local w1=$!
  load node2 $((port + 2)) "$data/mix2.txt" $((conns / 2)) > "$data/out2" &
  wait $w1 $!
  cat "$data/out1" "$data/out2"
  awk '/throughput/ { sum += $3 } END { printf "two nodes together: %.0f req/s\n", sum }' "$data/out1" "$data/out2"
  if [ "${SUNLEDGER_PG_STATS:-0}" = 1 ]; then pg_top_statements sunledger; fi
  # What the load left behind must still verify.
  local p1 p2
  p1=$(cat "$data/pid"); p2=$(cat "$data/pid2")
  kill "$p1" "$p2"; wait "$p1" "$p2" 2>/dev/null || true
  rm -f "$data/pid" "$data/pid2"
  "$bin" --data "$data/d" verify | tail -n 1
}

case "$mode" in
  appends) appends ;;
  nodes) nodes ;;
  *) echo "usage: bench/run-pg.sh appends | nodes [SECONDS] [CONNECTIONS]" >&2; exit 2 ;;
esac
