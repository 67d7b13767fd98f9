"""Real servers for the end-to-end tests and the benchmarks: the action server and the
Rasa server on free ports, the production endpoints pointed at other ports and files, and
waiting until a server answers; an aiohttp app (the assist console) in a thread of its own.

Started as scripts/run.sh starts them: secrets (Rasa's API token, the widget's session
key, the action server's shared secret) in the environment, never on the command line."""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, Iterator

import yaml

from bot.runtime.model import MODEL, ROOT


def project_endpoints(action_url: str, tracker_db: Path) -> dict:
    """The production endpoints.yml (tracker store, selective domain …) pointed at this
    action server and tracker database, so tests and benchmarks run what `make run` runs."""
    endpoints = yaml.safe_load((ROOT / "endpoints.yml").read_text(encoding="utf-8"))
    endpoints["action_endpoint"]["url"] = action_url
    endpoints["tracker_store"]["db"] = str(tracker_db)
    return endpoints


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, seconds: float = 300) -> None:
    """Return once ``url`` answers; fail early if the server process has exited."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early ({proc.returncode}): {url}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.5)
    raise TimeoutError(url)


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
        self.widget_secret = "test-widget-secret"
        self.action_secret = "test-action-secret"
        self.inbox_url = f"sqlite:///{tmp / 'inbox.db'}"  # handoff tickets: shared with a test's console
        self.env = dict(os.environ, DATABASE_URL=db_url, RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="3",
                        PYTHONPATH=str(ROOT), RASA_TOKEN=self.token, WIDGET_SECRET=self.widget_secret,
                        ACTION_SERVER_SECRET=self.action_secret, INBOX_DATABASE_URL=self.inbox_url)
        for name in ("RASA_REST_TOKEN", "RASA_HOST", "ACTION_HOST", "SANIC_HOST"):
            self.env.pop(name, None)
        self.procs = []
        self.start_actions()
        self.start_rasa()

    def _spawn(self, args, log):
        # Rasa as `make run` starts it (bot.runtime.launch); `rasa run actions` as is
        p = subprocess.Popen([sys.executable, "-m", "bot.runtime.launch"] + args, cwd=ROOT, env=self.env,
                             stdout=open(self.tmp / log, "ab"), stderr=subprocess.STDOUT)
        self.procs.append(p)
        return p

    def start_actions(self):
        p = self._spawn(["run", "actions", "--port", str(self.action_port), "--actions", "actions"], "actions.log")
        wait_http(f"http://127.0.0.1:{self.action_port}/health", p)

    def start_rasa(self):
        self.rasa = self._spawn(["run", "-m", str(MODEL), "--port", str(self.port), "--enable-api", "--cors", "*",
                                 "--credentials", str(ROOT / "credentials.yml"), "--endpoints", str(self.endpoints)],
                                "rasa.log")
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

    def post(self, path: str, body, headers: dict = None, timeout: float = 60):
        """POST ``body`` (bytes as they are, anything else as JSON) → (status, parsed JSON or raw bytes).
        4xx/5xx are returned, not raised."""
        data = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data,
                                     headers={"Content-Type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as err:
            status, raw = err.code, err.read()
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw

    def widget_session(self) -> str:
        status, body = self.post("/webhooks/widget/session", b"")
        assert status == 200, body
        return body["session"]

    def widget_say(self, session: str, message: str) -> str:
        status, replies = self.post("/webhooks/widget/webhook", {"sender": session, "message": message})
        assert status == 200, replies
        return "\n".join(r.get("text", "") for r in replies)

    def alive(self) -> bool:
        return self.rasa.poll() is None

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


@contextlib.contextmanager
def aiohttp_in_thread(make_app: Callable[[], Any], shutdown_timeout: float = 60.0) -> Iterator[str]:
    """The app ``make_app()`` builds, served on a free loopback port in its own thread and event
    loop (selenium's calls block the test's thread); yields its base URL, then cleans it up."""
    from aiohttp import web

    loop = asyncio.new_event_loop()
    started = threading.Event()
    box = {}

    async def start():
        runner = web.AppRunner(make_app(), shutdown_timeout=shutdown_timeout)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        box["runner"], box["port"] = runner, runner.addresses[0][1]

    def run():
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(30), "aiohttp server did not start"
    try:
        yield f"http://127.0.0.1:{box['port']}"
    finally:
        asyncio.run_coroutine_threadsafe(box["runner"].cleanup(), loop).result(15)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
