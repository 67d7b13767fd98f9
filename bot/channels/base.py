"""What the WeChat Official Account and the WeCom app channels share.

A subclass says how to verify and open a request (plain or encrypted XML) and
how to render a passive reply; this module does everything after that:

* refuse a signature whose timestamp is outside a window (5 minutes by
  default), and a signed (timestamp, nonce) pair that comes back with another
  body: plain mode signs only token/timestamp/nonce, so one captured URL
  would otherwise carry any sender and text for ever; a genuine retry sends
  the same body and passes,
* classify the message (text / subscribe / other event / unsupported),
* deduplicate WeChat's retries (`dedup.DedupStore`, shared by restarts and
  instances: Redis or SQL): the first attempt starts Rasa as a task on
  Sanic's loop, later attempts wait for that same answer,
* reply within the budget with the first WeChat-sized piece of the answer,
  send the remaining pieces through the message API,
* when the answer misses the budget: reply empty so WeChat stops retrying,
  and deliver the answer through the message API when it is ready,
* never show a stack trace to the caller.

When the shared store is unreachable the message is refused with 503 (logged
as such): WeChat retries it, and a reused signed URL is never let through
unchecked. The alternative, answering without the filter, would reopen the
forged-sender hole exactly when Redis is down.
"""
from __future__ import annotations

import asyncio
import hashlib
import inspect
import logging
import os
import re
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, List, Optional, Set, Text

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, OutputChannel, UserMessage

from bot import wording
from bot.channels.dedup import DEFAULT_TTL_SECONDS, DedupStore, InMemoryDedupStore, store_from_settings
from bot.channels.delivery import MessageSender
from bot.inbox import Inbox, forward_to_open_ticket

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------- texts
DEFAULT_BUDGET_SECONDS = 4.5
DEFAULT_MAX_BODY_BYTES = 64 * 1024
#: a signature older or newer than this is refused (WeChat signs with its current time)
DEFAULT_TIMESTAMP_WINDOW_SECONDS = 300.0
MAX_QUESTION_CHARS = 2000
WECHAT_RETRY_ATTEMPTS = 3
#: how long a held attempt (hold_retries) keeps waiting: past WeChat's whole retry window
HOLD_SECONDS = 16.0

_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass
class Opened:
    """A verified, decrypted and parsed request."""

    message: Any
    #: encrypts the reply XML (safe mode), or None
    encrypt: Optional[Callable[[str], str]]
    timestamp: str
    nonce: str
    #: the message XML the signature vouches for (decrypted in safe mode)
    signed_xml: str


class Reject(Exception):
    """Refuse the request with this HTTP status (the text is for logs and the caller)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


# --------------------------------------------------------------------------- helpers
def as_bool(value: Any, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


def pick(credentials: Dict[Text, Any], key: str, env: str) -> Optional[str]:
    """Environment variable first (secrets stay out of the repo), then credentials.yml."""
    value = os.environ.get(env)
    if value is None or value.strip() == "":
        value = credentials.get(key)
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def channel_settings(credentials: Dict[Text, Any], dedup_ttl_seconds: float = DEFAULT_TTL_SECONDS) -> Dict[str, Any]:
    """The keyword arguments WeChat and WeCom read alike from credentials.yml / the environment.

    Duplicate filter: ``REDIS_URL`` (env or ``redis_url``) → Redis; else
    ``DEDUP_DATABASE_URL`` (env or ``dedup_database_url``) → that SQL database;
    else the SQLite file var/channels.db. ``timestamp_window_seconds: 0`` turns
    the timestamp check off (not recommended: a replayed URL then stays usable).
    """
    window = credentials.get("timestamp_window_seconds")
    return {
        "reply_budget_seconds": float(credentials.get("reply_budget_seconds") or DEFAULT_BUDGET_SECONDS),
        "hold_retries": as_bool(credentials.get("hold_retries")),
        "timestamp_window_seconds": DEFAULT_TIMESTAMP_WINDOW_SECONDS if window in (None, "") else float(window),
        "dedup_store": store_from_settings(pick(credentials, "redis_url", "REDIS_URL"),
                                           pick(credentials, "dedup_database_url", "DEDUP_DATABASE_URL"),
                                           dedup_ttl_seconds),
        "dedup_ttl_seconds": dedup_ttl_seconds,
    }


def body_digest(xml: str) -> str:
    return hashlib.sha256(xml.encode("utf-8", "surrogatepass")).hexdigest()


def xml_safe(text: str) -> str:
    """Drop characters XML cannot carry and break a literal CDATA terminator."""
    return _CONTROL_CHARS.sub("", text).replace("]]>", "]] >")


def refuse_dtd(xml: bytes | str) -> None:
    """WeChat never sends a DTD; one in the body is an entity-expansion attempt."""
    head = xml if isinstance(xml, bytes) else xml.encode("utf-8", "ignore")
    if b"<!DOCTYPE" in head.upper() or b"<!ENTITY" in head.upper():
        raise Reject(400, "XML with a DTD")


def render_bot_messages(messages: List[Dict[Text, Any]]) -> str:
    """Rasa's collected bot messages as one text (buttons become lines to type)."""
    parts: List[str] = []
    for m in messages:
        if m.get("text"):
            parts.append(str(m["text"]))
        buttons = m.get("buttons") or []
        titles = [str(b.get("title")) for b in buttons if isinstance(b, dict) and b.get("title")]
        if titles:
            parts.append(wording.reply_options(titles))
        if m.get("image"):
            parts.append(str(m["image"]))
        if m.get("attachment"):
            parts.append(str(m["attachment"]))
        custom = m.get("custom")
        if isinstance(custom, dict) and isinstance(custom.get("text"), str):
            parts.append(custom["text"])
    return "\n\n".join(p.strip() for p in parts if p and p.strip())


