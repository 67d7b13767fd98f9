"""Fuzz the public inputs of the running assistant: does any request stop, hang or break it?

    .venv/bin/python -m bench.fuzz_bench [--n 10000] [--seed 1] [--concurrency 8] [--no-extra]

Starts the assistant the way the end-to-end tests do (``tests.servers.Assistant``: the
trained model, the action server, Rasa through ``bot.runtime.launch`` with the production
endpoints and credentials) and the assist console (``python -m bot.assist``), then sends
``--n`` inputs drawn from a seeded generator — wrong types, top-level arrays and
scalars, huge bodies and messages, invalid UTF-8 and JSON-escaped lone surrogates,
zero-width and right-to-left marks, emoji floods, markup, SQL and template strings,
random CJK, traditional characters, forged widget sessions and tokens — to

* Rasa's REST channel (``/webhooks/rest/webhook``, also ``?stream=true``),
* the widget channel (``/webhooks/widget/session`` and ``/webhook``, real and forged sessions),
* the assist console's JSON API (``/api/understand``, ``/api/measures``, ``/api/workorder``).

It prints and writes to ``bench/out/fuzz.json``: counts of 5xx, hangs (no answer within
``HANG_SECONDS``), crashes (a server process gone), connection errors, statuses outside
the expected set, bodies showing a traceback, each server's RSS before and after (after a
warm-up of 300 inputs), and whether Rasa still answers "你好" afterwards. All but the
memory figures are expected to be 0.

Measured (2,000 inputs, seed 1, 8 in flight, WeChat/WeCom targets included, 2 shared cores):
0 5xx, 0 crashes, 0 tracebacks, still answering; 4 hangs, all ordinary-length messages
of random CJK characters: ``bot.profile_reader.unknown_place`` runs jieba's POS tagger (HMM
Viterbi) over the whole text, ~4 s for 300 such characters and ~38 s for 2,000, on the
action server — a fix belongs there. RSS: Rasa +12 MB, actions ±0, console +116 MB.

Hook for other channels: ``TARGETS`` is a list of functions ``target(rng) -> request``
(a :class:`FuzzRequest`, or any object with ``target, method, path, query, body, headers``
and optionally ``server``: "rasa" (default) or "assist"). Modules listed in
``EXTRA_TARGET_MODULES`` that define ``TARGETS`` (and ``ENV``: what the servers must run
with, ``EXPECTED``: statuses their targets may get) are added when importable —
``bench.fuzz_wechat_targets`` adds the WeChat and WeCom callbacks. ``--no-extra`` skips them.

``tests/test_fuzz_inputs.py`` runs a seeded subset of ~500 inputs (REST and widget
only) as an ordinary test.
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import importlib
import json
import os
import random
import string
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

ROOT = Path(__file__).resolve().parents[1]
HANG_SECONDS = 30.0  # Rasa answers an ordinary message in ~0.1–0.5 s; 8 in flight on 2 cores
EXPECTED = {"rasa": {200, 400, 401, 403, 404, 405, 413}, "assist": {200, 400, 401, 404, 405, 413}}
EXTRA_TARGET_MODULES = ["bench.fuzz_wechat_targets"]

#: filled by the runner before targets are drawn: valid widget sessions, the console's token
CONTEXT: Dict[str, Any] = {"sessions": ["w1.AAAAAAAAAAAAAAAAAAAAAA.AAAA"], "assist_token": "unset"}


@dataclass
class FuzzRequest:
    target: str
    method: str
    path: str
    query: str = ""  # already percent-encoded
    body: bytes = b""
    headers: Dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    server: str = "rasa"


# --------------------------------------------------------------------------- text
_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
_RTL = "\u202e\u202b\u200f\u061c\u202a"
_MARKUP = ['<img src=x onerror=alert(1)>', '<script>alert("x")</script>', '"><svg/onload=alert(1)>',
           '<a href="javascript:alert(1)">点我</a>', '<b>增城区</b>', '</textarea><iframe src=//x>', '&lt;&#0;&amp;',
           '[链接](javascript:alert(1))', '<!--', ']]>']
_INJECTION = ["' OR 1=1 --", '"; DROP TABLE events; --', "1; SELECT * FROM measures", "{{7*7}}", "${7*7}",
              "${jndi:ldap://127.0.0.1/a}", "%s%n%x%d", "{0.__class__.__mro__}", "<%= 7*7 %>", "#{7*7}",
              "../../../../etc/passwd", "\\u0000", "NaN", "null", "__proto__", "$where: 1"]
_QUESTIONS = ["增城区小微企业有什么贷款贴息", "天河区开公司有什么便利措施", "稳岗补贴找哪个部门？", "转人工", "你好",
              "第1条详细说说", "跳过", "海珠区", "我们30个人，年营收300万"]
_TRADITIONAL = ["增城區的小微企業有什麼貸款貼息", "天河區開辦企業有哪些便利措施", "穩崗補貼怎麼申請", "廣州市海珠區製造業企業"]
_EMOJI = [chr(c) for c in range(0x1F300, 0x1F64F)] + ["👨‍👩‍👧‍👦", "🏳️‍🌈", "🇨🇳", "❤️"]


def _cjk(rng: random.Random, n: int) -> str:
    return "".join(chr(rng.randint(0x4E00, 0x9FFF)) for _ in range(n))


def fuzz_text(rng: random.Random) -> str:
    """One user text: mostly odd, sometimes an ordinary question."""
    kind = rng.randrange(14)
    if kind == 0:
        return rng.choice(_QUESTIONS)
    if kind == 1:
        return "".join(rng.choice(_EMOJI) for _ in range(rng.choice([1, 30, 500, 1999, 3000])))
    if kind == 2:
        return "".join(rng.choice(_ZERO_WIDTH + _RTL + "增城区") for _ in range(rng.randint(1, 400)))
    if kind == 3:
        return rng.choice(_MARKUP) + rng.choice(_QUESTIONS) + rng.choice(_MARKUP)
    if kind == 4:
        return rng.choice(_INJECTION) + rng.choice(["", rng.choice(_QUESTIONS)])
    if kind == 5:
        return _cjk(rng, rng.choice([1, 5, 50, 300, 1999, 2000, 2001, 5000]))
    if kind == 6:
        return rng.choice(_TRADITIONAL)
    if kind == 7:
        return "".join(chr(rng.randint(0, 31)) for _ in range(rng.randint(1, 50)))  # control characters, NUL
    if kind == 8:
        return rng.choice(["", " ", "\n\t ", "\u3000\u3000", "\u00a0"])
    if kind == 9:
        return "".join(chr(rng.randint(0x20, 0x2FFFF)) for _ in range(rng.randint(1, 300)))  # may hold surrogates
    if kind == 10:
        return rng.choice(_QUESTIONS) * rng.randint(20, 200)
    if kind == 11:
        return rng.choice(_QUESTIONS) + rng.choice(["\ud800", "\udc80", "\udfff"])  # lone surrogate
    if kind == 12:
        return "我的电话13812345678，身份证440101199001011234，" + rng.choice(_QUESTIONS)
    return "".join(rng.choice(string.printable) for _ in range(rng.randint(1, 200)))


def _json(value: Any) -> bytes:
    # json.dumps escapes lone surrogates as \udc80, which is valid JSON: exactly what a client can send
    return json.dumps(value).encode("ascii")


def _odd_value(rng: random.Random) -> Any:
    return rng.choice([None, 0, -1, 1.5, True, [], ["a"], {}, {"text": "hi"}, 10 ** 30, "", " "])


def json_message_body(rng: random.Random, sender: Any) -> bytes:
    """A body for a {"sender", "message"} webhook: mostly well formed, often not."""
    kind = rng.randrange(16)
    text = fuzz_text(rng)
    if kind < 6:
        return _json({"sender": sender, "message": text})
    if kind == 6:
        return _json({"sender": sender, "message": _odd_value(rng)})
    if kind == 7:
        return _json({"sender": _odd_value(rng), "message": text})
    if kind == 8:
        return _json(rng.choice([[sender, text], text, 42, None, True, [{"sender": sender, "message": text}]]))
    if kind == 9:
        return _json({"message": text})
    if kind == 10:  # invalid UTF-8 / encoded surrogates / another encoding
        raw = rng.choice([b"\xed\xa0\x80", b"\xff\xfe", b"\xc0\xaf", b"\x80", "增城".encode("gbk")])
        return b'{"sender": "' + raw + b'", "message": "' + raw + b'"}'
    if kind == 11:
        return _json({"sender": sender, "message": text, "metadata": {"blob": "x" * rng.choice([10, 5000, 70000])},
                      "input_channel": rng.choice(["wechat", "wecom", "cmdline", "<script>"])})
    if kind == 12:  # deep nesting
        depth = rng.choice([50, 1000, 20000])
        return b'{"sender": "deep", "message": ' + b"[" * depth + b"]" * depth + b"}"
    if kind == 13:  # not JSON at all
        return rng.choice([b"", b"{", b"sender=a&message=b", b"<xml><a/></xml>", b"\x00" * 100, b"{'a': 1}",
                           b'{"sender": "a", "message": "b"} trailing'])
    if kind == 14:
        return _json({"sender": sender, "message": text, "extra": [_odd_value(rng) for _ in range(5)]})
    return b"x" * rng.choice([70000, 300000])  # past the body limit


def rest_webhook(rng: random.Random) -> FuzzRequest:
    sender = rng.choice([f"fuzz-{rng.randrange(300)}", "default", "oGZUI0egBJY1zhBYw2KhdUfwVJJE", "a" * 200,
                         "\udc80", "", "用户" + _cjk(rng, 3), "a\nb", "../x"])
    stream = rng.random() < 0.15
    return FuzzRequest("rest", "POST", "/webhooks/rest/webhook", "stream=true" if stream else "",
                       json_message_body(rng, sender))


def widget_webhook(rng: random.Random) -> FuzzRequest:
    sessions = CONTEXT["sessions"]
    good = rng.choice(sessions)
    head, rand, mac = (good.split(".") + ["", "", ""])[:3]
    sender = rng.choice([good, good, good, good, f"{head}.{rand}.{mac[::-1]}", f"{head}.{rand[::-1]}.{mac}",
                         "widget:" + rand, "oGZUI0egBJY1zhBYw2KhdUfwVJJE", "w1..", good + ".x", good[:-1]])
    return FuzzRequest("widget", "POST", "/webhooks/widget/webhook", "", json_message_body(rng, sender))


def widget_session(rng: random.Random) -> FuzzRequest:
    return FuzzRequest("widget_session", rng.choice(["POST", "POST", "GET", "PUT"]), "/webhooks/widget/session", "",
                       rng.choice([b"", b"{}", b"[]", b"\xff" * 10, b"x" * 70000]))


def console_api(rng: random.Random) -> FuzzRequest:
    token = CONTEXT["assist_token"]
    path = rng.choice(["/api/understand", "/api/measures", "/api/workorder", "/api/workorder", "/api/nope"])
    kind = rng.randrange(6)
    if kind < 3:
        body = {"text": fuzz_text(rng)}
        for slot in ("district", "industry", "size", "topic"):
            if rng.random() < 0.3:
                body[slot] = rng.choice([fuzz_text(rng)[:80], _odd_value(rng), "增城区", "小型、微型", ["小型", 3]])
        for key in ("limit", "offset", "measure_ids", "as_of", "need", "unit"):
            if rng.random() < 0.2:
                body[key] = rng.choice([_odd_value(rng), "2026-11-25", "9999-99-99", [1, 2, 3], "1,2", -5,
                                        fuzz_text(rng)[:50]])
        raw = _json(body)
    elif kind == 3:
        raw = json_message_body(rng, "x")
    elif kind == 4:
        raw = rng.choice([b"", b"[]", b"null", b"\xed\xa0\x80", b"x" * 70000, b'{"text": ' + b"[" * 5000 + b"]" * 5000 + b"}"])
    else:
        raw = _json({"text": rng.choice(_QUESTIONS)})
    auth = rng.choice([f"Bearer {token}"] * 4 + ["", "Bearer wrong", "Basic eA==", f"Bearer {token}\u00e9"])
    headers = {"Content-Type": "application/json"}
    if auth:
        headers["Authorization"] = auth.encode("utf-8").decode("latin-1")
    return FuzzRequest("console", "POST", path, "", raw, headers, server="assist")


TARGETS: List[Callable[[random.Random], Any]] = [rest_webhook, rest_webhook, widget_webhook, widget_webhook,
                                                  widget_session, console_api]
#: the subset the pytest run uses (no console server there)
RASA_TARGETS: List[Callable[[random.Random], Any]] = [rest_webhook, widget_webhook, widget_session]


def load_extra(modules: List[str]) -> Dict[str, Any]:
    """TARGETS, ENV and EXPECTED of the extra modules that can be imported."""
    extra: Dict[str, Any] = {"targets": [], "env": {}, "expected": set(), "modules": []}
    for name in modules:
        try:
            mod = importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 — a module still being written must not stop the bench
            print(f"  (skipping {name}: {type(exc).__name__}: {exc})")
            continue
        extra["targets"] += list(getattr(mod, "TARGETS", []))
        extra["env"].update(getattr(mod, "ENV", {}))
        extra["expected"] |= set(getattr(mod, "EXPECTED", set()))
        extra["modules"].append(name)
    return extra


def corpus(seed: int, n: int, targets: List[Callable[[random.Random], Any]]):
    rng = random.Random(seed)
    for i in range(n):
        yield targets[i % len(targets)](rng)


# --------------------------------------------------------------------------- sending
@dataclass
class Tally:
    sent: int = 0
    statuses: collections.Counter = field(default_factory=collections.Counter)
    by_target: Dict[str, collections.Counter] = field(default_factory=lambda: collections.defaultdict(collections.Counter))
    server_errors: int = 0
    hangs: int = 0
    connection_errors: int = 0
    unexpected: int = 0
    tracebacks: int = 0
    bad_replies: int = 0  # a WeChat/WeCom reply that is neither empty, "success" nor XML that parses
    slowest: float = 0.0
    examples: List[str] = field(default_factory=list)

    def failures(self) -> int:
        return (self.server_errors + self.hangs + self.connection_errors + self.unexpected + self.tracebacks
                + self.bad_replies)

    def as_dict(self) -> Dict[str, Any]:
        return {"sent": self.sent, "5xx": self.server_errors, "hangs": self.hangs,
                "connection_errors": self.connection_errors, "unexpected_status": self.unexpected,
                "tracebacks": self.tracebacks, "slowest_s": round(self.slowest, 2),
                "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
                "by_target": {k: {str(s): c for s, c in sorted(v.items())} for k, v in sorted(self.by_target.items())},
                "examples": self.examples[:20]}


async def send_all(bases: Dict[str, str], requests, concurrency: int = 8, hang_seconds: float = HANG_SECONDS,
                   expected: Optional[Dict[str, set]] = None, tally: Optional[Tally] = None,
                   progress: int = 0) -> Tally:
    """Send every request to its server (``bases[request.server]``) and tally the answers."""
    import aiohttp
    from yarl import URL

    expected = expected or EXPECTED
    tally = tally or Tally()
    queue: "asyncio.Queue[Any]" = asyncio.Queue(maxsize=concurrency * 2)
    timeout = aiohttp.ClientTimeout(total=hang_seconds)

    def note(text: str) -> None:
        if len(tally.examples) < 200:
            tally.examples.append(text)

    async def worker(http: "aiohttp.ClientSession") -> None:
        while True:
            req = await queue.get()
            if req is None:
                return
            server = getattr(req, "server", "rasa")
            started = time.monotonic()
            tally.sent += 1
            try:
                query = f"?{req.query}" if req.query else ""
                url = URL(f"{bases[server]}{req.path}{query}", encoded=True)
                async with http.request(req.method, url, data=req.body, headers=req.headers) as resp:
                    body = await resp.text(errors="replace")
                    status = resp.status
            except asyncio.TimeoutError:
                tally.hangs += 1
                note(f"hang: {req.target} {req.body[:120]!r}")
                continue
            except (aiohttp.ClientError, ConnectionError) as e:
                tally.connection_errors += 1
                note(f"connection: {req.target} {type(e).__name__} {req.body[:120]!r}")
                continue
            finally:
                tally.slowest = max(tally.slowest, time.monotonic() - started)
            tally.statuses[status] += 1
            tally.by_target[req.target][status] += 1
            answered = sum(tally.statuses.values())
            if progress and answered % progress == 0:
                print(f"  … {answered} answered, {tally.failures()} failures so far", flush=True)
            if status >= 500:
                tally.server_errors += 1
                note(f"{status}: {req.target} {req.body[:120]!r} -> {body[:160]}")
            elif status not in expected.get(server, set()) | expected.get("extra", set()):
                tally.unexpected += 1
                note(f"{status}: {req.target} {req.body[:120]!r}")
            if "Traceback" in body:
                tally.tracebacks += 1
                note(f"traceback: {req.target} {body[:160]!r}")

    async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=0)) as http:
        workers = [asyncio.ensure_future(worker(http)) for _ in range(concurrency)]
        for req in requests:
            await queue.put(req)
        for _ in workers:
            await queue.put(None)
        await asyncio.gather(*workers)
    return tally


def rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:"))
    except (OSError, StopIteration, ValueError):
        return -1


def widget_sessions(rasa_base: str, n: int = 20) -> List[str]:
    out = []
    for _ in range(n):
        req = urllib.request.Request(f"{rasa_base}/webhooks/widget/session", data=b"", method="POST")
        with urllib.request.urlopen(req, timeout=30) as resp:
            out.append(json.loads(resp.read())["session"])
    return out


# --------------------------------------------------------------------------- the benchmark
def start_console(tmp: Path, db_url: str, token: str):
    from tests.servers import free_port, wait_http
    port = free_port()
    env = dict(os.environ, DATABASE_URL=db_url, ASSIST_TOKEN=token, ASSIST_PORT=str(port), PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "bot.assist"], cwd=ROOT, env=env,
                            stdout=open(tmp / "assist.log", "ab"), stderr=subprocess.STDOUT)
    wait_http(f"http://127.0.0.1:{port}/healthz", proc, 120)
    return proc, f"http://127.0.0.1:{port}"


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--no-extra", action="store_true", help="only the REST, widget and console targets")
    args = ap.parse_args(argv)

    from bot.build import build
    from tests.servers import MODEL, Assistant
    if not MODEL.exists():
        print("no trained model: run `make run` or `make test` once")
        return 2
    extra = load_extra([] if args.no_extra else EXTRA_TARGET_MODULES)
    os.environ.update(extra["env"])  # the servers must verify the extra targets' signatures
    targets = TARGETS + extra["targets"]
    expected = dict(EXPECTED, extra=extra["expected"])

    tmp = Path(tempfile.mkdtemp(prefix="fuzz-"))
    db_url = f"sqlite:///{tmp / 'measures.db'}"
    build(db_url)
    print(f"starting the assistant and the console (logs in {tmp}) …", flush=True)
    assistant = Assistant(tmp, db_url)
    console, console_base = start_console(tmp, db_url, "fuzz-console-token")
    rasa_base = f"http://127.0.0.1:{assistant.port}"
    bases = {"rasa": rasa_base, "assist": console_base}
    CONTEXT.update(sessions=widget_sessions(rasa_base), assist_token="fuzz-console-token")
    procs = {"rasa": assistant.rasa, "actions": assistant.procs[0], "assist": console}
    try:
        asyncio.run(send_all(bases, corpus(args.seed + 1, 300, targets), args.concurrency, expected=expected))
        before = {name: rss_kb(p.pid) for name, p in procs.items()}
        started = time.perf_counter()
        tally = asyncio.run(send_all(bases, corpus(args.seed, args.n, targets), args.concurrency, expected=expected,
                                     progress=500))
        wall = time.perf_counter() - started
        after = {name: rss_kb(p.pid) for name, p in procs.items()}
        crashed = sorted(name for name, p in procs.items() if p.poll() is not None)
        try:
            still_answers = bool(assistant.say("fuzz-after", "你好").strip())
        except Exception:  # noqa: BLE001
            still_answers = False
    finally:
        console.terminate()
        assistant.stop()
    out = {"inputs": args.n, "seed": args.seed, "concurrency": args.concurrency, "seconds": round(wall, 1),
           "targets": sorted({t.__name__ for t in targets}), "extra_modules": extra["modules"],
           "crashes": len(crashed), "crashed": crashed, "still_answers_nihao": still_answers,
           "rss_kb_before": before, "rss_kb_after": after,
           "memory_growth_kb": {k: after[k] - before[k] for k in before}, **tally.as_dict()}
    print(f"fuzz: {args.n} inputs (seed {args.seed}, {args.concurrency} in flight) in {wall:.0f} s "
          f"over {', '.join(out['targets'])}")
    print(f"  5xx {tally.server_errors}, hangs {tally.hangs}, crashes {len(crashed)} {crashed or ''}, "
          f"connection errors {tally.connection_errors}, unexpected statuses {tally.unexpected}, "
          f"tracebacks {tally.tracebacks}; still answers 你好: {still_answers}")
    for name in before:
        print(f"  {name}: RSS {before[name] // 1024} -> {after[name] // 1024} MB")
    print(f"  slowest answer {tally.slowest:.1f} s; statuses {out['statuses']}")
    for line in tally.examples[:10]:
        print("  e.g.", line)
    (ROOT / "bench" / "out").mkdir(parents=True, exist_ok=True)
    (ROOT / "bench" / "out" / "fuzz.json").write_text(json.dumps(out, ensure_ascii=False, indent=2), encoding="utf-8")
    return 1 if tally.failures() or crashed or not still_answers else 0


if __name__ == "__main__":
    sys.exit(main())
