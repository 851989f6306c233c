#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the store tests (tests/controller/store):
#   pg-cluster.sh start STATE_DIR   initdb in a new temp directory, start it on
#                                   127.0.0.1 at a free port, write the DSN to
#                                   STATE_DIR/dsn
#   pg-cluster.sh stop STATE_DIR    stop it and delete its directory
# CTest runs start as a FIXTURES_SETUP test and stop as its FIXTURES_CLEANUP
# (tests/controller/store/CMakeLists.txt). initdb refuses to run as root, so
# the server runs as the postgres system user, in a directory it owns;
# durability is off (fsync, synchronous_commit): the data lives for one run.
set -euo pipefail

bin=${PSO_PG_BIN:-/usr/lib/postgresql/15/bin}
action=${1:-}
state=${2:-}
if [ -z "$action" ] || [ -z "$state" ]; then
  echo "usage: $0 start|stop STATE_DIR" >&2
  exit 2
fi

# Runs a server binary as the cluster's owner (root cannot own a cluster).
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

stop_cluster() {
  [ -f "$state/datadir" ] || return 0
  local tmp
  tmp=$(cat "$state/datadir")
  if [ -f "$tmp/data/postmaster.pid" ]; then
    as_owner "$bin/pg_ctl" -D "$tmp/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$tmp"
  rm -f "$state/datadir" "$state/dsn"
}

case "$action" in
  start)
    if [ ! -x "$bin/initdb" ]; then
      echo "pg-cluster: $bin/initdb not found; install postgresql-15 (installers/install-deps.sh)" >&2
      exit 1
    fi
    mkdir -p "$state"
    stop_cluster
    tmp=$(mktemp -d /tmp/pso-pg-XXXXXX)
    echo "$tmp" >"$state/datadir"
    if [ "$(id -u)" -eq 0 ]; then
      chown postgres: "$tmp"
    fi
    chmod 700 "$tmp"
    if ! as_owner "$bin/initdb" -D "$tmp/data" -U postgres --auth=trust -E UTF8 --no-locale \
        >"$tmp/initdb.log" 2>&1; then
      cat "$tmp/initdb.log" >&2
      echo "pg-cluster: initdb failed" >&2
      exit 1
    fi
    # A port nobody listens on: try a few random ones, a server that cannot
    # bind does not start.
    for attempt in 1 2 3 4 5 6 7 8 9 10; do
      port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
      if as_owner "$bin/pg_ctl" -D "$tmp/data" -l "$tmp/server.log" -w -t 60 \
          -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$tmp \
              -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
              -c max_connections=200 -c shared_buffers=64MB" start >/dev/null 2>&1; then
        echo "host=127.0.0.1 port=$port user=postgres dbname=postgres" >"$state/dsn"
        echo "pg-cluster: PostgreSQL on 127.0.0.1:$port ($tmp)"
        exit 0
      fi
      echo "pg-cluster: attempt $attempt on port $port failed" >&2
    done
    tail -n 20 "$tmp/server.log" >&2 || true
    echo "pg-cluster: the server did not start" >&2
    exit 1
    ;;
  stop)
    stop_cluster
    ;;
  *)
    echo "usage: $0 start|stop STATE_DIR" >&2
    exit 2
    ;;
esac
