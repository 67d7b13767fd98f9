"""Deduplicate WeChat / WeCom retries, and remember which signed URLs were used.

WeChat re-sends the same message (same MsgId) when it has no reply within
5 s, up to three attempts in all. Rasa would answer every attempt in full, so
the channel keeps one entry per message: the first sighting starts the answer,
every later attempt waits for that same answer.

Two implementations of one interface:

* `InMemoryDedupStore`: one process, one event loop. Lost on restart, not seen
  by a second instance: use it in tests and one-off tools only.
* `SharedDedupStore` over a backend that several processes and restarts share:
  `RedisBackend` when ``REDIS_URL`` is set (one hash per message, expiring by
  itself), else `SQLBackend` — by default the SQLite file ``var/channels.db``
  next to the tracker database (not the measures database: ``bot build``
  replaces that file by a rename, which would forget every entry), or any
  SQLAlchemy URL in ``DEDUP_DATABASE_URL`` (a PostgreSQL shared by several
  hosts). A retry after a restart, or on another instance, finds the
  published answer there and is answered from it: Rasa runs once per MsgId.

At most once: a retry whose first attempt died with its process before the
answer was published is not answered again (it gets the "please ask again"
reply, or nothing when the message API will not deliver either).

Waiting stays in-process where it can: the process that runs Rasa for a
message wakes its own waiters through a future; a retry that landed on a
process which is not answering polls the backend (50 ms, backing off to 1 s).

Measured with ``bench.wechat_bench --store …`` (20 concurrent users x 25
messages, a 20 ms stub for Rasa, 2 shared cores, server and Redis on the same
machine): server CPU per message 0.84 ms in memory, 3.2 ms with the SQLite
table, 1.7 ms with Redis; passive reply p50 41 / 80 / 102 ms, p95 54 / 164 /
142 ms — far inside WeChat's 5 s, and Rasa's own turn (~100 ms and more)
dominates. Each message makes four store calls (signed-URL check, claim,
replier count, publish); the SQL ones are short transactions in a worker
thread, so another process holding SQLite's write lock never stops Sanic's
loop.

Entries hold the answer text for the TTL only (3 minutes by default) and the
SQLite file is created 0600: answers can quote what the user wrote.
"""
from __future__ import annotations

import abc
import asyncio
import hashlib
import json
import logging
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, List, Optional, Set

logger = logging.getLogger(__name__)

DEFAULT_TTL_SECONDS = 180.0
ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT_SQL_PATH = ROOT / "var" / "channels.db"
#: keys built from what a sender wrote (FromUserName, nonce) are hashed past this length
MAX_KEY_CHARS = 200
POLL_FIRST, POLL_MAX = 0.05, 1.0


def _short(key: str) -> str:
    if len(key) <= MAX_KEY_CHARS:
        return key
    return key[:80] + "#" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


class DedupStore(abc.ABC):
    """One entry per incoming message key, kept for `ttl` seconds."""

    ttl: float = DEFAULT_TTL_SECONDS

    @abc.abstractmethod
    async def claim(self, key: str) -> int:
        """Record one sighting of `key`; return the attempt number.

        1 means first sighting: the caller must produce the answer and
        `publish` it. 2, 3, ... are retries: they only `wait`.
        """

    @abc.abstractmethod
    async def publish(self, key: str, pieces: List[str]) -> None:
        """Store the answer (already split into WeChat-sized pieces); wakes waiters."""

    @abc.abstractmethod
    async def wait(self, key: str, timeout: float, *, replier: bool = True) -> Optional[List[str]]:
        """The answer for `key`, waiting at most `timeout` seconds; None if not ready.

        `replier=True` marks the caller as an HTTP request that will put the
        answer in its passive reply: it counts in `live_repliers` while it
        waits and after it got the answer, and stops counting if it times out.
        """

    @abc.abstractmethod
    async def live_repliers(self, key: str) -> int:
        """Requests that are waiting for, or have passively replied with, the answer."""

    @abc.abstractmethod
    async def claim_once(self, key: str, purpose: str) -> bool:
        """True for the first caller per (key, purpose), False afterwards."""

    @abc.abstractmethod
    async def remember(self, key: str, value: str, ttl: float) -> str:
        """Store `value` under `key` unless a live value is there; return the stored one.

        The channels keep a signed URL's (timestamp, nonce) -> body digest here:
        a different digest coming back means the URL is being reused.
        """

    async def close(self) -> None:
        """Release connections (called when the server stops)."""


