# Sourced by the load scripts: starts `sunledger serve` on demo data in a
# fresh folder $data, listening on 127.0.0.1:$port, and waits until it answers.
# Sets $pid; the caller's EXIT trap stops it and removes $data.
bin=${SUNLEDGER_BIN:-./build/sunledger}  # another build to compare: SUNLEDGER_BIN=path
data=$(mktemp -d)
"$bin" --data "$data/d" demo --no-serve 2>/dev/null
# The demo's generic bot gets a push_url, so it has a private channel: group
# complaints send their receipts privately, to a sink on loopback that
# answers 200 (bench/wrk/push_sink.py), as a real bridge would.
sink_port=$((port + 1))
python3 bench/wrk/push_sink.py $sink_port &
echo $! > "$data/sink.pid"
python3 - "$data/d/bots.json" "http://127.0.0.1:$sink_port/push" <<'PY'
import json, sys
cfg = json.load(open(sys.argv[1]))
cfg["bots"][0]["push_url"] = sys.argv[2]
json.dump(cfg, open(sys.argv[1], "w"))
PY
# One official posts thousands of entries a second here, far beyond the
# per-sender chat limit meant for people: the limit is off for load tests.
"$bin" --data "$data/d" serve --listen 127.0.0.1:$port --rate-limit 0 2>"$data/log" &
pid=$!
echo $pid > "$data/pid"
for i in $(seq 50); do curl -sf http://127.0.0.1:$port/healthz >/dev/null && break; sleep 0.1; done
