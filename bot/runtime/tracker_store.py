"""Rasa's SQLTrackerStore, plus an in-memory copy of the trackers of recent conversations.

Why: on every message stock Rasa 3.6 reads all events of the conversation from SQL,
replays them into a new tracker, and before saving counts the stored rows again — a
cost that grows with the conversation (≈25 ms per message on our 2-core machine, a
third of Rasa's CPU per message). When one Rasa process owns the conversations (the
embedded default, `endpoints.yml`), the tracker it saved last *is* what it would read
back, so it can keep it.

Every event is still written to SQL before the reply goes out (write-through), so a
restart loses nothing; the cache is only a shortcut for reading.

The cached tracker is *checked out* on retrieve and put back on save: if a turn fails
half-way (exception, timeout) and is never saved, the next retrieve reads the
database again instead of a tracker holding unsaved events. After a save that starts
a new session the cached tracker is rebuilt from that session's events only, exactly
what stock Rasa would read back.

Not for several Rasa processes sharing one database (each would hold its own stale
copy): `endpoints.scaled.yml` uses :class:`GuardedSQLTrackerStore` (Rasa's SQL store
without the exit below), and the cache switches itself off when Sanic runs more than
one worker or an event broker is configured.

Both stores fix a fault of stock SQLTrackerStore: its ``session_scope`` takes *any*
ValueError raised while a session is open for a missing PostgreSQL schema and calls
``sys.exit``. A sender id with a lone surrogate (``"\\udc80"``) raises exactly that
(UnicodeEncodeError is a ValueError) — one request stopped the whole assistant. Here
the error is raised as :class:`TrackerStoreError`: the conversation it belongs to gets
the apology (``bot.channels.rest.answer_or_apologise``), every other one carries on.

A SQLite tracker file is created readable by its owner only (0600): it holds every
message of every conversation.

A server database (PostgreSQL) is used with ``pool_pre_ping``: after the database
restarts, every pooled connection is dead, and without the check each of them would fail
one turn (one apology per pooled connection) before SQLAlchemy noticed. The check is one
``SELECT 1`` round trip per checkout (~0.1 ms on loopback).
"""
from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
from collections import OrderedDict
from pathlib import Path
from typing import Any, Dict, Generator, Optional, Text, Tuple

from rasa.core.tracker_store import SQLTrackerStore, ensure_schema_exists
from rasa.shared.core.events import SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

logger = logging.getLogger(__name__)

SESSION_INDEX = "ix_events_sender_timestamp"
DEFAULT_CACHE_SIZE = 2000  # conversations; a tracker of a 20-turn conversation is ~100 KB in memory


class TrackerStoreError(RuntimeError):
    """Reading or writing one conversation failed (not a ValueError: see the module doc)."""


def private_sqlite_file(dialect: Optional[str], host: Optional[str], db: Optional[str]) -> None:
    """Create the SQLite file 0600 before SQLAlchemy does (it would use the umask, 0644
    by default), and tighten an existing one."""
    if (dialect or "sqlite") != "sqlite" or host or not db or db == ":memory:":
        return
    path = Path(db)
    if path.parent and not path.parent.exists():
        return
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    os.chmod(path, 0o600)


class GuardedSQLTrackerStore(SQLTrackerStore):
    """Rasa's SQLTrackerStore whose errors never exit the process; SQLite file 0600."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        private_sqlite_file(kwargs.get("dialect", "sqlite"), kwargs.get("host"), kwargs.get("db", "rasa.db"))
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name != "sqlite":
            self._check_connections_before_use()
        self._index_sessions()

    def _index_sessions(self) -> None:
        """An index on (sender_id, timestamp), which Rasa does not create: a turn reads the
        latest session's events by that range, not every event the sender ever had."""
        import sqlalchemy as sa

        try:
            sa.Index(SESSION_INDEX, self.SQLEvent.__table__.c.sender_id,
                     self.SQLEvent.__table__.c.timestamp).create(self.engine, checkfirst=True)
        except Exception as e:  # e.g. a read-only database user: stock's queries still work, slower
            logger.warning("tracker store: index %s not created (%s)", SESSION_INDEX, type(e).__name__)

    def _event_query(self, session: Any, sender_id: Text, fetch_events_from_all_sessions: bool = False) -> Any:
        """Stock's query in two steps: the latest session's start first, then the events from
        it on. Stock joins the two in one statement, and with the statistics PostgreSQL has
        for a table that is growing (one row estimated per sender) it plans a nested loop
        that recomputes the session start for every event of the sender: measured on the
        scaled stack, 153 ms for a sender with 1,194 events, growing with the square of the
        conversation's whole history (every session of it) until autovacuum analyses the
        table. Same rows, same order (by id)."""
        if fetch_events_from_all_sessions:
            return super()._event_query(session, sender_id, fetch_events_from_all_sessions)
        import sqlalchemy as sa

        E = self.SQLEvent
        start = session.query(sa.func.max(E.timestamp)).filter(
            E.sender_id == sender_id, E.type_name == SessionStarted.type_name).scalar()
        query = session.query(E).filter(E.sender_id == sender_id)
        if start is not None:
            query = query.filter(E.timestamp >= start)
        return query.order_by(E.id)

    def _check_connections_before_use(self) -> None:
        import sqlalchemy as sa
        from rasa.core.tracker_store import create_engine_kwargs

        url = self.engine.url
        self.engine.dispose()
        self.engine = sa.create_engine(url, pool_pre_ping=True, **create_engine_kwargs(url))
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)

    @contextlib.contextmanager
    def session_scope(self) -> Generator[Any, None, None]:
        session = self.sessionmaker()
        try:
            try:
                ensure_schema_exists(session)
            except ValueError as e:  # what stock exits for: a configured schema that is missing
                raise TrackerStoreError(f"PostgreSQL schema '{e}' not found (create it or unset POSTGRESQL_SCHEMA)") \
                    from None
            try:
                yield session
            except ValueError as e:
                # e.g. a string the database driver cannot encode; the message would quote it
                raise TrackerStoreError(f"tracker store refused a value ({type(e).__name__})") from None
        finally:
            session.close()


