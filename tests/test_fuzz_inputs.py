"""A seeded subset (~500) of bench/fuzz_bench.py's inputs against the running assistant's
REST and widget channels: no 5xx, no hang, no traceback shown, Rasa still running and
still answering "你好" afterwards. (The full 10,000-input run, the console and the
WeChat/WeCom callbacks: ``python -m bench.fuzz_bench``.)"""
from __future__ import annotations

import asyncio

import pytest

from tests.servers import MODEL

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not MODEL.exists(), reason="no trained model (run scripts/test.sh)")]

N = 500
SEED = 20240610


def test_fuzzed_inputs_never_break_the_assistant(assistant):
    from bench import fuzz_bench as fb
    base = f"http://127.0.0.1:{assistant.port}"
    fb.CONTEXT["sessions"] = fb.widget_sessions(base, 5)
    tally = asyncio.run(fb.send_all({"rasa": base}, fb.corpus(SEED, N, fb.RASA_TARGETS), concurrency=4))
    print(f"fuzz subset: {tally.sent} inputs, statuses {dict(tally.statuses)}, slowest {tally.slowest:.1f} s")
    assert tally.sent == N
    assert (tally.server_errors, tally.hangs, tally.connection_errors, tally.tracebacks) == (0, 0, 0, 0), \
        tally.examples[:10]
    assert tally.unexpected == 0, tally.examples[:10]
    assert tally.statuses[200] > N // 5, "ordinary questions among them were answered"
    assert assistant.alive()
    assert assistant.say("fuzz-after", "你好").strip()
