"""Deduplicate WeChat / WeCom retries.

WeChat re-sends the same message (same MsgId) when it has no reply within
5 s, up to three attempts in all. Rasa would answer every attempt in full, so
the channel keeps one entry per message: the first sighting starts the answer,
every later attempt waits for that same answer.

The store is an interface so that several workers can share it (Redis: SET NX
EX for `claim`/`claim_once`, INCR for attempts and repliers, a key plus
pub/sub or polling for `publish`/`wait`). Only the in-process implementation
exists today; with it, run ONE Sanic worker, or retries that land on another
worker will be answered twice.
"""
from __future__ import annotations

import abc
import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import List, Optional, Set

DEFAULT_TTL_SECONDS = 180.0


class DedupStore(abc.ABC):
    """One entry per incoming message key, kept for `ttl` seconds."""

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
