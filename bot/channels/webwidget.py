"""The public web widget's channel: ``/webhooks/widget/session`` and ``/webhooks/widget/webhook``.

Why not Rasa's REST channel: it lets the caller name any ``sender``, so anyone could
post "转人工" as another visitor (or as a WeChat openid) and read that conversation's
profile and question back in the handoff summary; without a sender every visitor shared
the conversation ``default``.

Here the server issues the ids: ``POST /webhooks/widget/session`` returns
``{"session": "w1.<random>.<mac>"}``, where the MAC is HMAC-SHA256 of ``w1.<random>``
under a server secret (``WIDGET_SECRET``; ``scripts/run.sh`` generates one per start
when it is not set, like ``RASA_TOKEN``). ``POST /webhooks/widget/webhook`` takes the
REST channel's JSON (``{"sender": <session>, "message": "…"}``) and answers only for a
session whose MAC checks out; anything else — an id the client made up, a WeChat
openid, a tampered session — is a 403, a missing sender a 400. The conversation in
Rasa is ``widget:<random>``: ids of other channels never have that prefix, so no
widget session can reach them. The widget keeps the session in localStorage, so a
reload continues the conversation; a 403 (the secret changed) makes it fetch a new one.

Cost: one HMAC over ~30 bytes, ~2 µs. Without ``WIDGET_SECRET`` the channel makes a
random secret for this process and says so in the log: sessions then end with a restart.

The inputs are checked as on the REST channel (``bot.channels.checks``) and a fault
while handling a message becomes the apology on that conversation
(``bot.channels.rest.answer_or_apologise``).

The handoff (``bot.inbox``): while the session has a ticket open, its messages go to the
ticket (the agent sees them live) instead of the bot; every answer ends with a
``{"custom": {"handoff": …}}`` item while a ticket is open, so the widget knows to fetch
the agent's replies: ``POST /webhooks/widget/replies`` ``{"sender", "after"}`` →
``{"replies": [...], "open": …}`` (two indexed queries, ~3.5 ms on SQLite; the widget asks every
few seconds only while a ticket is open). ``POST /webhooks/widget/vote``
``{"sender", "answer_key", "vote": "up"|"down", "answer"?, "question"?}`` stores 有用/没用
with the conversation. Cost: every widget message looks up the session's open ticket first
(~3 ms on SQLite); an inbox that is down lets the bot
answer as before.
"""
from __future__ import annotations

import asyncio
import base64
import html
import hashlib
import hmac
import logging
import os
import secrets
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage

from bot import wording
from bot.channels import checks
from bot.channels.rest import answer_or_apologise
from bot.inbox import VOTES, Inbox, forward_to_open_ticket

logger = logging.getLogger(__name__)

SECRET_ENV = "WIDGET_SECRET"
VERSION = "w1"
PREFIX = "widget:"
BAD_SESSION_TEXT = wording.SESSION_EXPIRED
MAX_KEY_CHARS = 64
MAX_VOTED_CHARS = 4000


PAGE_HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'",
                "X-Content-Type-Options": "nosniff", "Cache-Control": "public, max-age=300"}


def _page(title: str, body: str) -> str:
    return (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" '
            f'content="width=device-width, initial-scale=1"><title>{html.escape(title)}</title><style>'
            "body{font:16px/1.7 sans-serif;max-width:760px;margin:24px auto;padding:0 16px;color:#222}"
            "h1{font-size:20px}.meta{color:#666;font-size:14px}blockquote{margin:12px 0;padding:8px 12px;"
            f"background:#f6f6f6;border-left:3px solid #c0392b;white-space:pre-wrap}}</style></head><body>{body}</body></html>")


