"""The listed measures as cards for the web widget: one measure per card (title, the sentence
that answers the question, amount, validity badge, lead unit, a link to the source).

The plain-text answer (``bot.answer.answer_text``) stays what REST and WeChat show; the
widget receives the same answer's text *and* this payload in the message's ``custom``
(``{"cards": …}``) and draws a card where the text has the item. Every field restates a
result: nothing here is worded afresh except the badges (``bot.wording``).

The source link is the document's own URL where the manifest has one, else the widget
channel's page with the article's full text (``/webhooks/widget/measure/<id>``).
"""
from __future__ import annotations

import datetime as dt
from typing import List, Optional

from bot import wording
from bot.answer import amounts_phrase, region_note, shorten, snippet_text, units_sentence, validity_sentence
from bot.query import MeasureResult, QueryResult

ARTICLE_PAGE = "/webhooks/widget/measure/{id}"


def validity_state(r: MeasureResult) -> str:
    if r.expired:
        return "expired"
    return "valid" if r.valid_until else "unknown"


def _lead(r: MeasureResult) -> Optional[str]:
    lead = [u["name"] for u in r.contacts if u["role"] == "lead"]
    if lead:
        return "、".join(lead)
    resp = [u["name"] for u in r.contacts if u["role"] == "responsible"]
    return "、".join(resp) if resp else None


def card(r: MeasureResult, number: int, as_of: dt.date) -> dict:
    state = validity_state(r)
    return {
        "id": r.id, "number": number,
        "title": shorten(r.item_heading, 40) if r.item_heading else r.article,
        "sentence": snippet_text(r) + region_note(r),
        "amount": amounts_phrase(r) or None,
        "validity": {"state": state, "badge": wording.VALIDITY_BADGES[state], "text": validity_sentence(r, as_of)},
        "lead_unit": _lead(r),
        # who to contact as the text says it: units with phones, or the hotline fallback
        "units": units_sentence(r).split("\n   "),
        "document": r.document_label, "article": r.article, "citation": r.citation,
        "source": {"label": wording.SOURCE_LINK, "url": r.source_url or ARTICLE_PAGE.format(id=r.id),
                   "external": bool(r.source_url)},
    }


def measure_cards(qr: QueryResult) -> Optional[dict]:
    """The cards of an answer that lists measures, else None (nothing found, or a listing
    of near misses that answer_text marks as "not an answer")."""
    if not qr.results or qr.relaxed:
        return None
    items: List[dict] = [card(r, qr.offset + 1 + i, qr.as_of) for i, r in enumerate(qr.results)]
    return {"items": items}
