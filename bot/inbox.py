"""The handoff inbox: tickets an enterprise opens with "转人工", what agents do with them,
and the 有用/没用 votes on answers — in a database of its own.

Three processes share it: the action server opens tickets (``bot.handoff``), the
assist console lists, claims, answers and closes them (``bot.assist.inbox_api``), and
the widget channel (in the Rasa process) forwards the enterprise's messages to an open
ticket and fetches the agent's replies (``bot.channels.webwidget``). So it cannot live
in memory, and not in ``var/measures.db`` either: a rebuild replaces that file.

Where: ``$INBOX_DATABASE_URL`` (any SQLAlchemy URL; PostgreSQL when several machines
run), else ``var/inbox.db`` (created owner-only: it holds what callers said and their
phone numbers). SQLite runs in WAL mode with a 5 s busy timeout so the three writers
wait for each other instead of failing. Tables are created on first use.

Every change is also a row in ``handoff_events`` (an autoincrement id): the console's
live view is "events after id N" (server-sent events, resumable with Last-Event-ID) and
the widget's reply fetch is "agent replies to my tickets after id N". One indexed
query per poll: with 1,000 tickets on SQLite, events_after 1.7 ms, replies_for 3.5 ms,
open_ticket_of 3.0 ms (session, query and ORM; measured with the test suite busy on the other core).

Times are stored in UTC and shown in China Standard Time (+08:00), the zone 12345
work orders are kept in.
"""
from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import logging
import os
import threading
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence

from sqlalchemy import (JSON, Column, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint, create_engine,
                        event, func, select)
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, declarative_base, relationship, sessionmaker

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PATH = ROOT / "var" / "inbox.db"
URL_ENV = "INBOX_DATABASE_URL"
CST = dt.timezone(dt.timedelta(hours=8), "CST")

WAITING, CLAIMED, CLOSED = "waiting", "claimed", "closed"
STATUS_NAMES = {WAITING: "待接单", CLAIMED: "处理中", CLOSED: "已结束"}
#: how a ticket ended (what the agent picks when closing)
OUTCOMES = ("已解答", "已转办", "已登记待回电", "未联系上", "无效诉求")
#: 12345 work-order categories
CATEGORIES = ("政策咨询", "求助", "投诉", "建议", "其他")
VOTES = ("up", "down")
#: what an event row records
OPENED, CLAIM, AGENT, CUSTOMER, CLOSE, FIELDS = "opened", "claimed", "agent", "customer", "closed", "fields"

MAX_CONVERSATION = 60  # turns kept with a ticket (the latest)
MAX_TURN_CHARS = 2000

Base = declarative_base()


class Ticket(Base):
    __tablename__ = "handoff_tickets"
    id = Column(Integer, primary_key=True)
    sender = Column(String(160), nullable=False, index=True)
    channel = Column(String(32), nullable=False)
    status = Column(String(16), nullable=False, default=WAITING, index=True)
    created_at = Column(DateTime, nullable=False)
    question = Column(Text, nullable=False, default="")
    profile = Column(JSON, nullable=False, default=dict)
    conversation = Column(JSON, nullable=False, default=list)
    measures = Column(JSON, nullable=False, default=list)
    summary = Column(Text, nullable=False, default="")
    hotline = Column(JSON)
    claimed_by = Column(String(64))
    claimed_at = Column(DateTime)
    closed_at = Column(DateTime)
    outcome = Column(String(32))
    outcome_note = Column(Text)
    caller_name = Column(String(64))
    caller_phone = Column(String(32))
    category = Column(String(32))

    events = relationship("TicketEvent", back_populates="ticket", order_by="TicketEvent.id")


class TicketEvent(Base):
    __tablename__ = "handoff_events"
    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("handoff_tickets.id"), nullable=False, index=True)
    kind = Column(String(16), nullable=False)
    author = Column(String(64))
    text = Column(Text)
    at = Column(DateTime, nullable=False)
    #: for an agent reply to WeChat/WeCom: "sent" / "failed" / None (the widget fetches it itself)
    delivery = Column(String(16))

    ticket = relationship("Ticket", back_populates="events")