def _measure_html(measure_id: int) -> Optional[str]:
    """The article's full text as the measures database has it, with where it comes from."""
    import datetime as dt

    from bot import db
    from bot.answer import units_sentence, validity_sentence
    from bot.query import get_measure
    with db.session_factory()() as s:
        r = get_measure(s, measure_id)
    if r is None:
        return None
    e = html.escape
    meta = [e(x) for x in (r.issuer, r.published and f"发布于{r.published}", r.region) if x]
    units = "<br>".join(e(line) for line in units_sentence(r).split("\n   "))
    return _page(r.citation, (
        f"<h1>{e(r.document_label)}</h1><p class=\"meta\">{' · '.join(meta)}</p>"
        f"<h2>{e(r.article)}{('　' + e(r.item_heading)) if r.item_heading else ''}</h2>"
        f"<p class=\"meta\">{e(wording.ARTICLE_PAGE_NOTE)}</p><blockquote>{e(r.text)}</blockquote>"
        f"<p>有效期：{e(validity_sentence(r, dt.date.today()))}</p><p>{units}</p>"))


def _offline_text() -> str:
    from bot.lexicon import load_lexicon
    numbers = {r.hotline_number for r in load_lexicon().regions.values() if r.hotline_number}
    return wording.offline(numbers.pop() if len(numbers) == 1 else None)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


class Sessions:
    """Issue and check signed session ids."""

    def __init__(self, secret: str) -> None:
        self._key = secret.encode("utf-8")

    def _mac(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode("ascii"), hashlib.sha256).digest())

    def issue(self) -> str:
        body = f"{VERSION}.{_b64(secrets.token_bytes(16))}"
        return f"{body}.{self._mac(body)}"

    def conversation(self, session: str) -> Optional[str]:
        """The Rasa sender id of a valid session, else None."""
        parts = session.split(".")
        if len(parts) != 3 or parts[0] != VERSION or not parts[1].isascii() or not parts[2].isascii():
            return None
        if not hmac.compare_digest(parts[2], self._mac(f"{parts[0]}.{parts[1]}")):
            return None
        return PREFIX + parts[1]