class CachedSQLTrackerStore(GuardedSQLTrackerStore):
    """SQLTrackerStore with a write-through, check-out/check-in cache of recent trackers."""

    def __init__(self, *args: Any, cache_size: int = DEFAULT_CACHE_SIZE, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        workers = int(os.environ.get("SANIC_WORKERS", "1") or 1)
        if workers > 1 or self.event_broker is not None:
            logger.info("tracker cache off (Sanic workers: %s, event broker: %s)", workers, self.event_broker)
            cache_size = 0
        self.cache_size = max(0, int(cache_size))
        # sender id -> (tracker, number of its events already in the database)
        self._idle: "OrderedDict[Text, Tuple[DialogueStateTracker, int]]" = OrderedDict()
        self._checked_out: Dict[Text, Tuple[DialogueStateTracker, int]] = {}
        if self.engine.dialect.name == "sqlite":
            self._keep_sqlite_connection_open()

    def _keep_sqlite_connection_open(self) -> None:
        """Rasa opens SQLite without a pool: a new connection per read and per save, and in
        WAL mode closing the last connection checkpoints and deletes the log each time.
        One pooled connection (Rasa calls the store from its event loop thread only), WAL."""
        import sqlalchemy as sa
        from sqlalchemy.pool import QueuePool

        url = self.engine.url
        self.engine.dispose()
        self.engine = sa.create_engine(url, poolclass=QueuePool, pool_size=1, max_overflow=4,
                                       connect_args={"check_same_thread": False})
        _use_wal(self.engine)
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        if not self.cache_size:
            return await super().retrieve(sender_id)
        entry = self._idle.pop(sender_id, None)
        if entry is None:
            tracker = await super().retrieve(sender_id)
            if tracker is None:
                self._checked_out.pop(sender_id, None)
                return None
            # stock retrieve returns exactly the stored events of the latest session
            entry = (tracker, len(tracker.events))
        self._checked_out[sender_id] = entry
        return entry[0]

    async def save(self, tracker: DialogueStateTracker) -> None:
        if not self.cache_size:
            return await super().save(tracker)
        out = self._checked_out.pop(tracker.sender_id, None)
        if out is not None and out[0] is tracker:
            stored = out[1]
        else:  # a tracker we did not hand out (new conversation, API replace): count as stock does
            stored = None
        if self._write(tracker, stored):
            tracker = self._latest_session(tracker)
        self._idle[tracker.sender_id] = (tracker, len(tracker.events))
        self._idle.move_to_end(tracker.sender_id)
        while len(self._idle) > self.cache_size:
            self._idle.popitem(last=False)

    def _write(self, tracker: DialogueStateTracker, stored: Optional[int]) -> bool:
        """Append the tracker's events the database does not have yet; True if one starts a session."""
        new_session = False
        with self.session_scope() as session:
            if stored is None:
                stored = self._event_query(session, tracker.sender_id, fetch_events_from_all_sessions=False).count()
            rows = []
            for event in itertools.islice(tracker.events, stored, len(tracker.events)):
                new_session = new_session or isinstance(event, SessionStarted)
                data = event.as_dict()
                rows.append({  # the columns stock SQLTrackerStore.save writes
                    "sender_id": tracker.sender_id,
                    "type_name": event.type_name,
                    "timestamp": data.get("timestamp"),
                    "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
                    "action_name": data.get("name"),
                    "data": json.dumps(data),
                })
            if rows:  # one multi-row INSERT instead of the ORM's unit of work
                session.execute(self.SQLEvent.__table__.insert(), rows)
            session.commit()
        return new_session

    def _latest_session(self, tracker: DialogueStateTracker) -> DialogueStateTracker:
        """The tracker stock retrieve would build: events stamped at or after the latest SessionStarted."""
        start = next(e.timestamp for e in reversed(tracker.events) if isinstance(e, SessionStarted))
        events = [e.as_dict() for e in tracker.events if e.timestamp >= start]
        return DialogueStateTracker.from_dict(tracker.sender_id, events, self.domain.slots)


def _use_wal(engine: Any) -> None:
    """SQLite in WAL mode: a commit appends to the log instead of rewriting the journal,
    and readers (the HTTP API, `rasa export`) never block the writer. synchronous stays FULL."""
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _pragma(dbapi_connection: Any, _record: Any) -> None:
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.close()
