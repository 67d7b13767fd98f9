"""WeChat / WeCom channels through a real HTTP server.

Each test starts a Sanic app holding the channel's blueprint on a free port in
its own thread and event loop (as Rasa would run it), and talks to it over TCP
with aiohttp, building requests exactly as WeChat does: wechatpy's signer for
plain mode, WeChatCrypto.encrypt_message for safe mode, WeChat's XML.
`on_new_message` is a stub that answers like Rasa would (through the output
channel). A fake WeChat API (aiohttp, in the test's loop) records
customer-service / WeCom app messages.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import socket
import threading
import time
import urllib.parse
import uuid
from types import SimpleNamespace
from typing import Any, Dict, List, Optional

import aiohttp
import pytest
import xmltodict
from aiohttp import web
from aiohttp.test_utils import TestServer
from rasa.core.channels.channel import register
from sanic import Sanic
from wechatpy.crypto import WeChatCrypto
from wechatpy.crypto import _get_signature
from wechatpy.enterprise.crypto import PrpCrypto as WeComPrpCrypto
from wechatpy.enterprise.crypto import WeChatCrypto as WeComCrypto
from wechatpy.utils import WeChatSigner

from bot import wording
from bot.channels.base import WECHAT_MAX_BYTES
from bot.channels import base
from bot.channels.dedup import InMemoryDedupStore
from bot.channels.delivery import WeChatCustomerService, WeComAppMessenger
from bot.channels.wechat import WeChatInput
from bot.channels.wecom import WeComInput
from bot.inbox import Inbox

TOKEN = "zcZhuShou2024"
APPID = "wx5f2c8e7a1b3d4c6e"
SECRET = "3b1f0c9e8d7a6b5c4d3e2f1a0b9c8d7e"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
ACCOUNT = "gh_3f9a2c1b7e54"
OPENID = "oVxQe5Bq3Kp2Yt8xJm0zW4nR7sLc"
OTHER_OPENID = "oVxQe5NfT9wLr1Gk6Hc2Pa8uDy3E"
CORP_ID = "ww8a7f6e5d4c3b2a10"
AGENT_ID = "1000002"
WECOM_USER = "ZhangWei"

QUESTION = "增城区的小微企业有哪些租金减免？"
_msgids = itertools.count(24601234567890123)


# --------------------------------------------------------------------------- Rasa stand-in
def echo_answer(text: str) -> str:
    return (f"关于“{text}”，找到1条相关措施：\n"
            "1. 减免物业租金：对承租区属国有企业物业的中小企业，免收2020年2月至4月租金。\n"
            "   出处：增府规〔2020〕1号 第三条")


def long_answer() -> str:
    lines = ["按您的情况（增城区 · 制造业 · 小微企业），找到24条相关措施："]
    for i in range(1, 25):
        lines.append(f"{i}. 第{i}项扶持措施：对符合条件的中小微企业给予贷款贴息、租金减免和稳岗补贴，"
                     f"最高补助{i * 10}万元。")
        lines.append(f"   出处：增府规〔2020〕1号 第{i}条；牵头单位：区工业和信息化局（电话020-8275{i:04d}）")
    text = "\n".join(lines)
    assert len(text.encode("utf-8")) > 5000
    return text


class StubRasa:
    """Answers like Rasa's agent.handle_message: writes into message.output_channel."""

    def __init__(self, delay: float = 0.0, slow: float = 0.0) -> None:
        self.delay = delay
        self.slow = slow
        self.calls: List[Any] = []

    async def __call__(self, message: Any) -> None:
        self.calls.append(message)
        text = message.text
        if text.startswith("出错"):
            raise RuntimeError("tracker store unavailable")
        if text.startswith("慢"):
            await asyncio.sleep(self.slow)
        elif self.delay:
            await asyncio.sleep(self.delay)
        answer = long_answer() if "全部" in text else echo_answer(text)
        await message.output_channel.send_text_message(message.sender_id, answer)


# --------------------------------------------------------------------------- servers
_apps = itertools.count()
_INBOX_DIR = __import__("tempfile").mkdtemp(prefix="wechat-inbox-")


class SanicThread:
    """The channel's blueprint in a Sanic app, served on a free port in its own thread and loop."""

    def __init__(self, channel: Any, on_new_message: Any) -> None:
        self.app = Sanic(f"wechat_channel_test_{next(_apps)}", configure_logging=False)
        self.app.config.MOTD = False
        # mounted the way `rasa run` does it: register() -> app.ctx.agent.handle_message
        self.app.ctx.agent = SimpleNamespace(handle_message=on_new_message)
        channels = channel if isinstance(channel, list) else [channel]
        channel = channels[0]
        register(channels, self.app, route="/webhooks/")
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/webhooks/{channel.name()}/webhook"
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.error: Optional[BaseException] = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        loop = self.loop
        asyncio.set_event_loop(loop)
        try:
            srv = loop.run_until_complete(
                self.app.create_server(sock=self.sock, return_asyncio_server=True, access_log=False))
            loop.run_until_complete(srv.startup())
            loop.run_until_complete(srv.before_start())  # create_server already listens
            loop.run_until_complete(srv.after_start())
        except BaseException as e:  # pragma: no cover - reported by start()
            self.error = e
            self.ready.set()
            return
        self.ready.set()
        loop.run_forever()
        loop.run_until_complete(srv.before_stop())
        srv.close()
        loop.run_until_complete(srv.wait_closed())
        loop.run_until_complete(srv.after_stop())
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for t in pending:
            t.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.close()

    def start(self) -> "SanicThread":
        self.thread.start()
        self.ready.wait(10)
        if self.error:
            raise self.error
        return self

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


