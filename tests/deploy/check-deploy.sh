#!/bin/sh
# Checks deploy/ (README "PostgreSQL (issue #17)", "Deployment") against the
# built sunledger: each unit's ExecStart parses and runs as `… --check` (a usage
# error, exit 2, fails), `systemd-analyze verify` accepts both units, and
# `nginx -t` accepts the proxy's config when nginx is installed or $SUNLEDGER_NGINX names
# one (else said).
# Usage: check-deploy.sh SUNLEDGER DEPLOY_DIR
set -u
bin=$1
deploy=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
fail() { echo "FAIL: $*"; failed=1; }

# The unit's ExecStart, with the installed paths replaced by this build's and a
# scratch folder, and the node's private address by loopback, port 0.
exec_start() {
  sed -n 's/^ExecStart=//p' "$1" | sed -e "s#/usr/local/bin/sunledger#$bin#" -e "s#/var/lib/\([a-z-]*\)#$work/\1#" \
    -e 's#--listen [0-9.]*:[0-9]*#--listen 127.0.0.1:0#'
}

# A node's folder: the demo's (SQLite). The unit's arguments parse; the check
# then refuses --shared-database on a SQLite file, and passes without it.
(cd "$work" && "$bin" --data "$work/sunledger" demo --no-serve >/dev/null 2>&1) || fail "demo --no-serve"
node=$(exec_start "$deploy/sunledger.service")
case "$node" in *" serve "*"--shared-database"*) ;; *) fail "sunledger.service: ExecStart is not serve --shared-database: $node" ;; esac
$node --check >"$work/out" 2>&1
rc=$?
cat "$work/out"
[ $rc = 1 ] || fail "sunledger.service: ExecStart --check exited $rc, not 1 (2 is a usage error)"
grep -q -- '--shared-database: this folder.s ledger is a SQLite file' "$work/out" ||
  fail "sunledger.service: --check did not judge --shared-database"
alone=$(echo "$node" | sed 's/ --shared-database//')
$alone --check >"$work/out" 2>&1 || { cat "$work/out"; fail "sunledger.service: ExecStart --check without --shared-database failed"; }
grep -q 'ready:' "$work/out" || fail "sunledger.service: --check did not say ready"

# The witness's unit: its folder made as README says, then serve on port 0
# for a moment (witness serve has no --check): it must start and listen.
"$bin" --data "$work/sunledger-witness" witness init --name witness.example/w1 >/dev/null 2>&1 || fail "witness init"
witness=$(exec_start "$deploy/sunledger-witness.service")
$witness >"$work/wout" 2>&1 &
pid=$!
sleep 1
if kill -0 $pid 2>/dev/null; then kill $pid; wait $pid 2>/dev/null; else cat "$work/wout"; fail "sunledger-witness.service: ExecStart did not keep running"; fi

# systemd's own reading of the units, with ExecStart's binary present.
if command -v systemd-analyze >/dev/null; then
  for unit in sunledger.service sunledger-witness.service; do
    sed "s#/usr/local/bin/sunledger#$bin#" "$deploy/$unit" >"$work/$unit"
    out=$(systemd-analyze verify "$work/$unit" 2>&1)
    # Only complaints about this unit count (not the host's other units).
    bad=$(echo "$out" | grep "$unit")
    [ -z "$bad" ] || { echo "$out"; fail "systemd-analyze verify $unit"; }
  done
else
  echo "note: no systemd-analyze; the units' syntax was not checked"
fi

# nginx -t on the proxy's config inside a minimal nginx.conf, with a
# self-signed certificate in place of the real one.
nginx=${SUNLEDGER_NGINX:-$(command -v nginx)}
if [ -n "$nginx" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=lukou.example.cn \
    -keyout "$work/privkey.pem" -out "$work/fullchain.pem" >/dev/null 2>&1 || fail "openssl req"
  sed "s#/etc/ssl/sunledger#$work#" "$deploy/nginx-sunledger.conf" >"$work/site.conf"
  { echo "pid $work/nginx.pid; error_log $work/error.log; events {}"
    echo "http { access_log off; client_body_temp_path $work/body; proxy_temp_path $work/proxy;"
    echo "  fastcgi_temp_path $work/fastcgi; uwsgi_temp_path $work/uwsgi; scgi_temp_path $work/scgi;"
    echo "  include $work/site.conf; }"; } >"$work/nginx.conf"
  "$nginx" -t -p "$work" -c "$work/nginx.conf" || fail "nginx -t"
else
  echo "note: no nginx here (Debian's nginx package); the proxy's config was not checked"
fi

[ $failed = 0 ] && echo "deploy/: every check passed"
exit $failed
