"""Mask ID-card and mobile numbers in every log record of the process: ``install()`` once.

Users type their 身份证号 and phone numbers into the chat ("我的电话13812345678，帮我
转人工"); Rasa logs the text of a message at DEBUG and stock channels logged failed
messages in full. Rather than trust every logger (Rasa's, Sanic's, ours), the log
record factory is wrapped: each record that is actually emitted has its message
rendered and the numbers masked before any handler or formatter sees it —
``138****5678``, ``**************123X``. Records below the logger's level are never
created, so disabled DEBUG logging costs nothing; an emitted record costs one regex
pass (~2 µs for a 200-character line).

What is masked: 18-character ID numbers (17 digits + digit/X) and mainland mobile
numbers (1[3-9] + 9 digits, also written 138-1234-5678 / 138 1234 5678), in ASCII or
full-width digits, not inside a longer run of digits (order ids, timestamps stay);
also in the traceback of a record that carries one.
"""
from __future__ import annotations

import logging
import re
from typing import Any

_D = "[0-9０-９]"
ID_CARD = re.compile(rf"(?<![0-9０-９])({_D}{{14}})({_D}{{3}}[0-9０-９Xx])(?![0-9０-９Xx])")
MOBILE = re.compile(rf"(?<![0-9０-９])([1１][3-9３-９]{_D})([-\s]?)({_D}{{4}})([-\s]?)({_D}{{4}})(?![0-9０-９])")


_FORMATTER = logging.Formatter()


def mask(text: str) -> str:
    text = ID_CARD.sub(lambda m: "*" * 14 + m.group(2), text)
    return MOBILE.sub(lambda m: m.group(1) + m.group(2) + "****" + m.group(4) + m.group(5), text)


def install() -> None:
    """Wrap the log record factory (idempotent)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "masks_numbers", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            text = record.getMessage()
        except Exception:  # noqa: BLE001 — a malformed record is logging's to report, unchanged
            return record
        masked = mask(text)
        if masked != text:
            record.msg, record.args = masked, ()
        if record.exc_info and record.exc_info[0] is not None:  # tracebacks quote values too
            record.exc_text = mask(_FORMATTER.formatException(record.exc_info))
        return record

    factory.masks_numbers = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
