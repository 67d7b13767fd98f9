"""Rasa's REST channel with its inputs checked, for trusted integrations and tests.

Same URL (``/webhooks/rest/webhook``) and the same JSON in and out as stock
``rasa.core.channels.rest.RestInput`` (``{"sender", "message"}`` → ``[{"recipient_id",
"text", …}]``, ``?stream=true`` for one JSON line per message). The launcher
(``bot.runtime.launch``) maps the ``rest:`` entry of any credentials file to this class, so
no configuration can open the unchecked one.

Why a subclass rather than a Sanic middleware alone: the checks need the parsed fields
(sender, message) and must run before the stream starts — stock ``stream=true`` returns
the stream first and fails inside it, leaving the request hanging. The only check that
applies to every webhook regardless of its format (the body size) is also a middleware
(``bot.runtime.launch.install_webhook_limits``).

Who may call: the public web widget has its own channel (``bot.channels.webwidget``:
signed session ids); this one lets the caller choose any sender id, so it answers

* loopback callers without a proxy header (``checks.is_loopback_peer``), when
  ``RASA_REST_TOKEN`` is unset (the default);
* every caller that presents ``RASA_REST_TOKEN`` (``Authorization: Bearer …`` or
  ``?token=``) when it is set — then loopback callers need it too, since a reverse proxy
  on the same host would otherwise make the public look local.

Faults: an exception while Rasa handles the message (tracker store, lock store, a
policy) becomes the apology with the 12345 hotline on *that* conversation
(``bot.chat.apology``); the log says what failed and for a hash of the sender, never
the text or the sender id.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import os
from asyncio import Queue
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from rasa.core.channels.channel import CollectingOutputChannel, OutputChannel, UserMessage
from rasa.core.channels.rest import QueueOutputChannel, RestInput

from bot.channels import checks

logger = logging.getLogger(__name__)

TOKEN_ENV = "RASA_REST_TOKEN"
NOT_ALLOWED_TEXT = ("REST 通道只对本机开放；从其他地址调用需提供令牌"
                    "（Authorization: Bearer <RASA_REST_TOKEN>）。网页访客请使用网页挂件通道。")
BAD_TOKEN_TEXT = "令牌无效。"


def sender_tag(sender_id: str) -> str:
    """A short, stable stand-in for a sender id in logs (lets an operator correlate lines
    without the log holding the id itself)."""
    return hashlib.sha256(sender_id.encode("utf-8", "replace")).hexdigest()[:10]


def fault(exc: BaseException) -> str:
    """``ExceptionType at file.py:123`` (the innermost frame): enough to find the fault."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    where = f" at {os.path.basename(tb.tb_frame.f_code.co_filename)}:{tb.tb_lineno}" if tb else ""
    return f"{type(exc).__name__}{where}"


async def answer_or_apologise(on_new_message: Callable[[UserMessage], Awaitable[Any]], message: UserMessage) -> None:
    """Let Rasa handle the message; if that fails, the user gets the apology instead of
    silence (stock REST answered ``[]``) and the process carries on."""
    from bot.chat import apology

    try:
        await on_new_message(message)
    except asyncio.CancelledError:
        logger.error("message on %s for sender %s timed out", message.input_channel, sender_tag(message.sender_id))
        raise
    except Exception as exc:  # noqa: BLE001 — any fault of one conversation stays in it
        # the type and where, not str(exc): SQLAlchemy's errors quote the statement's
        # parameters (the sender id and the text); the traceback only at DEBUG
        logger.error("message on %s for sender %s failed: %s", message.input_channel,
                     sender_tag(message.sender_id), fault(exc), exc_info=logger.isEnabledFor(logging.DEBUG))
        await message.output_channel.send_text_message(message.sender_id, apology())


def presented_token(request: Request) -> Optional[str]:
    auth = request.headers.get("authorization") or ""
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.args.get("token") or None


class CheckedRestInput(RestInput):
    """``rest``: stock JSON, checked inputs, loopback-or-token, apology on faults."""

    @classmethod
    def name(cls) -> Text:
        return "rest"

    def __init__(self, token: Optional[str] = None) -> None:
        self.token = token

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "CheckedRestInput":
        # the token only from the environment: secrets stay out of credentials.yml
        return cls(os.environ.get(TOKEN_ENV) or None)

    def authorize(self, request: Request) -> None:
        if self.token:
            given = presented_token(request)
            if not given or not hmac.compare_digest(given.encode(), self.token.encode()):
                raise checks.Refused(401 if not given else 403, "token", BAD_TOKEN_TEXT if given else NOT_ALLOWED_TEXT)
        elif not checks.is_loopback_peer(request.ip, request.headers):
            raise checks.Refused(403, "not_loopback", NOT_ALLOWED_TEXT)

    @staticmethod
    async def on_message_wrapper(on_new_message: Callable[[UserMessage], Awaitable[Any]], text: Text, queue: Queue,
                                 sender_id: Text, input_channel: Text, metadata: Optional[Dict[Text, Any]]) -> None:
        """The stream's producer: always ends with DONE (stock left the stream waiting
        forever when handling failed)."""
        try:
            await answer_or_apologise(on_new_message, UserMessage(
                text, QueueOutputChannel(queue), sender_id, input_channel=input_channel, metadata=metadata))
        finally:
            await queue.put("DONE")

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        bp = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @bp.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @bp.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> Any:
            try:
                self.authorize(request)
                body = checks.json_object(request.body, request.headers.get("content-length"))
                sender_id, text = checks.sender(body), checks.message(body)
            except checks.Refused as r:
                return response.json(r.body(), status=r.status)
            if request.args.get("stream", "").lower() == "true":
                return response.stream(self.stream_response(on_new_message, text, sender_id, self.name(), None),
                                       content_type="text/event-stream")
            collector = CollectingOutputChannel()
            await answer_or_apologise(on_new_message,
                                      UserMessage(text, collector, sender_id, input_channel=self.name()))
            return response.json(collector.messages)

        return bp

    def get_output_channel(self) -> Optional[OutputChannel]:
        return None