#: WeChat passive replies carry at most 2048 bytes of UTF-8; keep a margin.
WECHAT_MAX_BYTES = 2000


def split_for_wechat(text: str, max_bytes: int = WECHAT_MAX_BYTES) -> List[str]:
    """Split at line boundaries so each piece fits one WeChat text message."""
    pieces: List[str] = []
    cur = ""
    for line in text.split("\n"):
        while len(line.encode("utf-8")) > max_bytes:  # a single overlong line: hard cut on characters
            cut = len(line)
            while len(line[:cut].encode("utf-8")) > max_bytes:
                cut = cut * 3 // 4
            pieces.append(line[:cut])
            line = line[cut:]
        candidate = f"{cur}\n{line}" if cur else line
        if len(candidate.encode("utf-8")) > max_bytes:
            pieces.append(cur)
            cur = line
        else:
            cur = candidate
    if cur:
        pieces.append(cur)
    return pieces


def split_answer(text: str) -> List[str]:
    """The chat's whole answer in pieces WeChat can carry: the one place an answer is split."""
    pieces = [p.strip("\n") for p in split_for_wechat(xml_safe(text), WECHAT_MAX_BYTES)]
    return [p for p in pieces if p.strip()] or [wording.NO_ANSWER]


def first_piece_only(pieces: List[str]) -> str:
    """When the rest cannot be sent: the first piece, shortened to carry a note."""
    if len(pieces) == 1:
        return pieces[0]
    room = WECHAT_MAX_BYTES - len(wording.TRUNCATED_NOTE.encode("utf-8")) - 1
    head = split_for_wechat(pieces[0], room)[0]
    return f"{head}\n{wording.TRUNCATED_NOTE}"


class ApiOutputChannel(OutputChannel):
    """Proactive messages (e.g. `POST /conversations/{id}/trigger_intent?output_channel=wechat`)."""

    def __init__(self, channel_name: str, sender: MessageSender) -> None:
        self._name = channel_name
        self.sender = sender

    def name(self) -> Text:  # type: ignore[override]
        return self._name

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        for piece in split_answer(text):
            if not await self.sender.send_text(recipient_id, piece):
                break


