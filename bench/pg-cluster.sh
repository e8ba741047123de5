# Sourced by the PostgreSQL benchmarks (issue #17): starts a throwaway
# PostgreSQL 15 cluster, as the tests' (tests/support/pg_cluster.h) but with
# room for two servers' connections: initdb in a temporary folder, trust
# authentication on a Unix socket there and no TCP, fsync and synchronous
# commit on (commits as durable as in production). As root, PostgreSQL runs as
# the `postgres` user. Sets:
#   $pg_dir      the folder (socket, data, log)
#   $pg_server   postgresql://postgres@SOCKET-FOLDER (append /DATABASE)
#   pg_sql SQL   runs SQL in the `postgres` database
#   pg_stop      stops the cluster and removes the folder (the caller's EXIT trap)
pg_bindir=${SUNLEDGER_PG_BINDIR:-$(pg_config --bindir 2>/dev/null || true)}
[ -x "$pg_bindir/initdb" ] || pg_bindir=/usr/lib/postgresql/15/bin
if [ ! -x "$pg_bindir/initdb" ]; then
  echo "PostgreSQL 15's server binaries (initdb, pg_ctl) not found: run scripts/install-deps" >&2
  exit 1
fi
pg_dir=$(mktemp -d /tmp/sunledger-pg.XXXXXX)
pg_as=()
if [ "$(id -u)" = 0 ]; then
  chown postgres: "$pg_dir"
  pg_as=(runuser -u postgres --)
fi
pg_stop() {
  "${pg_as[@]}" "$pg_bindir/pg_ctl" stop -m fast -w -D "$pg_dir/data" >/dev/null 2>&1 || true
  rm -rf "$pg_dir"
}
(cd "$pg_dir" && "${pg_as[@]}" "$pg_bindir/initdb" -D "$pg_dir/data" -A trust -U postgres -E UTF8 \
  --locale=C.UTF-8 -N >"$pg_dir/initdb.log" 2>&1) || { cat "$pg_dir/initdb.log" >&2; pg_stop; exit 1; }
cat >>"$pg_dir/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$pg_dir'
fsync = on
synchronous_commit = on
max_connections = 200
CONF
# SUNLEDGER_PG_STATS=1: count statements (pg_stat_statements), for pg_top_statements.
if [ "${SUNLEDGER_PG_STATS:-0}" = 1 ]; then
  echo "shared_preload_libraries = 'pg_stat_statements'" >>"$pg_dir/data/postgresql.conf"
fi
(cd "$pg_dir" && "${pg_as[@]}" "$pg_bindir/pg_ctl" start -w -t 60 -D "$pg_dir/data" -l "$pg_dir/log" >/dev/null) ||
  { cat "$pg_dir/log" >&2; pg_stop; exit 1; }
pg_server="postgresql://postgres@$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$pg_dir")"
pg_sql() { "$pg_bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$pg_dir" -U postgres -d postgres -c "$1"; }
# The statements run most often in database $1, with their calls and mean time
# (needs SUNLEDGER_PG_STATS=1 when the cluster started).
pg_top_statements() {
  "$pg_bindir/psql" -X -q -h "$pg_dir" -U postgres -d "$1" -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" \
    -c "SELECT calls, round(mean_exec_time::numeric, 3) AS mean_ms, rows, left(regexp_replace(query, '\s+', ' ', 'g'), 110) AS query
        FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = '$1')
        ORDER BY calls DESC LIMIT 25"
}

