"""Fuzz targets for the WeChat and WeCom callbacks, and a runner of their own.

    .venv/bin/python -m bench.fuzz_wechat_targets [--n 10000] [--seed 1] [--concurrency 8]

`TARGETS` is a list of functions ``target(rng) -> FuzzRequest``: each draws one
request from a seeded `random.Random` — signed and unsigned, plain and safe
(AES) mode, WeChat and WeCom, POST messages and GET URL checks — whose body
may be malformed XML, an XML bomb or external entity, a huge body, invalid
UTF-8, a body in another encoding, and whose text may be emoji floods,
zero-width and right-to-left marks, markup, SQL and template strings, control
characters or random CJK. Signed requests are signed with the secrets in `ENV`
and the current time, so call a target right before sending what it returns;
a server under test must run with `ENV` in its environment (a benchmark
that starts the assistant the way ``make run`` does passes it on) and
`EXPECTED` are the statuses it may answer. Nothing here needs a trained model.

Run as a module, it starts a server of its own in a subprocess (both channels
mounted by Rasa's ``register``, a stub that answers like Rasa in ~1 ms, the
SQLite duplicate filter in a temporary directory), sends ``--n`` inputs and
prints the counts that must all be 0: 5xx, hangs (no answer in
`HANG_SECONDS`), crashes (server gone), replies that are not XML, and the
server's memory growth. Also written to ``bench/out/fuzz_wechat.json``.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import hashlib
import json
import os
import random
import string
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

from bench import fuzz_bench

WECHAT_PATH = "/webhooks/wechat/webhook"
WECOM_PATH = "/webhooks/wecom/webhook"
TOKEN = "fuzzToken2024"
APPID = "wxf0f1f2f3f4f5f6f7"
AES_KEY = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"
CORP_ID = "wwfuzz0123456789ab"
AGENT_ID = "1000002"
ACCOUNT = "gh_fuzz00000000"
#: what the server must run with for the signed inputs to verify (plain and safe mode on one account)
ENV = {"WECHAT_TOKEN": TOKEN, "WECHAT_APPID": APPID, "WECHAT_AES_KEY": AES_KEY, "WECHAT_ALLOW_PLAIN": "1",
       "WECOM_TOKEN": TOKEN, "WECOM_CORP_ID": CORP_ID, "WECOM_AES_KEY": AES_KEY,
       # the duplicate filter of a fuzzed server in a throwaway file, not the project's var/channels.db
       "DEDUP_DATABASE_URL": f"sqlite:///{os.path.join(tempfile.gettempdir(), f'fuzz-wechat-{os.getpid()}.db')}"}
#: every answer a callback may give to these inputs; 5xx is a failure, so is anything else
EXPECTED = {200, 400, 403, 404, 405, 413}
HANG_SECONDS = 10.0


@dataclass
class FuzzRequest:
    target: str
    method: str
    path: str
    query: str  # already percent-encoded (may carry bytes that are not UTF-8)
    body: bytes = b""
    headers: Dict[str, str] = field(default_factory=lambda: {"Content-Type": "text/xml"})


# --------------------------------------------------------------------------- text and XML generators
_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
_RTL = "\u202e\u202b\u200f\u061c"
_MARKUP = ['<img src=x onerror=alert(1)>', '<script>alert("x")</script>', ']]>', '<![CDATA[', '&amp;&lt;&#0;',
           '<a href="javascript:alert(1)">点我</a>', '</Content></xml><xml>', '"><svg/onload=alert(1)>']
_INJECTION = ["' OR 1=1 --", '"; DROP TABLE events; --', "{{7*7}}", "${jndi:ldap://127.0.0.1/a}", "%s%n%x",
              "{0.__class__}", "<%= 7*7 %>", "../../../../etc/passwd", "\\x00\\u0000", "NaN", "null"]
_QUESTIONS = ["增城区的小微企业有哪些租金减免？", "稳岗补贴找哪个部门？", "转人工", "你好"]


def _cjk(rng: random.Random, n: int) -> str:
    return "".join(chr(rng.randint(0x4E00, 0x9FFF)) for _ in range(n))


def fuzz_text(rng: random.Random) -> str:
    """One user text: mostly odd, sometimes an ordinary question."""
    kind = rng.randrange(12)
    if kind == 0:
        return rng.choice(_QUESTIONS)
    if kind == 1:
        return "".join(chr(rng.randint(0x1F300, 0x1FAFF)) for _ in range(rng.choice([1, 50, 3000])))
    if kind == 2:
        return "".join(rng.choice(_ZERO_WIDTH + _RTL + "增城区") for _ in range(rng.randint(1, 400)))
    if kind == 3:
        return rng.choice(_MARKUP) + rng.choice(_QUESTIONS)
    if kind == 4:
        return rng.choice(_INJECTION)
    if kind == 5:
        return _cjk(rng, rng.choice([1, 1999, 2000, 2001, 12000]))
    if kind == 6:
        return "".join(chr(rng.randint(1, 31)) for _ in range(rng.randint(1, 50)))  # control characters
    if kind == 7:
        return rng.choice(["", " ", "\n\t ", "\u3000\u3000"])
    if kind == 8:
        return "".join(chr(rng.randint(0x20, 0x2FFFF)) for _ in range(rng.randint(1, 300))
                       ).encode("utf-8", "ignore").decode("utf-8", "ignore")  # drops lone surrogates
    if kind == 9:
        return "A" * rng.choice([70000, 200000])  # past the body limit
    if kind == 10:
        return rng.choice(_QUESTIONS) * rng.randint(50, 200)
    return "".join(rng.choice(string.printable) for _ in range(rng.randint(1, 200)))


def _cdata(text: str) -> str:
    return text if "]]>" not in text else text.replace("]]>", "]]]]><![CDATA[>")


def message_xml(rng: random.Random, to: str = ACCOUNT, agent: bool = False) -> str:
    """A message as WeChat / WeCom would write it, or one of its broken cousins."""
    sender = rng.choice(["oFuzz" + "".join(rng.choice(string.ascii_letters) for _ in range(23)),
                         "", "o" * 5000, "oVx\u202e反向", "<b>x</b>"])
    created = rng.choice([str(int(time.time())), "-1", "0", "abc", str(2 ** 80), ""])
    msgid = rng.choice([str(rng.randrange(10 ** 17, 10 ** 18)), "0", "-5", "x1", str(2 ** 100), ""])
    mtype = rng.choice(["text"] * 6 + ["voice", "image", "event", "location", "link", "video", "unknown", ""])
    extra = ""
    if mtype == "voice":
        extra = f"<Recognition><![CDATA[{_cdata(fuzz_text(rng))}]]></Recognition><MediaId>m1</MediaId>"
    elif mtype == "event":
        extra = f"<Event><![CDATA[{rng.choice(['subscribe', 'unsubscribe', 'CLICK', 'SCAN', 'LOCATION', ''])}]]></Event>"
    elif mtype == "image":
        extra = "<PicUrl><![CDATA[http://mmbiz.qpic.cn/x/0]]></PicUrl><MediaId>m2</MediaId>"
    content = f"<Content><![CDATA[{_cdata(fuzz_text(rng))}]]></Content>" if mtype in ("text", "", "unknown") else ""
    fields = [f"<ToUserName><![CDATA[{to}]]></ToUserName>", f"<FromUserName><![CDATA[{sender}]]></FromUserName>",
              f"<CreateTime>{created}</CreateTime>", f"<MsgType><![CDATA[{mtype}]]></MsgType>", content, extra,
              f"<MsgId>{msgid}</MsgId>", f"<AgentID>{AGENT_ID}</AgentID>" if agent else ""]
    if rng.random() < 0.15:
        rng.shuffle(fields)
    if rng.random() < 0.1:
        fields.append(fields[1])  # a second FromUserName
    return "<xml>" + "".join(fields) + "</xml>"


def broken_body(rng: random.Random, to: str = ACCOUNT) -> bytes:
    """Bodies no parser should choke on: truncated, nested, bombs, entities, other encodings, bytes."""
    good = message_xml(rng, to)
    kind = rng.randrange(13)
    if kind == 0:
        return good.encode()[: rng.randrange(1, len(good))]
    if kind == 1:  # billion laughs
        ents = "".join(f'<!ENTITY l{i} "{("&l%d;" % (i - 1)) * 10 if i else "lol"}">' for i in range(10))
        return f'<?xml version="1.0"?><!DOCTYPE xml [{ents}]><xml><Content>&l9;</Content></xml>'.encode()
    if kind == 2:  # external entity
        return (b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                b'<xml><FromUserName>&x;</FromUserName><MsgType>text</MsgType><Content>&x;</Content></xml>')
    if kind == 3:  # lower-case / parameter entities, to get past a naive check
        return b'<!doctype xml [<!entity % p SYSTEM "http://127.0.0.1:9/x.dtd"> %p;]><xml/>'
    if kind == 4:
        depth = rng.choice([100, 5000, 20000])
        return ("<xml>" + "<a>" * depth + "x" + "</a>" * depth + "</xml>").encode()
    if kind == 5:
        return bytes(rng.randrange(256) for _ in range(rng.choice([1, 100, 5000])))
    if kind == 6:  # invalid UTF-8: lone surrogate, overlong, stray continuation, truncated sequence
        bad = rng.choice([b"\xed\xa0\x80", b"\xc0\xaf", b"\x80\x80", b"\xe5\xa2", b"\xff\xfe"])
        return good.encode().replace(b"<Content><![CDATA[", b"<Content><![CDATA[" + bad, 1)
    if kind == 7:
        return good.encode("utf-16")
    if kind == 8:
        return ('<?xml version="1.0" encoding="GBK"?>' + good).encode("gbk", "replace")
    if kind == 9:
        return b"\xef\xbb\xbf" + good.encode()  # BOM
    if kind == 10:
        return b""
    if kind == 11:
        raw = good.encode()  # two roots; or ~1 MB, past our 64 KB limit (below Sanic's own 100 MB)
        return raw * rng.choice([2, max(2, 1_000_000 // len(raw))])
    return f"<?xml version='1.0'?><!-- {fuzz_text(rng)} --><?pi x?>{good}".encode("utf-8", "replace")


# --------------------------------------------------------------------------- signing
_recent: "collections.deque[tuple]" = collections.deque(maxlen=64)


def _sha1(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def _stamp(rng: random.Random) -> tuple:
    """(timestamp, nonce): mostly fresh, sometimes stale, odd, or reused from a recent request."""
    r = rng.random()
    if r < 0.06 and _recent:
        return rng.choice(list(_recent))
    if r < 0.12:
        return (rng.choice([str(int(time.time()) - 400), "abc", "", str(10 ** 30), "-1"]), str(rng.randrange(10 ** 9)))
    stamp = (str(int(time.time())), rng.choice([str(rng.randrange(10 ** 9, 10 ** 10)), "n" * 3000, "\u6d4b", ""]))
    _recent.append(stamp)
    return stamp


def _query(params: Dict[str, str], rng: random.Random) -> str:
    q = urllib.parse.urlencode(params)
    if rng.random() < 0.05:
        q += rng.choice(["&nonce=%ff%fe", "&timestamp=%00", "&&&=", "&signature", "&a=" + "%e4" * 50])
    return q


def _crypto(wecom: bool):
    if wecom:
        from wechatpy.enterprise.crypto import WeChatCrypto
        return WeChatCrypto(TOKEN, AES_KEY, CORP_ID)
    from wechatpy.crypto import WeChatCrypto
    return WeChatCrypto(TOKEN, AES_KEY, APPID)


def _encrypted(rng: random.Random, plain: str, wecom: bool) -> tuple:
    """(query params, body) of an encrypted callback around `plain` — or around garbage."""
    ts, nonce = _stamp(rng)
    r = rng.random()
    if r < 0.6:
        enc = _crypto(wecom).encrypt_message(plain, nonce or "n", ts or "0")
        start, end = enc.index("<Encrypt><![CDATA[") + 18, enc.index("]]></Encrypt>")
        encrypt = enc[start:end]
    elif r < 0.8:
        encrypt = base64.b64encode(bytes(rng.randrange(256) for _ in range(rng.choice([16, 32, 100])))).decode()
    else:
        encrypt = rng.choice(["", "!!!not base64!!!", "QUJD", "=" * 10, fuzz_text(rng)[:500]])
    signature = _sha1(TOKEN, ts, nonce, encrypt) if rng.random() < 0.85 else "0" * 40
    body = (f"<xml><ToUserName><![CDATA[{CORP_ID if wecom else ACCOUNT}]]></ToUserName>"
            f"<Encrypt><![CDATA[{_cdata(encrypt)}]]></Encrypt></xml>")
    return {"msg_signature": signature, "timestamp": ts, "nonce": nonce}, body.encode("utf-8", "surrogatepass")


def _prp_class(wecom: bool):
    if wecom:
        from wechatpy.enterprise.crypto import PrpCrypto
    else:
        from wechatpy.crypto import PrpCrypto
    return PrpCrypto


# --------------------------------------------------------------------------- targets
def wechat_plain_signed(rng: random.Random) -> FuzzRequest:
    """Plain mode, correctly signed (mostly), any body."""
    ts, nonce = _stamp(rng)
    sig = _sha1(TOKEN, ts, nonce) if rng.random() < 0.9 else _sha1("guess", ts, nonce)
    body = message_xml(rng).encode("utf-8") if rng.random() < 0.6 else broken_body(rng)
    return FuzzRequest("wechat_plain_signed", "POST", WECHAT_PATH,
                       _query({"signature": sig, "timestamp": ts, "nonce": nonce, "openid": "oFuzz"}, rng), body)


def wechat_unsigned(rng: random.Random) -> FuzzRequest:
    """No or forged signature, odd parameters: must be refused before anything is parsed."""
    params = rng.choice([{}, {"signature": "x"}, {"signature": "0" * 40, "timestamp": "1", "nonce": "1"},
                         {"encrypt_type": rng.choice(["aes", "AES", "rsa", ""]), "msg_signature": "f" * 40},
                         {"timestamp": str(int(time.time())), "nonce": "1", "signature": fuzz_text(rng)[:100]}])
    body = message_xml(rng).encode("utf-8") if rng.random() < 0.5 else broken_body(rng)
    return FuzzRequest("wechat_unsigned", "POST", WECHAT_PATH, _query(params, rng), body)


def wechat_safe(rng: random.Random) -> FuzzRequest:
    """Safe (AES) mode: valid ciphertext around fuzzed messages, or garbage ciphertext."""
    plain = message_xml(rng) if rng.random() < 0.8 else broken_body(rng).decode("utf-8", "replace")
    params, body = _encrypted(rng, plain, wecom=False)
    params.update(encrypt_type="aes", openid="oFuzz")
    return FuzzRequest("wechat_safe", "POST", WECHAT_PATH, _query(params, rng), body)


def wechat_url_check(rng: random.Random) -> FuzzRequest:
    ts, nonce = _stamp(rng)
    sig = _sha1(TOKEN, ts, nonce) if rng.random() < 0.5 else "0" * 40
    echostr = rng.choice([str(rng.randrange(10 ** 18)), fuzz_text(rng)[:300], ""])
    return FuzzRequest("wechat_url_check", "GET", WECHAT_PATH,
                       _query({"signature": sig, "timestamp": ts, "nonce": nonce, "echostr": echostr}, rng))


def wecom_message(rng: random.Random) -> FuzzRequest:
    plain = message_xml(rng, to=CORP_ID, agent=True) if rng.random() < 0.8 else broken_body(rng, CORP_ID).decode(
        "utf-8", "replace")
    params, body = _encrypted(rng, plain, wecom=True)
    if rng.random() < 0.1:
        body = broken_body(rng, CORP_ID)  # a broken envelope
    return FuzzRequest("wecom_message", "POST", WECOM_PATH, _query(params, rng), body)


def wecom_url_check(rng: random.Random) -> FuzzRequest:
    ts, nonce = _stamp(rng)
    if rng.random() < 0.6:
        from wechatpy.utils import to_text
        echostr = to_text(_prp_class(True)(_crypto(True).key).encrypt(rng.choice(["1234567890", fuzz_text(rng)[:200]]),
                                                                       CORP_ID))
    else:
        echostr = rng.choice(["", "QUJD", fuzz_text(rng)[:200]])
    sig = _sha1(TOKEN, ts, nonce, echostr) if rng.random() < 0.8 else "f" * 40
    return FuzzRequest("wecom_url_check", "GET", WECOM_PATH,
                       _query({"msg_signature": sig, "timestamp": ts, "nonce": nonce, "echostr": echostr}, rng))


TARGETS: List[Callable[[random.Random], FuzzRequest]] = [
    wechat_plain_signed, wechat_unsigned, wechat_safe, wechat_url_check, wecom_message, wecom_url_check,
]


def corpus(seed: int, n: int):
    """n requests, drawn lazily (signed ones use the time at which they are drawn)."""
    rng = random.Random(seed)
    for i in range(n):
        yield TARGETS[i % len(TARGETS)](rng)


# --------------------------------------------------------------------------- running them
Tally = fuzz_bench.Tally  # one tally for every target


def reply_is_sound(status: int, body: str) -> bool:
    """A 200 is 'success', empty, an echo, or XML that parses; nothing shows a stack trace."""
    if "Traceback" in body:
        return False
    if status != 200 or not body.startswith("<xml>"):
        return True
    import xml.etree.ElementTree as ET
    try:
        ET.fromstring(body.encode("utf-8"))
        return True
    except ET.ParseError:
        return False


async def send_all(base: str, requests, concurrency: int = 8, tally: Optional[Tally] = None) -> Tally:
    """Send every request (an iterable of FuzzRequest) to `base` (http://host:port) and tally the answers."""
    import aiohttp
    from yarl import URL

    tally = tally or Tally()
    queue: "asyncio.Queue[Optional[FuzzRequest]]" = asyncio.Queue(maxsize=concurrency * 2)
    timeout = aiohttp.ClientTimeout(total=HANG_SECONDS)

    async def worker(http: aiohttp.ClientSession) -> None:
        while True:
            req = await queue.get()
            if req is None:
                return
            started = time.monotonic()
            try:
                url = URL(f"{base}{req.path}?{req.query}", encoded=True)
                async with http.request(req.method, url, data=req.body, headers=req.headers) as resp:
                    body = await resp.text(errors="replace")
                    status = resp.status
            except asyncio.TimeoutError:
                tally.hangs += 1
                tally.examples.append(f"hang: {req.target} {req.body[:120]!r}")
                continue
            except (aiohttp.ClientError, ConnectionError) as e:
                tally.connection_errors += 1
                tally.examples.append(f"connection: {req.target} {type(e).__name__} {req.body[:120]!r}")
                continue
            finally:
                tally.slowest = max(tally.slowest, time.monotonic() - started)
            tally.statuses[status] += 1
            tally.by_target[req.target][status] += 1
            if status >= 500:
                tally.server_errors += 1
                tally.examples.append(f"{status}: {req.target} {req.query[:80]} {req.body[:120]!r} -> {body[:120]}")
            elif status not in EXPECTED:
                tally.unexpected += 1
                tally.examples.append(f"{status}: {req.target} {req.body[:120]!r}")
            if not reply_is_sound(status, body):
                tally.bad_replies += 1
                tally.examples.append(f"bad reply: {req.target} {body[:200]!r}")

    async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=0)) as http:
        workers = [asyncio.ensure_future(worker(http)) for _ in range(concurrency)]
        for req in requests:
            await queue.put(req)
        for _ in workers:
            await queue.put(None)
        await asyncio.gather(*workers)
    return tally


