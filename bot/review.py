"""What a trainer reviews: user messages of real conversations the model may have misread,
read from Rasa's tracker store, and the trainer's decision on each.

Which messages (one row per distinct sentence, newest occurrence shown, with how often
it was said):

* ``low_confidence`` — intent confidence below :data:`LOW_CONFIDENCE` (0.6);
* ``fallback``       — Rasa's FallbackClassifier answered ``nlu_fallback``;
* ``down_vote``      — the answer to it got "没用" in the widget (``answer_votes``, bot/inbox.py);
* ``handoff``        — said in a conversation that was handed to an agent (a ticket in the
                       inbox), except the 转人工 request itself when it was understood.

Button payloads (``/inform{…}``) are not reviewed: they carry their intent.

The tracker store is only read: Rasa's ``events`` table (SQLTrackerStore), over the URL
in ``$TRACKER_DATABASE_URL`` or the store ``endpoints.yml`` configures (SQLite files are
opened ``mode=ro``). Decisions live in the inbox's database (``$INBOX_DATABASE_URL`` or
``var/inbox.db``: the one the console already writes), table ``review_decisions``, keyed by
the sentence: a reviewed sentence does not come back, from any conversation.

Cost: the newest :data:`SCAN_LIMIT` user events are read and their JSON parsed per listing:
20,000 events (~1.5 KB each) take 0.66 s median on SQLite on 2 cores with the other core busy
(``python -m bench.review_bench``); older events are not listed.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from sqlalchemy import JSON, Column, DateTime, Integer, String, Text, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import declarative_base

from bot import inbox as inbox_store
from bot.conversations import EVENTS as _events, local_time, tracker_url
from bot.conversations import read_only_engine as _read_only_engine
from bot.trainingdata import text_key

ROOT = Path(__file__).resolve().parent.parent
LOW_CONFIDENCE = 0.6
SCAN_LIMIT = 20000
REASONS = ("low_confidence", "fallback", "down_vote", "handoff")
ACTIONS = ("added", "out_of_scope", "dismissed")
FALLBACK_INTENT = "nlu_fallback"
HANDOFF_INTENT = "human_handoff"

Base = declarative_base()


class Decision(Base):
    __tablename__ = "review_decisions"
    id = Column(Integer, primary_key=True)
    key = Column(String(32), nullable=False, unique=True)
    text = Column(Text, nullable=False)
    action = Column(String(16), nullable=False)
    intent = Column(String(64))
    entities = Column(JSON, nullable=False, default=list)
    line = Column(Text)            # the YAML example written, when added
    file = Column(String(500))
    reviewer = Column(String(64))
    at = Column(DateTime, nullable=False)


class AlreadyReviewed(Exception):
    pass


# ---- where the conversations are ---------------------------------------------------

# ---- the store --------------------------------------------------------------------------

class Review:
    def __init__(self, tracker: Optional[str] = None, inbox_url: Optional[str] = None) -> None:
        self.tracker_url = tracker_url(tracker)
        self.inbox = inbox_store.Inbox(inbox_url)
        self._tracker = None
        self._ready = False

    def _session(self):
        s = self.inbox._session()
        if not self._ready:
            Base.metadata.create_all(s.get_bind(), checkfirst=True)
            self._ready = True
        return s

    def _tracker_engine(self):
        if self._tracker is None:
            self._tracker = _read_only_engine(self.tracker_url)
        return self._tracker

    def _user_events(self, limit: int) -> List[dict]:
        engine = self._tracker_engine()
        if engine is None:
            return []
        q = (select(_events.c.sender_id, _events.c.timestamp, _events.c.data)
             .where(_events.c.type_name == "user").order_by(_events.c.id.desc()).limit(limit))
        try:
            with engine.connect() as conn:
                rows = conn.execute(q).all()
        except OperationalError as exc:
            if "no such table" in str(exc):
                return []  # Rasa has not stored a conversation yet
            raise
        out = []
        for sender, ts, data in rows:
            try:
                ev = json.loads(data)
            except (TypeError, ValueError):
                continue
            text = (ev.get("text") or "").strip()
            if not text or text.startswith("/"):
                continue
            out.append({"sender": sender, "timestamp": ts, "text": text, "parse": ev.get("parse_data") or {},
                        "channel": ev.get("input_channel")})
        return out

    def decided_keys(self) -> set:
        with self._session() as s:
            return set(s.execute(select(Decision.key)).scalars())

    def candidates(self, reason: Optional[str] = None, limit: int = 200, scan: int = SCAN_LIMIT) -> dict:
        """Rows to review, most often said first, and how many there are of each reason."""
        events = self._user_events(scan)
        handed = self.inbox.handed_off_senders()
        down = {(v["sender"], v["question"].strip()) for v in self.inbox.votes(vote="down", limit=10000)}
        done = self.decided_keys()
        rows: Dict[str, dict] = {}
        for ev in events:  # newest first
            intent = ev["parse"].get("intent") or {}
            name, conf = intent.get("name"), float(intent.get("confidence") or 0.0)
            why = set()
            if name == FALLBACK_INTENT:
                why.add("fallback")
            elif conf < LOW_CONFIDENCE:
                why.add("low_confidence")
            if (ev["sender"], ev["text"]) in down:
                why.add("down_vote")
            if ev["sender"] in handed and not (name == HANDOFF_INTENT and conf >= LOW_CONFIDENCE):
                why.add("handoff")
            if not why:
                continue
            key = text_key(ev["text"])
            if key in done:
                continue
            row = rows.get(key)
            if row is None:
                rows[key] = row = _row(key, ev, name, conf)
            row["count"] += 1
            row["reasons"] = sorted(set(row["reasons"]) | why, key=REASONS.index)
        counts = {r: sum(1 for row in rows.values() if r in row["reasons"]) for r in REASONS}
        shown = [r for r in rows.values() if reason in (None, "all") or reason in r["reasons"]]
        shown.sort(key=lambda r: (-r["count"], -r["_ts"]))
        for r in shown:
            r.pop("_ts", None)
        return {"messages": shown[:limit], "total": len(shown), "counts": counts, "scanned": len(events)}

    def decide(self, *, text: str, action: str, intent: Optional[str], entities: Sequence[dict],
               line: Optional[str], file: Optional[str], reviewer: Optional[str], write=None) -> dict:
        """Record the decision; ``write()`` (adding the example to the YAML file) runs inside the
        transaction, so a sentence is either recorded and written or neither."""
        key = text_key(text)
        try:
            with self._session() as s, s.begin():
                s.add(Decision(key=key, text=text, action=action, intent=intent, entities=list(entities), line=line,
                               file=file, reviewer=reviewer, at=inbox_store._utcnow()))
                s.flush()
                if write is not None:
                    write()
        except IntegrityError:
            raise AlreadyReviewed(key) from None
        return {"key": key, "text": text, "action": action, "intent": intent, "line": line, "file": file}

    def decisions(self, limit: int = 50) -> List[dict]:
        with self._session() as s:
            q = select(Decision).order_by(Decision.id.desc()).limit(limit)
            return [{"key": d.key, "text": d.text, "action": d.action, "intent": d.intent, "line": d.line,
                     "file": d.file, "reviewer": d.reviewer, "at": inbox_store.local(d.at)}
                    for d in s.execute(q).scalars()]


def _row(key: str, ev: dict, name: Optional[str], conf: float) -> dict:
    parse = ev["parse"]
    ranking = parse.get("intent_ranking") or []
    # under nlu_fallback, what the classifier would have said
    guess = next((r for r in ranking if r.get("name") not in (None, FALLBACK_INTENT)), None)
    entities, seen = [], set()
    for e in parse.get("entities") or []:
        try:
            span = (int(e["start"]), int(e["end"]), str(e["entity"]))
        except (KeyError, TypeError, ValueError):
            continue
        if span in seen or not 0 <= span[0] < span[1] <= len(ev["text"]):
            continue
        seen.add(span)
        entities.append({"start": span[0], "end": span[1], "entity": span[2], "value": e.get("value"),
                         "text": ev["text"][span[0]:span[1]], "extractor": e.get("extractor")})
    at = local_time(ev["timestamp"] or 0)
    return {"key": key, "text": ev["text"], "intent": name, "confidence": round(conf, 3),
            "guess": {"intent": guess.get("name"), "confidence": round(float(guess.get("confidence") or 0), 3)}
            if guess and name == FALLBACK_INTENT else None,
            "entities": entities, "channel": ev["channel"], "at": at, "count": 0, "reasons": [],
            "_ts": ev["timestamp"] or 0}
