#!/usr/bin/env bash
# A throwaway PostgreSQL cluster with logical replication enabled, for the tests and benches.
#
#   eval "$(bash tests/pg.sh start)"       # exports PGHOST PGPORT PGUSER DATABASE_URL PG_TMP_ROOT
#   bash tests/pg.sh restart "$PG_TMP_ROOT" # fast restart, same port and settings
#   bash tests/pg.sh stop "$PG_TMP_ROOT"
#
# Works as root (initdb refuses root, so the server runs as the `postgres` user) and as a
# normal user. Installs PostgreSQL from Debian's packages if no initdb is found. Port: $PGPORT
# or a free one from 55432. Everything lives in one temporary directory, removed by `stop`.
set -euo pipefail

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  local port=${1:-55432}
  while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
  echo "$port"
}

start() {
  if [ -z "$(pg_bin)" ]; then
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >&2
  fi
  local bin root port
  bin=$(pg_bin)
  root=$(mktemp -d "${TMPDIR:-/tmp}/pg-tmp.XXXXXX")
  # A failed start leaves nothing behind.
  trap 'as_pg "$bin/pg_ctl" -D "$root/data" -m immediate -w stop >/dev/null 2>&1 || true; rm -rf "$root"' ERR
  if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$root"; fi
  port=$(free_port "${PGPORT:-55432}")
  as_pg "$bin/initdb" -D "$root/data" -U postgres --auth=trust -E UTF8 --no-locale >"$root/initdb.log"
  # wal_level=logical for the capture; slots and senders for parallel tests; fsync off:
  # a throwaway cluster need not survive a power cut (a crash of Postgres itself it does).
  as_pg "$bin/pg_ctl" -D "$root/data" -l "$root/server.log" -w -t 60 -o \
    "-p $port -k $root -c listen_addresses=127.0.0.1 -c wal_level=logical -c max_replication_slots=64 -c max_wal_senders=64 -c max_connections=200 -c fsync=off" \
    start >&2
  trap - ERR
  cat <<EOF
export PG_TMP_ROOT=$root PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres
export DATABASE_URL=postgres://postgres@127.0.0.1:$port/postgres
EOF
}

restart() {
  local root=${1:?usage: pg.sh restart ROOT}
  # pg_ctl restart reuses the options of the last start (postmaster.opts).
  as_pg "$(pg_bin)/pg_ctl" -D "$root/data" -l "$root/server.log" -m fast -w -t 60 restart >&2
}

stop() {
  local root=${1:?usage: pg.sh stop ROOT}
  if [ -d "$root/data" ]; then
    as_pg "$(pg_bin)/pg_ctl" -D "$root/data" -m fast -w stop >&2 || true
  fi
  rm -rf "$root"
}

case "${1:-}" in
  start) start ;;
  restart) restart "${2:-}" ;;
  stop) stop "${2:-}" ;;
  *) echo "usage: $0 start | restart ROOT | stop ROOT" >&2; exit 2 ;;
esac
