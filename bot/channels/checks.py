"""What a public JSON webhook (Rasa's REST channel, the web widget's channel) accepts.

Everything here runs *before* Rasa sees a message, because Rasa does not defend itself:

* a lone surrogate in ``sender`` (``"\\udc80"`` as JSON, or the raw bytes ED A0 80, which
  Python's ``json.loads(bytes)`` decodes with ``surrogatepass``) cannot be encoded for the
  tracker database; stock SQLTrackerStore mistakes that ValueError for a missing
  PostgreSQL schema and calls ``sys.exit`` — one request stopped the assistant;
* a 100,000-character message took 81 s of the single event loop (every other user
  waited); ``metadata`` was stored as sent (a 10 MB body added ~29 MB to the tracker
  database); a list as the body was a 500; a number as the message a silent ``[]``.

So: the body is strict UTF-8 (no surrogates), ≤ :data:`MAX_BODY_BYTES`, a JSON object;
``sender`` and ``message`` are strings without lone surrogates; ``message`` has at most
:data:`MAX_MESSAGE_CHARS` characters (the WeChat limit the other channels keep) and is
refused, not cut, when longer — a silently truncated question could lose the district
or the need. ``metadata`` and ``input_channel`` from the client are dropped: nothing the
project reads comes from them, and a client must not label its message as another
channel's. A refusal is a 4xx JSON ``{"error": code, "text": sentence}``; ``text`` is
what the widget shows the user.

Checking costs about 10 µs for an ordinary message (strict decode + one pass over two
short strings); nothing here touches Rasa, the database or the model.
"""
from __future__ import annotations

import ipaddress
import json
import re
from typing import Any, Dict, Mapping, Optional

from bot import wording

MAX_MESSAGE_CHARS = 2000
MAX_BODY_BYTES = 64 * 1024
MAX_SENDER_CHARS = 128  # Rasa's sender_id column is VARCHAR(255); ids we issue are ~70

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NUL = "\x00"

# The sentences a client (and, through the widget, a user) sees when a request is refused.
TOO_LONG_TEXT = wording.message_too_long(MAX_MESSAGE_CHARS)
BODY_TOO_LARGE_TEXT = f"请求内容超过{MAX_BODY_BYTES // 1024} KB，已拒绝。"
NOT_UTF8_TEXT = "请求内容不是有效的 UTF-8 文字。"
NOT_JSON_TEXT = "请求内容应为 JSON 对象，例如 {\"sender\": \"…\", \"message\": \"…\"}。"
NO_SENDER_TEXT = "缺少 sender（会话编号）。"
BAD_SENDER_TEXT = "sender（会话编号）应为不含控制字符的文字，不超过128字。"
BAD_MESSAGE_TEXT = "message 应为文字。"
UNPAIRED_TEXT = "内容含有无法识别的字符（不成对的 UTF-16 代理项），请重新输入。"


class Refused(Exception):
    """Refuse the request: HTTP ``status``, a machine-readable ``code`` and a sentence."""

    def __init__(self, status: int, code: str, text: str) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.text = text

    def body(self) -> Dict[str, str]:
        return {"error": self.code, "text": self.text}


def has_lone_surrogate(value: str) -> bool:
    return _LONE_SURROGATE.search(value) is not None


def json_object(raw: bytes, content_length: Optional[str] = None) -> Dict[str, Any]:
    """The request body as a JSON object, or :class:`Refused`."""
    if content_length and content_length.isdigit() and int(content_length) > MAX_BODY_BYTES:
        raise Refused(413, "body_too_large", BODY_TOO_LARGE_TEXT)
    if len(raw) > MAX_BODY_BYTES:
        raise Refused(413, "body_too_large", BODY_TOO_LARGE_TEXT)
    try:
        text = raw.decode("utf-8")  # strict: ED A0 80 (an encoded surrogate) is refused here
    except UnicodeDecodeError:
        raise Refused(400, "not_utf8", NOT_UTF8_TEXT) from None
    try:
        body = json.loads(text)
    except (ValueError, RecursionError):
        raise Refused(400, "not_json", NOT_JSON_TEXT) from None
    if not isinstance(body, dict):
        raise Refused(400, "not_json_object", NOT_JSON_TEXT)
    return body


def sender(body: Mapping[str, Any]) -> str:
    value = body.get("sender")
    if value is None or value == "":
        raise Refused(400, "no_sender", NO_SENDER_TEXT)
    if not isinstance(value, str) or len(value) > MAX_SENDER_CHARS or _CONTROL.search(value):
        raise Refused(400, "bad_sender", BAD_SENDER_TEXT)
    if has_lone_surrogate(value):
        raise Refused(400, "unpaired_surrogate", UNPAIRED_TEXT)
    return value


def message(body: Mapping[str, Any]) -> str:
    """The message text; "" is allowed (Rasa answers it), NULs are dropped (PostgreSQL
    cannot store them and nobody types them)."""
    value = body.get("message")
    if value is None:
        raise Refused(400, "bad_message", BAD_MESSAGE_TEXT)
    if not isinstance(value, str):
        raise Refused(400, "bad_message", BAD_MESSAGE_TEXT)
    if has_lone_surrogate(value):
        raise Refused(400, "unpaired_surrogate", UNPAIRED_TEXT)
    if len(value) > MAX_MESSAGE_CHARS:
        raise Refused(413, "message_too_long", TOO_LONG_TEXT)
    return value.replace(_NUL, "")


def is_loopback_peer(ip: Optional[str], headers: Mapping[str, str]) -> bool:
    """The TCP peer is this machine and no proxy says it forwards someone else's request.

    A reverse proxy on the same host (nginx → 127.0.0.1:5005) makes every public request
    look local; proxies add ``X-Forwarded-For`` / ``Forwarded`` / ``X-Real-IP``, so a
    request carrying one is treated as remote."""
    if any(h in headers for h in ("x-forwarded-for", "forwarded", "x-real-ip")):
        return False
    try:
        return ipaddress.ip_address((ip or "").split("%")[0]).is_loopback
    except ValueError:
        return False