def build_app(dedup_url: str):
    """A Sanic app holding both channels as `rasa run` mounts them, with a stub for Rasa."""
    from types import SimpleNamespace

    from rasa.core.channels.channel import register
    from sanic import Sanic

    from bot.channels.wechat import WeChatInput
    from bot.channels.wecom import WeComInput

    async def on_new_message(message) -> None:  # stands in for agent.handle_message
        await asyncio.sleep(0.001)
        await message.output_channel.send_text_message(message.sender_id, f"关于“{message.text}”，找到1条相关措施。")

    app = Sanic(f"fuzz_wechat_{os.getpid()}", configure_logging=False)
    app.config.MOTD = False
    app.ctx.agent = SimpleNamespace(handle_message=on_new_message)
    os.environ.update(ENV)
    os.environ["DEDUP_DATABASE_URL"] = dedup_url
    settings = {"reply_budget_seconds": 2.0}
    register([WeChatInput.from_credentials(settings), WeComInput.from_credentials(settings)], app, route="/webhooks/")
    return app


def _serve(port: int, dedup_url: str) -> None:
    import logging
    logging.basicConfig(level=logging.CRITICAL)  # thousands of refusals are expected
    build_app(dedup_url).run(host="127.0.0.1", port=port, access_log=False, workers=1)


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:"))
    except (OSError, StopIteration, ValueError):
        return -1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--dedup-url", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        _serve(args.serve, args.dedup_url)
        return 0

    import aiohttp

    from tests.servers import free_port

    port = free_port()
    tmp = tempfile.mkdtemp(prefix="fuzz-wechat-")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.Popen([sys.executable, "-m", "bench.fuzz_wechat_targets", "--serve", str(port),
                             "--dedup-url", f"sqlite:///{tmp}/channels.db"], cwd=root,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"

    async def up() -> None:
        deadline = time.monotonic() + 60
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                try:
                    async with http.get(base + "/webhooks/wechat/") as resp:
                        if resp.status == 200:
                            return
                except aiohttp.ClientError:
                    await asyncio.sleep(0.2)
        raise RuntimeError("fuzz server did not start")

    try:
        asyncio.run(up())
        asyncio.run(send_all(base, corpus(args.seed + 1, 300), args.concurrency))  # warm-up
        rss0 = _rss_kb(proc.pid)
        started = time.perf_counter()
        tally = asyncio.run(send_all(base, corpus(args.seed, args.n), args.concurrency))
        wall = time.perf_counter() - started
        rss1 = _rss_kb(proc.pid)
        crashed = proc.poll() is not None
    finally:
        proc.terminate()
        proc.wait(10)
    out = {
        "inputs": args.n, "seed": args.seed, "seconds": round(wall, 1),
        "5xx": tally.server_errors, "hangs": tally.hangs, "crashes": int(crashed),
        "connection_errors": tally.connection_errors, "unexpected_status": tally.unexpected,
        "bad_replies": tally.bad_replies, "memory_growth_kb": rss1 - rss0, "rss_kb": rss1,
        "slowest_s": round(tally.slowest, 2), "statuses": dict(sorted(tally.statuses.items())),
        "by_target": {k: dict(sorted(v.items())) for k, v in tally.by_target.items()},
        "examples": tally.examples[:20],
    }
    print(f"WeChat/WeCom callbacks: {args.n} fuzz inputs (seed {args.seed}) in {wall:.0f} s")
    print(f"  5xx {out['5xx']}, hangs {out['hangs']}, crashes {out['crashes']}, "
          f"connection errors {out['connection_errors']}, unexpected statuses {out['unexpected_status']}, "
          f"bad replies {out['bad_replies']}")
    print(f"  server memory {rss0 // 1024} -> {rss1 // 1024} MB; slowest answer {tally.slowest:.2f} s")
    print(f"  statuses {out['statuses']}")
    for line in out["examples"][:10]:
        print("  e.g.", line)
    os.makedirs(os.path.join(root, "bench", "out"), exist_ok=True)
    with open(os.path.join(root, "bench", "out", "fuzz_wechat.json"), "w", encoding="utf-8") as fh:
        json.dump(out, fh, ensure_ascii=False, indent=2)
    return 1 if tally.failures() or crashed else 0


if __name__ == "__main__":
    sys.exit(main())
