# A throwaway Redis server for the channel tests (shared duplicate filter).
#
#   source scripts/redis.sh
#   start_redis      # -> exports TEST_REDIS_URL=redis://127.0.0.1:PORT/0
#   ...
#   stop_redis       # stops the server and removes its directory
#
# The server lives under var/redis (pid, log, port); it listens on 127.0.0.1
# only, on the first free port from 56379, without persistence (it is thrown
# away). Installs Debian's `redis-server` package when no `redis-server` binary
# is found. Both functions are idempotent and silent on success; start_redis
# prints why and returns 1 when Redis cannot be had (the Redis tests then skip).
# Meant to be sourced; safe under `set -euo pipefail`.

_REDIS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_REDIS_BASE="${REDIS_BASE_DIR:-$_REDIS_ROOT/var/redis}"  # REDIS_BASE_DIR: another server (scripts/run-scaled.sh)

_redis_err() { echo "redis.sh: $*" >&2; }

_redis_port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

_redis_install() {
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo -n"; else
      _redis_err "redis-server is not installed and we are not root: install Debian's 'redis-server' package"; return 1
    fi
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    _redis_err "redis-server is not installed and apt-get is not available"; return 1
  fi
  local log; log="$(mktemp)"
  if ! { $sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends redis-server; } >"$log" 2>&1; then
    tail -n 30 "$log" >&2; rm -f "$log"
    _redis_err "could not install Debian's redis-server package"; return 1
  fi
  rm -f "$log"
}

_redis_running() {
  [ -f "$_REDIS_BASE/pid" ] && [ -f "$_REDIS_BASE/port" ] && kill -0 "$(cat "$_REDIS_BASE/pid")" 2>/dev/null
}

start_redis() {
  local port n
  if ! command -v redis-server >/dev/null 2>&1; then
    _redis_install || return 1
    command -v redis-server >/dev/null 2>&1 || { _redis_err "redis-server installed but not on PATH"; return 1; }
  fi
  if ! _redis_running; then
    stop_redis || true  # leftovers of a crashed run
    mkdir -p "$_REDIS_BASE" && chmod 700 "$_REDIS_BASE" || { _redis_err "cannot create $_REDIS_BASE"; return 1; }
    port="${REDIS_TEST_PORT:-56379}"
    for n in $(seq 0 50); do
      _redis_port_free "$port" && break
      port=$((port + 1))
    done
    _redis_port_free "$port" || { _redis_err "no free port from ${REDIS_TEST_PORT:-56379}"; return 1; }
    echo "$port" >"$_REDIS_BASE/port"
    # loopback only, no disk writes, no Unix socket
    if ! redis-server --bind 127.0.0.1 --port "$port" --protected-mode yes --save "" --appendonly no \
        --daemonize yes --pidfile "$_REDIS_BASE/pid" --logfile "$_REDIS_BASE/log" --dir "$_REDIS_BASE" \
        >/dev/null 2>&1; then
      _redis_err "the server did not start"; tail -n 20 "$_REDIS_BASE/log" >&2 2>/dev/null; return 1
    fi
  fi
  port="$(cat "$_REDIS_BASE/port")"
  for n in $(seq 1 50); do
    if redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG; then
      export TEST_REDIS_URL="redis://127.0.0.1:$port/0"
      return 0
    fi
    sleep 0.1
  done
  _redis_err "the server on 127.0.0.1:$port does not answer"; tail -n 20 "$_REDIS_BASE/log" >&2 2>/dev/null
  stop_redis || true
  return 1
}

stop_redis() {
  local pid n
  [ -e "$_REDIS_BASE" ] || return 0
  if [ -f "$_REDIS_BASE/pid" ]; then
    pid="$(cat "$_REDIS_BASE/pid")"
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for n in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    fi
  fi
  rm -rf "$_REDIS_BASE"
  unset TEST_REDIS_URL
  return 0
}
