"""The Redis lock store of several Rasa instances (bot/runtime/lock_store.py) on a real Redis.

Needs TEST_REDIS_URL (scripts/test.sh starts a throwaway server); skipped without one.
The same store under two real Rasa instances is tested in tests/test_scaled.py.
"""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def redis_address():
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("no Redis server: scripts/test.sh starts one (scripts/redis.sh), or set TEST_REDIS_URL")
    u = urlparse(url)
    return u.hostname, u.port


def store(host, port):
    from bot.runtime.lock_store import AtomicRedisLockStore

    return AtomicRedisLockStore(host=host, port=port, db=3, key_prefix="locktest")


ISSUE_MANY = """
import sys
from bot.runtime.lock_store import AtomicRedisLockStore
s = AtomicRedisLockStore(host=sys.argv[1], port=int(sys.argv[2]), db=3, key_prefix="locktest")
print(" ".join(str(s.issue_ticket(sys.argv[3], 60)) for _ in range(150)))
"""


def test_two_processes_issuing_tickets_at_once_never_get_the_same_one(redis_address):
    """What lets two instances take one conversation at once: one ticket number issued twice."""
    host, port = redis_address
    cid = f"race-{uuid.uuid4().hex}"
    procs = [subprocess.Popen([sys.executable, "-c", ISSUE_MANY, host, str(port), cid], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)))
             for _ in range(3)]
    tickets = [int(t) for p in procs for t in p.communicate(timeout=120)[0].split()]
    assert len(tickets) == 450
    assert len(set(tickets)) == 450
    assert len(store(host, port).get_lock(cid).tickets) == 450


def test_a_turn_behind_a_dead_instance_is_served_when_its_ticket_expires(redis_address, monkeypatch):
    """The dead holder's ticket expires; the waiter's own ticket, issued just after it, does not."""
    import bot.runtime.lock_store as lock_store

    monkeypatch.setattr(lock_store, "LOCK_LIFETIME", 2)
    host, port = redis_address
    s = store(host, port)
    cid = f"dead-{uuid.uuid4().hex}"
    s.issue_ticket(cid, 2)  # an instance that died holding the lock

    async def next_turn() -> float:
        t0 = time.monotonic()
        async with s.lock(cid, lock_lifetime=2, wait_time_in_seconds=0.2):
            return time.monotonic() - t0

    waited = asyncio.run(asyncio.wait_for(next_turn(), 15))
    assert 1.5 < waited < 5
    assert s.get_lock(cid) is None  # released and gone


def test_a_lock_nobody_holds_any_more_disappears_from_redis(redis_address):
    host, port = redis_address
    s = store(host, port)
    cid = f"ttl-{uuid.uuid4().hex}"
    s.issue_ticket(cid, 1)
    assert 0 < s.red.pttl(s.key_prefix + cid) <= 2000
    time.sleep(2.2)
    assert s.red.get(s.key_prefix + cid) is None
