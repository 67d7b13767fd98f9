"""End-to-end latency and throughput of the Rasa stack: project model vs. a stock Rasa 3.6 model.

    .venv/bin/python -m bench.rasa_bench [--users 1,20] [--seconds 20] [--skip-stock]
                                         [--train-time] [--diagnose] [--rounds 1]

1. Makes sure the project model exists (bot.runtime.model.ensure_model); with
   --train-time also times a from-scratch `rasa train --force` of it (temp dir,
   cold cache).
2. Trains a "stock Rasa 3.6" model (bench/stock_config.yml: jieba + count vectors +
   default DIET, Memoization/Rule/TED policies, no custom components) on the same
   data/ and domain.yml into bench/out/stock-model/ (cached by an input fingerprint).
3. For each model starts the action server and `rasa run` on free ports, as in
   production (SQLite SQLTrackerStore, in a temp dir; measures DB copied to the temp
   dir), warms up, then N simulated users (distinct sender ids) each talk
   through multi-turn conversations over the REST channel, sending the next message
   as soon as the reply arrives, for --seconds. Per-message latency (p50/p95/p99),
   messages/second, CPU ms per message of each server process, NLU-only latency
   (`POST /model/parse`, one user), and action-server latency (`POST /webhook` of the
   action server replayed with real trackers). Ratios project/stock come from the same run.
   Both stacks are up at the same time and the runs are interleaved
   (project, stock, project, stock …) so drift on a shared machine hits both alike.
   The project stack runs as `make run` does (Rasa via bot.runtime.launch, endpoints.yml:
   cached SQL tracker store, selective domain); the stock stack as plain `rasa run` with
   Rasa's SQLTrackerStore on SQLite.
   --diagnose adds variants that separate model from runtime: the project model on the
   stock runtime, the project model with an in-memory tracker store, the stock model on
   the project runtime, and the project with ACTION_SERVER_SANIC_WORKERS=2.
4. Stops every server it started (also on Ctrl+C / SIGTERM / exceptions).

Prints a table and writes bench/out/rasa_bench.json.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional

import yaml

from bot.runtime.model import fingerprint  # the same stamp that decides when the project model retrains
from tests.servers import free_port, project_endpoints, wait_http

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
STOCK_CONFIG = ROOT / "bench" / "stock_config.yml"
STOCK_DIR = OUT / "stock-model"
STOCK_MODEL = STOCK_DIR / "stock.tar.gz"
STOCK_STAMP = STOCK_DIR / "inputs.sha256"
STOCK_INFO = STOCK_DIR / "train.json"
STOCK_INPUTS = ["bench/stock_config.yml", "domain.yml", "data", "bot/nlu/dictionary"]
RASA = str(Path(sys.executable).with_name("rasa"))
TOKEN = "rasa-bench-token"

BASE_ENV = dict(os.environ, RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="3",
                SQLALCHEMY_SILENCE_UBER_WARNING="1", PYTHONPATH=str(ROOT))

# Multi-turn conversations (one per simulated conversation, rotated). Every user gets a
# fresh sender id per conversation, as new WeChat users would.
SCRIPTS: List[List[str]] = [
    ["增城区小微企业有什么贷款贴息", "第1条详细说说", "这个找谁", "还有效吗", "那天河区呢", "更多"],
    ["海珠区个体户有没有社保补贴", "第2条详细说说", "这个找哪个部门", "这个还有效吗", "那增城区呢", "还有吗"],
    ["天河区软件企业有什么研发补助", "第1条详细说说", "找谁办理", "还有效吗", "那海珠区呢", "更多"],
]
# Questions the profile form may ask, and what a user answers.
FORM_ANSWERS = [("哪个区", "增城区"), ("什么行业", "跳过"), ("规模是", "跳过")]
FALLBACK_MARKS = ["抱歉，我没太明白"]

PROCS: List[subprocess.Popen] = []


# --------------------------------------------------------------------------- utilities
def log(*a) -> None:
    print(*a, file=sys.stderr, flush=True)


def quantile(sorted_vals: List[float], q: float) -> Optional[float]:
    if not sorted_vals:
        return None
    k = min(len(sorted_vals) - 1, max(0, int(round(q * (len(sorted_vals) - 1)))))
    return sorted_vals[k]


def summarize(lat_ms: List[float]) -> Dict[str, Optional[float]]:
    s = sorted(lat_ms)
    r = lambda v: None if v is None else round(v, 1)  # noqa: E731
    return {"n": len(s), "p50_ms": r(quantile(s, 0.5)), "p95_ms": r(quantile(s, 0.95)),
            "p99_ms": r(quantile(s, 0.99)), "mean_ms": r(sum(s) / len(s)) if s else None,
            "max_ms": r(s[-1]) if s else None}


def stop_all() -> None:
    """Terminate every server this bench started (each runs in its own process group)."""
    for p in PROCS:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                pass
    deadline = time.time() + 20
    for p in PROCS:
        try:
            p.wait(max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            p.wait(5)
    PROCS.clear()


def _on_sigterm(signum, frame):
    raise KeyboardInterrupt


def group_cpu_seconds(pgid: int) -> float:
    """utime+stime of all live processes in a process group (the server and its Sanic workers)."""
    tck = os.sysconf("SC_CLK_TCK")
    total = 0
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # fields[0] is state (field 3); pgrp is field 5, utime 14, stime 15
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / tck


# --------------------------------------------------------------------------- models
def wait_project_model_stable(max_wait: float = 900) -> None:
    """If someone is (re)training models/policy.tar.gz right now, wait until it settles."""
    from bot.runtime.model import MODEL
    waited = 0.0
    while waited < max_wait:
        st1 = MODEL.stat() if MODEL.exists() else None
        time.sleep(5)
        st2 = MODEL.stat() if MODEL.exists() else None
        busy = (st1 is None or st2 is None or st1.st_mtime != st2.st_mtime or st1.st_size != st2.st_size
                or time.time() - st2.st_mtime < 20 or _someone_training_project())
        if not busy:
            return
        log("project model missing or being retrained by someone else; waiting a minute …")
        time.sleep(60)
        waited += 65
    log("gave up waiting for the project model to settle; going on")


def _someone_training_project() -> bool:
    me = os.getpid()
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == me:
            continue
        try:
            cmd = Path(f"/proc/{d}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(c.endswith(b"rasa") for c in cmd) and b"train" in cmd and b"policy" in cmd:
            return True
    return False


def rasa_train(config: Path, out_dir: Path, name: str, cache_dir: Path) -> float:
    env = dict(BASE_ENV, RASA_CACHE_DIRECTORY=str(cache_dir))
    t0 = time.perf_counter()
    subprocess.run([RASA, "train", "--force", "--config", str(config), "--domain", str(ROOT / "domain.yml"),
                    "--data", str(ROOT / "data"), "--out", str(out_dir), "--fixed-model-name", name],
                   cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - t0


def time_project_training() -> float:
    with tempfile.TemporaryDirectory(prefix="rasa-bench-train-") as tmp:
        log("timing a from-scratch training of the project model (rasa train --force, cold cache) …")
        secs = rasa_train(ROOT / "config.yml", Path(tmp) / "models", "policy", Path(tmp) / "cache")
    log(f"project model trained from scratch in {secs:.1f} s")
    return secs


def ensure_stock_model(reuse: bool = False) -> Dict:
    want = fingerprint(STOCK_INPUTS)
    fresh = STOCK_STAMP.exists() and STOCK_STAMP.read_text().strip() == want
    if STOCK_MODEL.exists() and (fresh or reuse):
        info = json.loads(STOCK_INFO.read_text()) if STOCK_INFO.exists() else {}
        info.update(cached=True, stale=not fresh)
        log(f"{'reusing' if reuse else 'up to date:'} the stock model {STOCK_MODEL.relative_to(ROOT)} "
            f"({'inputs changed since it was trained' if not fresh else 'inputs unchanged'}; trained in "
            f"{info.get('train_seconds', '?')} s earlier)")
        return info
    STOCK_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rasa-bench-stock-") as tmp:
        log("training the stock Rasa 3.6 model (bench/stock_config.yml) …")
        try:
            secs = rasa_train(STOCK_CONFIG, Path(tmp) / "models", "stock", Path(tmp) / "cache")
        except subprocess.CalledProcessError as e:
            log(e.stderr.decode(errors="replace")[-3000:])
            raise
        shutil.move(str(Path(tmp) / "models" / "stock.tar.gz"), STOCK_MODEL)
    STOCK_STAMP.write_text(want + "\n")
    info = {"train_seconds": round(secs, 1), "trained_at": time.strftime("%Y-%m-%d %H:%M:%S"), "cached": False}
    STOCK_INFO.write_text(json.dumps(info, indent=2) + "\n")
    log(f"stock model trained in {secs:.1f} s")
    return info


# --------------------------------------------------------------------------- servers
class Stack:
    """One action server + one Rasa server for a model."""

    def __init__(self, name: str, model: Path, workdir: Path, measures_db: Path,
                 action_workers: int = 1, runtime: str = "project"):
        """runtime "project": as `make run` — Rasa via bot.runtime.launch with the production
        endpoints.yml (cached SQL tracker store, selective domain). "stock": plain `rasa run`
        with Rasa's SQLTrackerStore on SQLite and default action endpoint. "stock+memory":
        plain `rasa run`, in-memory tracker store (not production; shows what SQL costs)."""
        self.name, self.model, self.dir = name, model, workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.action_port, self.port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.action_url = f"http://127.0.0.1:{self.action_port}"
        self.action_workers, self.runtime = action_workers, runtime
        self.selective_domain = runtime == "project"
        db = self.dir / "measures.db"
        shutil.copy2(measures_db, db)
        if runtime == "project":
            ep = project_endpoints(f"{self.action_url}/webhook", self.dir / "tracker.db")
        else:
            ep = {"action_endpoint": {"url": f"{self.action_url}/webhook"}}
            if runtime == "stock":
                ep["tracker_store"] = {"type": "SQL", "dialect": "sqlite", "db": str(self.dir / "tracker.db")}
        self.endpoints = self.dir / "endpoints.yml"
        self.endpoints.write_text(yaml.safe_dump(ep), encoding="utf-8")
        self.env = dict(BASE_ENV, DATABASE_URL=f"sqlite:///{db}")
        if action_workers > 1:
            self.env["ACTION_SERVER_SANIC_WORKERS"] = str(action_workers)
        self.actions_proc: Optional[subprocess.Popen] = None
        self.rasa_proc: Optional[subprocess.Popen] = None

    def _spawn(self, args: List[str], logname: str, launcher: bool = False) -> subprocess.Popen:
        cmd = [sys.executable, "-m", "bot.runtime.launch"] if launcher else [RASA]
        p = subprocess.Popen(cmd + args, cwd=ROOT, env=self.env, stdout=open(self.dir / logname, "ab"),
                             stderr=subprocess.STDOUT, start_new_session=True)
        PROCS.append(p)
        return p

    def start(self) -> None:
        t0 = time.perf_counter()
        self.actions_proc = self._spawn(["run", "actions", "--port", str(self.action_port), "--actions", "actions"],
                                        "actions.log")
        self.rasa_proc = self._spawn(["run", "-m", str(self.model), "--port", str(self.port), "--enable-api",
                                      "--auth-token", TOKEN, "--credentials", str(ROOT / "credentials.yml"),
                                      "--endpoints", str(self.endpoints)], "rasa.log", self.runtime == "project")
        wait_http(f"{self.action_url}/health", self.actions_proc)
        wait_http(f"{self.url}/status?token={TOKEN}", self.rasa_proc)
        self.startup_s = time.perf_counter() - t0
        log(f"[{self.name}] up in {self.startup_s:.1f} s (rasa :{self.port}, actions :{self.action_port})")

    def cpu(self) -> Dict[str, float]:
        return {"rasa": group_cpu_seconds(self.rasa_proc.pid), "actions": group_cpu_seconds(self.actions_proc.pid)}


# --------------------------------------------------------------------------- load driver
def reply_text(replies) -> str:
    return "\n".join(r.get("text", "") or "" for r in replies if isinstance(r, dict))


def form_answer(text: str) -> Optional[str]:
    if "1. " in text:
        return None
    for mark, answer in FORM_ANSWERS:
        if mark in text:
            return answer
    return None


class Recorder:
    def __init__(self):
        self.lat: List[float] = []
        self.errors = 0
        self.fallbacks = 0
        self.replies = 0
        self.first = None
        self.last = None


async def say(session, stack: Stack, sender: str, message: str, rec: Optional[Recorder]) -> str:
    import aiohttp
    t0 = time.perf_counter()
    try:
        async with session.post(f"{stack.url}/webhooks/rest/webhook", json={"sender": sender, "message": message},
                                timeout=aiohttp.ClientTimeout(total=120)) as resp:
            body = await resp.json(content_type=None)
            ok = resp.status == 200
    except Exception:  # noqa: BLE001 - counted, the run goes on
        body, ok = [], False
    t1 = time.perf_counter()
    text = reply_text(body) if ok else ""
    if rec is not None:
        if ok:
            rec.lat.append((t1 - t0) * 1000)
            rec.replies += 1
            if any(m in text for m in FALLBACK_MARKS):
                rec.fallbacks += 1
            rec.first = t0 if rec.first is None else min(rec.first, t0)
            rec.last = t1 if rec.last is None else max(rec.last, t1)
        else:
            rec.errors += 1
            await asyncio.sleep(0.05)
    return text


async def conversation(session, stack: Stack, sender: str, script: List[str], rec: Optional[Recorder],
                       deadline: float = float("inf"), transcript: Optional[list] = None) -> None:
    for msg in script:
        if time.perf_counter() >= deadline:
            return
        text = await say(session, stack, sender, msg, rec)
        if transcript is not None:
            transcript.append({"user": msg, "bot": text})
        for _ in range(3):  # the profile form may ask for the district / industry / size
            ans = form_answer(text)
            if ans is None or time.perf_counter() >= deadline:
                break
            text = await say(session, stack, sender, ans, rec)
            if transcript is not None:
                transcript.append({"user": ans, "bot": text})


async def drive(stack: Stack, users: int, seconds: float, tag: str) -> Recorder:
    import aiohttp
    rec = Recorder()
    deadline = time.perf_counter() + seconds

    async def user(uid: int):
        conv = 0
        while time.perf_counter() < deadline:
            script = SCRIPTS[(uid + conv) % len(SCRIPTS)]
            await conversation(session, stack, f"{tag}-u{uid}-c{conv}", script, rec, deadline)
            conv += 1

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        await asyncio.gather(*(user(i) for i in range(users)))
    return rec


async def warm_up(stack: Stack, users: int, nonce: str) -> list:
    """One full conversation per script (sequential), then a short burst at the highest concurrency."""
    import aiohttp
    transcript: list = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        for i, script in enumerate(SCRIPTS):
            await conversation(session, stack, f"warm-{nonce}-{i}", script, None,
                               transcript=transcript if i == 0 else None)
        for text in [m for s in SCRIPTS for m in s]:
            async with session.post(f"{stack.url}/model/parse?token={TOKEN}", json={"text": text}) as r:
                await r.read()
    await drive(stack, users, 3.0, f"warmburst-{nonce}")
    return transcript


async def nlu_latency(stack: Stack, seconds: float) -> Dict:
    import aiohttp
    texts = [m for s in SCRIPTS for m in s]
    lat: List[float] = []
    deadline = time.perf_counter() + seconds
    async with aiohttp.ClientSession() as session:
        i = 0
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            async with session.post(f"{stack.url}/model/parse?token={TOKEN}", json={"text": texts[i % len(texts)]}) as r:
                await r.read()
            lat.append((time.perf_counter() - t0) * 1000)
            i += 1
    return summarize(lat)


async def action_latency(stack: Stack, seconds: float, users: int, nonce: str) -> Dict:
    """Replays the action server's `POST /webhook` with the trackers and domain Rasa would send."""
    import aiohttp
    calls = []  # (action name, payload)
    turns = []  # custom action calls per user message
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        async with session.get(f"{stack.url}/domain?token={TOKEN}", headers={"Accept": "application/json"}) as r:
            domain = await r.json(content_type=None)
        custom = set(domain.get("actions", [])) | {f"validate_{f}" for f in domain.get("forms", {})}
        forms = set(domain.get("forms", {}))
        for i, script in enumerate(SCRIPTS):
            sender = f"probe-{nonce}-{i}"
            seen = 0
            for msg in script:
                text = await say(session, stack, sender, msg, None)
                msgs = [msg]
                ans = form_answer(text)
                while ans and len(msgs) < 4:
                    msgs.append(ans)
                    text = await say(session, stack, sender, ans, None)
                    ans = form_answer(text)
                async with session.get(f"{stack.url}/conversations/{sender}/tracker?token={TOKEN}") as r:
                    tracker = await r.json(content_type=None)
                events = tracker.get("events", [])
                new = [e.get("name") for e in events[seen:] if e.get("event") == "action"]
                seen = len(events)
                ran = [n for n in new if n in custom] + [f"validate_{n}" for n in new if n in forms]
                turns.append({"messages": msgs, "action_server_calls": ran})
                for name in dict.fromkeys(ran):
                    payload = {"next_action": name, "sender_id": sender, "tracker": tracker, "version": "3.6.21"}
                    if not stack.selective_domain or name.startswith("validate_"):
                        payload["domain"] = domain
                    calls.append((name, payload))
        if not calls:
            return {"note": "no custom actions observed"}
        per: Dict[str, List[float]] = {}

        async def call(name, payload):
            t0 = time.perf_counter()
            async with session.post(f"{stack.action_url}/webhook", json=payload) as r:
                await r.read()
                status = r.status
            dt = (time.perf_counter() - t0) * 1000
            return name, dt, status

        # one caller, sequential
        deadline = time.perf_counter() + seconds
        i = 0
        statuses = {}
        while time.perf_counter() < deadline:
            name, dt, st = await call(*calls[i % len(calls)])
            per.setdefault(name, []).append(dt)
            statuses[st] = statuses.get(st, 0) + 1
            i += 1
        seq_all = [v for vs in per.values() for v in vs]
        # `users` concurrent callers: the action server's capacity
        conc: List[float] = []
        deadline = time.perf_counter() + seconds
        t_start = time.perf_counter()

        async def worker(k):
            j = k
            while time.perf_counter() < deadline:
                _, dt, _ = await call(*calls[j % len(calls)])
                conc.append(dt)
                j += 1

        await asyncio.gather(*(worker(k) for k in range(users)))
        elapsed = time.perf_counter() - t_start
    per_turn = [len(t["action_server_calls"]) for t in turns]
    return {"sequential": summarize(seq_all), "per_action_p50_ms": {k: summarize(v)["p50_ms"] for k, v in per.items()},
            "http_status": statuses, f"concurrent_{users}": dict(summarize(conc), calls_per_s=round(len(conc) / elapsed, 1)),
            "action_server_calls_per_user_message": round(sum(per_turn) / len(per_turn), 2),
            "payload_kb": round(sum(len(json.dumps(p)) for _, p in calls) / len(calls) / 1024, 1),
            "turns": turns}


