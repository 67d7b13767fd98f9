#!/usr/bin/env bash
# `make run-scaled`: the assistant as several instances behind a load balancer, on loopback.
#
#   scripts/run-scaled.sh              start everything, print the addresses, stop on Ctrl+C
#   scripts/run-scaled.sh up           start everything in the background; return once healthy
#   scripts/run-scaled.sh down         stop everything (PostgreSQL's data is kept for the next up)
#   scripts/run-scaled.sh down --purge stop everything and delete the cluster and the logs
#   scripts/run-scaled.sh stop NAME    stop one piece:  rasa-1 … rasa-N, actions-1 … actions-N,
#   scripts/run-scaled.sh start NAME                    redis, postgres, balancer
#   scripts/run-scaled.sh status       the balancer's view of every instance
#
# Layout (every address is 127.0.0.1):
#   HAProxy :5005  → rasa-1 :5105, rasa-2 :5106 …     round robin, health check GET / each second
#   HAProxy :5055  → actions-1 :5155, actions-2 :5156  (GET /health)
#   HAProxy :8404  /stats (CSV: /stats;csv) — which instance is up
#   PostgreSQL (first free port from 55432): database `tracker` (Rasa's SQL tracker store, no
#              in-process cache) and `measures` (the measures database, built from seeds/)
#   Redis (first free port from 56379): db 0 Rasa's lock store, db 1 the WeChat/WeCom duplicate filter
# Every Rasa instance is `bot.runtime.launch run --endpoints endpoints.scaled.yml`: any instance can
# take any turn, so the balancer needs no sticky sessions and an instance can die at any time.
#
# HAProxy rather than nginx: open-source nginx only notices a dead server when a request to it
# fails; HAProxy checks each instance every second and stops sending it traffic after two
# failed checks, and retries a request whose connection was refused on another instance.
# Behind the balancer every request carries X-Forwarded-For, so the REST channel asks for
# RASA_REST_TOKEN and the action servers for ACTION_SERVER_SECRET (generated when unset).
#
# Settings (environment): SCALED_INSTANCES (2), SCALED_HOME (var/scaled: state, logs, the
# cluster), SCALED_PORT (5005), SCALED_ACTIONS_PORT (5055), SCALED_STATS_PORT (8404),
# SCALED_RASA_PORTS / SCALED_ACTION_PORTS (space-separated; default from 5105 / 5155),
# TICKET_LOCK_LIFETIME (15 s: how long a turn may hold its conversation's lock before
# another turn of it may go ahead — what a turn stuck on a dead instance costs the next one).
# Secrets: RASA_TOKEN, RASA_REST_TOKEN, WIDGET_SECRET, ACTION_SERVER_SECRET (generated when
# unset), WECHAT_* / WECOM_* passed to every instance; kept in $SCALED_HOME/env (0600) so
# that a restarted piece gets the same ones.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
umask 077
export RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=3 SQLALCHEMY_SILENCE_UBER_WARNING=1 PYTHONHASHSEED=0
PY="$ROOT/.venv/bin/python"
HOME_DIR="$(mkdir -p "${SCALED_HOME:-var/scaled}" && cd "${SCALED_HOME:-var/scaled}" && pwd)"
STATE="$HOME_DIR/env"
mkdir -p "$HOME_DIR/log" "$HOME_DIR/pids"
export PG_BASE_DIR="$HOME_DIR/pg" REDIS_BASE_DIR="$HOME_DIR/redis" PG_DB_NAME=measures PG_MAX_CONNECTIONS=200
source scripts/postgres.sh
source scripts/redis.sh

say() { echo "run-scaled: $*" >&2; }

install_haproxy() {
  command -v haproxy >/dev/null 2>&1 && return 0
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
    || { say "HAProxy is not installed: install Debian's 'haproxy' package"; return 1; }
  say "installing Debian's haproxy package …"
  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends haproxy; } \
    >"$HOME_DIR/log/apt.log" 2>&1 || { tail -n 20 "$HOME_DIR/log/apt.log" >&2; return 1; }
}

secret() { "$PY" -c 'import secrets; print(secrets.token_urlsafe(24))'; }

