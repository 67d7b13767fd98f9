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
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import secrets
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage

from bot import wording
from bot.channels import checks
from bot.channels.rest import answer_or_apologise

logger = logging.getLogger(__name__)

SECRET_ENV = "WIDGET_SECRET"
VERSION = "w1"
PREFIX = "widget:"
BAD_SESSION_TEXT = wording.SESSION_EXPIRED


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
            return response.json({"session": self.sessions.issue()})

        @bp.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                body = checks.json_object(request.body, request.headers.get("content-length"))
                sender_id = self.sessions.conversation(checks.sender(body))
                if sender_id is None:
                    raise checks.Refused(403, "bad_session", BAD_SESSION_TEXT)
                text = checks.message(body)
            except checks.Refused as r:
                return response.json(r.body(), status=r.status)
            collector = CollectingOutputChannel()
            await answer_or_apologise(on_new_message, UserMessage(text, collector, sender_id, input_channel=self.name()))
            return response.json(collector.messages)

        return bp
