"""Latency of the WeChat channel's passive reply under concurrent users.

    .venv/bin/python -m bench.wechat_bench [--users 20] [--rounds 25] [--stub-ms 20] [--safe]
                                           [--store memory|sql|redis]

Starts a server in a subprocess, as `rasa run` would (one Sanic worker, the
channel mounted by Rasa's `register`, an `on_new_message` stub that answers in
~stub-ms instead of a trained model), then N users (distinct openids) each send
`rounds` questions one after another, all users at once, signed exactly as
WeChat signs them. Measures request -> passive reply at the client and checks
every reply is addressed to its sender and carries its answer.

What it measures is the channel's own overhead (signature, XML, dedup store,
task scheduling, HTTP) around a fixed-time answer; Rasa's NLU and policies come
on top. ``--store`` picks the duplicate filter: ``sql`` (what ``rasa run`` uses
by default: a SQLite table in a temporary file), ``redis`` (``REDIS_URL``), or
``memory`` (in-process, the baseline).
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import statistics
import subprocess
import sys
import time
from typing import List, Tuple

from tests.servers import free_port

TOKEN = "zcZhuShou2024"
APPID = "wx5f2c8e7a1b3d4c6e"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
ACCOUNT = "gh_3f9a2c1b7e54"
MSGIDS = itertools.count(24700000000000000)  # unique across warm-up and run, as WeChat's are
NONCES = itertools.count(1000000000 + os.getpid() % 1000 * 1000000)
QUESTIONS = [
    "增城区的小微企业有哪些租金减免？",
    "天河区制造业贷款贴息怎么申请？",
    "稳岗补贴找哪个部门？",
    "海珠区个体户有没有社保补贴？",
    "珠海市高新区研发补助多少钱？",
]


# --------------------------------------------------------------------------- server side
def serve(port: int, stub_ms: float, store: str = "memory") -> None:
    from types import SimpleNamespace

    from rasa.core.channels.channel import register
    from sanic import Sanic

    from bot.channels.wechat import WeChatInput

    async def on_new_message(message) -> None:  # stands in for agent.handle_message
        await asyncio.sleep(stub_ms / 1000)
        await message.output_channel.send_text_message(
            message.sender_id, f"关于“{message.text}”，找到3条相关措施：\n1. 减免物业租金……\n出处：增府规〔2020〕1号")

    app = Sanic("wechat_bench", configure_logging=False)
    app.config.MOTD = False
    app.ctx.agent = SimpleNamespace(handle_message=on_new_message)
    from bot.channels.dedup import InMemoryDedupStore, store_from_settings
    if store == "memory":
        dedup = InMemoryDedupStore()
    else:
        import tempfile
        dedup = store_from_settings(os.environ["REDIS_URL"] if store == "redis" else None,
                                    f"sqlite:///{tempfile.mkdtemp()}/channels.db")
    # allow_plain: one server measures both modes
    register([WeChatInput(TOKEN, appid=APPID, encoding_aes_key=AES_KEY, allow_plain=True, dedup_store=dedup)],
             app, route="/webhooks/")
    app.run(host="127.0.0.1", port=port, access_log=False, workers=1)


# --------------------------------------------------------------------------- client side
async def wait_up(url: str, timeout: float = 60.0) -> None:
    import aiohttp

    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            try:
                async with http.get(url) as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("bench server did not start")


async def run_clients(base: str, users: int, rounds: int, safe: bool) -> Tuple[List[float], int]:
    import aiohttp
    import xmltodict
    from wechatpy.crypto import WeChatCrypto
    from wechatpy.utils import WeChatSigner

    crypto = WeChatCrypto(TOKEN, AES_KEY, APPID)
    latencies: List[float] = []
    errors = 0

    async def user(http: aiohttp.ClientSession, n: int) -> None:
        nonlocal errors
        openid = f"oBench{n:04d}" + "x" * 18
        for r in range(rounds):
            q = QUESTIONS[(n + r) % len(QUESTIONS)]
            ts, nonce = str(int(time.time())), str(next(NONCES))  # a fresh nonce per request, as WeChat
            signer = WeChatSigner()
            signer.add_data(TOKEN, ts, nonce)
            params = {"signature": signer.signature, "timestamp": ts, "nonce": nonce, "openid": openid}
            xml = (f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
                   f"<FromUserName><![CDATA[{openid}]]></FromUserName><CreateTime>{ts}</CreateTime>"
                   f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{q}]]></Content>"
                   f"<MsgId>{next(MSGIDS)}</MsgId></xml>")
            if safe:
                env = xmltodict.parse(crypto.encrypt_message(xml, nonce, ts))["xml"]
                params.update(encrypt_type="aes", msg_signature=env["MsgSignature"])
                xml = f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><Encrypt><![CDATA[{env['Encrypt']}]]></Encrypt></xml>"
            t0 = time.perf_counter()
            async with http.post(base, params=params, data=xml.encode()) as resp:
                body = await resp.text()
            latencies.append(time.perf_counter() - t0)
            try:
                if safe:
                    env = xmltodict.parse(body)["xml"]
                    body = crypto.decrypt_message(body, env["MsgSignature"], env["TimeStamp"], env["Nonce"])
                reply = xmltodict.parse(body)["xml"]
                if resp.status != 200 or reply["ToUserName"] != openid or q not in reply["Content"]:
                    errors += 1
            except Exception:
                errors += 1

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        await asyncio.gather(*(user(http, n) for n in range(users)))
    return latencies, errors


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (Linux), for attributing time to server vs client."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def pct(values: List[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * len(s) + 0.5) - 1))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=25)
    ap.add_argument("--stub-ms", type=float, default=20.0)
    ap.add_argument("--safe", action="store_true", help="safe (AES) mode instead of plain")
    ap.add_argument("--store", choices=["memory", "sql", "redis"], default="memory",
                    help="duplicate filter (redis needs REDIS_URL)")
    ap.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve, args.stub_ms, args.store)
        return

    port = free_port()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.wechat_bench", "--serve", str(port), "--stub-ms", str(args.stub_ms),
         "--store", args.store],
        cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}/webhooks/wechat/webhook"
        asyncio.run(wait_up(f"http://127.0.0.1:{port}/webhooks/wechat/"))
        asyncio.run(run_clients(base, args.users, 2, args.safe))  # warm-up
        server_cpu0, client_cpu0 = cpu_seconds(proc.pid), time.process_time()
        started = time.perf_counter()
        lat, errors = asyncio.run(run_clients(base, args.users, args.rounds, args.safe))
        wall = time.perf_counter() - started
        server_cpu, client_cpu = cpu_seconds(proc.pid) - server_cpu0, time.process_time() - client_cpu0
    finally:
        proc.terminate()
        proc.wait(10)
    ms = [x * 1000 for x in lat]
    mode = "safe (AES)" if args.safe else "plain"
    print(f"WeChat channel, {mode} mode, duplicate filter {args.store}: {args.users} concurrent users x {args.rounds} messages, "
          f"stub answers in {args.stub_ms:.0f} ms")
    print(f"  requests {len(ms)}, wrong/failed replies {errors}, {len(ms) / wall:.0f} req/s")
    print(f"  request -> passive reply: p50 {statistics.median(ms):.1f} ms, p95 {pct(ms, 95):.1f} ms, "
          f"max {max(ms):.1f} ms")
    print(f"  CPU per request: server {server_cpu / len(ms) * 1000:.2f} ms, "
          f"bench client {client_cpu / len(ms) * 1000:.2f} ms (same machine, {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