class AnswerVote(Base):
    """有用/没用 on one answer, kept with the conversation (sender) it belongs to. The
    widget names the answer by a key of its own; voting again changes the vote."""
    __tablename__ = "answer_votes"
    id = Column(Integer, primary_key=True)
    sender = Column(String(160), nullable=False, index=True)
    channel = Column(String(32), nullable=False)
    answer_key = Column(String(64), nullable=False)
    answer_text = Column(Text, nullable=False, default="")
    question = Column(Text, nullable=False, default="")
    vote = Column(String(8), nullable=False)
    at = Column(DateTime, nullable=False)
    __table_args__ = (UniqueConstraint("sender", "answer_key"),)


class InboxError(Exception):
    """A request the inbox refuses: ``status`` is the HTTP status it maps to (404, 409, 400)."""

    def __init__(self, message: str, status: int = 409, field: Optional[str] = None) -> None:
        super().__init__(message)
        self.message, self.status, self.field = message, status, field


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)


def local(t: Optional[dt.datetime]) -> Optional[str]:
    """A stored (UTC) time as ISO 8601 in +08:00."""
    if t is None:
        return None
    return t.replace(tzinfo=dt.timezone.utc).astimezone(CST).isoformat(timespec="seconds")


def ticket_number(t: Ticket) -> str:
    """"20261202-0007": the day it was opened (+08:00) and the ticket's id."""
    day = t.created_at.replace(tzinfo=dt.timezone.utc).astimezone(CST)
    return f"{day:%Y%m%d}-{t.id:04d}"


def inbox_url(url: Optional[str] = None) -> str:
    return url or os.environ.get(URL_ENV) or f"sqlite:///{DEFAULT_PATH}"


_ENGINES: Dict[str, Any] = {}
_LOCK = threading.Lock()


def _create_engine(url: str):
    kwargs: Dict[str, Any] = {"future": True}
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        path = Path(url[len("sqlite:///"):])
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            try:
                os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            except FileExistsError:
                pass
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 5.0}
    elif not url.startswith("sqlite"):
        kwargs.update(pool_pre_ping=True, pool_size=4, max_overflow=4)
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):
        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, record):
            cur = dbapi_connection.cursor()
            cur.execute("PRAGMA busy_timeout = 5000")
            if url != "sqlite:///:memory:":
                cur.execute("PRAGMA journal_mode = WAL")
            cur.close()
    for attempt in range(3):  # two processes creating the tables at once: one wins, the other sees them
        try:
            Base.metadata.create_all(engine, checkfirst=True)
            break
        except OperationalError:
            if attempt == 2:
                raise
    return engine