# ---------------------------------------------------------------------------- state
write_state() {
  local n="${SCALED_INSTANCES:-2}" i rasa_ports="" action_ports=""
  for i in $(seq 1 "$n"); do
    rasa_ports="$rasa_ports $((5104 + i))"; action_ports="$action_ports $((5154 + i))"
  done
  {
    printf 'export %s=%q\n' \
      SCALED_INSTANCES "$n" \
      SCALED_MODEL "$SCALED_MODEL" \
      SCALED_PORT "${SCALED_PORT:-5005}" \
      SCALED_ACTIONS_PORT "${SCALED_ACTIONS_PORT:-5055}" \
      SCALED_STATS_PORT "${SCALED_STATS_PORT:-8404}" \
      SCALED_RASA_PORTS "${SCALED_RASA_PORTS:-${rasa_ports# }}" \
      SCALED_ACTION_PORTS "${SCALED_ACTION_PORTS:-${action_ports# }}" \
      TICKET_LOCK_LIFETIME "${TICKET_LOCK_LIFETIME:-15}" \
      RASA_TOKEN "${RASA_TOKEN:-$(secret)}" \
      RASA_REST_TOKEN "${RASA_REST_TOKEN:-$(secret)}" \
      WIDGET_SECRET "${WIDGET_SECRET:-$(secret)}" \
      ACTION_SERVER_SECRET "${ACTION_SERVER_SECRET:-$(secret)}"
    local v
    for v in $(compgen -e | grep -E '^(WECHAT|WECOM)_' || true); do printf 'export %s=%q\n' "$v" "${!v}"; done
  } >"$STATE"
}

load_state() {
  [ -f "$STATE" ] || { say "not started (no $STATE): run scripts/run-scaled.sh up"; exit 1; }
  source "$STATE"
  read -r -a RASA_PORTS <<<"$SCALED_RASA_PORTS"
  read -r -a ACTION_PORTS <<<"$SCALED_ACTION_PORTS"
}

# ---------------------------------------------------------------------------- processes
pidfile() { echo "$HOME_DIR/pids/$1"; }
running() { local f; f="$(pidfile "$1")"; [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null; }

spawn() {  # NAME COMMAND…: in a session of its own (Ctrl+C in this terminal is ours to handle)
  local name="$1"; shift
  running "$name" && return 0
  setsid "$@" >>"$HOME_DIR/log/$name.log" 2>&1 </dev/null &
  echo $! >"$(pidfile "$name")"
}

halt() {  # NAME: SIGTERM, then SIGKILL after 20 s
  local f pid n; f="$(pidfile "$1")"
  [ -f "$f" ] || return 0
  pid="$(cat "$f")"
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for n in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

db_url() { echo "postgresql+psycopg2://postgres@127.0.0.1:$(cat "$PG_BASE_DIR/port")/$1"; }

start_postgres_server() {
  start_postgres >/dev/null || return 1
  local port; port="$(cat "$PG_BASE_DIR/port")"
  local psql=(psql -X -q -h 127.0.0.1 -p "$port" -U postgres)
  if [ "$("${psql[@]}" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'tracker'")" != 1 ]; then
    "${psql[@]}" -d postgres -c "CREATE DATABASE tracker" >/dev/null
  fi
}

start_redis_server() {
  local port=""; [ -f "$REDIS_BASE_DIR/port" ] && port="$(cat "$REDIS_BASE_DIR/port")"
  [ -n "$port" ] || port="$(cat "$HOME_DIR/redis.port" 2>/dev/null || true)"
  REDIS_TEST_PORT="${port:-56379}" start_redis || return 1
  cat "$REDIS_BASE_DIR/port" >"$HOME_DIR/redis.port"  # the same port after a restart
}

instance_env() {  # the environment of every Rasa instance and action server
  local pg_port redis_port
  pg_port="$(cat "$PG_BASE_DIR/port")"; redis_port="$(cat "$HOME_DIR/redis.port")"
  echo ACTION_ENDPOINT_URL="http://127.0.0.1:$SCALED_ACTIONS_PORT/webhook" \
    TRACKER_HOST=127.0.0.1 TRACKER_PORT="$pg_port" TRACKER_DB=tracker TRACKER_USER=postgres TRACKER_PASSWORD= \
    REDIS_HOST=127.0.0.1 REDIS_PORT="$redis_port" REDIS_LOCK_DB=0 REDIS_PASSWORD= \
    REDIS_URL="redis://127.0.0.1:$redis_port/1" DATABASE_URL="$(db_url measures)" \
    SQL_POOL_SIZE=10 SQL_MAX_OVERFLOW=20 SANIC_WORKERS=1
}

start_piece() {
  local name="$1" i port model
  case "$name" in
    postgres) start_postgres_server ;;
    redis) start_redis_server ;;
    actions-*)
      i="${name#actions-}"; port="${ACTION_PORTS[$((i - 1))]}"
      spawn "$name" env $(instance_env) "$PY" -m bot.runtime.launch run actions --port "$port" --actions actions ;;
    rasa-*)
      i="${name#rasa-}"; port="${RASA_PORTS[$((i - 1))]}"
      spawn "$name" env $(instance_env) "$PY" -m bot.runtime.launch run -m "$SCALED_MODEL" --port "$port" --enable-api \
        --cors "*" --credentials credentials.yml --endpoints endpoints.scaled.yml ;;
    balancer) write_haproxy_cfg && spawn balancer haproxy -db -f "$HOME_DIR/haproxy.cfg" ;;
    *) say "unknown piece '$name'"; return 1 ;;
  esac
}

