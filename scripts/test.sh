#!/usr/bin/env bash
# The README's test command (`make test`): every test, on a fresh machine.
#   --postgres   only the database tests, on a PostgreSQL server started here
#   --scaled     only the scaled stack's tests (two Rasa instances behind HAProxy, PostgreSQL, Redis)
# Without options: the database tests on PostgreSQL, the scaled stack's tests, then every
# test on SQLite. NO_POSTGRES=1 / NO_SCALED=1 skip those stages.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
PY=.venv/bin/python
export PYTHONHASHSEED=0 TF_CPP_MIN_LOG_LEVEL=3

PG_TESTS="tests/test_query.py tests/test_build_and_cli.py tests/test_answer.py tests/test_chat.py tests/test_inbox.py"
run_postgres_tests() {
  # the database tests again, on a real PostgreSQL server from Debian's packages
  source scripts/postgres.sh
  start_postgres
  echo "== database tests on PostgreSQL ($PG_URL)"
  local rc=0
  TEST_DATABASE_URL="$PG_URL" $PY -m pytest -q -p no:cacheprovider $PG_TESTS || rc=$?
  stop_postgres
  return $rc
}

run_scaled_tests() {
  # tests/test_scaled.py starts the stack with scripts/run-scaled.sh (its own PostgreSQL, Redis
  # and HAProxy on free loopback ports) and removes it afterwards. ~4 min on 2 cores, most of it
  # two Rasa instances loading the model; bounded by `timeout` so a hang cannot eat CI's 90 min.
  echo "== scaled stack tests (2 Rasa instances + 2 action servers behind HAProxy, PostgreSQL, Redis)"
  RUN_SCALED_TESTS=1 timeout -k 30 900 $PY -m pytest -q -p no:cacheprovider tests/test_scaled.py
}

if [ "${1:-}" = "--postgres" ]; then
  run_postgres_tests
  exit $?
fi

export RASA_TELEMETRY_ENABLED=false SQLALCHEMY_SILENCE_UBER_WARNING=1
if [ "${1:-}" = "--scaled" ]; then  # run-scaled.sh makes the lexicon artifacts and the model itself
  run_scaled_tests
  exit $?
fi
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  echo "== installing Debian's chromium, chromium-driver and CJK fonts for the browser tests"
  if [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-noto-cjk) >/dev/null \
      || echo "could not install chromium: browser tests will be skipped"
  else
    echo "not root: cannot install chromium; browser tests will be skipped"
  fi
fi
echo "== generating lexicon artifacts"
$PY -m bot lexicon >/dev/null
echo "== Rasa model (trained only when its inputs changed)"
$PY -m bot.runtime.model
# NO_POSTGRES=1 skips the PostgreSQL stage (e.g. on a machine without apt).
if [ -z "${NO_POSTGRES:-}" ]; then
  run_postgres_tests
fi
scaled_rc=0
if [ -z "${NO_SCALED:-}" ]; then
  run_scaled_tests || scaled_rc=$?
fi
echo "== tests (SQLite, the embedded default)"
source scripts/redis.sh  # a throwaway Redis for the shared duplicate filter's tests (skipped without one)
start_redis || echo "no Redis server: the Redis tests will be skipped"
rc=0; $PY -m pytest -q -p no:cacheprovider "$@" || rc=$?
stop_redis
[ "$scaled_rc" = 0 ] || { echo "== the scaled stack tests failed (exit $scaled_rc)"; [ "$rc" != 0 ] || rc=$scaled_rc; }
exit $rc