class Inbox:
    """The inbox's operations; each is one short transaction (call them off the event loop)."""

    def __init__(self, url: Optional[str] = None) -> None:
        self.url = inbox_url(url)
        self._factory: Optional[sessionmaker] = None

    def _session(self) -> Session:
        if self._factory is None:
            with _LOCK:
                engine = _ENGINES.get(self.url)
                if engine is None:
                    engine = _ENGINES[self.url] = _create_engine(self.url)
            self._factory = sessionmaker(bind=engine, class_=Session, future=True, expire_on_commit=False)
        return self._factory()

    # ---- the enterprise's side ---------------------------------------------------

    def open_ticket(self, *, sender: str, channel: str, question: str, profile: dict, conversation: Sequence[dict],
                    measures: Sequence[dict], summary: str, hotline: Optional[dict]) -> dict:
        """A new ticket, or the sender's ticket still open (asking twice does not queue twice).
        Returns the ticket's view with ``queue_position`` and ``new``."""
        with self._session() as s, s.begin():
            open_ = self._open_for(s, sender)
            if open_ is not None:
                return {**self._brief(open_), "queue_position": self._position(s, open_), "new": False}
            now = _utcnow()
            t = Ticket(sender=sender, channel=channel, status=WAITING, created_at=now, question=question or "",
                       profile=dict(profile), conversation=_clip_conversation(conversation),
                       measures=list(measures), summary=summary, hotline=hotline)
            s.add(t)
            s.flush()
            s.add(TicketEvent(ticket_id=t.id, kind=OPENED, text=question or "", at=now))
            s.flush()
            return {**self._brief(t), "queue_position": self._position(s, t), "new": True}

    def open_ticket_of(self, sender: str) -> Optional[dict]:
        """The sender's open ticket with ``last_event`` (the newest event on any of its
        tickets: the widget fetches replies after it), or None."""
        with self._session() as s:
            t = self._open_for(s, sender)
            if t is None:
                return None
            last = s.execute(select(func.max(TicketEvent.id)).join(Ticket, TicketEvent.ticket_id == Ticket.id)
                             .where(Ticket.sender == sender)).scalar() or 0
            return {**self._brief(t), "queue_position": self._position(s, t), "last_event": last}

    def customer_message(self, sender: str, text: str) -> Optional[dict]:
        """The enterprise wrote while its ticket is open: the message goes to the ticket
        (the agent sees it live). None when no ticket is open."""
        with self._session() as s, s.begin():
            t = self._open_for(s, sender)
            if t is None:
                return None
            s.add(TicketEvent(ticket_id=t.id, kind=CUSTOMER, text=text[:MAX_TURN_CHARS], at=_utcnow()))
            return {**self._brief(t), "queue_position": self._position(s, t)}

    def replies_for(self, sender: str, after: int = 0, limit: int = 50) -> dict:
        """What the enterprise's widget shows: agent replies and closings on its tickets after
        event ``after``, and the ticket still open (if any)."""
        with self._session() as s:
            rows = s.execute(
                select(TicketEvent, Ticket).join(Ticket, TicketEvent.ticket_id == Ticket.id)
                .where(Ticket.sender == sender, TicketEvent.id > after, TicketEvent.kind.in_((AGENT, CLOSE)))
                .order_by(TicketEvent.id).limit(limit)).all()
            open_ = self._open_for(s, sender)
            return {
                "replies": [{"id": e.id, "kind": e.kind, "text": e.text if e.kind == AGENT else None,
                             "ticket": ticket_number(t), "at": local(e.at)} for e, t in rows],
                "open": None if open_ is None else {**self._brief(open_), "queue_position": self._position(s, open_)},
            }

    def vote(self, *, sender: str, channel: str, answer_key: str, answer_text: str, question: str, vote: str) -> dict:
        if vote not in VOTES:
            raise InboxError("vote 只能是 up 或 down", 400, "vote")
        with self._session() as s, s.begin():
            row = s.execute(select(AnswerVote).where(AnswerVote.sender == sender,
                                                     AnswerVote.answer_key == answer_key)).scalar_one_or_none()
            if row is None:
                row = AnswerVote(sender=sender, channel=channel, answer_key=answer_key)
                s.add(row)
            row.answer_text, row.question, row.vote, row.at = answer_text, question, vote, _utcnow()
        return {"answer_key": answer_key, "vote": vote}

    def votes(self, sender: Optional[str] = None, vote: Optional[str] = None, limit: int = 200) -> List[dict]:
        with self._session() as s:
            q = select(AnswerVote).order_by(AnswerVote.id.desc()).limit(limit)
            if sender:
                q = q.where(AnswerVote.sender == sender)
            if vote:
                q = q.where(AnswerVote.vote == vote)
            return [{"sender": v.sender, "channel": v.channel, "answer_key": v.answer_key, "answer": v.answer_text,
                     "question": v.question, "vote": v.vote, "at": local(v.at)} for v in s.execute(q).scalars()]

    def handed_off_senders(self) -> set:
        """Every sender that ever opened a ticket (the trainers' review lists their messages)."""
        with self._session() as s:
            return set(s.execute(select(Ticket.sender).distinct()).scalars())

    # ---- the agents' side ---------------------------------------------------------

    def tickets(self, status: Optional[str] = None, limit: int = 100) -> List[dict]:
        """Newest first; ``status`` "open" means waiting or claimed, None or "all" every ticket."""
        with self._session() as s:
            q = select(Ticket).order_by(Ticket.id.desc()).limit(limit)
            if status == "open":
                q = q.where(Ticket.status != CLOSED)
            elif status and status != "all":
                q = q.where(Ticket.status == status)
            return [self._brief(t) for t in s.execute(q).scalars()]

    def ticket(self, ticket_id: int) -> dict:
        with self._session() as s:
            t = self._get(s, ticket_id)
            out = self._full(t)
            out["queue_position"] = self._position(s, t)
            out["history"] = self._history(s, t)
            return out

    def claim(self, ticket_id: int, agent: str) -> dict:
        with self._session() as s, s.begin():
            t = self._get(s, ticket_id, for_update=True)
            if t.status == CLOSED:
                raise InboxError("这张工单已结束", 409)
            if t.status == CLAIMED and t.claimed_by != agent:
                raise InboxError(f"这张工单已由{t.claimed_by}接单", 409)
            if t.status == WAITING:
                t.status, t.claimed_by, t.claimed_at = CLAIMED, agent, _utcnow()
                s.add(TicketEvent(ticket_id=t.id, kind=CLAIM, author=agent, at=t.claimed_at))
            return self._brief(t)

    def reply(self, ticket_id: int, agent: str, text: str, delivery: Optional[str] = None) -> dict:
        """The agent's reply: only by the agent who claimed the ticket."""
        with self._session() as s, s.begin():
            t = self._get(s, ticket_id, for_update=True)
            self._must_hold(t, agent)
            e = TicketEvent(ticket_id=t.id, kind=AGENT, author=agent, text=text, at=_utcnow(), delivery=delivery)
            s.add(e)
            s.flush()
            return {"event": _event_view(e), "ticket": self._brief(t)}

    def set_delivery(self, event_id: int, delivery: str) -> None:
        with self._session() as s, s.begin():
            e = s.get(TicketEvent, event_id)
            if e is not None:
                e.delivery = delivery

    def set_fields(self, ticket_id: int, agent: str, fields: Dict[str, Optional[str]]) -> dict:
        """Work-order fields the agent types: caller_name, caller_phone, category."""
        with self._session() as s, s.begin():
            t = self._get(s, ticket_id, for_update=True)
            if t.status == CLAIMED and t.claimed_by != agent:
                raise InboxError(f"这张工单由{t.claimed_by}处理", 409)
            for name in ("caller_name", "caller_phone", "category"):
                if name in fields:
                    setattr(t, name, fields[name])
            s.add(TicketEvent(ticket_id=t.id, kind=FIELDS, author=agent, at=_utcnow()))
            return self._brief(t)

    def close(self, ticket_id: int, agent: str, outcome: str, note: Optional[str] = None) -> dict:
        if outcome not in OUTCOMES:
            raise InboxError(f"outcome 应为：{'、'.join(OUTCOMES)}", 400, "outcome")
        with self._session() as s, s.begin():
            t = self._get(s, ticket_id, for_update=True)
            if t.status == WAITING:  # closing unclaimed (e.g. a duplicate): the closer takes it
                t.status, t.claimed_by, t.claimed_at = CLAIMED, agent, _utcnow()
            self._must_hold(t, agent)
            t.status, t.closed_at, t.outcome, t.outcome_note = CLOSED, _utcnow(), outcome, note
            s.add(TicketEvent(ticket_id=t.id, kind=CLOSE, author=agent, text=outcome, at=t.closed_at))
            return self._brief(t)

    def events_after(self, after: int, limit: int = 100) -> List[dict]:
        """The console's live feed: every change after event ``after``, with the ticket's brief."""
        with self._session() as s:
            rows = s.execute(select(TicketEvent, Ticket).join(Ticket, TicketEvent.ticket_id == Ticket.id)
                             .where(TicketEvent.id > after).order_by(TicketEvent.id).limit(limit)).all()
            return [{**_event_view(e), "ticket": self._brief(t)} for e, t in rows]

    def last_event_id(self) -> int:
        with self._session() as s:
            return s.execute(select(func.max(TicketEvent.id))).scalar() or 0

    def history(self, sender: str, exclude: Optional[int] = None) -> List[dict]:
        with self._session() as s:
            return self._history_of(s, sender, exclude)

    # ---- work orders ----------------------------------------------------------------

    def workorder(self, ticket_id: int) -> dict:
        """The 12345 work order of a ticket: what the agent typed, the times in +08:00, the
        measures cited with their source, the outcome."""
        t = self.ticket(ticket_id)
        return {
            "kind": "12345工单",
            "ticket_number": t["number"],
            "created_at": t["created_at"],
            "closed_at": t["closed_at"],
            "channel": t["channel"],
            "caller_name": t["caller_name"],
            "caller_phone": t["caller_phone"],
            "category": t["category"],
            "caller_need": t["question"],
            "profile": t["profile"],
            "measures": [{"citation": m.get("citation"), "document": m.get("document"),
                          "doc_number": m.get("doc_number"), "item_heading": m.get("item_heading"),
                          "source_url": m.get("source_url")} for m in t["measures"]],
            "agent": t["claimed_by"],
            "outcome": t["outcome"],
            "outcome_note": t["outcome_note"],
            "summary": t["summary"],
            "replies": [e["text"] for e in t["events"] if e["kind"] == AGENT],
        }

    # ---- internals ----------------------------------------------------------------------

    @staticmethod
    def _open_for(s: Session, sender: str) -> Optional[Ticket]:
        return s.execute(select(Ticket).where(Ticket.sender == sender, Ticket.status != CLOSED)
                         .order_by(Ticket.id.desc()).limit(1)).scalar_one_or_none()

    @staticmethod
    def _position(s: Session, t: Ticket) -> Optional[int]:
        """1 = next to be taken; None once an agent has it."""
        if t.status != WAITING:
            return None
        return s.execute(select(func.count()).select_from(Ticket)
                         .where(Ticket.status == WAITING, Ticket.id <= t.id)).scalar()

    @staticmethod
    def _get(s: Session, ticket_id: int, for_update: bool = False) -> Ticket:
        q = select(Ticket).where(Ticket.id == ticket_id)
        if for_update:
            q = q.with_for_update()  # PostgreSQL: two agents claiming at once queue here; SQLite ignores it
        t = s.execute(q).scalar_one_or_none()
        if t is None:
            raise InboxError("没有这张工单", 404)
        return t

    @staticmethod
    def _must_hold(t: Ticket, agent: str) -> None:
        if t.status == CLOSED:
            raise InboxError("这张工单已结束", 409)
        if t.status == WAITING:
            raise InboxError("请先接单再回复", 409)
        if t.claimed_by != agent:
            raise InboxError(f"这张工单由{t.claimed_by}处理", 409)

    @staticmethod
    def _brief(t: Ticket) -> dict:
        return {"id": t.id, "number": ticket_number(t), "sender": t.sender, "channel": t.channel,
                "status": t.status, "status_name": STATUS_NAMES[t.status], "created_at": local(t.created_at),
                "question": t.question, "profile_line": (t.profile or {}).get("profile_line"),
                "claimed_by": t.claimed_by, "outcome": t.outcome, "caller_name": t.caller_name,
                "caller_phone": t.caller_phone, "category": t.category}

    def _full(self, t: Ticket) -> dict:
        return {**self._brief(t), "profile": t.profile, "conversation": t.conversation, "measures": t.measures,
                "summary": t.summary, "hotline": t.hotline, "claimed_at": local(t.claimed_at),
                "closed_at": local(t.closed_at), "outcome_note": t.outcome_note,
                "events": [_event_view(e) for e in t.events]}

    def _history(self, s: Session, t: Ticket) -> List[dict]:
        return self._history_of(s, t.sender, t.id)

    def _history_of(self, s: Session, sender: str, exclude: Optional[int]) -> List[dict]:
        q = select(Ticket).where(Ticket.sender == sender).order_by(Ticket.id.desc()).limit(20)
        if exclude is not None:
            q = q.where(Ticket.id != exclude)
        return [{**self._brief(h), "conversation": h.conversation, "summary": h.summary}
                for h in s.execute(q).scalars()]