# --------------------------------------------------------------------------- in-process
@dataclass
class _Entry:
    created: float
    answer: "asyncio.Future[List[str]]"
    attempts: int = 0
    live: int = 0
    once: Set[str] = field(default_factory=set)


class InMemoryDedupStore(DedupStore):
    """Per-process TTL store. Must be used from a single event loop."""

    def __init__(self, ttl: float = DEFAULT_TTL_SECONDS, max_entries: int = 20000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: "OrderedDict[str, _Entry]" = OrderedDict()
        self._values: "OrderedDict[str, tuple]" = OrderedDict()  # key -> (expires, value)

    def __len__(self) -> int:
        return len(self._entries)

    def _purge(self, now: float) -> None:
        while self._entries:
            key, entry = next(iter(self._entries.items()))
            if now - entry.created < self.ttl and len(self._entries) <= self.max_entries:
                break
            self._entries.popitem(last=False)

    def _get(self, key: str) -> Optional[_Entry]:
        entry = self._entries.get(key)
        if entry is not None and time.monotonic() - entry.created >= self.ttl:
            del self._entries[key]
            return None
        return entry

    async def claim(self, key: str) -> int:
        now = time.monotonic()
        self._purge(now)
        entry = self._get(key)
        if entry is None:
            entry = _Entry(created=now, answer=asyncio.get_running_loop().create_future())
            self._entries[key] = entry
        entry.attempts += 1
        return entry.attempts

    async def publish(self, key: str, pieces: List[str]) -> None:
        entry = self._get(key)
        if entry is not None and not entry.answer.done():
            entry.answer.set_result(list(pieces))

    async def wait(self, key: str, timeout: float, *, replier: bool = True) -> Optional[List[str]]:
        entry = self._get(key)
        if entry is None:
            return None
        if replier:
            entry.live += 1
        got = False
        try:
            pieces = await asyncio.wait_for(asyncio.shield(entry.answer), timeout=max(timeout, 0.0))
            got = True
            return pieces
        except asyncio.TimeoutError:
            return None
        finally:  # timed out, or the request was cancelled (caller hung up)
            if replier and not got:
                entry.live -= 1

    async def live_repliers(self, key: str) -> int:
        entry = self._get(key)
        return entry.live if entry is not None else 0

    async def claim_once(self, key: str, purpose: str) -> bool:
        entry = self._get(key)
        if entry is None or purpose in entry.once:
            return False
        entry.once.add(purpose)
        return True

    async def remember(self, key: str, value: str, ttl: float) -> str:
        now = time.monotonic()
        while self._values:
            k, (expires, _) = next(iter(self._values.items()))
            if expires > now and len(self._values) <= self.max_entries:
                break
            self._values.popitem(last=False)
        held = self._values.get(key)
        if held is not None and held[0] > now:
            return held[1]
        self._values[key] = (now + ttl, value)
        return value


# --------------------------------------------------------------------------- shared
class Backend(abc.ABC):
    """Atomic primitives a shared store needs; every entry expires `ttl` s after its creation."""

    @abc.abstractmethod
    async def incr_attempts(self, key: str, ttl: float) -> int: ...

    @abc.abstractmethod
    async def set_answer(self, key: str, payload: str, ttl: float) -> None: ...

    @abc.abstractmethod
    async def get_answer(self, key: str) -> Optional[str]: ...

    @abc.abstractmethod
    async def add_live(self, key: str, delta: int, ttl: float) -> None: ...

    @abc.abstractmethod
    async def get_live(self, key: str) -> int: ...

    @abc.abstractmethod
    async def set_once(self, key: str, ttl: float) -> bool: ...

    @abc.abstractmethod
    async def remember(self, key: str, value: str, ttl: float) -> str: ...

    async def close(self) -> None:
        pass


class SharedDedupStore(DedupStore):
    """DedupStore over a shared Backend, with in-process futures for local waiters."""

    def __init__(self, backend: Backend, ttl: float = DEFAULT_TTL_SECONDS, max_local: int = 20000) -> None:
        self.backend = backend
        self.ttl = ttl
        self.max_local = max_local
        # key -> (created, future, produced here)
        self._local: "OrderedDict[str, list]" = OrderedDict()

    def _local_entry(self, key: str, create: bool = False) -> Optional[list]:
        now = time.monotonic()
        while self._local:
            k, e = next(iter(self._local.items()))
            if now - e[0] < self.ttl and len(self._local) <= self.max_local:
                break
            self._local.popitem(last=False)
        entry = self._local.get(key)
        if entry is None and create:
            entry = [now, asyncio.get_running_loop().create_future(), False]
            self._local[key] = entry
        return entry

    async def claim(self, key: str) -> int:
        attempt = await self.backend.incr_attempts(_short(key), self.ttl)
        entry = self._local_entry(key, create=True)
        if attempt == 1:
            entry[2] = True
        return attempt

    async def publish(self, key: str, pieces: List[str]) -> None:
        await self.backend.set_answer(_short(key), json.dumps(list(pieces), ensure_ascii=False), self.ttl)
        entry = self._local_entry(key)
        if entry is not None and not entry[1].done():
            entry[1].set_result(list(pieces))

    async def wait(self, key: str, timeout: float, *, replier: bool = True) -> Optional[List[str]]:
        skey = _short(key)
        if replier:
            await self.backend.add_live(skey, 1, self.ttl)
        got = False
        try:
            entry = self._local_entry(key)
            future = entry[1] if entry is not None else None
            produced_here = bool(entry and entry[2])
            deadline = time.monotonic() + max(timeout, 0.0)
            poll = POLL_FIRST
            while True:
                if future is not None and future.done():
                    got = True
                    return future.result()
                if not produced_here:  # the answer is being made by another process (or was, before a restart)
                    raw = await self.backend.get_answer(skey)
                    if raw is not None:
                        pieces = json.loads(raw)
                        if future is not None and not future.done():
                            future.set_result(pieces)
                        got = True
                        return pieces
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                step = left if produced_here else min(left, poll)
                poll = min(poll * 1.5, POLL_MAX)
                if future is not None:
                    try:
                        await asyncio.wait_for(asyncio.shield(future), timeout=step)
                    except asyncio.TimeoutError:
                        pass
                else:
                    await asyncio.sleep(step)
        finally:
            if replier and not got:
                await self.backend.add_live(skey, -1, self.ttl)

    async def live_repliers(self, key: str) -> int:
        return await self.backend.get_live(_short(key))

    async def claim_once(self, key: str, purpose: str) -> bool:
        return await self.backend.set_once(_short(f"{key}#{purpose}"), self.ttl)

    async def remember(self, key: str, value: str, ttl: float) -> str:
        return await self.backend.remember(_short(key), value, ttl)

    async def close(self) -> None:
        await self.backend.close()


# --------------------------------------------------------------------------- Redis
class RedisBackend(Backend):
    """One Redis hash per message (attempts, live, answer), expiring from its first write.

    Uses redis-py's asyncio client (redis 4.6, the version Rasa 3.6 pins for
    its lock store); Lua scripts make "write, and set the expiry if the key is
    new" one atomic step. Keys are prefixed so they never meet Rasa's locks.
    """

    _HINCR = ("local n = redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2]) "
              "if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end "
              "return n")
    _HSET = ("redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) "
             "if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end "
             "return 1")
    _REMEMBER = ("if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return ARGV[1] end "
                 "return redis.call('GET', KEYS[1])")

    def __init__(self, url: str, prefix: str = "policy:dedup:", timeout: float = 2.0) -> None:
        self.url = url
        self.prefix = prefix
        self.timeout = timeout
        self._client: Any = None

    def _redis(self) -> Any:
        if self._client is None:
            import redis.asyncio as aioredis  # only when Redis is configured
            self._client = aioredis.from_url(self.url, socket_timeout=self.timeout,
                                             socket_connect_timeout=self.timeout, decode_responses=True)
        return self._client

    @staticmethod
    def _ms(ttl: float) -> int:
        return max(int(ttl * 1000), 1)

    async def incr_attempts(self, key: str, ttl: float) -> int:
        return int(await self._redis().eval(self._HINCR, 1, self.prefix + key, "attempts", 1, self._ms(ttl)))

    async def set_answer(self, key: str, payload: str, ttl: float) -> None:
        await self._redis().eval(self._HSET, 1, self.prefix + key, "answer", payload, self._ms(ttl))

    async def get_answer(self, key: str) -> Optional[str]:
        return await self._redis().hget(self.prefix + key, "answer")

    async def add_live(self, key: str, delta: int, ttl: float) -> None:
        await self._redis().eval(self._HINCR, 1, self.prefix + key, "live", delta, self._ms(ttl))

    async def get_live(self, key: str) -> int:
        return int(await self._redis().hget(self.prefix + key, "live") or 0)

    async def set_once(self, key: str, ttl: float) -> bool:
        return bool(await self._redis().set(self.prefix + key, "1", nx=True, px=self._ms(ttl)))

    async def remember(self, key: str, value: str, ttl: float) -> str:
        held = await self._redis().eval(self._REMEMBER, 1, self.prefix + key, value, self._ms(ttl))
        return value if held is None else str(held)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None


# --------------------------------------------------------------------------- SQL
_T = "channel_dedup"
_SQL = {
    # claim: a new key, or an expired one reused from scratch; else one more attempt
    "incr": f"""INSERT INTO {_T} (entry_key, attempts, live, expires) VALUES (:k, 1, 0, :exp)
        ON CONFLICT (entry_key) DO UPDATE SET
          attempts = CASE WHEN {_T}.expires < :now THEN 1 ELSE {_T}.attempts + 1 END,
          live = CASE WHEN {_T}.expires < :now THEN 0 ELSE {_T}.live END,
          answer = CASE WHEN {_T}.expires < :now THEN NULL ELSE {_T}.answer END,
          value = CASE WHEN {_T}.expires < :now THEN NULL ELSE {_T}.value END,
          expires = CASE WHEN {_T}.expires < :now THEN excluded.expires ELSE {_T}.expires END""",
    "attempts": f"SELECT attempts FROM {_T} WHERE entry_key = :k",
    "answer": f"""INSERT INTO {_T} (entry_key, attempts, live, answer, expires) VALUES (:k, 0, 0, :v, :exp)
        ON CONFLICT (entry_key) DO UPDATE SET answer = excluded.answer""",
    "get_answer": f"SELECT answer FROM {_T} WHERE entry_key = :k AND expires >= :now",
    "live": f"""INSERT INTO {_T} (entry_key, attempts, live, expires) VALUES (:k, 0, :d, :exp)
        ON CONFLICT (entry_key) DO UPDATE SET live = {_T}.live + :d""",
    "get_live": f"SELECT live FROM {_T} WHERE entry_key = :k AND expires >= :now",
    # once / remember: insert, or take over an expired row; a live row is left alone
    "put": f"""INSERT INTO {_T} (entry_key, attempts, live, value, expires) VALUES (:k, 0, 0, :v, :exp)
        ON CONFLICT (entry_key) DO UPDATE SET value = excluded.value, expires = excluded.expires
        WHERE {_T}.expires < :now""",
    "value": f"SELECT value FROM {_T} WHERE entry_key = :k",
    "sweep": f"DELETE FROM {_T} WHERE expires < :now",
}
_DDL = [
    f"""CREATE TABLE IF NOT EXISTS {_T} (entry_key VARCHAR(255) NOT NULL PRIMARY KEY,
        attempts INTEGER NOT NULL, live INTEGER NOT NULL, answer TEXT, value TEXT, expires FLOAT NOT NULL)""",
    f"CREATE INDEX IF NOT EXISTS ix_{_T}_expires ON {_T} (expires)",
]


class SQLBackend(Backend):
    """A table ``channel_dedup`` (entry_key, attempts, live, answer, value, expires) in
    SQLite (≥ 3.24) or PostgreSQL: both speak the same INSERT ... ON CONFLICT.

    SQLAlchemy 2.0-style (``future=True`` engine, ``conn.execute(text(...))``) on
    1.4. Plain SQL text on purpose: SQLAlchemy 1.4 does not cache the compiled
    form of its dialect upserts, and compiling them was ~1.5 ms of the ~2 ms an
    attempt cost; as text, one claim is ~0.3 ms. Each operation is one short
    transaction run in a worker thread (``asyncio.to_thread``): SQLite may wait
    for another process's write lock (busy timeout 5 s) and that wait must not
    stop Sanic's loop. An expired row is reused by the next claim and swept at
    most once a minute.
    """

    SWEEP_EVERY = 60.0

    def __init__(self, url: Optional[str] = None) -> None:
        self.url = url or f"sqlite:///{DEFAULT_SQL_PATH}"
        self._engine: Any = None
        self._sql: dict = {}
        self._last_sweep = 0.0
        self._lock = threading.Lock()

    # -- setup (lazy: a channel that never receives a message opens nothing)
    def _setup(self) -> Any:
        if self._engine is not None:
            return self._engine
        with self._lock:  # first calls may come from several worker threads at once
            if self._engine is None:
                self._engine = self._create()
        return self._engine

    def _create(self) -> Any:
        from sqlalchemy import create_engine, event, text
        from sqlalchemy.exc import OperationalError
        from sqlalchemy.pool import QueuePool

        kwargs: dict = {"future": True}
        if self.url.startswith("sqlite:///") and self.url != "sqlite:///:memory:":
            path = Path(self.url[len("sqlite:///"):])
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))  # holds openids and answers
            kwargs.update(connect_args={"check_same_thread": False, "timeout": 5.0},
                          poolclass=QueuePool, pool_size=4, max_overflow=4)
        elif not self.url.startswith("sqlite"):
            kwargs.update(pool_pre_ping=True, pool_size=4, max_overflow=4)
        engine = create_engine(self.url, **kwargs)
        if engine.dialect.name == "sqlite":
            @event.listens_for(engine, "connect")
            def _pragmas(dbapi_connection, record):  # NORMAL (with WAL): no fsync per commit
                dbapi_connection.execute("PRAGMA synchronous=NORMAL")
        elif engine.dialect.name != "postgresql":
            raise ValueError(f"duplicate filter: {engine.dialect.name} is not supported "
                             "(use SQLite, PostgreSQL or REDIS_URL)")
        # Several processes may open a new file at the same moment (the fuzz subset caught
        # "table already exists" and "database is locked" from SQLite's switch to WAL, which
        # does not wait for a busy lock): idempotent DDL, retried for up to ~5 s.
        deadline = time.monotonic() + 5.0
        while True:
            try:
                with engine.begin() as conn:
                    if engine.dialect.name == "sqlite" and \
                            conn.exec_driver_sql("PRAGMA journal_mode").scalar() != "wal":
                        conn.exec_driver_sql("PRAGMA journal_mode=WAL")  # persistent: once per file
                    for ddl in _DDL:
                        conn.execute(text(ddl))
                break
            except OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self._sql = {name: text(sql) for name, sql in _SQL.items()}
        return engine

    def _tx(self, *steps: tuple) -> Any:
        """Run (statement, params) steps in one transaction; the last step's result."""
        engine = self._setup()
        with engine.begin() as conn:
            result = None
            for name, params in steps:
                result = conn.execute(self._sql[name], params)
            return result.scalar() if result is not None and result.returns_rows else result

    # -- operations (each in a worker thread)
    def _incr_attempts(self, key: str, ttl: float) -> int:
        now = time.time()
        steps = [("incr", {"k": key, "exp": now + ttl, "now": now})]
        if now - self._last_sweep > self.SWEEP_EVERY:
            self._last_sweep = now
            steps.insert(0, ("sweep", {"now": now - 1}))
        steps.append(("attempts", {"k": key}))
        return int(self._tx(*steps))

    def _put(self, key: str, value: str, ttl: float) -> bool:
        now = time.time()
        return self._tx(("put", {"k": key, "v": value, "exp": now + ttl, "now": now})).rowcount == 1

    def _remember(self, key: str, value: str, ttl: float) -> str:
        now = time.time()
        return str(self._tx(("put", {"k": key, "v": value, "exp": now + ttl, "now": now}), ("value", {"k": key})))

    # -- async interface
    async def incr_attempts(self, key: str, ttl: float) -> int:
        return await asyncio.to_thread(self._incr_attempts, key, ttl)

    async def set_answer(self, key: str, payload: str, ttl: float) -> None:
        await asyncio.to_thread(self._tx, ("answer", {"k": key, "v": payload, "exp": time.time() + ttl}))

    async def get_answer(self, key: str) -> Optional[str]:
        return await asyncio.to_thread(self._tx, ("get_answer", {"k": key, "now": time.time()}))

    async def add_live(self, key: str, delta: int, ttl: float) -> None:
        await asyncio.to_thread(self._tx, ("live", {"k": key, "d": delta, "exp": time.time() + ttl}))

    async def get_live(self, key: str) -> int:
        return int(await asyncio.to_thread(self._tx, ("get_live", {"k": key, "now": time.time()})) or 0)

    async def set_once(self, key: str, ttl: float) -> bool:
        return await asyncio.to_thread(self._put, key, "1", ttl)

    async def remember(self, key: str, value: str, ttl: float) -> str:
        return await asyncio.to_thread(self._remember, key, value, ttl)

    async def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def store_from_settings(redis_url: Optional[str], database_url: Optional[str],
                        ttl: float = DEFAULT_TTL_SECONDS) -> DedupStore:
    """Redis when a URL is given, else the SQL table (default: var/channels.db)."""
    if redis_url:
        return SharedDedupStore(RedisBackend(redis_url), ttl)
    return SharedDedupStore(SQLBackend(database_url), ttl)