stop_piece() {
  case "$1" in
    postgres) halt_postgres ;;
    redis) stop_redis ;;
    *) halt "$1" ;;
  esac
}

write_haproxy_cfg() {
  local i
  {
    cat <<CFG
# generated by scripts/run-scaled.sh
global
    maxconn 4000
    log stdout format raw local0 info
defaults
    mode http
    log global
    option httplog
    timeout connect 2s
    timeout client 120s
    timeout server 120s
    timeout http-request 10s
    # a request whose connection was refused (instance gone) goes to another instance;
    # one that reached an instance is never sent twice (it may have been answered)
    retries 2
    option redispatch 1
    retry-on conn-failure
    option forwardfor
    # health check each second (each 250 ms once one failed), out after 2 failures; and out at
    # once when a connection to it fails or is cut (a killed instance: no wait for the checks)
    default-server inter 1s fastinter 250ms fall 2 rise 2 observe layer4 error-limit 1 on-error mark-down
frontend rasa
    bind 127.0.0.1:$SCALED_PORT
    default_backend rasa
backend rasa
    balance roundrobin
    option httpchk GET /
    http-check expect status 200
CFG
    for i in "${!RASA_PORTS[@]}"; do echo "    server rasa-$((i + 1)) 127.0.0.1:${RASA_PORTS[$i]} check"; done
    cat <<CFG
frontend actions
    bind 127.0.0.1:$SCALED_ACTIONS_PORT
    default_backend actions
backend actions
    balance roundrobin
    option httpchk GET /health
    http-check expect status 200
CFG
    for i in "${!ACTION_PORTS[@]}"; do echo "    server actions-$((i + 1)) 127.0.0.1:${ACTION_PORTS[$i]} check"; done
    cat <<CFG
frontend stats
    bind 127.0.0.1:$SCALED_STATS_PORT
    stats enable
    stats uri /stats
    stats refresh 5s
CFG
  } >"$HOME_DIR/haproxy.cfg"
  haproxy -c -q -f "$HOME_DIR/haproxy.cfg"
}

# ---------------------------------------------------------------------------- health
all_up() {  # every server of every backend UP in the balancer's health checks
  local csv
  csv="$(curl -fs "http://127.0.0.1:$SCALED_STATS_PORT/stats;csv" 2>/dev/null)" || return 1
  [ "$(echo "$csv" | awk -F, '$1 ~ /^(rasa|actions)$/ && $2 !~ /^(FRONTEND|BACKEND)$/ && $18 != "UP"' | wc -l)" = 0 ] \
    && [ "$(echo "$csv" | awk -F, '$1 ~ /^(rasa|actions)$/ && $18 == "UP"' | grep -vc -E 'FRONTEND|BACKEND')" \
         = $((2 * SCALED_INSTANCES)) ]
}

