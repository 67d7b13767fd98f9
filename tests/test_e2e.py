"""End to end: the trained model, the action server and the Rasa server, driven through the REST channel.

Needs the model (scripts/test.sh trains it first when its inputs changed).
Servers run on free ports with a temporary tracker store and measures database.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "policy.tar.gz"
pytestmark = [pytest.mark.slow, pytest.mark.skipif(not MODEL.exists(), reason="no trained model (run scripts/test.sh)")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, seconds: float = 180) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early: {url}")
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
        self.endpoints.write_text(
            f'action_endpoint:\n  url: "http://127.0.0.1:{self.action_port}/webhook"\n'
            f'tracker_store:\n  type: SQL\n  dialect: "sqlite"\n  db: "{tmp / "tracker.db"}"\n', encoding="utf-8")
        self.env = dict(os.environ, DATABASE_URL=db_url, RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="3",
                        PYTHONPATH=str(ROOT))
        self.procs = []
        self.start_actions()
        self.start_rasa()

    def _spawn(self, args, log):
        p = subprocess.Popen([str(Path(sys.executable).with_name("rasa"))] + args, cwd=ROOT, env=self.env,
                             stdout=open(self.tmp / log, "ab"), stderr=subprocess.STDOUT)
        self.procs.append(p)
        return p

    def start_actions(self):
        p = self._spawn(["run", "actions", "--port", str(self.action_port), "--actions", "actions"], "actions.log")
        wait_http(f"http://127.0.0.1:{self.action_port}/health", p)

    def start_rasa(self):
        self.rasa = self._spawn(["run", "-m", str(MODEL), "--port", str(self.port), "--enable-api", "--auth-token",
                                 self.token, "--credentials", str(ROOT / "credentials.yml"), "--endpoints",
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


@pytest.fixture(scope="module")
def bot(tmp_path_factory, db_url):
    a = Assistant(tmp_path_factory.mktemp("e2e"), db_url)
    yield a
    a.stop()


def test_loan_interest_conversation_with_followups(bot):
    u = "e2e-loan"
    first = bot.say(u, "你好，增城区小微企业有什么贷款贴息政策吗")
    if "行业" in first and "增府规" not in first:  # the form asks for the industry first
        first = bot.say(u, "跳过")
    assert "增府规〔2020〕1号" in first
    assert "区科工商信局" in first
    assert "20万元" in first
    assert "已过期" in first and "2020年12月31日" in first
    assert "1. " in first

    detail = bot.say(u, "第1条详细说说")
    assert "贴息" in detail and "第（二）条" in detail and "原文未限定行业" in detail

    who = bot.say(u, "这个找哪个部门")
    assert "区科工商信局" in who and "12345" in who

    valid = bot.say(u, "这个还有效吗")
    assert "已过期" in valid

    tianhe = bot.say(u, "那天河区呢")
    assert "天河区全面优化营商环境行动方案" in tianhe
    assert "原文未写明牵头单位" in tianhe and "区发展改革局" in tianhe
    assert "增府规" not in tianhe

    more = bot.say(u, "还有吗，看看更多")
    assert "4. " in more

    handoff = bot.say(u, "转人工")
    assert "12345" in handoff and "天河区" in handoff and "转人工摘要" in handoff


def test_form_asks_district_rejects_uncovered_and_classifies_size(bot):
    u = "e2e-form"
    r = bot.say(u, "我是做餐饮的，有什么扶持政策")
    assert "哪个区" in r
    r = bot.say(u, "越秀区")
    assert "没有收录" in r and "海珠区" in r
    r = bot.say(u, "海珠")
    assert "规模" in r
    r = bot.say(u, "我们30个人，年营收300万")
    assert "小型" in r and "300号" in r
    assert "海珠区" in r and "原文未写明牵头单位" in r


def test_conversation_survives_a_restart(bot):
    u = "e2e-restart"
    r = bot.say(u, "珠海香洲区的中型企业有哪些政策")
    if "行业" in r and "1. " not in r:
        r = bot.say(u, "不清楚")
    assert "1. " in r and "珠海" in r
    bot.restart_rasa()
    r = bot.say(u, "第2条找谁")
    assert "牵头单位" in r and "市" in r


@pytest.mark.parametrize("message", ["", " ", "😀😀😀", "' OR 1=1; DROP TABLE measures; --", "<xml><a>", "增城" * 3000,
                                     "增城區的小微企業有什麼貸款貼息"])
def test_bad_input_gets_a_polite_answer(bot, message):
    u = f"e2e-bad-{abs(hash(message)) % 10000}"
    reply = bot.say(u, message)
    assert reply.strip(), "every message gets an answer"
    assert "Traceback" not in reply and "Error" not in reply


def test_http_api_needs_the_token(bot):
    parsed = bot.parse("天河区软件企业研发补助")
    ents = {e["entity"]: e["value"] for e in parsed["entities"]}
    assert ents.get("district") == "天河区"
    with pytest.raises(urllib.error.HTTPError) as err:
        bot.parse("你好", token="wrong")
    assert err.value.code in (401, 403)
