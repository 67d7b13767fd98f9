"""Rasa's Redis lock store with each change of a lock made atomic (several Rasa instances).

Why: stock ``RedisLockStore`` (Rasa 3.6) issues a ticket as three separate steps — GET the
lock, add a ticket in Python, SET it back — and releases one the same way. Two instances
taking a message of the same sender within the same millisecond (two WeChat retries, a
double click behind a round-robin balancer) both read "no lock", both write ticket 1 and
both go on, so the two turns run at once on one conversation: each reads the same tracker,
and the SQL store's save (which appends the events past the number it finds stored) drops
the events of whichever saves second. Here each read-modify-write runs under Redis
``WATCH``/``MULTI`` and is retried when another instance changed the lock in between, so
tickets are issued one after another exactly as the in-memory store issues them in one
process. The ticket algorithm, lifetimes and waiting (``LockStore.lock``) are Rasa's own.

Second: a waiting turn's ticket is kept alive while it waits. Stock counts a ticket's
lifetime (``TICKET_LOCK_LIFETIME``) from when it was issued, waiting included, and a waiter
whose ticket expired in the queue is never served (``now_serving`` falls back to 0, which
is nobody's ticket) — it waits until the client gives up. That is what happens after an
instance dies holding a lock: its ticket and the next turn's, issued moments apart, are
both dropped by the same look at the lock whenever they expire within the waiter's 1 s
between looks; in the first run of the kill test (tests/test_scaled.py) the next turn of
such a conversation hung for the client's whole 90 s. Here each waiter renews its own ticket every time it looks
at the lock, so only the tickets of turns nobody is running any more expire (a dead
instance's: after ``TICKET_LOCK_LIFETIME`` s), and a waiter that finds its ticket gone
gets ``LockError`` — the apology — instead of waiting for ever.

Third: stock keys never expire. A lock left by an instance that died while
holding it stays in Redis for good (its ticket expires after ``TICKET_LOCK_LIFETIME``,
but only a waiter removes it). Here every write sets the key's TTL to its last ticket's
expiry, so Redis forgets a dead instance's lock by itself.

Cost: one WATCH/GET/MULTI/SET/EXEC round trip instead of GET/SET — on loopback a few
hundred microseconds per message, against a turn of tens of milliseconds.
"""
from __future__ import annotations

import json
import time
from typing import Any, Callable, Optional, Text, Tuple, TypeVar

import asyncio

from rasa.core.lock import Ticket, TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore

T = TypeVar("T")


class AtomicRedisLockStore(RedisLockStore):
    """``RedisLockStore`` whose ticket changes are Redis transactions and whose keys expire."""

    def __init__(self, endpoint_config: Any = None, **kwargs: Any) -> None:
        # Rasa constructs a lock store named by module path with endpoint_config=…
        if endpoint_config is not None:
            kwargs = dict(endpoint_config.kwargs, **kwargs)
            kwargs.setdefault("host", endpoint_config.url or "localhost")
        super().__init__(**kwargs)

    def _change(self, conversation_id: Text, change: Callable[[Optional[TicketLock]], Tuple[Optional[TicketLock], T]],
                delete_when_empty: bool = False) -> T:
        key = self.key_prefix + conversation_id

        def transaction(pipe: Any) -> T:
            raw = pipe.get(key)
            lock = TicketLock.from_dict(json.loads(raw)) if raw else None
            lock, value = change(lock)
            pipe.multi()
            if lock is None or (delete_when_empty and not lock.is_someone_waiting()):
                pipe.delete(key)
            else:
                pipe.set(key, lock.dumps(), px=_ttl_ms(lock))
            return value

        return self.red.transaction(transaction, key, value_from_callable=True)

    def issue_ticket(self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME) -> int:
        def issue(lock: Optional[TicketLock]) -> Tuple[TicketLock, int]:
            lock = lock or TicketLock(conversation_id)
            return lock, lock.issue_ticket(lock_lifetime)

        try:
            return self._change(conversation_id, issue)
        except Exception as e:  # the error stock raises: the caller apologises
            raise LockError(f"Error while acquiring lock. Error:\n{e}")

    async def _acquire_lock(self, conversation_id: Text, ticket: int, wait_time_in_seconds: float) -> TicketLock:
        """Stock's loop (look, else sleep and look again), renewing our ticket each time."""
        while True:
            lock = self._renew(conversation_id, ticket)
            if lock is None:
                raise LockError(f"Could not acquire lock for conversation_id '{conversation_id}'.")
            if not lock.is_locked(ticket):
                return lock
            await asyncio.sleep(wait_time_in_seconds)

    def _renew(self, conversation_id: Text, ticket_number: int) -> Optional[TicketLock]:
        """Drop expired tickets, give ours a fresh lifetime; None when ours is gone."""
        def renew(lock: Optional[TicketLock]) -> Tuple[Optional[TicketLock], Optional[TicketLock]]:
            if lock is None:
                return None, None
            lock.remove_expired_tickets()
            for i, t in enumerate(lock.tickets):
                if t.number == ticket_number:
                    lock.tickets[i] = Ticket(t.number, time.time() + LOCK_LIFETIME)
                    return lock, lock
            return lock, None

        return self._change(conversation_id, renew)

    def cleanup(self, conversation_id: Text, ticket_number: int) -> None:
        """Stock: remove the ticket, delete the lock if nobody waits — as one step here."""
        def finish(lock: Optional[TicketLock]) -> Tuple[Optional[TicketLock], None]:
            if lock is not None:
                lock.remove_ticket_for(ticket_number)
            return lock, None

        self._change(conversation_id, finish, delete_when_empty=True)


def _ttl_ms(lock: TicketLock) -> int:
    """Until the last ticket expires (at least a second): then nobody can hold the lock."""
    last = max((t.expires for t in lock.tickets), default=time.time())
    return max(1000, int((last - time.time()) * 1000) + 1000)