status() {
  curl -fs "http://127.0.0.1:$SCALED_STATS_PORT/stats;csv" \
    | awk -F, '$1 ~ /^(rasa|actions)$/ && $2 !~ /^(FRONTEND|BACKEND)$/ {print $2, $18, $37}'
}

wait_healthy() {
  local n
  for n in $(seq 1 "${1:-300}"); do
    all_up && return 0
    local p
    for p in $(ls "$HOME_DIR/pids"); do
      running "$p" || { say "$p exited; the end of its log:"; tail -n 20 "$HOME_DIR/log/$p.log" >&2; return 1; }
    done
    sleep 1
  done
  say "not healthy after ${1:-300} s:"; status >&2 || true
  return 1
}

# ---------------------------------------------------------------------------- commands
up() {
  install_haproxy
  "$PY" -m bot lexicon >/dev/null
  SCALED_MODEL="$("$PY" -m bot.runtime.model)"  # trains only when its inputs changed
  if [ -f "$STATE" ]; then  # pieces still running from an earlier up keep their secrets
    local v
    for v in RASA_TOKEN RASA_REST_TOKEN WIDGET_SECRET ACTION_SERVER_SECRET; do
      [ -n "${!v:-}" ] || eval "$(grep "^export $v=" "$STATE" || true)"
    done
  fi
  write_state
  load_state
  say "PostgreSQL, Redis …"
  start_piece postgres
  start_piece redis
  # the measures database (one transaction: instances already running keep answering)
  DATABASE_URL="$(db_url measures)" "$PY" -m bot build >"$HOME_DIR/log/build.log"
  # the tracker tables once, before several instances would race to create them
  "$PY" - <<PYTHON
from bot.runtime.tracker_store import GuardedSQLTrackerStore
GuardedSQLTrackerStore(dialect="postgresql", host="127.0.0.1", port=$(cat "$PG_BASE_DIR/port"), db="tracker",
                       username="postgres", password="")
PYTHON
  local i
  say "$SCALED_INSTANCES action servers, $SCALED_INSTANCES Rasa instances, HAProxy …"
  for i in $(seq 1 "$SCALED_INSTANCES"); do start_piece "actions-$i"; done
  for i in $(seq 1 "$SCALED_INSTANCES"); do start_piece "rasa-$i"; done
  start_piece balancer
  wait_healthy 600
}

down() {
  local p
  if [ -d "$HOME_DIR/pids" ]; then
    for p in $(ls "$HOME_DIR/pids"); do halt "$p"; done
  fi
  stop_redis
  if [ "${1:-}" = "--purge" ]; then
    stop_postgres
    rm -rf "$HOME_DIR"
  else
    halt_postgres
  fi
}

banner() {
  cat <<MSG

政策助手 is running as $SCALED_INSTANCES instances behind HAProxy (logs in $HOME_DIR/log/).
  Chat (REST):   curl -s localhost:$SCALED_PORT/webhooks/rest/webhook -H "Authorization: Bearer \$RASA_REST_TOKEN" \\
                   -d '{"sender":"me","message":"增城区小微企业有什么贷款贴息"}'
  Instances:     http://127.0.0.1:$SCALED_STATS_PORT/stats
  Tokens:        $STATE (RASA_TOKEN, RASA_REST_TOKEN, …)
  Kill one:      scripts/run-scaled.sh stop rasa-1   (traffic goes to the others; start rasa-1 brings it back)
Press Ctrl+C to stop.
MSG
}

cmd="${1:-foreground}"
case "$cmd" in
  up) up ;;
  down) down "${2:-}" ;;
  start) load_state; start_piece "$2"; [ "$2" = postgres ] || [ "$2" = redis ] || wait_healthy 600 ;;
  stop) load_state; stop_piece "$2" ;;
  status) load_state; status ;;
  foreground)
    trap 'down; exit 0' INT TERM
    up || { down; exit 1; }
    banner
    while sleep 5; do :; done ;;
  *) sed -n '2,12p' "$0"; exit 2 ;;
esac
