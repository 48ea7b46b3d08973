#!/usr/bin/env bash
# Installs (from Debian's packages) and starts the services the distributed mode and its tests use,
# on loopback only, idempotently: PostgreSQL 15 and nats-server with JetStream (DESIGN §8).
#
#   scripts/services.sh          install what is missing, start what is not running, print the URLs
#   scripts/services.sh stop     stop what this script started (by the PIDs it recorded)
#
# The last two lines are `PITWALL_TEST_PG_URL=…` and `PITWALL_TEST_NATS_URL=…`, so a caller can
# `eval "$(scripts/services.sh | tail -2)"`. Progress goes to stderr. State (data, logs, PID files)
# lives in $PITWALL_SERVICES_DIR (default /tmp/pitwall-services); ports in $PITWALL_PG_PORT (5432) and
# $PITWALL_NATS_PORT (4222). Nothing here is for production: the database has a fixed test password.
set -euo pipefail

DIR="${PITWALL_SERVICES_DIR:-/tmp/pitwall-services}"
PG_PORT="${PITWALL_PG_PORT:-5432}"
NATS_PORT="${PITWALL_NATS_PORT:-4222}"
PG_USER=pitwall
PG_PASSWORD=pitwall
PG_DB=pitwall_test
PG_URL="postgres://${PG_USER}:${PG_PASSWORD}@127.0.0.1:${PG_PORT}/${PG_DB}"
NATS_URL="nats://127.0.0.1:${NATS_PORT}"

say() { printf 'services: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else die "need root to run: $*"; fi
}

# Whether something accepts TCP connections on 127.0.0.1:$1.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() { # port, what, seconds
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    if listening "$1"; then return 0; fi
    sleep 0.1
  done
  die "$2 did not answer on 127.0.0.1:$1 within $3 s"
}

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

APT_UPDATED=
install_missing() {
  local missing=()
  [ -n "$(pg_bin)" ] && [ -x "$(pg_bin)/initdb" ] || missing+=(postgresql)
  command -v nats-server >/dev/null || missing+=(nats-server)
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing ${missing[*]} from Debian's packages"
  if [ -z "$APT_UPDATED" ]; then as_root apt-get update -qq >&2; APT_UPDATED=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
}

# PostgreSQL refuses to run as root: the cluster belongs to the `postgres` user when we are root.
pg_run() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Whether our role and test database answer on 127.0.0.1:$1 (creating the database if the role can).
pg_ours() {
  local url="postgres://${PG_USER}:${PG_PASSWORD}@127.0.0.1:$1/${PG_DB}"
  PGPASSWORD="$PG_PASSWORD" psql "$url" -Atqc 'select 1' >/dev/null 2>&1 && return 0
  PGPASSWORD="$PG_PASSWORD" psql -h 127.0.0.1 -p "$1" -U "$PG_USER" -d postgres -qc "CREATE DATABASE $PG_DB" >/dev/null 2>&1
}

start_pg() {
  local bin data="$DIR/pg"
  bin="$(pg_bin)"
  # A server someone else runs on the port (a distribution's own cluster, started by its package) knows
  # nothing of our role: unless a port was asked for, ours goes on the next free one.
  while listening "$PG_PORT" && ! pg_ours "$PG_PORT"; do
    [ -n "${PITWALL_PG_PORT:-}" ] && die "a PostgreSQL server on 127.0.0.1:$PG_PORT does not take role $PG_USER; pick another PITWALL_PG_PORT"
    say "127.0.0.1:$PG_PORT is another server's; trying $((PG_PORT + 1))"
    PG_PORT=$((PG_PORT + 1))
  done
  if listening "$PG_PORT"; then
    say "PostgreSQL already answers on 127.0.0.1:$PG_PORT"
  else
    mkdir -p "$DIR"
    if [ ! -s "$data/PG_VERSION" ]; then
      say "creating a private PostgreSQL cluster in $data"
      mkdir -p "$data"
      printf '%s\n' "$PG_PASSWORD" >"$DIR/pg.pw"
      if [ "$(id -u)" -eq 0 ]; then chown postgres: "$data" "$DIR/pg.pw"; chmod 700 "$data"; fi
      pg_run "$bin/initdb" -D "$data" -U "$PG_USER" --pwfile="$DIR/pg.pw" --auth-local=trust \
        --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1 || {
        cat "$DIR/initdb.log" >&2
        die "initdb failed"
      }
      rm -f "$DIR/pg.pw"
    fi
    say "starting PostgreSQL on 127.0.0.1:$PG_PORT"
    [ "$(id -u)" -eq 0 ] && touch "$DIR/pg.log" && chown postgres: "$DIR/pg.log"
    pg_run "$bin/pg_ctl" -D "$data" -l "$DIR/pg.log" -w -t 60 \
      -o "-p $PG_PORT -k $data -c listen_addresses=127.0.0.1 -c max_connections=200" start >&2 ||
      { tail -20 "$DIR/pg.log" >&2; die "PostgreSQL did not start"; }
    echo started >"$DIR/pg.started"
    wait_for "$PG_PORT" PostgreSQL 60
    pg_ours "$PG_PORT" || die "cannot create database $PG_DB on 127.0.0.1:$PG_PORT as $PG_USER"
  fi
  PG_URL="postgres://${PG_USER}:${PG_PASSWORD}@127.0.0.1:${PG_PORT}/${PG_DB}"
}

start_nats() {
  if listening "$NATS_PORT"; then
    say "NATS already answers on 127.0.0.1:$NATS_PORT"
  else
    mkdir -p "$DIR/nats"
    say "starting nats-server with JetStream on 127.0.0.1:$NATS_PORT"
    nohup nats-server -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$DIR/nats" >"$DIR/nats.log" 2>&1 &
    echo $! >"$DIR/nats.pid"
  fi
  wait_for "$NATS_PORT" nats-server 30
}

stop_all() {
  local bin
  bin="$(pg_bin)"
  if [ -f "$DIR/pg.started" ] && [ -s "$DIR/pg/postmaster.pid" ]; then
    say "stopping PostgreSQL"
    pg_run "$bin/pg_ctl" -D "$DIR/pg" -m fast stop >&2 || true
    rm -f "$DIR/pg.started"
  fi
  if [ -f "$DIR/nats.pid" ]; then
    say "stopping nats-server"
    kill "$(cat "$DIR/nats.pid")" 2>/dev/null || true
    rm -f "$DIR/nats.pid"
  fi
}

case "${1:-start}" in
  start)
    install_missing
    start_pg
    start_nats
    echo "PITWALL_TEST_PG_URL=$PG_URL"
    echo "PITWALL_TEST_NATS_URL=$NATS_URL"
    ;;
  stop) stop_all ;;
  *) die "usage: $0 [start|stop]" ;;
esac