def _event_view(e: TicketEvent) -> dict:
    return {"id": e.id, "ticket_id": e.ticket_id, "kind": e.kind, "author": e.author, "text": e.text,
            "at": local(e.at), "delivery": e.delivery}


def _clip_conversation(turns: Sequence[dict]) -> List[dict]:
    """The latest turns, each clipped; Rasa's epoch timestamps as +08:00 times."""
    out = []
    for turn in list(turns)[-MAX_CONVERSATION:]:
        at = turn.get("at")
        if isinstance(at, (int, float)) and not isinstance(at, bool):
            try:
                at = dt.datetime.fromtimestamp(at, CST).isoformat(timespec="seconds")
            except (OverflowError, OSError, ValueError):
                at = None
        out.append({"from": str(turn.get("from") or ""), "text": str(turn.get("text") or "")[:MAX_TURN_CHARS],
                    "at": at if isinstance(at, str) else None})
    return out


# ---- CSV -----------------------------------------------------------------------------

def _numbered(xs: Iterable[str]) -> str:
    return "\n".join(f"{i}. {x}" for i, x in enumerate(xs, 1))


def _source(m: dict) -> str:
    cite = m.get("citation") or m.get("document") or ""
    return f"{cite}（{m['source_url']}）" if m.get("source_url") else cite


