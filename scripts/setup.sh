#!/usr/bin/env bash
# Create .venv with pyenv's Python 3.10 and install the pinned dependencies.
# Idempotent: does nothing when requirements.txt has not changed since the last install.
set -euo pipefail
cd "$(dirname "$0")/.."
PY310="${PYTHON310:-}"
if [ -z "$PY310" ]; then
  for cand in "$(pyenv root 2>/dev/null)/versions/3.10.13/bin/python" /root/.pyenv/versions/3.10.13/bin/python "$(command -v python3.10 || true)"; do
    if [ -n "$cand" ] && [ -x "$cand" ]; then PY310="$cand"; break; fi
  done
fi
if [ -z "$PY310" ]; then
  echo "setup: Python 3.10 not found (Rasa 3.6 needs Python <= 3.10); install it with 'pyenv install 3.10.13'" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $PY310"
  "$PY310" -m venv .venv
fi
stamp=.venv/.requirements.sha256
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing pinned dependencies (a few minutes the first time)"
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade "pip==24.0" 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/python -c "import rasa, jieba, sqlalchemy, aiohttp, opencc, wechatpy" 
  echo "$want" > "$stamp"
fi
