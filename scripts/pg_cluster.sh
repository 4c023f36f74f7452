#!/usr/bin/env bash
# A throwaway PostgreSQL + PostGIS cluster for the tests and benchmarks, on 127.0.0.1.
#
#   bash scripts/pg_cluster.sh start DIR [PORT]   # prints the database URL on its last line
#                                                 # (without PORT, a free port is chosen)
#   bash scripts/pg_cluster.sh stop DIR
#
# Needs Debian's postgresql-15 and postgresql-15-postgis-3 (installed by .ci/run). The cluster lives
# in DIR (its data, socket and log); as root, it runs as the "postgres" user, since PostgreSQL
# refuses to run as root. The database "essmap" is created with the postgis extension.
set -euo pipefail
action=${1:?start or stop}
dir=${2:?cluster folder}
port=${3:-}
if [ -z "$port" ]; then
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
fi
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  echo "scripts/pg_cluster.sh: PostgreSQL is missing (apt-get install postgresql postgresql-15-postgis-3)" >&2
  exit 1
fi
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case "$action" in
  start)
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as_owner "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-locale >"$dir/initdb.log"
    fi
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200" start >/dev/null
    as_owner "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -qtA \
      -c "SELECT 1 FROM pg_database WHERE datname = 'essmap'" | grep -q 1 ||
      as_owner "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -q -c "CREATE DATABASE essmap"
    as_owner "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d essmap -q \
      -c "CREATE EXTENSION IF NOT EXISTS postgis" >/dev/null
    echo "postgresql://postgres@127.0.0.1:$port/essmap"
    ;;
  stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
      as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    fi
    ;;
  *)
    echo "usage: scripts/pg_cluster.sh start|stop DIR [PORT]" >&2
    exit 2
    ;;
esac