class FakeWeChatApi:
    """api.weixin.qq.com / qyapi.weixin.qq.com, recording what the channel sends."""

    def __init__(self) -> None:
        self.sent: List[Dict[str, Any]] = []
        self.raw: List[bytes] = []
        self.token_requests: List[Dict[str, str]] = []
        app = web.Application()
        app.router.add_get("/cgi-bin/token", self.token)
        app.router.add_get("/cgi-bin/gettoken", self.token)
        app.router.add_post("/cgi-bin/message/custom/send", self.send)
        app.router.add_post("/cgi-bin/message/send", self.send)
        self.server = TestServer(app, host="127.0.0.1")

    async def token(self, request: web.Request) -> web.Response:
        self.token_requests.append(dict(request.query))
        return web.json_response({"access_token": "ACCESS_TOKEN_1", "expires_in": 7200})

    async def send(self, request: web.Request) -> web.Response:
        if request.query.get("access_token") != "ACCESS_TOKEN_1":
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        body = await request.read()
        self.raw.append(body)
        self.sent.append(json.loads(body))
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    async def wait_for(self, n: int, timeout: float = 5.0) -> List[Dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.sent) < n and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        return self.sent


@pytest.fixture
def serve(monkeypatch):
    # several Sanic apps in one process: test mode lets each one start (TouchUp)
    monkeypatch.setattr(Sanic, "test_mode", True)
    servers: List[SanicThread] = []

    def _serve(channel: Any, stub: Any) -> str:
        s = SanicThread(channel, stub).start()
        servers.append(s)
        return s.url

    yield _serve
    for s in servers:
        s.stop()


@pytest.fixture
async def fake_api():
    api = FakeWeChatApi()
    await api.server.start_server()
    yield api
    await api.server.close()


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


def wechat_channel(safe: bool = False, **kw: Any) -> WeChatInput:
    """A plain-mode account (no AES key) unless `safe`."""
    kw.setdefault("reply_budget_seconds", 1.0)
    kw.setdefault("followup_delay_seconds", 0.0)
    kw.setdefault("inbox", Inbox(f"sqlite:///{_INBOX_DIR}/inbox-{next(_apps)}.db"))  # no ticket open
    if safe:
        kw.setdefault("encoding_aes_key", AES_KEY)
    return WeChatInput(TOKEN, appid=APPID, **kw)


def kf(api: FakeWeChatApi) -> WeChatCustomerService:
    return WeChatCustomerService(APPID, SECRET, api.base)


# --------------------------------------------------------------------------- what WeChat sends
def sign(timestamp: str, nonce: str, token: str = TOKEN) -> str:
    signer = WeChatSigner()
    signer.add_data(token, timestamp, nonce)
    return signer.signature


def text_xml(content: str, openid: str = OPENID, msgid: Optional[int] = None) -> str:
    return ("<xml><ToUserName><![CDATA[{to}]]></ToUserName>\n"
            "<FromUserName><![CDATA[{frm}]]></FromUserName>\n"
            "<CreateTime>{t}</CreateTime>\n"
            "<MsgType><![CDATA[text]]></MsgType>\n"
            "<Content><![CDATA[{c}]]></Content>\n"
            "<MsgId>{mid}</MsgId>\n"
            "</xml>").format(to=ACCOUNT, frm=openid, t=int(time.time()), c=content,
                             mid=msgid if msgid is not None else next(_msgids))


def image_xml(openid: str = OPENID) -> str:
    return ("<xml><ToUserName><![CDATA[{to}]]></ToUserName>\n"
            "<FromUserName><![CDATA[{frm}]]></FromUserName>\n"
            "<CreateTime>{t}</CreateTime>\n"
            "<MsgType><![CDATA[image]]></MsgType>\n"
            "<PicUrl><![CDATA[http://mmbiz.qpic.cn/mmbiz_jpg/abc123/0]]></PicUrl>\n"
            "<MsgId>{mid}</MsgId>\n"
            "<MediaId><![CDATA[media_id_8X1kP]]></MediaId>\n"
            "</xml>").format(to=ACCOUNT, frm=openid, t=int(time.time()), mid=next(_msgids))


def event_xml(event: str, openid: str = OPENID) -> str:
    return ("<xml><ToUserName><![CDATA[{to}]]></ToUserName>\n"
            "<FromUserName><![CDATA[{frm}]]></FromUserName>\n"
            "<CreateTime>{t}</CreateTime>\n"
            "<MsgType><![CDATA[event]]></MsgType>\n"
            "<Event><![CDATA[{e}]]></Event>\n"
            "<EventKey><![CDATA[]]></EventKey>\n"
            "</xml>").format(to=ACCOUNT, frm=openid, t=int(time.time()), e=event)


_nonces = random.Random(20240611)


def new_nonce() -> str:
    """WeChat draws a fresh nonce for every request it signs."""
    return str(_nonces.randrange(10**9, 10**10))


def plain_params(openid: str = OPENID, token: str = TOKEN, timestamp: Optional[str] = None,
                 nonce: Optional[str] = None) -> Dict[str, str]:
    timestamp, nonce = timestamp or str(int(time.time())), nonce or new_nonce()
    return {"signature": sign(timestamp, nonce, token), "timestamp": timestamp, "nonce": nonce, "openid": openid}


async def post_plain(http: aiohttp.ClientSession, url: str, xml: str, openid: str = OPENID,
                     timestamp: Optional[str] = None, **params: str):
    q = {**plain_params(openid, timestamp=timestamp), **params}
    async with http.post(url, params=q, data=xml.encode("utf-8"),
                         headers={"Content-Type": "text/xml"}) as resp:
        return resp.status, await resp.text()


def reply_of(body: str) -> Dict[str, Any]:
    return xmltodict.parse(body)["xml"]


# --------------------------------------------------------------------------- URL verification
async def test_url_verification_echoes_echostr(serve, http):
    url = serve(wechat_channel(), StubRasa())
    echostr = "7439510813265459712"
    async with http.get(url, params={**plain_params(), "echostr": echostr}) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain")
        assert await resp.text() == echostr


