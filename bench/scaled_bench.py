"""Load and conversation length on the scaled stack (scripts/run-scaled.sh): one instance vs two behind HAProxy.

    flock /work/heavy.lock .venv/bin/python -m bench.scaled_bench [--users 20,50,100] [--seconds 30]
                                                                  [--turns 200] [--skip-load] [--skip-length]
                                                                  [--stack-home DIR]

Starts the stack on free loopback ports in a temporary SCALED_HOME (or uses the one running
in --stack-home), then:

1. Load. For each concurrency (20, 50, 100 conversations), two runs on the same stack,
   interleaved: "one" sends every turn to rasa-1's own port (rasa-2 idles), "two" sends
   them to the balancer (round robin over rasa-1 and rasa-2). Each simulated user talks
   through the multi-turn scripts of bench.rasa_bench with a fresh sender id per
   conversation and sends its next message as soon as the reply arrives. Reported:
   replies/s, latency p50/p95/p99 at the client, errors (non-200 or the apology), CPU
   milliseconds per message of every process (both Rasa instances, both action servers,
   PostgreSQL with its backends, Redis, HAProxy) and the largest RSS of each over the run.
   On 2 cores two instances cannot double throughput: the per-message CPU says what a
   bigger machine would get (docs/deploy.md sizes a cluster from it).
2. Conversation length. One conversation of --turns turns (the scripts, repeated) on one
   instance; median latency of turns 1-20, 91-110 and 181-200, split into the time the
   action servers took (HAProxy's server response time of each action call in the turn)
   and everything else (the channel, the tracker read and write, NLU, policies, building
   the action request); and at turn 20 and at the last turn: the number of events in the
   tracker, the JSON size of what Rasa ships to the action server, and how long the
   action server takes for it (the same request replayed).

Prints a table and writes bench/out/scaled_bench.json. Speed figures only; the behaviour
is tested in tests/test_scaled.py.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional

from bench.rasa_bench import SCRIPTS, summarize
from tests.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
SCRIPT = ROOT / "scripts" / "run-scaled.sh"
TCK = os.sysconf("SC_CLK_TCK")


def log(*a) -> None:
    print(*a, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- the stack
class Stack:
    def __init__(self, home: Path, own: bool, env: Dict[str, str]):
        self.home, self.own, self.env = home, own, env
        out = subprocess.run(["bash", "-c", f"source '{home / 'env'}' && env -0"], capture_output=True,
                             check=True).stdout.decode().split("\0")
        v = dict(x.split("=", 1) for x in out if "=" in x)
        self.port = int(v["SCALED_PORT"])
        self.rasa_ports = [int(p) for p in v["SCALED_RASA_PORTS"].split()]
        self.action_port = int(v["SCALED_ACTIONS_PORT"])
        self.rest_token, self.api_token, self.action_secret = (v["RASA_REST_TOKEN"], v["RASA_TOKEN"],
                                                               v["ACTION_SERVER_SECRET"])

    def processes(self) -> Dict[str, List[int]]:
        """name -> pids (PostgreSQL: the postmaster and its backends)."""
        procs = {p.name: [int(p.read_text())] for p in sorted((self.home / "pids").iterdir())}
        redis_pid = self.home / "redis" / "pid"
        if redis_pid.exists():
            procs["redis"] = [int(redis_pid.read_text())]
        pg = self.home / "pg"
        data = Path(os.readlink(pg / "home")) / "data" if (pg / "home").is_symlink() else pg / "data"
        if (data / "postmaster.pid").exists():
            master = int((data / "postmaster.pid").read_text().split()[0])
            procs["postgres"] = [master] + children(master)
        return procs


def children(pid: int) -> List[int]:
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                fields = Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(d))
    return out


def cpu_seconds(pids: List[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])  # + reaped children
        except OSError:
            pass
    return total / TCK


def rss_mb(pids: List[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


class Sampler(threading.Thread):
    """Largest RSS of each process over a run (sampled each second)."""

    def __init__(self, stack: Stack):
        super().__init__(daemon=True)
        self.stack, self.peak, self.stop = stack, {}, threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            for name, pids in self.stack.processes().items():
                self.peak[name] = max(self.peak.get(name, 0.0), rss_mb(pids))
            self.stop.wait(1.0)


def start_stack(args) -> Stack:
    if args.stack_home:
        return Stack(Path(args.stack_home), False, dict(os.environ, SCALED_HOME=args.stack_home))
    home = Path(tempfile.mkdtemp(prefix="scaled-bench-"))
    ports = [free_port() for _ in range(7)]
    env = dict(os.environ, SCALED_HOME=str(home), SCALED_INSTANCES="2", SCALED_PORT=str(ports[0]),
               SCALED_ACTIONS_PORT=str(ports[1]), SCALED_STATS_PORT=str(ports[2]),
               SCALED_RASA_PORTS=f"{ports[3]} {ports[4]}", SCALED_ACTION_PORTS=f"{ports[5]} {ports[6]}")
    log("starting the scaled stack (scripts/run-scaled.sh up) …")
    subprocess.run(["bash", str(SCRIPT), "up"], cwd=ROOT, env=env, check=True, timeout=900)
    return Stack(home, True, env)


# --------------------------------------------------------------------------- talking
async def say(session, stack: Stack, port: int, sender: str, text: str):
    from bot.chat import apology

    t0 = time.perf_counter()
    try:
        async with session.post(f"http://127.0.0.1:{port}/webhooks/rest/webhook",
                                json={"sender": sender, "message": text},
                                headers={"Authorization": f"Bearer {stack.rest_token}"}) as r:
            body = await r.json(content_type=None) if r.status == 200 else None
            ok = r.status == 200 and not any((m.get("text") or "") == apology() for m in body or [])
    except Exception:  # noqa: BLE001 — counted as an error
        ok = False
    return ok, (time.perf_counter() - t0) * 1000


async def load_run(stack: Stack, port: int, users: int, seconds: float, tag: str) -> Dict:
    import aiohttp

    lat: List[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def user(i: int) -> None:
        nonlocal errors
        k = 0
        while time.perf_counter() < deadline:
            sender = f"{tag}-{i}-{k}"
            for text in SCRIPTS[(i + k) % len(SCRIPTS)]:
                if time.perf_counter() >= deadline:
                    return
                ok, ms = await say(session, stack, port, sender, text)
                lat.append(ms)
                errors += not ok
            k += 1

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0),
                                     timeout=aiohttp.ClientTimeout(total=120)) as session:
        t0 = time.perf_counter()
        await asyncio.gather(*(user(i) for i in range(users)))
        elapsed = time.perf_counter() - t0
    d = summarize(lat)
    d.update(msgs_per_s=round(len(lat) / elapsed, 1), errors=errors)
    return d


def measure_load(stack: Stack, users_list: List[int], seconds: float) -> Dict:
    asyncio.run(load_run(stack, stack.port, 10, 5, f"warm-{random.randrange(10**6)}"))
    results: Dict[str, Dict] = {}
    for users in users_list:
        for name, port in (("one", stack.rasa_ports[0]), ("two", stack.port)):
            procs = stack.processes()
            c0 = {k: cpu_seconds(v) for k, v in procs.items()}
            sampler = Sampler(stack)
            sampler.start()
            log(f"[{name} instance{'s' if name == 'two' else ''}] {users} conversations, {seconds:.0f} s …")
            d = asyncio.run(load_run(stack, port, users, seconds, f"load-{name}-{users}-{random.randrange(10**6)}"))
            sampler.stop.set()
            sampler.join()
            procs = stack.processes()
            n = d["n"] or 1
            d["cpu_ms_per_msg"] = {k: round((cpu_seconds(v) - c0.get(k, 0.0)) * 1000 / n, 2) for k, v in procs.items()}
            d["peak_rss_mb"] = {k: round(v) for k, v in sampler.peak.items()}
            results.setdefault(str(users), {})[name] = d
    return results


async def measure_length(stack: Stack, turns: int) -> Dict:
    import aiohttp

    port = stack.rasa_ports[0]
    sender = f"length-{random.randrange(10**6)}"
    script = [m for s in SCRIPTS for m in s]
    lat: List[float] = []
    probes: Dict[str, Dict] = {}
    spans: List[tuple] = []  # (start, end) wall clock of each turn
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
        for k in range(turns):
            t0 = time.time()
            ok, ms = await say(session, stack, port, sender, script[k % len(script)])
            spans.append((t0, time.time()))
            lat.append(ms)
            if k + 1 in (20, turns):
                probes[str(k + 1)] = await probe_action_server(session, stack, sender)
    await asyncio.sleep(1.5)  # HAProxy writes a log line when a request ends
    action_ms = action_time_per_turn(stack, spans)
    windows, split = {}, {}
    for a, b in ((1, 20), (91, 110), (181, 200)):
        if b <= turns:
            windows[f"{a}-{b}"] = round(statistics.median(lat[a - 1:b]), 1)
            act = statistics.median(action_ms[a - 1:b])
            split[f"{a}-{b}"] = {"action_server_ms": round(act, 1),
                                 "rest_ms": round(statistics.median(x - y for x, y in zip(lat[a - 1:b], action_ms[a - 1:b])), 1)}
    first = windows.get("1-20")
    last = windows.get(f"{turns - 19}-{turns}") or round(statistics.median(lat[-20:]), 1)
    every = {f"{a + 1}-{a + 20}": round(statistics.median(lat[a:a + 20]), 1) for a in range(0, turns - 19, 20)}
    return {"turns": turns, "median_ms": windows, "split_median_ms": split, "last_20_median_ms": last,
            "last_over_first": round(last / first, 2) if first else None, "probes": probes,
            "every_20_median_ms": every, "worst_over_first": round(max(every.values()) / first, 2) if first else None,
            "latency_ms": [round(x, 1) for x in lat]}


def action_time_per_turn(stack: Stack, spans: List[tuple]) -> List[float]:
    """Time the action servers took in each turn: HAProxy's server response time (Tr) of every
    action call that started during the turn (one conversation runs, so every call is its own)."""
    import datetime as dt
    import re

    line_re = re.compile(r"\[(\d+/\w+/\d+:\d+:\d+:\d+\.\d+)\] actions actions/\S+ (-?\d+)/(-?\d+)/(-?\d+)/(-?\d+)/")
    calls = []
    for line in (stack.home / "log" / "balancer.log").read_text(errors="replace").splitlines():
        m = line_re.search(line)
        if m:
            when = dt.datetime.strptime(m.group(1), "%d/%b/%Y:%H:%M:%S.%f")  # HAProxy logs local time
            calls.append((when.timestamp(), max(0, int(m.group(5)))))
    return [sum(ms for t, ms in calls if a - 0.01 <= t <= b) for a, b in spans]


async def probe_action_server(session, stack: Stack, sender: str) -> Dict:
    """What Rasa ships to the action server at this point of the conversation, and its cost there."""
    async with session.get(f"http://127.0.0.1:{stack.rasa_ports[0]}/conversations/{sender}/tracker"
                           f"?token={stack.api_token}&include_events=ALL") as r:
        tracker = await r.json(content_type=None)
    # the API returns every session; Rasa loads and ships only the latest one (session_length.py)
    events = tracker.get("events") or []
    start = max((i for i, e in enumerate(events) if e.get("event") == "session_started"), default=0)
    tracker["events"] = events[start:]
    payload = {"next_action": "action_lead_unit", "sender_id": sender, "tracker": tracker, "domain": {},
               "version": "3.6.21"}
    body = json.dumps(payload)
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        async with session.post(f"http://127.0.0.1:{stack.action_port}/webhook", data=body,
                                headers={"Content-Type": "application/json",
                                         "X-Action-Secret": stack.action_secret}) as r:
            await r.read()
        times.append((time.perf_counter() - t0) * 1000)
    return {"events": len(tracker.get("events") or []), "payload_kb": round(len(body) / 1024, 1),
            "action_server_ms": round(statistics.median(times), 1)}


# --------------------------------------------------------------------------- main
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", default="20,50,100")
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--turns", type=int, default=200)
    ap.add_argument("--skip-load", action="store_true")
    ap.add_argument("--skip-length", action="store_true")
    ap.add_argument("--stack-home", default=None, help="use the stack already running there")
    ap.add_argument("--out", default=str(OUT / "scaled_bench.json"))
    args = ap.parse_args(argv)
    result: Dict = {"started": time.strftime("%Y-%m-%d %H:%M:%S"), "cpus": os.cpu_count(),
                    "loadavg_start": os.getloadavg(), "args": vars(args)}
    stack = start_stack(args)
    try:
        if not args.skip_length:
            log(f"one conversation of {args.turns} turns on rasa-1 …")
            result["length"] = asyncio.run(measure_length(stack, args.turns))
        if not args.skip_load:
            result["load"] = measure_load(stack, [int(u) for u in args.users.split(",")], args.seconds)
    finally:
        if stack.own:
            subprocess.run(["bash", str(SCRIPT), "down", "--purge"], cwd=ROOT, env=stack.env, timeout=300)
    result["loadavg_end"] = os.getloadavg()
    print()
    if "load" in result:
        print(f"{'users':>5} {'inst':>4} {'msgs':>6} {'msg/s':>6} {'p50':>7} {'p95':>7} {'p99':>7} {'err':>4}  "
              "cpu ms/msg (rasa-1 rasa-2 actions postgres redis haproxy)   peak RSS MB rasa-1/rasa-2")
        for users, by in result["load"].items():
            for name, d in by.items():
                c, m = d["cpu_ms_per_msg"], d["peak_rss_mb"]
                acts = round(c.get("actions-1", 0) + c.get("actions-2", 0), 1)
                print(f"{users:>5} {name:>4} {d['n']:>6} {d['msgs_per_s']:>6} {d['p50_ms']:>7} {d['p95_ms']:>7} "
                      f"{d['p99_ms']:>7} {d['errors']:>4}  {c.get('rasa-1')} {c.get('rasa-2')} {acts} "
                      f"{c.get('postgres')} {c.get('redis')} {c.get('balancer')}   {m.get('rasa-1')}/{m.get('rasa-2')}")
    if "length" in result:
        L = result["length"]
        print(f"\nconversation of {L['turns']} turns on one instance, median ms by turns: {L['every_20_median_ms']} "
              f"(last/first x{L['last_over_first']})")
        for w, d in L["split_median_ms"].items():
            print(f"  turns {w}: action servers {d['action_server_ms']} ms, everything else {d['rest_ms']} ms")
        for turn, p in L["probes"].items():
            print(f"  at turn {turn}: {p['events']} events, {p['payload_kb']} KB to the action server, "
                  f"which takes {p['action_server_ms']} ms")
    print(f"load average {result['loadavg_start']} -> {result['loadavg_end']}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
