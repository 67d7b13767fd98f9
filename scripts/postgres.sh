# A throwaway PostgreSQL server for the database tests and the benchmark.
#
#   source scripts/postgres.sh
#   start_postgres      # -> exports PG_URL=postgresql+psycopg2://postgres@127.0.0.1:PORT/policy_test
#   ...
#   stop_postgres       # stops the server and removes the cluster
#
# The cluster lives under var/pg (data, log, port); the server listens on
# 127.0.0.1 only, on the first free port from 55432, with trust authentication
# and durability switched off (it is thrown away). Installs Debian's
# `postgresql` package when no server binaries are found. Both functions are
# idempotent, silent on success, and print the server log on failure.
# Meant to be sourced (it defines functions and exports PG_URL); safe under
# `set -euo pipefail`.
#
#   halt_postgres       # stops the server, keeps the cluster: the next start_postgres
#                       # starts it again on the same port with its data (a restart)
# PG_BASE_DIR puts the cluster elsewhere; PG_MAX_CONNECTIONS (default 50) for several
# Rasa instances and action servers, each with its own connection pool.

_PG_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_PG_BASE="${PG_BASE_DIR:-$_PG_ROOT/var/pg}"  # PG_BASE_DIR: another cluster (scripts/run-scaled.sh)
_PG_DB="${PG_DB_NAME:-policy_test}"
_PG_SUPERUSER=postgres

_pg_err() { echo "postgres.sh: $*" >&2; }

# Directory holding pg_ctl/initdb/postgres (newest version), or nothing.
_pg_bindir() {
  local d found=""
  if [ -n "${PG_BINDIR:-}" ] && [ -x "$PG_BINDIR/pg_ctl" ]; then echo "$PG_BINDIR"; return 0; fi
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V); do
    if [ -x "$d/pg_ctl" ] && [ -x "$d/initdb" ] && [ -x "$d/postgres" ]; then found="$d"; fi
  done
  if [ -z "$found" ] && command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
    found="$(dirname "$(readlink -f "$(command -v pg_ctl)")")"
  fi
  [ -n "$found" ] && echo "$found"
}

_pg_install() {
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo -n"; else
      _pg_err "PostgreSQL is not installed and we are not root: install Debian's 'postgresql' package"; return 1
    fi
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    _pg_err "PostgreSQL is not installed and apt-get is not available: install PostgreSQL (pg_ctl, initdb)"; return 1
  fi
  local log; log="$(mktemp)"
  if ! { $sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends postgresql; } >"$log" 2>&1; then
    tail -n 30 "$log" >&2; rm -f "$log"
    _pg_err "could not install Debian's postgresql package"; return 1
  fi
  rm -f "$log"
}

# Run a command as the cluster's OS owner: `postgres` when we are root (initdb
# and postgres refuse to run as root), ourselves otherwise. From / so that the
# owner never trips over an unreadable working directory.
_pg_as() {
  if [ "$(id -u)" = 0 ]; then
    if command -v runuser >/dev/null 2>&1; then
      (cd / && runuser -u postgres -- "$@")
    else
      (cd / && su -s /bin/sh postgres -c "$(printf '%q ' "$@")")
    fi
  else
    (cd / && "$@")
  fi
}

_pg_port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Where the server's own files live: var/pg, or a /tmp directory that var/pg/home
# points to when the postgres user cannot reach var/pg (e.g. a checkout under /root).
_pg_home() { if [ -L "$_PG_BASE/home" ]; then readlink "$_PG_BASE/home"; else echo "$_PG_BASE"; fi; }
_pg_data() { echo "$(_pg_home)/data"; }
_pg_log() { echo "$(_pg_home)/log"; }

_pg_running() {
  local bindir="$1" data; data="$(_pg_data)"
  [ -f "$data/postmaster.pid" ] && [ -f "$_PG_BASE/port" ] && _pg_as "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1
}

_pg_fail() {
  # $1: message. Shows the server log, then removes the half-made cluster.
  local log; log="$(_pg_log)"
  _pg_err "$1"
  if [ -s "$log" ]; then
    echo "---- $log (last 30 lines)" >&2
    tail -n 30 "$log" >&2
    echo "----" >&2
  fi
  stop_postgres || true
  return 1
}