# --------------------------------------------------------------------------- the channel
class WeChatFamilyInput(InputChannel):
    """Shared request handling; see WeChatInput and WeComInput."""

    #: body of the "nothing to say" reply ("success" for WeChat, "" for WeCom)
    empty_reply = "success"
    #: which credential/env names to quote when something is missing
    config_hint = ""

    def __init__(
        self,
        token: Optional[str],
        *,
        sender: Optional[MessageSender] = None,
        reply_budget_seconds: float = DEFAULT_BUDGET_SECONDS,
        dedup_store: Optional[DedupStore] = None,
        dedup_ttl_seconds: float = DEFAULT_TTL_SECONDS,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        followup_delay_seconds: float = 1.0,
        hold_retries: bool = False,
        timestamp_window_seconds: float = DEFAULT_TIMESTAMP_WINDOW_SECONDS,
        inbox: Optional[Inbox] = None,
    ) -> None:
        self.token = token
        self.inbox = inbox or Inbox()
        self.sender = sender
        self.reply_budget_seconds = float(reply_budget_seconds)
        if self.reply_budget_seconds >= 5:
            logger.warning("%s: reply_budget_seconds=%s is not below WeChat's 5 s limit",
                           self.name(), self.reply_budget_seconds)
        self.dedup_ttl_seconds = dedup_ttl_seconds
        self.store: DedupStore = dedup_store or InMemoryDedupStore(ttl=dedup_ttl_seconds)
        self.max_body_bytes = max_body_bytes
        self.followup_delay_seconds = followup_delay_seconds
        self.hold_retries = hold_retries
        self.timestamp_window_seconds = float(timestamp_window_seconds or 0)
        self._tasks: Set[asyncio.Task] = set()
        problem = self.configuration_problem()
        if problem:
            logger.error("%s channel is NOT configured: %s. Every request will get 503.", self.name(), problem)

    # --- to be provided by subclasses
    def configuration_problem(self) -> Optional[str]:
        """None when the channel can serve requests, else what is missing."""
        return None if self.token else f"no token ({self.config_hint})"

    def verify_url(self, request: Request) -> str:
        """GET check: return the text to echo or raise Reject."""
        raise NotImplementedError

    def open_message(self, request: Request) -> Opened:
        """POST: verify (signature, `check_timestamp`), decrypt, parse; or raise Reject."""
        raise NotImplementedError

    def render_reply(self, message: Any, text: str) -> str:
        raise NotImplementedError

    def dedup_scope(self) -> str:
        return self.name()

    def check_timestamp(self, timestamp: str) -> None:
        """Reject(403) unless the signed timestamp is within the window of our clock."""
        if self.timestamp_window_seconds <= 0:
            return
        try:
            ts = int(timestamp)
        except (TypeError, ValueError):
            raise Reject(403, "timestamp is not a number")
        if abs(time.time() - ts) > self.timestamp_window_seconds:
            raise Reject(403, "timestamp outside the accepted window (replayed or clock skew)")

    async def check_not_replayed(self, opened: Opened) -> None:
        """Reject(403) when this signed (timestamp, nonce) already came with another body.

        Kept for twice the window (a timestamp stays acceptable from
        window before to window after it), in the shared store, so another
        instance or a restart sees it too.
        """
        key = f"{self.dedup_scope()}:sig:{opened.timestamp}:{opened.nonce}"
        ttl = 2 * self.timestamp_window_seconds + 5 if self.timestamp_window_seconds > 0 else self.dedup_ttl_seconds
        digest = body_digest(opened.signed_xml)
        if await self.store.remember(key, digest, ttl) != digest:
            raise Reject(403, "signed timestamp/nonce reused with another body")

    # --- Rasa hooks
    def get_output_channel(self) -> Optional[OutputChannel]:
        return ApiOutputChannel(self.name(), self.sender) if self.sender else None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        module = inspect.getmodule(self)
        bp = Blueprint(f"{self.name()}_webhook", module.__name__ if module else None)

        @bp.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok" if self.configuration_problem() is None else "not configured"})

        @bp.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            problem = self.configuration_problem()
            if problem:
                logger.error("%s: refusing URL check, channel not configured: %s", self.name(), problem)
                return response.text("channel not configured", status=503)
            try:
                return response.text(self.verify_url(request), content_type="text/plain; charset=utf-8")
            except Reject as r:
                logger.warning("%s: URL check refused (%s): %s", self.name(), r.status, r.reason)
                return response.text(r.reason, status=r.status)
            except Exception:
                logger.exception("%s: URL check failed", self.name())
                return response.text("bad request", status=400)

        @bp.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            return await self._receive(request, on_new_message)

        @bp.listener("after_server_stop")
        async def close_sender(app: Any, loop: Any) -> None:
            if self.sender is not None:
                await self.sender.close()
            await self.store.close()

        return bp

    # --- request handling
    async def _receive(self, request: Request, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> HTTPResponse:
        problem = self.configuration_problem()
        if problem:
            logger.error("%s: refusing message, channel not configured: %s", self.name(), problem)
            return response.text("channel not configured", status=503)
        if len(request.body or b"") > self.max_body_bytes:
            logger.warning("%s: body of %d bytes refused", self.name(), len(request.body))
            return response.text("payload too large", status=413)
        try:
            opened = self.open_message(request)
        except Reject as r:
            logger.warning("%s: message refused (%s): %s", self.name(), r.status, r.reason)
            return response.text(r.reason, status=r.status)
        except Exception:
            logger.exception("%s: could not open message", self.name())
            return response.text("bad request", status=400)
        try:
            await self.check_not_replayed(opened)
        except Reject as r:
            logger.warning("%s: message refused (%s): %s", self.name(), r.status, r.reason)
            return response.text(r.reason, status=r.status)
        except Exception:  # the shared store is down: refuse rather than let replays through
            logger.exception("%s: duplicate filter unavailable; message refused (WeChat will retry)", self.name())
            return response.text("temporarily unavailable", status=503)
        message, encrypt = opened.message, opened.encrypt

        try:
            text = await self.handle(message, on_new_message)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("%s: failed to handle message from %s", self.name(), getattr(message, "source", "?"))
            text = wording.apology(None)
        return self._reply(message, text, encrypt)

    def _reply(self, message: Any, text: Optional[str], encrypt: Optional[Callable[[str], str]]) -> HTTPResponse:
        if not text:
            return response.text(self.empty_reply, content_type="text/plain; charset=utf-8")
        try:
            xml = self.render_reply(message, xml_safe(text))
            if encrypt is not None:
                xml = encrypt(xml)
        except Exception:
            logger.exception("%s: could not render reply", self.name())
            return response.text(self.empty_reply, content_type="text/plain; charset=utf-8")
        return response.text(xml, content_type="application/xml; charset=utf-8")

    @staticmethod
    def classify(message: Any) -> str:
        mtype = (getattr(message, "type", "") or "").lower()
        if mtype == "text":
            return "text"
        if mtype == "voice" and (getattr(message, "recognition", None) or "").strip():
            return "text"  # the account has speech recognition on: WeChat gives us the words
        if mtype == "event":
            event = (getattr(message, "event", "") or "").lower()
            if event in {"subscribe", "subscribe_scan"}:
                return "subscribe"
            return "event"  # unsubscribe, menu clicks, location reports, ...: nothing to say
        return "unsupported"

    @staticmethod
    def question_of(message: Any) -> str:
        if (getattr(message, "type", "") or "").lower() == "voice":
            text = message.recognition or ""
        else:
            text = getattr(message, "content", None) or ""
        return text.strip()

    def dedup_key(self, message: Any) -> str:
        msg_id = getattr(message, "id", 0)
        if msg_id:  # with the sender too: a MsgId clash must never hand one user another's answer
            return f"{self.dedup_scope()}:msg:{message.source}:{msg_id}"
        event = getattr(message, "event", "") or getattr(message, "type", "")
        return f"{self.dedup_scope()}:evt:{message.source}:{message.time}:{event}"

    async def handle(self, message: Any, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Optional[str]:
        """The passive reply text (None: reply empty)."""
        kind = self.classify(message)
        if kind == "event":
            return None
        if kind == "subscribe":
            return wording.WELCOME
        if kind == "unsupported":
            return wording.UNSUPPORTED_MESSAGE
        question = self.question_of(message)
        if not question:
            return wording.EMPTY_MESSAGE
        if len(question) > MAX_QUESTION_CHARS:
            logger.info("%s: question of %d chars from %s cut to %d",
                        self.name(), len(question), message.source, MAX_QUESTION_CHARS)
            question = question[:MAX_QUESTION_CHARS]

        key = self.dedup_key(message)
        attempt = await self.store.claim(key)
        if attempt == 1:
            self._spawn(self._answer(key, message, question, on_new_message))
        else:
            logger.info("%s: retry %d of %s from %s: waiting for the answer in progress",
                        self.name(), attempt, key, message.source)

        try:
            pieces = await self.store.wait(key, self.reply_budget_seconds)
        except asyncio.CancelledError:  # WeChat hung up early: make sure the answer still goes out
            if self.sender is not None and await self.store.claim_once(key, "late"):
                self._spawn(self._deliver_late(key, message.source))
            raise
        if pieces is not None:
            return await self._passive(key, message.source, pieces)

        # the answer missed the budget
        if self.sender is not None:
            if await self.store.claim_once(key, "late"):
                self._spawn(self._deliver_late(key, message.source))
            return None  # empty reply: WeChat stops retrying; the answer follows via the API
        if self.hold_retries and attempt < WECHAT_RETRY_ATTEMPTS:
            # No message API: let WeChat give up on this attempt (5 s) and retry;
            # the retry waits for the same answer. Our late reply here is discarded.
            pieces = await self.store.wait(key, HOLD_SECONDS)
            return await self._passive(key, message.source, pieces) if pieces else None
        if await self.store.claim_once(key, "late"):
            self._spawn(self._deliver_late(key, message.source))
        return wording.BUSY

    async def _passive(self, key: str, user: str, pieces: List[str]) -> str:
        if len(pieces) == 1:
            return pieces[0]
        if self.sender is None:
            logger.warning("%s: answer to %s has %d parts; no message API, sending only the first",
                           self.name(), user, len(pieces))
            return first_piece_only(pieces)
        if await self.store.claim_once(key, "followup"):
            self._spawn(self._send_rest(user, pieces[1:]))
        return pieces[0]

    async def _answer(self, key: str, message: Any, question: str,
                      on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        """Run Rasa once for this message and publish the answer; while the user's handoff
        ticket is open, the message is the agent's instead (the agent sees it live in the
        console, and answers through the customer-service message API)."""
        pieces = [wording.apology(None)]
        try:
            forwarded = await self._to_open_ticket(message.source, question)
            if forwarded is not None:
                pieces = [forwarded]
                return
            collector = CollectingOutputChannel()
            await on_new_message(UserMessage(
                question, collector, sender_id=message.source,
                input_channel=self.name(), message_id=str(message.id),
            ))
            pieces = split_answer(render_bot_messages(collector.messages) or wording.NO_ANSWER)
        except asyncio.CancelledError:
            logger.warning("%s: answer to %s cancelled", self.name(), message.source)
            raise
        except Exception:
            logger.exception("%s: Rasa failed on a message from %s", self.name(), message.source)
        finally:
            await self.store.publish(key, pieces)

    async def _to_open_ticket(self, user: str, question: str) -> Optional[str]:
        """The sentence for a message that went to the user's open ticket, else None."""
        ticket = await forward_to_open_ticket(self.inbox, user, question, self.name())
        return None if ticket is None else wording.forwarded_to_agent(ticket["number"])

    async def _send_rest(self, user: str, pieces: List[str]) -> None:
        if self.followup_delay_seconds > 0:  # let the passive reply arrive first
            await asyncio.sleep(self.followup_delay_seconds)
        await self._send_all(user, pieces, "remaining part")

    async def _send_all(self, user: str, pieces: List[str], what: str) -> None:
        assert self.sender is not None
        for i, piece in enumerate(pieces, 1):
            if not await self.sender.send_text(user, piece):
                logger.error("%s: %s %d/%d for %s not delivered", self.name(), what, i, len(pieces), user)
                return

    async def _deliver_late(self, key: str, user: str) -> None:
        pieces = await self.store.wait(key, self.dedup_ttl_seconds, replier=False)
        if pieces is None:
            logger.error("%s: no answer for %s within %.0f s; giving up", self.name(), user, self.dedup_ttl_seconds)
            return
        if await self.store.live_repliers(key) > 0:
            return  # a retry that was still waiting put the answer in its passive reply
        if self.sender is None:
            logger.warning("%s: late answer for %s (%d chars) could not be delivered: no message API "
                           "(kf_enabled is off); the user was asked to ask again",
                           self.name(), user, sum(len(p) for p in pieces))
            return
        logger.info("%s: delivering late answer to %s via the message API", self.name(), user)
        await self._send_all(user, pieces, "late answer part")

    def _spawn(self, coro: Awaitable[Any]) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)  # on Sanic's loop
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task