class WidgetInput(InputChannel):
    @classmethod
    def name(cls) -> Text:
        return "widget"

    def __init__(self, secret: Optional[str] = None) -> None:
        if not secret:
            logger.warning("%s not set: widget sessions are signed with a random key and end when Rasa restarts",
                           SECRET_ENV)
            secret = secrets.token_urlsafe(32)
        self.sessions = Sessions(secret)
        self.inbox = Inbox()

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "WidgetInput":
        return cls(os.environ.get(SECRET_ENV) or None)  # never from credentials.yml

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = Blueprint("widget_webhook", __name__)

        @bp.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @bp.route("/session", methods=["POST"])
        async def session(request: Request) -> HTTPResponse:
            # the widget keeps "offline" to show when this server cannot be reached later
            return response.json({"session": self.sessions.issue(), "offline": _offline_text()})

        def session_of(body: Dict[str, Any]) -> str:
            sender_id = self.sessions.conversation(checks.sender(body))
            if sender_id is None:
                raise checks.Refused(403, "bad_session", BAD_SESSION_TEXT)
            return sender_id

        @bp.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                body = checks.json_object(request.body, request.headers.get("content-length"))
                sender_id = session_of(body)
                text = checks.message(body)
            except checks.Refused as r:
                return response.json(r.body(), status=r.status)
            forwarded = await self._to_open_ticket(sender_id, text)
            if forwarded is not None:
                return response.json(forwarded + await self._handoff_marker(sender_id))
            collector = CollectingOutputChannel()
            await answer_or_apologise(on_new_message, UserMessage(text, collector, sender_id, input_channel=self.name()))
            return response.json(collector.messages + await self._handoff_marker(sender_id))

        @bp.route("/measure/<measure_id:int>", methods=["GET"])
        async def measure_page(request: Request, measure_id: int) -> HTTPResponse:
            # the source link of a measure whose document has no URL of its own
            if not 0 < measure_id < 2**31:
                return response.html(_page("没有这条措施", "<p>没有这条措施。</p>"), status=404, headers=PAGE_HEADERS)
            try:
                body = await asyncio.to_thread(_measure_html, measure_id)
            except Exception:
                logger.exception("widget: measure page %s", measure_id)
                return response.html(_page("暂时无法显示", "<p>暂时无法显示原文，请稍后再试。</p>"), status=503,
                                     headers=PAGE_HEADERS)
            if body is None:
                return response.html(_page("没有这条措施", "<p>没有这条措施。</p>"), status=404, headers=PAGE_HEADERS)
            return response.html(body, headers=PAGE_HEADERS)

        @bp.route("/replies", methods=["POST"])
        async def replies(request: Request) -> HTTPResponse:
            try:
                body = checks.json_object(request.body, request.headers.get("content-length"))
                sender_id = session_of(body)
                after = body.get("after", 0)
                if isinstance(after, bool) or not isinstance(after, int) or not 0 <= after < 2**53:
                    raise checks.Refused(400, "bad_after", "after 应为非负整数")
            except checks.Refused as r:
                return response.json(r.body(), status=r.status)
            try:
                out = await asyncio.to_thread(self.inbox.replies_for, sender_id, after)
                for r in out["replies"]:
                    if r["kind"] == "closed":
                        r["text"] = wording.AGENT_CLOSED
            except Exception:
                logger.exception("widget: the inbox could not be read")
                return response.json({"error": "inbox_unavailable", "text": "暂时取不到坐席回复，稍后会再试。"},
                                     status=503)
            return response.json(out)

        @bp.route("/vote", methods=["POST"])
        async def vote(request: Request) -> HTTPResponse:
            try:
                body = checks.json_object(request.body, request.headers.get("content-length"))
                sender_id = session_of(body)
                key, choice = body.get("answer_key"), body.get("vote")
                if not isinstance(key, str) or not 0 < len(key) <= MAX_KEY_CHARS or not key.isascii():
                    raise checks.Refused(400, "bad_answer_key", "answer_key 应为不超过64个字符的 ASCII 文字")
                if choice not in VOTES:
                    raise checks.Refused(400, "bad_vote", "vote 只能是 up 或 down")
                texts = []
                for field in ("answer", "question"):
                    v = body.get(field) or ""
                    if not isinstance(v, str) or checks.has_lone_surrogate(v):
                        raise checks.Refused(400, f"bad_{field}", f"{field} 应为文字")
                    texts.append(v[:MAX_VOTED_CHARS])
            except checks.Refused as r:
                return response.json(r.body(), status=r.status)
            try:
                out = await asyncio.to_thread(self.inbox.vote, sender=sender_id, channel=self.name(), answer_key=key,
                                              answer_text=texts[0], question=texts[1], vote=choice)
            except Exception:
                logger.exception("widget: the vote could not be stored")
                return response.json({"error": "inbox_unavailable", "text": "评价暂时没能保存，请稍后再试。"},
                                     status=503)
            return response.json(out)

        return bp

    async def _to_open_ticket(self, sender_id: str, text: str) -> Optional[List[Dict[str, Any]]]:
        """While a ticket is open the message is the agent's, not the bot's."""
        ticket = await forward_to_open_ticket(self.inbox, sender_id, text, "widget")
        if ticket is None:
            return None
        return [{"recipient_id": sender_id, "text": wording.forwarded_to_agent(ticket["number"])}]

    async def _handoff_marker(self, sender_id: str) -> List[Dict[str, Any]]:
        try:
            ticket = await asyncio.to_thread(self.inbox.open_ticket_of, sender_id)
        except Exception:
            logger.exception("widget: the inbox could not be read")
            return []
        if ticket is None:
            return []
        return [{"recipient_id": sender_id, "custom": {"handoff": {
            "ticket": ticket["number"], "status": ticket["status"], "queue_position": ticket["queue_position"],
            "after": ticket["last_event"]}}}]
