#!/usr/bin/env bash
# Load test of the C2SP tiles routes (issue #15) with wrk, on loopback only.
#   bench/run-wrk-tiles.sh [SECONDS] [CONNECTIONS] [ENTRIES]
# Makes a village log of ENTRIES lines (default 20,000) with the real CLI,
# starts `sunledger serve`, lists every file `export-tiles` writes for it, and
# runs three loads: the bare /healthz (for scale), the Merkle tiles (tile/L/N, what a checker or witness reads
# most) and the entry bundles (tile/entries/N, ~70 KB each). Prints wrk's
# requests/s and latency for each; non-2xx answers are counted as errors.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
conns=${2:-64}
entries=${3:-20000}
port=18097
bin=./build/sunledger
data=$(mktemp -d)
trap 'kill $(cat "$data/pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$data"' EXIT
"$bin" --data "$data/d" init --origin bench.example/sunledger >/dev/null
"$bin" --data "$data/d" village add --id shuangjiang --name 双江村 --town 朱亭镇 >/dev/null
for ((done = 0; done < entries; done += 10000)); do
  n=$((entries - done < 10000 ? entries - done : 10000))
  python3 - "$n" "$done" > "$data/rows.csv" <<'PY'
import sys
n, base = int(sys.argv[1]), int(sys.argv[2])
print("date,type,category,item,amount,project,fund,counterparty,note")
for i in range(n):
    k = base + i
    # An expense needs an expense category (the 2023 chart maps each to an account).
    income = k % 4 == 0
    print(f"2022-11-{1 + k % 28:02d},{'income' if income else 'expense'},{'上级拨款' if income else '办公费'},第{k}笔,{100 + k % 9000},,,,")
PY
  "$bin" --data "$data/d" post --village shuangjiang --file "$data/rows.csv" >/dev/null
done
"$bin" --data "$data/d" export-tiles --to "$data/tiles" >/dev/null
(cd "$data/tiles" && find shuangjiang/tile -type f | grep -v entries | sed 's|^|/logs/|') > "$data/tiles.txt"
(cd "$data/tiles" && find shuangjiang/tile/entries -type f | sed 's|^|/logs/|') > "$data/bundles.txt"
"$bin" --data "$data/d" serve --listen 127.0.0.1:$port --rate-limit 0 2>"$data/log" &
echo $! > "$data/pid"
for i in $(seq 100); do curl -sf http://127.0.0.1:$port/healthz >/dev/null && break; sleep 0.1; done
# The bare /healthz first, for scale: what this machine gives any route right now.
echo "/healthz" > "$data/healthz.txt"
for kind in healthz tiles bundles; do
  echo "== $kind: $(wc -l < "$data/$kind.txt") paths, ${seconds}s, $conns connections, 2 wrk threads"
  wrk -t2 -c"$conns" -d"${seconds}s" --latency -s bench/wrk/paths.lua http://127.0.0.1:$port -- "$data/$kind.txt" |
    grep -E 'Requests/sec|Transfer/sec|50%|99%|Non-2xx|Socket errors' || true
done
