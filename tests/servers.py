"""Real servers for end-to-end tests: action server + Rasa server on free ports."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import yaml

from bot.nlu.servers import free_port, project_endpoints, wait_http

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "policy.tar.gz"


class Assistant:
    def __init__(self, tmp: Path, db_url: str):
        self.tmp = tmp
        self.db_url = db_url
        self.action_port = free_port()
        self.port = free_port()
        self.token = "test-token-e2e"
        self.endpoints = tmp / "endpoints.yml"
        endpoints = project_endpoints(f"http://127.0.0.1:{self.action_port}/webhook", tmp / "tracker.db")
        self.endpoints.write_text(yaml.safe_dump(endpoints), encoding="utf-8")
        self.env = dict(os.environ, DATABASE_URL=db_url, RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="3",
                        PYTHONPATH=str(ROOT))
        self.procs = []
        self.start_actions()
        self.start_rasa()

    def _spawn(self, args, log):
        # Rasa as `make run` starts it (bot.nlu.launch); `rasa run actions` as is
        p = subprocess.Popen([sys.executable, "-m", "bot.nlu.launch"] + args, cwd=ROOT, env=self.env,
                             stdout=open(self.tmp / log, "ab"), stderr=subprocess.STDOUT)
        self.procs.append(p)
        return p

    def start_actions(self):
        p = self._spawn(["run", "actions", "--port", str(self.action_port), "--actions", "actions"], "actions.log")
        wait_http(f"http://127.0.0.1:{self.action_port}/health", p)

    def start_rasa(self):
        self.rasa = self._spawn(["run", "-m", str(MODEL), "--port", str(self.port), "--enable-api", "--auth-token",
                                 self.token, "--cors", "*", "--credentials", str(ROOT / "credentials.yml"), "--endpoints",
                                 str(self.endpoints)], "rasa.log")
        wait_http(f"http://127.0.0.1:{self.port}/", self.rasa)

    def restart_rasa(self):
        self.rasa.terminate()
        self.rasa.wait(30)
        self.start_rasa()

    def say(self, sender: str, message: str) -> str:
        body = json.dumps({"sender": sender, "message": message}).encode("utf-8")
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/webhooks/rest/webhook", data=body,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as resp:
            replies = json.loads(resp.read())
        return "\n".join(r.get("text", "") for r in replies)

    def parse(self, text: str, token: str = None):
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/model/parse?token={token or self.token}",
                                     data=json.dumps({"text": text}).encode(), headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