async def test_url_verification_forged_or_missing_is_403(serve, http):
    url = serve(wechat_channel(), StubRasa())
    forged = {**plain_params(token="not-our-token"), "echostr": "7439510813265459712"}
    async with http.get(url, params=forged) as resp:
        assert resp.status == 403
        assert "7439510813265459712" not in await resp.text()
    async with http.get(url, params={"echostr": "7439510813265459712"}) as resp:
        assert resp.status == 403


async def test_missing_token_refuses_with_503(serve, http, monkeypatch):
    monkeypatch.delenv("WECHAT_TOKEN", raising=False)
    channel = WeChatInput.from_credentials({"appid": APPID})
    stub = StubRasa()
    url = serve(channel, stub)
    async with http.get(url, params={**plain_params(), "echostr": "1"}) as resp:
        assert resp.status == 503
    status, _ = await post_plain(http, url, text_xml(QUESTION))
    assert status == 503 and stub.calls == []


def test_environment_overrides_credentials(monkeypatch):
    monkeypatch.setenv("WECHAT_TOKEN", "from-env")
    monkeypatch.setenv("WECHAT_SECRET", "secret-from-env")
    monkeypatch.delenv("WECHAT_APPID", raising=False)
    monkeypatch.delenv("WECHAT_AES_KEY", raising=False)
    ch = WeChatInput.from_credentials({"token": "from-file", "appid": APPID, "kf_enabled": True,
                                       "kf_api_base": "http://127.0.0.1:9", "reply_budget_seconds": 3})
    assert ch.token == "from-env" and ch.appid == APPID and ch.crypto is None
    assert ch.reply_budget_seconds == 3.0
    assert isinstance(ch.sender, WeChatCustomerService)
    assert ch.sender.secret == "secret-from-env" and ch.sender.api_base == "http://127.0.0.1:9"
    assert WeChatInput.from_credentials({"token": "t"}).sender is None  # kf off by default


# --------------------------------------------------------------------------- plain mode
async def test_plain_text_message_gets_answer_for_that_user(serve, http):
    stub = StubRasa()
    url = serve(wechat_channel(), stub)
    msgid = next(_msgids)
    status, body = await post_plain(http, url, text_xml(QUESTION, msgid=msgid))
    assert status == 200
    reply = reply_of(body)
    assert reply["MsgType"] == "text"
    assert reply["ToUserName"] == OPENID and reply["FromUserName"] == ACCOUNT
    assert reply["Content"] == echo_answer(QUESTION)
    [m] = stub.calls
    assert (m.text, m.sender_id, m.input_channel, m.message_id) == (QUESTION, OPENID, "wechat", str(msgid))


async def test_forged_signature_is_403_and_never_reaches_rasa(serve, http):
    stub = StubRasa()
    url = serve(wechat_channel(), stub)
    q = plain_params(token="attacker-guess")
    async with http.post(url, params=q, data=text_xml(QUESTION).encode()) as resp:
        assert resp.status == 403
    async with http.post(url, data=text_xml(QUESTION).encode()) as resp:
        assert resp.status == 403
    assert stub.calls == []


@pytest.mark.parametrize("body", [
    "<xml><ToUserName><![CDATA[gh_3f9a2c1b7e54]]></ToUserName><Content>租金减免",  # truncated
    "这不是XML",
    "<xml><Content><![CDATA[没有发送者也没有类型]]></Content></xml>",
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa">]><xml><Content>&a;</Content></xml>',
])
async def test_malformed_xml_is_400_and_never_reaches_rasa(serve, http, body):
    stub = StubRasa()
    url = serve(wechat_channel(), stub)
    status, text = await post_plain(http, url, body)
    assert status == 400
    assert "Traceback" not in text
    assert stub.calls == []


async def test_oversized_body_is_413(serve, http):
    stub = StubRasa()
    url = serve(wechat_channel(), stub)
    status, _ = await post_plain(http, url, text_xml("租金" * 40000))
    assert status == 413 and stub.calls == []


async def test_subscribe_gets_welcome_with_examples(serve, http):
    stub = StubRasa()
    url = serve(wechat_channel(), stub)
    status, body = await post_plain(http, url, event_xml("subscribe"))
    reply = reply_of(body)
    assert status == 200 and reply["ToUserName"] == OPENID
    assert "欢迎关注政策助手" in reply["Content"] and reply["Content"].count("？") >= 2
    status, body = await post_plain(http, url, event_xml("unsubscribe"))
    assert (status, body) == (200, "success")
    assert stub.calls == []


async def test_image_gets_polite_text_prompt(serve, http):
    stub = StubRasa()
    url = serve(wechat_channel(), stub)
    status, body = await post_plain(http, url, image_xml())
    reply = reply_of(body)
    assert status == 200 and reply["ToUserName"] == OPENID
    assert "文字" in reply["Content"]
    assert stub.calls == []


async def test_empty_text_gets_prompt(serve, http):
    stub = StubRasa()
    url = serve(wechat_channel(), stub)
    status, body = await post_plain(http, url, text_xml("   "))
    assert status == 200 and reply_of(body)["Content"] == wording.EMPTY_MESSAGE
    assert stub.calls == []


async def test_rasa_failure_gets_polite_reply_not_a_trace(serve, http):
    url = serve(wechat_channel(), StubRasa())
    status, body = await post_plain(http, url, text_xml("出错了吗"))
    assert status == 200
    assert reply_of(body)["Content"] == wording.apology(None)
    assert "Traceback" not in body and "RuntimeError" not in body