# --------------------------------------------------------------------------- main
def fmt(v, nd=1) -> str:
    return "-" if v is None else f"{v:.{nd}f}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", default="1,20", help="comma-separated concurrent user counts (default 1,20)")
    ap.add_argument("--seconds", type=float, default=20.0, help="seconds per (model, users) run")
    ap.add_argument("--rounds", type=int, default=1, help="repeat the interleaved runs (results pooled)")
    ap.add_argument("--skip-stock", action="store_true", help="only the project model")
    ap.add_argument("--train-time", action="store_true", help="also time a from-scratch training of the project model")
    ap.add_argument("--diagnose", action="store_true",
                    help="extra variants: project model on the stock runtime / with an in-memory tracker store, "
                         "stock model on the project runtime, project with 2 action-server workers")
    ap.add_argument("--reuse-stock", action="store_true",
                    help="use bench/out/stock-model even if data/domain changed since it was trained (flagged stale)")
    ap.add_argument("--out", default=str(OUT / "rasa_bench.json"))
    args = ap.parse_args(argv)
    users_list = [int(u) for u in args.users.split(",") if u.strip()]
    signal.signal(signal.SIGTERM, _on_sigterm)
    result: Dict = {"started": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": {
        "cpus": os.cpu_count(), "python": platform.python_version(), "loadavg_start": os.getloadavg()},
        "args": vars(args), "scripts": SCRIPTS}
    nonce = hashlib.sha1(str(time.time()).encode()).hexdigest()[:6]
    tmp = Path(tempfile.mkdtemp(prefix="rasa-bench-"))
    try:
        # measures DB
        from bot.db import DEFAULT_DB_PATH
        measures = Path(os.environ.get("DATABASE_URL", "sqlite:///" + str(DEFAULT_DB_PATH)).replace("sqlite:///", ""))
        if not measures.exists():
            log("building the measures database (python -m bot build) …")
            subprocess.run([sys.executable, "-m", "bot", "build"], cwd=ROOT, env=BASE_ENV, check=True)
        snapshot = tmp / "measures.db"
        shutil.copy2(measures, snapshot)

        # 1. project model
        wait_project_model_stable()
        from bot.runtime.model import ensure_model
        t0 = time.perf_counter()
        model = ensure_model()
        ensure_s = time.perf_counter() - t0
        project_model = tmp / "policy.tar.gz"
        shutil.copy2(model, project_model)  # immune to a concurrent retrain during the bench
        from bot.runtime.model import STAMP
        result["training"] = {"project_ensure_seconds": round(ensure_s, 1),
                              "project_inputs_sha256": STAMP.read_text().strip() if STAMP.exists() else None}
        if args.train_time:
            result["training"]["project_from_scratch_seconds"] = round(time_project_training(), 1)

        # 2. stock model
        stacks: Dict[str, Stack] = {"project": Stack("project", project_model, tmp / "project", snapshot)}
        if not args.skip_stock:
            info = ensure_stock_model(reuse=args.reuse_stock)
            info["inputs_sha256"] = STOCK_STAMP.read_text().strip()
            result["training"]["stock"] = info
            if not info.get("cached"):
                result["training"]["stock_seconds"] = info["train_seconds"]
            stacks["stock"] = Stack("stock", STOCK_MODEL, tmp / "stock", snapshot, runtime="stock")
        if args.diagnose:
            stacks["project+aw2"] = Stack("project+aw2", project_model, tmp / "aw2", snapshot, action_workers=2)
            stacks["project@stock-runtime"] = Stack("project@stock-runtime", project_model, tmp / "p-stockrt",
                                                    snapshot, runtime="stock")
            stacks["project@memory"] = Stack("project@memory", project_model, tmp / "p-mem", snapshot,
                                             runtime="stock+memory")
            if "stock" in stacks:
                stacks["stock@project-runtime"] = Stack("stock@project-runtime", STOCK_MODEL, tmp / "s-projrt",
                                                        snapshot, runtime="project")

        # 3. servers, warm-up, runs
        for st in stacks.values():
            st.start()
        result["startup_seconds"] = {k: round(s.startup_s, 1) for k, s in stacks.items()}
        transcripts = {}
        for name, st in stacks.items():
            log(f"[{name}] warming up …")
            transcripts[name] = asyncio.run(warm_up(st, max(users_list), nonce))
        result["sample_transcript"] = transcripts

        runs: Dict[str, Dict] = {}
        recs: Dict[tuple, List[Recorder]] = {}
        cpu: Dict[tuple, Dict[str, float]] = {}
        for rnd in range(args.rounds):
            for u in users_list:
                for name, st in stacks.items():
                    c0 = st.cpu()
                    la = os.getloadavg()[0]
                    log(f"[{name}] {u} user(s), {args.seconds:.0f} s (round {rnd + 1}/{args.rounds}, load {la:.2f}) …")
                    rec = asyncio.run(drive(st, u, args.seconds, f"b{nonce}-{name}-{u}-r{rnd}"))
                    c1 = st.cpu()
                    recs.setdefault((name, u), []).append(rec)
                    acc = cpu.setdefault((name, u), {"rasa": 0.0, "actions": 0.0})
                    for k in acc:
                        acc[k] += c1[k] - c0[k]
        for (name, u), rs in recs.items():
            lat = [v for r in rs for v in r.lat]
            elapsed = sum((r.last - r.first) for r in rs if r.first is not None)
            n = sum(r.replies for r in rs)
            d = summarize(lat)
            d.update(users=u, msgs_per_s=round(n / elapsed, 1) if elapsed else None, errors=sum(r.errors for r in rs),
                     fallback_replies=sum(r.fallbacks for r in rs),
                     fallback_rate=round(sum(r.fallbacks for r in rs) / n, 3) if n else None,
                     cpu_ms_per_msg={k: round(v * 1000 / n, 1) if n else None for k, v in cpu[(name, u)].items()})
            runs.setdefault(name, {})[str(u)] = d
        result["runs"] = runs

        log("NLU-only latency (POST /model/parse, one user) …")
        result["nlu_parse_1user"] = {name: asyncio.run(nlu_latency(st, min(args.seconds, 10)))
                                     for name, st in stacks.items() if name in ("project", "stock")}
        log("action server latency (POST /webhook replayed) …")
        result["action_server"] = {name: asyncio.run(action_latency(st, min(args.seconds, 8), max(users_list), nonce))
                                   for name, st in stacks.items()
                                   if name in ("project", "project+aw2")}

        # ratios project/stock
        if "stock" in runs:
            ratios = {}
            for u in users_list:
                p, s = runs["project"][str(u)], runs["stock"][str(u)]
                ratios[str(u)] = {
                    "throughput_project_over_stock": round(p["msgs_per_s"] / s["msgs_per_s"], 2)
                    if p["msgs_per_s"] and s["msgs_per_s"] else None,
                    "p50_project_over_stock": round(p["p50_ms"] / s["p50_ms"], 2) if p["p50_ms"] and s["p50_ms"] else None}
            pp, sp = result["nlu_parse_1user"]["project"]["p50_ms"], result["nlu_parse_1user"]["stock"]["p50_ms"]
            ratios["nlu_parse_p50_project_over_stock"] = round(pp / sp, 2) if pp and sp else None
            if "stock@project-runtime" in runs:
                for u in users_list:
                    p, s = runs["project"][str(u)], runs["stock@project-runtime"][str(u)]
                    ratios[f"project_vs_stock@project-runtime_{u}"] = {
                        "throughput": round(p["msgs_per_s"] / s["msgs_per_s"], 2),
                        "p50": round(p["p50_ms"] / s["p50_ms"], 2)}
            result["ratios"] = ratios
        many = str(max(users_list))
        targets = {}
        if min(users_list) == 1:
            targets["project_p50_1user_under_40ms"] = runs["project"]["1"]["p50_ms"] < 40
        if "stock" in runs and many != "1":
            r = result["ratios"][many]["throughput_project_over_stock"]
            targets[f"project_throughput_{many}users_at_least_2x_stock"] = bool(r and r >= 2)
        result["targets"] = targets
        result["machine"]["loadavg_end"] = os.getloadavg()
        result["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")

        # report
        print()
        print(f"{'model':<20}{'users':>6}{'msgs':>7}{'msg/s':>8}{'p50':>8}{'p95':>8}{'p99':>8}"
              f"{'err':>5}{'fallbk':>8}{'cpu ms/msg rasa+act':>22}")
        for name, by_u in runs.items():
            for u, d in by_u.items():
                c = d["cpu_ms_per_msg"]
                print(f"{name:<20}{u:>6}{d['n']:>7}{fmt(d['msgs_per_s']):>8}{fmt(d['p50_ms']):>8}"
                      f"{fmt(d['p95_ms']):>8}{fmt(d['p99_ms']):>8}{d['errors']:>5}{fmt(100 * (d['fallback_rate'] or 0)) + '%':>8}"
                      f"{fmt(c['rasa']) + ' + ' + fmt(c['actions']):>22}")
        print("(latencies in ms at the client; msg/s = replies per second; fallbk = utter_default replies)")
        print()
        for name, d in result["nlu_parse_1user"].items():
            print(f"NLU only /model/parse, 1 user, {name:<8}: p50 {fmt(d['p50_ms'])} ms  p95 {fmt(d['p95_ms'])} ms")
        for name, d in result["action_server"].items():
            if "sequential" in d:
                cc = d[f"concurrent_{max(users_list)}"]
                print(f"action server /webhook, {name:<12}: p50 {fmt(d['sequential']['p50_ms'])} ms (1 caller); "
                      f"{max(users_list)} callers: p50 {fmt(cc['p50_ms'])} ms, {cc['calls_per_s']} calls/s; "
                      f"{d['action_server_calls_per_user_message']} calls per user message, payload {d['payload_kb']} KB")
                print("    per action p50 ms: " + ", ".join(f"{k} {v}" for k, v in d["per_action_p50_ms"].items()))
        if "ratios" in result:
            print()
            for u in users_list:
                r = result["ratios"][str(u)]
                print(f"project/stock at {u:>2} user(s): throughput x{fmt(r['throughput_project_over_stock'], 2)}, "
                      f"p50 x{fmt(r['p50_project_over_stock'], 2)}")
            for k, r in result["ratios"].items():
                if k.startswith("project_vs_stock@project-runtime_"):
                    print(f"project/(stock model on the project runtime) at {k.rsplit('_', 1)[1]:>2} user(s): throughput x{fmt(r['throughput'], 2)}, "
                          f"p50 x{fmt(r['p50'], 2)}")
            print(f"project/stock NLU parse p50: x{fmt(result['ratios']['nlu_parse_p50_project_over_stock'], 2)}")
        tr = result["training"]
        print()
        if "project_from_scratch_seconds" in tr:
            print(f"training: project from scratch {tr['project_from_scratch_seconds']} s")
        if "stock" in tr:
            print(f"training: stock {tr['stock'].get('train_seconds')} s" + (" (cached from an earlier run)"
                                                                             if tr['stock'].get('cached') else ""))
        print("targets: " + ", ".join(f"{k}={'met' if v else 'MISSED'}" for k, v in targets.items()))
        print(f"load average start {result['machine']['loadavg_start']} end {result['machine']['loadavg_end']}")
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.out}")
        return 0
    except KeyboardInterrupt:
        log("interrupted; stopping servers …")
        return 130
    finally:
        stop_all()
        logs = OUT / "rasa_bench_logs"
        try:  # keep the server logs of the last run for inspection
            if logs.exists():
                shutil.rmtree(logs)
            for f in tmp.rglob("*.log"):
                dst = logs / f.relative_to(tmp)
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(f, dst)
        except OSError:
            pass
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