start_postgres() {
  local bindir data log port host=127.0.0.1 n
  bindir="$(_pg_bindir || true)"
  if [ -z "$bindir" ]; then
    _pg_install || return 1
    bindir="$(_pg_bindir || true)"
    [ -n "$bindir" ] || { _pg_err "postgresql installed but pg_ctl/initdb not found under /usr/lib/postgresql/*/bin"; return 1; }
  fi
  if _pg_running "$bindir"; then  # already started by an earlier call: reuse it
    port="$(cat "$_PG_BASE/port")"
  elif [ -f "$_PG_BASE/halted" ] && [ -f "$_PG_BASE/port" ]; then  # halt_postgres: start it again
    port="$(cat "$_PG_BASE/port")"
    if ! _pg_as "$bindir/pg_ctl" -D "$(_pg_data)" -l "$(_pg_log)" -o "$(cat "$_PG_BASE/opts")" -w -t 60 start \
        >/dev/null 2>&1; then
      _pg_fail "the server did not start again"; return 1
    fi
    rm -f "$_PG_BASE/halted"
  else
    stop_postgres || true  # leftovers of a crashed run
    if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
      useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin postgres \
        || { _pg_err "could not create the postgres OS user"; return 1; }
    fi
    mkdir -p "$_PG_BASE" || { _pg_err "cannot create $_PG_BASE"; return 1; }
    [ "$(id -u)" = 0 ] && chown postgres: "$_PG_BASE"
    if ! _pg_as test -w "$_PG_BASE"; then
      # e.g. the checkout is under /root, which the postgres user cannot enter
      local tmp; tmp="$(mktemp -d /tmp/policy-pg.XXXXXX)"
      chmod 700 "$tmp"; [ "$(id -u)" = 0 ] && chown postgres: "$tmp"
      ln -sfn "$tmp" "$_PG_BASE/home"
    fi
    data="$(_pg_data)"; log="$(_pg_log)"
    touch "$log" && { [ "$(id -u)" != 0 ] || chown postgres: "$log"; }

    if ! _pg_as "$bindir/initdb" -D "$data" -U "$_PG_SUPERUSER" --auth=trust -E UTF8 --locale=C \
        >>"$log" 2>&1; then
      _pg_fail "initdb failed"; return 1
    fi

    port="${PG_PORT:-55432}"
    for n in $(seq 0 50); do
      _pg_port_free "$port" && break
      port=$((port + 1))
    done
    _pg_port_free "$port" || { _pg_fail "no free port from ${PG_PORT:-55432}"; return 1; }
    echo "$port" >"$_PG_BASE/port"

    # listen on 127.0.0.1 only, no Unix socket (paths may be too long); throwaway: no durability
    local opts="-c listen_addresses=$host -p $port -c unix_socket_directories='' -c fsync=off"
    opts="$opts -c synchronous_commit=off -c full_page_writes=off -c max_connections=${PG_MAX_CONNECTIONS:-50}"
    echo "$opts" >"$_PG_BASE/opts"
    if ! _pg_as "$bindir/pg_ctl" -D "$data" -l "$log" -o "$opts" -w -t 60 start >/dev/null 2>&1; then
      _pg_fail "the server did not start"; return 1
    fi
  fi

  # ready for connections, and the database exists
  for n in $(seq 1 60); do
    "$bindir/pg_isready" -q -h "$host" -p "$port" -U "$_PG_SUPERUSER" -d postgres && break
    sleep 0.5
  done
  "$bindir/pg_isready" -q -h "$host" -p "$port" -U "$_PG_SUPERUSER" -d postgres \
    || { _pg_fail "the server on $host:$port is not accepting connections"; return 1; }
  local psql=("$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$host" -p "$port" -U "$_PG_SUPERUSER")
  log="$(_pg_log)"
  if [ "$("${psql[@]}" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$_PG_DB'" 2>>"$log")" != 1 ]; then
    "${psql[@]}" -d postgres -c "CREATE DATABASE $_PG_DB" >>"$log" 2>&1 \
      || { _pg_fail "could not create database $_PG_DB"; return 1; }
  fi
  export PG_URL="postgresql+psycopg2://$_PG_SUPERUSER@$host:$port/$_PG_DB"
}

halt_postgres() {
  local bindir; bindir="$(_pg_bindir || true)"
  [ -n "$bindir" ] && [ -f "$(_pg_data)/postmaster.pid" ] || return 0
  _pg_as "$bindir/pg_ctl" -D "$(_pg_data)" -m fast -w -t 60 stop >/dev/null 2>&1 \
    || _pg_as "$bindir/pg_ctl" -D "$(_pg_data)" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
  touch "$_PG_BASE/halted"
}

stop_postgres() {
  local bindir data target
  [ -e "$_PG_BASE" ] || return 0
  data="$(_pg_data)"
  bindir="$(_pg_bindir || true)"
  if [ -n "$bindir" ] && [ -f "$data/postmaster.pid" ]; then
    if ! _pg_as "$bindir/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null 2>&1; then
      _pg_as "$bindir/pg_ctl" -D "$data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    fi
    if [ -f "$data/postmaster.pid" ] && _pg_as "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
      _pg_err "could not stop the server in $data"; return 1
    fi
  fi
  if [ -L "$_PG_BASE/home" ]; then
    target="$(readlink "$_PG_BASE/home")"
    case "$target" in /tmp/policy-pg.*) rm -rf "$target" ;; esac
  fi
  rm -rf "$_PG_BASE"
  unset PG_URL
  return 0
}