# --------------------------------------------------------------------------- safe mode
def wechat_encrypt(xml: str, timestamp: str, nonce: str) -> Dict[str, str]:
    """Body and msg_signature as WeChat sends them in safe mode."""
    envelope = xmltodict.parse(WeChatCrypto(TOKEN, AES_KEY, APPID).encrypt_message(xml, nonce, timestamp))["xml"]
    body = ("<xml>\n<ToUserName><![CDATA[{to}]]></ToUserName>\n<Encrypt><![CDATA[{enc}]]></Encrypt>\n</xml>"
            .format(to=ACCOUNT, enc=envelope["Encrypt"]))
    return {"body": body, "msg_signature": envelope["MsgSignature"]}


async def post_safe(http, url, xml, msg_signature: Optional[str] = None, timestamp: Optional[str] = None):
    timestamp, nonce = timestamp or str(int(time.time())), new_nonce()
    enc = wechat_encrypt(xml, timestamp, nonce)
    q = {"signature": sign(timestamp, nonce), "timestamp": timestamp, "nonce": nonce, "openid": OPENID,
         "encrypt_type": "aes", "msg_signature": msg_signature or enc["msg_signature"]}
    async with http.post(url, params=q, data=enc["body"].encode()) as resp:
        return resp.status, await resp.text()


