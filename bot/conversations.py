"""Conversations as Rasa stored them: the tracker store, read-only, for the people around the
assistant — a sender's earlier conversations for the agent on a ticket (caller history), the
messages a trainer reviews (bot/review.py).

Rasa's ``events`` table (SQLTrackerStore), over the URL in ``$TRACKER_DATABASE_URL`` or the
store ``endpoints.yml`` configures (``${VAR}`` read from the environment, as Rasa does);
SQLite files are opened ``mode=ro``, so nothing here can change a conversation.

A sender's history is one indexed query (Rasa indexes ``sender_id``): the sender's user and
bot messages and session starts before a moment, newest sessions kept.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path
from typing import Dict, List, Optional

import yaml
from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, create_engine, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError

from bot.inbox import CST

ROOT = Path(__file__).resolve().parent.parent
TRACKER_ENV = "TRACKER_DATABASE_URL"
#: at most this many earlier sessions, and messages per session, go with a ticket
MAX_SESSIONS = 5
MAX_MESSAGES = 30

EVENTS = Table("events", MetaData(), Column("id", Integer, primary_key=True), Column("sender_id", String),
               Column("type_name", String), Column("timestamp", Float), Column("intent_name", String),
               Column("data", Text))

_VAR = re.compile(r"\$\{([^}]+)\}")


def tracker_url(url: Optional[str] = None, endpoints: Path = ROOT / "endpoints.yml") -> str:
    """The tracker store's SQLAlchemy URL: given, ``$TRACKER_DATABASE_URL``, or endpoints.yml's
    ``tracker_store`` (``${VAR}`` read from the environment, as Rasa does)."""
    url = url or os.environ.get(TRACKER_ENV)
    if url:
        return url
    conf = (yaml.safe_load(endpoints.read_text(encoding="utf-8")) or {}).get("tracker_store") or {}

    def env(v):
        return _VAR.sub(lambda m: os.environ.get(m.group(1), ""), str(v)) if v is not None else None
    dialect = env(conf.get("dialect")) or "sqlite"
    db = env(conf.get("db")) or "rasa.db"
    if dialect == "sqlite":
        path = Path(db)
        return f"sqlite:///{path if path.is_absolute() else ROOT / path}"
    port = env(conf.get("port"))
    return URL.create(dialect, username=env(conf.get("username")), password=env(conf.get("password")),
                      host=env(conf.get("url")), port=int(port) if port and port.isdigit() else None,
                      database=db).render_as_string(hide_password=False)


def read_only_engine(url: str):
    """An engine that cannot write: SQLite opened ``mode=ro`` (None when the file is not there
    yet: Rasa has stored nothing); a server database as given."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite" and u.database and u.database != ":memory:":
        if not Path(u.database).exists():
            return None
        return create_engine(f"sqlite:///file:{u.database}?mode=ro&uri=true", future=True)
    return create_engine(url, future=True, pool_pre_ping=True)


def local_time(ts: float) -> str:
    """Rasa's epoch timestamp as ISO 8601 in +08:00, as the console shows every time."""
    return dt.datetime.fromtimestamp(ts, CST).isoformat(timespec="seconds")


class Conversations:
    def __init__(self, url: Optional[str] = None) -> None:
        self.url = tracker_url(url)
        self._engine = None

    def _connect(self):
        if self._engine is None:
            self._engine = read_only_engine(self.url)
        return self._engine

    def earlier(self, sender: str, before: float, max_sessions: int = MAX_SESSIONS,
                max_messages: int = MAX_MESSAGES) -> List[Dict]:
        """The sender's sessions that started before ``before`` (epoch seconds), newest first:
        ``{"started", "messages": [{"from", "text", "at"}]}`` with the session's last messages."""
        engine = self._connect()
        if engine is None or not sender:
            return []
        q = (select(EVENTS.c.type_name, EVENTS.c.timestamp, EVENTS.c.data)
             .where(EVENTS.c.sender_id == sender, EVENTS.c.timestamp < before,
                    EVENTS.c.type_name.in_(("user", "bot", "session_started")))
             .order_by(EVENTS.c.id))
        try:
            with engine.connect() as conn:
                rows = conn.execute(q).all()
        except OperationalError as exc:
            if "no such table" in str(exc):
                return []
            raise
        sessions: List[Dict] = []
        for kind, ts, data in rows:
            if kind == "session_started" or not sessions:
                sessions.append({"started": local_time(ts), "messages": []})
                if kind == "session_started":
                    continue
            try:
                text = (json.loads(data).get("text") or "").strip()
            except (TypeError, ValueError, AttributeError):
                continue
            if text and not text.startswith("/"):
                sessions[-1]["messages"].append({"from": "user" if kind == "user" else "bot", "text": text,
                                                 "at": local_time(ts)})
        sessions = [s for s in sessions if s["messages"]]
        for s in sessions:
            s["messages"] = s["messages"][-max_messages:]
        return sessions[::-1][:max_sessions]
