"""How a turn's latency grows with the length of one conversation, with and without the
session length limit (bot/runtime/session_length.py), on one instance as `make run` runs it.

    .venv/bin/python -m bench.length_bench [--turns 200] [--limit 30]

Starts two assistants side by side (Rasa via bot.runtime.launch + the action server, the
cached SQLite tracker store of endpoints.yml): one with ``MAX_SESSION_TURNS=<limit>``, the
baseline with ``MAX_SESSION_TURNS=0`` (stock Rasa's behaviour: one session until it idles
out). One conversation of --turns messages is sent to each, turn by turn interleaved
(limit, baseline, limit, …) so drift on the shared machine hits both alike. Reports the
median latency of every 20-turn window, the worst window over the first, and whether the
two conversations got the same replies (the limit must not change what the user reads).
Writes bench/out/length_bench.json.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

from bench.rasa_bench import SCRIPTS
from tests.servers import Assistant

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"


def start(tmp: Path, db_url: str, limit: int) -> Assistant:
    saved = os.environ.get("MAX_SESSION_TURNS")
    os.environ["MAX_SESSION_TURNS"] = str(limit)
    try:
        return Assistant(tmp, db_url)
    finally:
        if saved is None:
            os.environ.pop("MAX_SESSION_TURNS", None)
        else:
            os.environ["MAX_SESSION_TURNS"] = saved


def windows(lat: List[float], size: int = 20) -> Dict[str, float]:
    return {f"{a + 1}-{min(a + size, len(lat))}": round(statistics.median(lat[a:a + size]), 1)
            for a in range(0, len(lat), size)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--turns", type=int, default=200)
    ap.add_argument("--limit", type=int, default=30, help="MAX_SESSION_TURNS of the limited assistant")
    ap.add_argument("--out", default=str(OUT / "length_bench.json"))
    args = ap.parse_args(argv)

    from bot.build import build
    script = [m for s in SCRIPTS for m in s]
    with tempfile.TemporaryDirectory(prefix="length-bench-") as d:
        tmp = Path(d)
        db_url = f"sqlite:///{tmp / 'measures.db'}"
        build(db_url)
        stacks = {}
        for name, limit in (("limit", args.limit), ("baseline", 0)):
            (tmp / name).mkdir()
            stacks[name] = start(tmp / name, db_url, limit)
        try:
            lat: Dict[str, List[float]] = {k: [] for k in stacks}
            replies: Dict[str, List[str]] = {k: [] for k in stacks}
            sender = f"length-{int(time.time())}"
            for name, a in stacks.items():  # warm-up, another sender
                for m in script[:6]:
                    a.say(sender + "-warm", m)
            for k in range(args.turns):
                for name, a in stacks.items():
                    t0 = time.perf_counter()
                    replies[name].append(a.say(sender, script[k % len(script)]))
                    lat[name].append((time.perf_counter() - t0) * 1000)
        finally:
            for a in stacks.values():
                a.stop()
    result = {"turns": args.turns, "limit": args.limit, "script_messages": len(script)}
    for name in stacks:
        w = windows(lat[name])
        first = next(iter(w.values()))
        result[name] = {"window_median_ms": w, "first_ms": first, "worst_ms": max(w.values()),
                        "last_ms": list(w.values())[-1], "worst_over_first": round(max(w.values()) / first, 2),
                        "last_over_first": round(list(w.values())[-1] / first, 2)}
    diff = [i + 1 for i, (x, y) in enumerate(zip(replies["limit"], replies["baseline"])) if x != y]
    result["same_replies"] = not diff
    result["turns_with_different_replies"] = diff[:20]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"{'window':>9} {'limit ms':>9} {'baseline ms':>12}")
    for key in result["baseline"]["window_median_ms"]:
        print(f"{key:>9} {result['limit']['window_median_ms'][key]:>9} {result['baseline']['window_median_ms'][key]:>12}")
    for name in stacks:
        r = result[name]
        print(f"{name}: worst window / first = {r['worst_over_first']}, last / first = {r['last_over_first']}")
    print("same replies turn by turn:", result["same_replies"], diff[:10])
    return 0


if __name__ == "__main__":
    sys.exit(main())
