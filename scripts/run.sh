#!/usr/bin/env bash
# `make run`: start the assistant (the database and NLU artifacts are built by make first).
#   Rasa server      http://127.0.0.1:5005  (widget channel /webhooks/widget/…; REST channel for this
#                    machine /webhooks/rest/webhook; HTTP API needs the token)
#   action server    http://127.0.0.1:5055  (runs actions for loopback callers, or with ACTION_SERVER_SECRET)
#   assist console   http://127.0.0.1:8081  (12345 agents; token printed below)
# Every service binds to 127.0.0.1 unless RASA_HOST / ACTION_HOST / ASSIST_HOST say otherwise.
# Secrets come from the environment (generated here when unset) and never appear on a
# command line, where `ps` would show them.
set -euo pipefail
cd "$(dirname "$0")/.."
umask 077  # databases, logs: readable by this user only (they hold what users typed)
export RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=3 SQLALCHEMY_SILENCE_UBER_WARNING=1
PY=.venv/bin/python
MODEL=$($PY -m bot.runtime.model)
mkdir -p var/log
secret() { $PY -c 'import secrets; print(secrets.token_urlsafe(24))'; }
export RASA_TOKEN="${RASA_TOKEN:-$(secret)}"
export ASSIST_TOKEN="${ASSIST_TOKEN:-$(secret)}"
export ASSIST_TRAINER_TOKEN="${ASSIST_TRAINER_TOKEN:-$(secret)}"  # the review page (/review), trainers only
export WIDGET_SECRET="${WIDGET_SECRET:-$(secret)}"                # signs the web widget's session ids
# ACTION_SERVER_SECRET (optional): set it when the action server runs on another host;
# Rasa then sends it and the action server refuses calls without it (default: loopback only).
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

# both through bot.runtime.launch: stock `rasa run` with the project's runtime fixes and defaults
# (API token from $RASA_TOKEN, loopback binds, the action server's secret check)
$PY -m bot.runtime.launch run actions --port 5055 --actions actions > var/log/actions.log 2>&1 &
pids+=($!)
$PY -m bot.runtime.launch run -m "$MODEL" --port 5005 --enable-api --cors "*" \
  --credentials credentials.yml --endpoints endpoints.yml > var/log/rasa.log 2>&1 &
pids+=($!)
ASSIST_PORT="${ASSIST_PORT:-8081}" $PY -m bot.assist > var/log/assist.log 2>&1 &
pids+=($!)

echo "starting (logs in var/log/) …"
for i in $(seq 1 120); do
  if curl -fs http://127.0.0.1:5005/webhooks/rest/ >/dev/null 2>&1 && curl -fs http://127.0.0.1:5055/health >/dev/null 2>&1; then
    break
  fi
  sleep 1
done
cat <<MSG

政策助手 is running.
  Chat (REST):      curl -s localhost:5005/webhooks/rest/webhook -d '{"sender":"me","message":"增城区小微企业有什么贷款贴息"}'
                    (this machine only; from elsewhere set RASA_REST_TOKEN and send Authorization: Bearer …)
  Shell:            .venv/bin/python -m bot.runtime.launch shell -m $MODEL   (in another terminal)
  Web widget demo:  http://127.0.0.1:8081/widget/demo.html
  Assist console:   http://127.0.0.1:8081/   token: $ASSIST_TOKEN
  Trainers' review: http://127.0.0.1:8081/review   token: $ASSIST_TRAINER_TOKEN
  Rasa HTTP API token: $RASA_TOKEN
Press Ctrl+C to stop.
MSG
wait -n "${pids[@]}"
