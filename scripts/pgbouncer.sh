#!/usr/bin/env bash
# PgBouncer in front of the local PostgreSQL, for the tests and CI.
#
#   scripts/pgbouncer.sh start    # config + auth file in a fresh temporary folder, daemon started
#   scripts/pgbouncer.sh stop     # daemon stopped, folder removed
#   scripts/pgbouncer.sh status   # exit 0 when it answers
#
# Environment (defaults in brackets):
#   PGBOUNCER_PORT       port to listen on, on 127.0.0.1            [6432]
#   PGBOUNCER_POOL_MODE  transaction | session | statement          [transaction]
#   PG_URL               the PostgreSQL it fronts (host and port)  [postgresql://127.0.0.1:5432/test]
#   PGBOUNCER_POOL_SIZE  server connections per database and user  [20]
# Every database of the server is reachable through it (a "*" entry), with
# trust authentication for the users of the auth file (postgres). The folder
# of a running instance is recorded in /tmp/athanor-pgbouncer-<port>.dir.
set -euo pipefail

port=${PGBOUNCER_PORT:-6432}
mode=${PGBOUNCER_POOL_MODE:-transaction}
pool_size=${PGBOUNCER_POOL_SIZE:-20}
record="/tmp/athanor-pgbouncer-${port}.dir"
read -r pg_host pg_port <<<"$(node -e 'const u = new URL((process.env.PG_URL || "postgresql://127.0.0.1:5432/test").replace(/^[a-z0-9+]+:/, "http:")); console.log(u.hostname || "127.0.0.1", u.port || 5432)')"

bin=$(command -v pgbouncer || true)
[ -n "$bin" ] || bin=/usr/sbin/pgbouncer

answers() {
  pg_isready -h 127.0.0.1 -p "$port" -q 2>/dev/null
}

stop() {
  [ -f "$record" ] || return 0
  local dir
  dir=$(cat "$record")
  if [ -f "$dir/pgbouncer.pid" ]; then
    local pid
    pid=$(cat "$dir/pgbouncer.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -rf "$dir" "$record"
}

start() {
  [ -x "$bin" ] || { echo "pgbouncer is not installed (apt-get install pgbouncer)" >&2; exit 1; }
  case "$mode" in transaction | session | statement) ;; *) echo "PGBOUNCER_POOL_MODE must be transaction, session or statement" >&2; exit 2 ;; esac
  stop
  local dir
  dir=$(mktemp -d "/tmp/athanor-pgbouncer-${port}.XXXXXX")
  cat >"$dir/pgbouncer.ini" <<INI
[databases]
* = host=${pg_host} port=${pg_port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ${port}
unix_socket_dir = ${dir}
pool_mode = ${mode}
auth_type = trust
auth_file = ${dir}/userlist.txt
admin_users = postgres
max_client_conn = 2000
default_pool_size = ${pool_size}
max_db_connections = 0
server_reset_query = DISCARD ALL
ignore_startup_parameters = extra_float_digits
logfile = ${dir}/pgbouncer.log
pidfile = ${dir}/pgbouncer.pid
INI
  printf '"postgres" ""\n' >"$dir/userlist.txt"
  echo "$dir" >"$record"
  # PgBouncer will not run as root: as postgres, which must own the folder.
  local as=()
  if [ "$(id -u)" = 0 ]; then
    chown -R postgres "$dir"
    as=(-u postgres)
  fi
  "$bin" -d "${as[@]}" "$dir/pgbouncer.ini"
  for _ in $(seq 1 100); do answers && break; sleep 0.1; done
  answers || { echo "PgBouncer did not answer on 127.0.0.1:${port}; its log:" >&2; cat "$dir/pgbouncer.log" >&2 || true; exit 1; }
  echo "PgBouncer (pool_mode = ${mode}) on 127.0.0.1:${port} in front of ${pg_host}:${pg_port}; folder ${dir}"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) answers ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