async def test_safe_mode_round_trip(serve, http):
    stub = StubRasa()
    url = serve(wechat_channel(safe=True), stub)
    status, body = await post_safe(http, url, text_xml(QUESTION))
    assert status == 200
    envelope = reply_of(body)
    assert "Content" not in envelope  # nothing in clear text
    plain = WeChatCrypto(TOKEN, AES_KEY, APPID).decrypt_message(
        body, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"])
    reply = reply_of(plain)
    assert reply["ToUserName"] == OPENID and reply["Content"] == echo_answer(QUESTION)
    assert [m.sender_id for m in stub.calls] == [OPENID]


async def test_safe_mode_forged_msg_signature_is_403(serve, http):
    stub = StubRasa()
    url = serve(wechat_channel(safe=True), stub)
    status, _ = await post_safe(http, url, text_xml(QUESTION), msg_signature="0" * 40)
    assert status == 403 and stub.calls == []


async def test_safe_mode_garbage_payload_is_400(serve, http):
    stub = StubRasa()
    url = serve(wechat_channel(safe=True), stub)
    timestamp, nonce = str(int(time.time())), new_nonce()
    bogus = "bm90IGEgcmVhbCBjaXBoZXJ0ZXh0"
    body = f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><Encrypt><![CDATA[{bogus}]]></Encrypt></xml>"
    q = {"timestamp": timestamp, "nonce": nonce, "encrypt_type": "aes",
         "msg_signature": _get_signature(TOKEN, timestamp, nonce, bogus)}
    async with http.post(url, params=q, data=body.encode()) as resp:
        assert resp.status == 400
    assert stub.calls == []


# --------------------------------------------------------------------------- retries, late and long answers
async def test_duplicate_msgid_runs_rasa_once(serve, http):
    stub = StubRasa(delay=0.3)
    url = serve(wechat_channel(reply_budget_seconds=2.0), stub)
    xml = text_xml(QUESTION)  # same MsgId and CreateTime, as WeChat's retries
    results = await asyncio.gather(*(post_plain(http, url, xml) for _ in range(3)))
    assert len(stub.calls) == 1
    for status, body in results:
        assert status == 200
        assert reply_of(body)["Content"] == echo_answer(QUESTION)
    # a retry arriving after the answer is ready: served from the cache
    status, body = await post_plain(http, url, xml)
    assert reply_of(body)["Content"] == echo_answer(QUESTION) and len(stub.calls) == 1


async def test_same_msgid_from_another_user_is_not_served_from_cache(serve, http):
    stub = StubRasa()
    url = serve(wechat_channel(), stub)
    msgid = next(_msgids)
    _, mine = await post_plain(http, url, text_xml(QUESTION, msgid=msgid))
    _, theirs = await post_plain(http, url, text_xml("稳岗补贴找谁？", openid=OTHER_OPENID, msgid=msgid),
                                 openid=OTHER_OPENID)
    assert reply_of(theirs)["ToUserName"] == OTHER_OPENID
    assert reply_of(theirs)["Content"] == echo_answer("稳岗补贴找谁？") != reply_of(mine)["Content"]
    assert len(stub.calls) == 2


async def test_dedup_entries_expire():
    store = InMemoryDedupStore(ttl=0.05)
    assert [await store.claim("k"), await store.claim("k")] == [1, 2]
    await asyncio.sleep(0.06)
    assert await store.claim("k") == 1


async def test_slow_answer_replies_success_then_customer_service_message(serve, http, fake_api):
    stub = StubRasa(slow=1.0)
    budget = 0.3
    url = serve(wechat_channel(reply_budget_seconds=budget, sender=kf(fake_api)), stub)
    question = "慢一点没关系，天河区制造业贷款贴息怎么申请？"
    xml = text_xml(question)
    started = time.monotonic()
    status, body = await post_plain(http, url, xml)
    elapsed = time.monotonic() - started
    assert (status, body) == (200, "success")
    assert budget <= elapsed < budget + 0.5
    # WeChat would not retry after "success"; a stray retry must not start Rasa again
    status, body = await post_plain(http, url, xml)
    assert body == "success" and len(stub.calls) == 1

    [sent] = await fake_api.wait_for(1)
    assert sent == {"touser": OPENID, "msgtype": "text", "text": {"content": echo_answer(question)}}
    assert "天河区".encode("utf-8") in fake_api.raw[0]  # UTF-8, not \\u escapes
    assert fake_api.token_requests == [{"grant_type": "client_credential", "appid": APPID, "secret": SECRET}]
    await asyncio.sleep(0.2)
    assert len(fake_api.sent) == 1


async def test_slow_answer_without_customer_service_asks_to_resend(serve, http):
    stub = StubRasa(slow=0.6)
    url = serve(wechat_channel(reply_budget_seconds=0.2), stub)
    status, body = await post_plain(http, url, text_xml("慢慢查，稳岗补贴"))
    assert status == 200 and reply_of(body)["Content"] == wording.BUSY


async def test_hold_retries_answers_on_a_later_attempt(serve, http):
    """No message API, hold_retries on: attempt 1 is left to WeChat's timeout, the retry gets the answer."""
    stub = StubRasa(slow=0.5)
    url = serve(wechat_channel(reply_budget_seconds=0.3, hold_retries=True), stub)
    xml = text_xml("慢：海珠区租金减免")
    first = asyncio.ensure_future(post_plain(http, url, xml))
    await asyncio.sleep(0.32)  # WeChat would hang up at 5 s and retry; here: retry while attempt 1 is held
    status, body = await post_plain(http, url, xml)
    assert reply_of(body)["Content"] == echo_answer("慢：海珠区租金减免")
    await first
    assert len(stub.calls) == 1


async def test_long_answer_split_and_rest_sent_by_customer_service(serve, http, fake_api):
    url = serve(wechat_channel(sender=kf(fake_api)), StubRasa())
    status, body = await post_plain(http, url, text_xml("增城区全部措施"))
    first = reply_of(body)["Content"]
    assert len(body.encode("utf-8")) <= 2048 + 300  # the XML envelope around ≤2000 bytes of text
    assert len(first.encode("utf-8")) <= WECHAT_MAX_BYTES <= 2048
    await fake_api.wait_for(2)
    await asyncio.sleep(0.1)
    rest = [s["text"]["content"] for s in fake_api.sent]
    assert all(s["touser"] == OPENID for s in fake_api.sent)
    assert all(len(p.encode("utf-8")) <= 2048 for p in rest)
    assert "\n".join([first] + rest) == long_answer()


async def test_long_answer_without_customer_service_is_cut_with_a_note(serve, http):
    url = serve(wechat_channel(), StubRasa())
    status, body = await post_plain(http, url, text_xml("增城区全部措施"))
    content = reply_of(body)["Content"]
    assert len(content.encode("utf-8")) <= 2048
    assert content.startswith("按您的情况") and content.endswith(wording.TRUNCATED_NOTE)


async def test_customer_service_token_refreshed_once_when_rejected(fake_api):
    sender = kf(fake_api)
    sender._token, sender._token_expires = "STALE", time.monotonic() + 3600
    assert await sender.send_text(OPENID, "您好，您咨询的稳岗补贴可向区人社局申请。")
    assert len(fake_api.token_requests) == 1 and len(fake_api.sent) == 1
    await sender.close()


# --------------------------------------------------------------------------- WeCom
def wecom_channel(**kw: Any) -> WeComInput:
    kw.setdefault("reply_budget_seconds", 1.0)
    kw.setdefault("followup_delay_seconds", 0.0)
    return WeComInput(TOKEN, corp_id=CORP_ID, encoding_aes_key=AES_KEY, **kw)


def wecom_text_xml(content: str) -> str:
    return ("<xml><ToUserName><![CDATA[{corp}]]></ToUserName>\n"
            "<FromUserName><![CDATA[{user}]]></FromUserName>\n"
            "<CreateTime>{t}</CreateTime>\n"
            "<MsgType><![CDATA[text]]></MsgType>\n"
            "<Content><![CDATA[{c}]]></Content>\n"
            "<MsgId>{mid}</MsgId>\n"
            "<AgentID>{agent}</AgentID>\n"
            "</xml>").format(corp=CORP_ID, user=WECOM_USER, t=int(time.time()), c=content,
                             mid=next(_msgids), agent=AGENT_ID)


async def test_wecom_url_verification(serve, http):
    url = serve(wecom_channel(), StubRasa())
    timestamp, nonce = str(int(time.time())), "1372623149"
    crypto = WeComCrypto(TOKEN, AES_KEY, CORP_ID)
    echostr = WeComPrpCrypto(crypto.key).encrypt("5927430512638469087", CORP_ID).decode()
    q = {"msg_signature": _get_signature(TOKEN, timestamp, nonce, echostr),
         "timestamp": timestamp, "nonce": nonce, "echostr": echostr}
    async with http.get(url + "?" + urllib.parse.urlencode(q)) as resp:
        assert resp.status == 200
        assert await resp.text() == "5927430512638469087"
    q["msg_signature"] = "f" * 40
    async with http.get(url + "?" + urllib.parse.urlencode(q)) as resp:
        assert resp.status == 403


async def test_wecom_encrypted_message_round_trip(serve, http):
    stub = StubRasa()
    url = serve(wecom_channel(), stub)
    timestamp, nonce = str(int(time.time())), new_nonce()
    crypto = WeComCrypto(TOKEN, AES_KEY, CORP_ID)
    envelope = reply_of(crypto.encrypt_message(wecom_text_xml("珠海市高新区有哪些稳岗补贴？"), nonce, timestamp))
    body = ("<xml><ToUserName><![CDATA[{corp}]]></ToUserName>\n<AgentID><![CDATA[{agent}]]></AgentID>\n"
            "<Encrypt><![CDATA[{enc}]]></Encrypt>\n</xml>").format(corp=CORP_ID, agent=AGENT_ID,
                                                                  enc=envelope["Encrypt"])
    q = {"msg_signature": envelope["MsgSignature"], "timestamp": timestamp, "nonce": nonce}
    async with http.post(url, params=q, data=body.encode()) as resp:
        assert resp.status == 200
        text = await resp.text()
    out = reply_of(text)
    reply = reply_of(crypto.decrypt_message(text, out["MsgSignature"], out["TimeStamp"], out["Nonce"]))
    assert reply["ToUserName"] == WECOM_USER
    assert reply["Content"] == echo_answer("珠海市高新区有哪些稳岗补贴？")
    assert [(m.sender_id, m.input_channel) for m in stub.calls] == [(WECOM_USER, "wecom")]

    q["msg_signature"] = "0" * 40
    async with http.post(url, params=q, data=body.encode()) as resp:
        assert resp.status == 403
    assert len(stub.calls) == 1


async def test_wecom_late_answer_via_app_message(serve, http, fake_api):
    sender = WeComAppMessenger(CORP_ID, SECRET, AGENT_ID, fake_api.base)
    stub = StubRasa(slow=0.6)
    url = serve(wecom_channel(reply_budget_seconds=0.2, sender=sender), stub)
    timestamp, nonce = str(int(time.time())), new_nonce()
    crypto = WeComCrypto(TOKEN, AES_KEY, CORP_ID)
    envelope = reply_of(crypto.encrypt_message(wecom_text_xml("慢：南沙区研发补助"), nonce, timestamp))
    body = f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt></xml>"
    q = {"msg_signature": envelope["MsgSignature"], "timestamp": timestamp, "nonce": nonce}
    async with http.post(url, params=q, data=body.encode()) as resp:
        assert (resp.status, await resp.text()) == (200, "")
    [sent] = await fake_api.wait_for(1)
    assert sent == {"touser": WECOM_USER, "msgtype": "text", "agentid": int(AGENT_ID),
                    "text": {"content": echo_answer("慢：南沙区研发补助")}}
    assert fake_api.token_requests == [{"corpid": CORP_ID, "corpsecret": SECRET}]


def wecom_post_params(xml: str, timestamp: Optional[str] = None) -> Dict[str, Any]:
    """Body and query of an encrypted WeCom callback, as WeCom sends them."""
    timestamp, nonce = timestamp or str(int(time.time())), new_nonce()
    envelope = reply_of(WeComCrypto(TOKEN, AES_KEY, CORP_ID).encrypt_message(xml, nonce, timestamp))
    body = (f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><AgentID><![CDATA[{AGENT_ID}]]></AgentID>"
            f"<Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt></xml>")
    return {"params": {"msg_signature": envelope["MsgSignature"], "timestamp": timestamp, "nonce": nonce},
            "data": body.encode()}


# --------------------------------------------------------------------------- signatures: age, reuse, plain vs safe
@pytest.mark.parametrize("age", [-400, 301, 365 * 24 * 3600])
async def test_signature_outside_the_time_window_is_403(serve, http, age):
    """A correctly signed URL from a year ago (or the future) must not be accepted."""
    stub = StubRasa()
    url = serve(wechat_channel(), stub)
    ts = str(int(time.time()) - age)
    async with http.post(url, params=plain_params(timestamp=ts), data=text_xml(QUESTION).encode()) as resp:
        assert resp.status == 403 and "window" in await resp.text()
    async with http.get(url, params={**plain_params(timestamp=ts), "echostr": "7439510813265459712"}) as resp:
        assert resp.status == 403 and "7439510813265459712" not in await resp.text()
    status, _ = await post_safe(http, serve(wechat_channel(safe=True), stub), text_xml(QUESTION), timestamp=ts)
    assert status == 403
    wecom = serve(wecom_channel(), stub)
    async with http.post(wecom, **wecom_post_params(wecom_text_xml(QUESTION), timestamp=ts)) as resp:
        assert resp.status == 403
    assert stub.calls == []


async def test_time_window_is_configurable_and_a_recent_signature_passes(serve, http, monkeypatch):
    stub = StubRasa()
    url = serve(wechat_channel(), stub)
    status, _ = await post_plain(http, url, text_xml(QUESTION), timestamp=str(int(time.time()) - 200))
    assert status == 200 and len(stub.calls) == 1  # within the default 5 minutes
    monkeypatch.setenv("WECHAT_TOKEN", TOKEN)
    strict = WeChatInput.from_credentials({"timestamp_window_seconds": 60, "reply_budget_seconds": 1})
    assert strict.timestamp_window_seconds == 60
    assert WeChatInput.from_credentials({}).timestamp_window_seconds == base.DEFAULT_TIMESTAMP_WINDOW_SECONDS == 300
    url = serve(strict, stub)
    status, _ = await post_plain(http, url, text_xml(QUESTION), timestamp=str(int(time.time()) - 120))
    assert status == 403 and len(stub.calls) == 1


async def test_one_signed_url_reused_with_forged_senders_is_refused(serve, http):
    """Plain mode signs token/timestamp/nonce only: the issue reused one URL with 20 forged senders."""
    stub = StubRasa()
    url = serve(wechat_channel(), stub)
    q = plain_params()
    async with http.post(url, params=q, data=text_xml(QUESTION).encode()) as resp:
        assert resp.status == 200
    for i in range(20):
        forged = text_xml("转人工", openid=f"oForged{i:02d}Kp2Yt8xJm0zW4nR7s")
        async with http.post(url, params=q, data=forged.encode()) as resp:
            assert resp.status == 403 and "reused" in await resp.text()
    assert [m.sender_id for m in stub.calls] == [OPENID]


async def test_genuine_retry_on_the_same_signed_url_is_answered_once(serve, http):
    stub = StubRasa(delay=0.3)
    url = serve(wechat_channel(reply_budget_seconds=2.0), stub)
    q, xml = plain_params(), text_xml(QUESTION)

    async def attempt() -> tuple:
        async with http.post(url, params=q, data=xml.encode()) as resp:
            return resp.status, await resp.text()

    results = await asyncio.gather(attempt(), attempt())
    results.append(await attempt())
    assert [s for s, _ in results] == [200, 200, 200]
    assert all(reply_of(b)["Content"] == echo_answer(QUESTION) for _, b in results)
    assert len(stub.calls) == 1


async def test_plain_message_refused_when_an_aes_key_is_configured(serve, http, monkeypatch):
    stub = StubRasa()
    status, body = await post_plain(http, serve(wechat_channel(safe=True), stub), text_xml(QUESTION))
    assert status == 403 and "plain" in body
    assert stub.calls == []
    # during the switch to safe mode an operator can still accept plain messages
    status, body = await post_plain(http, serve(wechat_channel(safe=True, allow_plain=True), stub), text_xml(QUESTION))
    assert status == 200 and reply_of(body)["Content"] == echo_answer(QUESTION)
    for env, allowed in (("1", True), ("", False)):
        monkeypatch.setenv("WECHAT_ALLOW_PLAIN", env)
        assert WeChatInput.from_credentials({"token": TOKEN, "appid": APPID,
                                             "encoding_aes_key": AES_KEY}).allow_plain is allowed


# --------------------------------------------------------------------------- duplicate filter shared by restarts and instances
@pytest.fixture(params=["sql", "redis"])
def shared_store(request, tmp_path):
    """Makes stores that share one backend: like processes, each opens its own connection."""
    from bot.channels.dedup import RedisBackend, SharedDedupStore, SQLBackend
    if request.param == "sql":
        url = f"sqlite:///{tmp_path / 'channels.db'}"
        return lambda: SharedDedupStore(SQLBackend(url))
    redis_url = os.environ.get("TEST_REDIS_URL")
    if not redis_url:
        pytest.skip("no Redis server: scripts/test.sh starts one (scripts/redis.sh), or set TEST_REDIS_URL")
    prefix = f"test:{uuid.uuid4().hex}:"
    return lambda: SharedDedupStore(RedisBackend(redis_url, prefix=prefix))


@pytest.fixture
def server(monkeypatch):
    """Like `serve`, but hands back the server so a test can stop (restart) it."""
    monkeypatch.setattr(Sanic, "test_mode", True)
    started: List[SanicThread] = []

    def _start(channel: Any, stub: Any) -> SanicThread:
        started.append(SanicThread(channel, stub).start())
        return started[-1]

    yield _start
    for s in started:
        if s.thread.is_alive():
            s.stop()


async def test_retry_after_a_restart_is_answered_once(server, http, shared_store):
    stub = StubRasa()
    xml = text_xml(QUESTION)
    first = server(wechat_channel(dedup_store=shared_store()), stub)
    status, body = await post_plain(http, first.url, xml)
    assert status == 200 and reply_of(body)["Content"] == echo_answer(QUESTION)
    first.stop()  # the process restarts; WeChat's retry of the same MsgId arrives at the new one
    second = server(wechat_channel(dedup_store=shared_store()), stub)
    status, body = await post_plain(http, second.url, xml)
    assert status == 200 and reply_of(body)["Content"] == echo_answer(QUESTION)
    assert len(stub.calls) == 1


async def test_two_instances_answer_a_msgid_once_and_share_used_urls(server, http, shared_store):
    stub = StubRasa(delay=0.4)
    a = server(wechat_channel(reply_budget_seconds=3.0, dedup_store=shared_store()), stub)
    b = server(wechat_channel(reply_budget_seconds=3.0, dedup_store=shared_store()), stub)
    xml = text_xml(QUESTION)
    first = asyncio.ensure_future(post_plain(http, a.url, xml))
    await asyncio.sleep(0.1)  # WeChat's retry lands on the other instance while A is answering
    results = [await post_plain(http, b.url, xml), await first]
    assert [s for s, _ in results] == [200, 200]
    assert all(reply_of(body)["Content"] == echo_answer(QUESTION) for _, body in results)
    assert len(stub.calls) == 1
    # a URL signed for one message and replayed on the other instance with a forged sender
    q = plain_params()
    async with http.post(a.url, params=q, data=text_xml("稳岗补贴").encode()) as resp:
        assert resp.status == 200
    async with http.post(b.url, params=q, data=text_xml("转人工", openid=OTHER_OPENID).encode()) as resp:
        assert resp.status == 403
    assert [m.sender_id for m in stub.calls] == [OPENID, OPENID]


def test_channels_use_redis_when_configured_else_a_sql_table(monkeypatch, tmp_path):
    from bot.channels.dedup import DEFAULT_SQL_PATH, RedisBackend, SharedDedupStore, SQLBackend
    for var in ("REDIS_URL", "DEDUP_DATABASE_URL"):
        monkeypatch.delenv(var, raising=False)
    store = WeChatInput.from_credentials({"token": TOKEN}).store
    assert isinstance(store, SharedDedupStore) and isinstance(store.backend, SQLBackend)
    assert store.backend.url == f"sqlite:///{DEFAULT_SQL_PATH}" and DEFAULT_SQL_PATH.parent.name == "var"
    monkeypatch.setenv("DEDUP_DATABASE_URL", f"sqlite:///{tmp_path / 'd.db'}")
    assert WeComInput.from_credentials({}).store.backend.url == f"sqlite:///{tmp_path / 'd.db'}"
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6390/2")
    for channel in (WeChatInput.from_credentials({"token": TOKEN}), WeComInput.from_credentials({})):
        assert isinstance(channel.store.backend, RedisBackend) and channel.store.backend.url.endswith(":6390/2")


async def test_sql_store_file_is_private_and_expired_entries_start_over(tmp_path):
    from bot.channels.dedup import SharedDedupStore, SQLBackend
    store = SharedDedupStore(SQLBackend(f"sqlite:///{tmp_path / 'channels.db'}"), ttl=0.2)
    assert [await store.claim("k"), await store.claim("k")] == [1, 2]
    await store.publish("k", ["答案"])
    assert await store.remember("sig:1:2", "a", 0.2) == "a" and await store.remember("sig:1:2", "b", 0.2) == "a"
    assert (tmp_path / "channels.db").stat().st_mode & 0o777 == 0o600  # holds openids and answers
    await asyncio.sleep(0.25)
    assert await store.claim("k") == 1 and await store.wait("k", 0.05) is None
    assert await store.remember("sig:1:2", "b", 0.2) == "b"
    await store.close()


async def test_shared_store_down_refuses_with_503_and_the_server_keeps_running(serve, http):
    """Redis unreachable: refuse quickly (WeChat retries; a replayed URL is never let through
    unchecked), without reaching Rasa, and the server stays up."""
    from bot.channels.dedup import RedisBackend, SharedDedupStore
    stub = StubRasa()
    url = serve(wechat_channel(dedup_store=SharedDedupStore(RedisBackend("redis://127.0.0.1:1/0", timeout=0.5))),
                stub)
    started = time.monotonic()
    status, body = await post_plain(http, url, text_xml(QUESTION))
    assert (status, body) == (503, "temporarily unavailable") and time.monotonic() - started < 3
    assert stub.calls == []
    async with http.get(url.rsplit("/", 1)[0] + "/") as resp:
        assert resp.status == 200


async def test_sql_store_opened_by_several_instances_at_once(tmp_path):
    """Instances starting together open the same new file: none may fail (the fuzz subset found
    "table already exists" and "database is locked" here, answered as 503)."""
    from bot.channels.dedup import SharedDedupStore, SQLBackend
    for trial in range(8):
        stores = [SharedDedupStore(SQLBackend(f"sqlite:///{tmp_path / f'c{trial}.db'}")) for _ in range(4)]
        results = await asyncio.gather(*(s.remember(f"sig:{i}", "digest", 10) for i, s in enumerate(stores)),
                                       return_exceptions=True)
        assert results == ["digest"] * 4
        for s in stores:
            await s.close()


# --------------------------------------------------------------------------- fuzz (seeded subset of bench.fuzz_wechat_targets)
async def test_fuzzed_callbacks_never_get_5xx_or_hang(server, http, tmp_path):
    """200 seeded inputs over both callbacks: signed and unsigned, plain and safe, malformed XML,
    bombs, huge bodies, invalid UTF-8, emoji, markup. Every one gets a 2xx/4xx within the hang
    limit, no reply is broken XML or a trace, and the server still answers afterwards."""
    from bench import fuzz_wechat_targets as fz
    from bot.channels.dedup import SharedDedupStore, SQLBackend

    store = lambda: SharedDedupStore(SQLBackend(f"sqlite:///{tmp_path / 'channels.db'}"))  # noqa: E731
    stub = StubRasa()
    channels = [WeChatInput(fz.TOKEN, appid=fz.APPID, encoding_aes_key=fz.AES_KEY, allow_plain=True,
                            reply_budget_seconds=1.0, dedup_store=store()),
                WeComInput(fz.TOKEN, corp_id=fz.CORP_ID, encoding_aes_key=fz.AES_KEY, reply_budget_seconds=1.0,
                           dedup_store=store())]
    srv = server(channels, stub)
    base_url = srv.url.split("/webhooks/")[0]
    started = time.monotonic()
    tally = await fz.send_all(base_url, fz.corpus(seed=20240611, n=200), concurrency=4)
    assert tally.failures() == 0, tally.examples
    assert tally.slowest < fz.HANG_SECONDS and time.monotonic() - started < 60
    assert set(tally.statuses) <= fz.EXPECTED and tally.statuses[200] > 10 and tally.statuses[403] > 10
    assert srv.thread.is_alive()
    timestamp, nonce = str(int(time.time())), new_nonce()
    params = {"signature": sign(timestamp, nonce, fz.TOKEN), "timestamp": timestamp, "nonce": nonce}
    async with http.post(srv.url, params=params, data=text_xml(QUESTION).encode()) as resp:
        assert resp.status == 200 and reply_of(await resp.text())["Content"] == echo_answer(QUESTION)


async def test_while_a_handoff_ticket_is_open_messages_go_to_the_agent_not_the_bot(serve, http, tmp_path):
    """转人工 on WeChat: while the ticket is open, what the enterprise writes lands on the ticket
    (the agent sees it) and the user is told so; other users still get the bot; once the agent
    closes the ticket, the bot answers again."""
    inbox = Inbox(f"sqlite:///{tmp_path / 'inbox.db'}")
    ticket = inbox.open_ticket(sender=OPENID, channel="wechat", question="增城区贷款贴息", profile={},
                               conversation=[], measures=[], summary="摘要", hotline=None)
    stub = StubRasa()
    url = serve(wechat_channel(inbox=inbox), stub)
    status, body = await post_plain(http, url, text_xml("我的电话是020-12345678"))
    assert status == 200
    assert reply_of(body)["Content"] == wording.forwarded_to_agent(ticket["number"])
    assert stub.calls == []
    said = [e["text"] for e in inbox.ticket(ticket["id"])["events"] if e["kind"] == "customer"]
    assert said == ["我的电话是020-12345678"]

    status, body = await post_plain(http, url, text_xml(QUESTION, openid=OTHER_OPENID), openid=OTHER_OPENID)
    assert reply_of(body)["Content"] == echo_answer(QUESTION)

    inbox.close(ticket["id"], "王坐席", "已解答")
    status, body = await post_plain(http, url, text_xml(QUESTION))
    assert reply_of(body)["Content"] == echo_answer(QUESTION)
    assert [m.sender_id for m in stub.calls] == [OTHER_OPENID, OPENID]


async def test_an_unreadable_inbox_leaves_the_bot_answering(serve, http, tmp_path):
    broken = Inbox(f"sqlite:///{tmp_path / 'no-such-dir' / 'inbox.db'}")
    stub = StubRasa()
    url = serve(wechat_channel(inbox=broken), stub)
    status, body = await post_plain(http, url, text_xml(QUESTION))
    assert status == 200 and reply_of(body)["Content"] == echo_answer(QUESTION)