WORKORDER_COLUMNS = (
    ("工单编号", lambda w: w["ticket_number"]),
    ("受理时间", lambda w: w["created_at"]),
    ("办结时间", lambda w: w["closed_at"] or ""),
    ("来源渠道", lambda w: w["channel"]),
    ("来电人", lambda w: w["caller_name"] or ""),
    ("联系电话", lambda w: w["caller_phone"] or ""),
    ("诉求类别", lambda w: w["category"] or ""),
    ("诉求内容", lambda w: w["caller_need"]),
    ("企业情况", lambda w: (w["profile"] or {}).get("profile_line") or ""),
    ("已告知措施（出处）", lambda w: _numbered(_source(m) for m in w["measures"])),
    ("坐席答复", lambda w: _numbered(w["replies"])),
    ("处理坐席", lambda w: w["agent"] or ""),
    ("办理结果", lambda w: w["outcome"] or "未办结"),
    ("结果说明", lambda w: w["outcome_note"] or ""),
    ("转人工摘要", lambda w: w["summary"]),
)


def workorders_csv(records: Sequence[dict], cell) -> bytes:
    """Header + one row per work order; UTF-8 with BOM so Excel (zh-CN) opens it. ``cell``
    makes a value safe for a spreadsheet (no formulas)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([name for name, _ in WORKORDER_COLUMNS])
    for r in records:
        w.writerow([cell(get(r)) for _, get in WORKORDER_COLUMNS])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


__all__ = ["Inbox", "InboxError", "OUTCOMES", "CATEGORIES", "VOTES", "workorders_csv", "local"]


async def forward_to_open_ticket(inbox: "Inbox", sender: str, text: str, channel: str) -> Optional[dict]:
    """For a channel, on its event loop: while ``sender`` has a ticket open, its message goes to
    the ticket (the agent sees it live) and the ticket is returned; None when no ticket is open,
    or when the inbox cannot be read (logged: the bot answers, as before there was an inbox).
    One indexed lookup per message (~3 ms on SQLite)."""
    try:
        return await asyncio.to_thread(inbox.customer_message, sender, text)
    except Exception:
        logger.exception("%s: the inbox could not be read", channel)
        return None
