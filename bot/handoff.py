""""转人工" that reaches a person: a ticket in the console's inbox, a plain sentence for the
enterprise.

The ticket carries what the agent needs to take over without asking again: the
conversation so far, the profile, the measures already shown (with their source) and
the one-paragraph summary (``bot.answer.handoff_summary``). The enterprise reads only
``wording.handed_to_agent``: the ticket number, its place in the queue and the
lexicon's hotline. Asking again while a ticket is open gives the same ticket.

Called by ``actions.ActionHumanHandoff`` in a worker thread; no Rasa here.
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import Dict, List, Optional, Sequence, Tuple

from bot import db, wording
from bot.answer import amounts_phrase, handoff_summary, profile_line, shorten, validity_sentence
from bot.inbox import Inbox
from bot.lexicon import load_lexicon
from bot.query import MeasureResult, get_measure
from bot.chat import Reply, profile_from_slots

logger = logging.getLogger(__name__)

MAX_MEASURES = 5


def _measures(shown: Sequence[int], profile) -> Tuple[List[MeasureResult], List[dict]]:
    """The measures the enterprise was shown: as results (for the summary) and as the
    ticket stores them (citation, source link, amounts, validity, lead units)."""
    today = dt.date.today()
    results, out = [], []
    with db.session_factory()() as s:
        for i in list(shown)[:MAX_MEASURES]:
            r = get_measure(s, int(i), profile, today)
            if r is None:
                continue
            results.append(r)
            out.append({"id": r.id, "citation": r.citation, "document": r.document, "doc_number": r.doc_number,
                        "issuer": r.issuer, "region": r.region, "item_heading": r.item_heading,
                        "text": shorten(r.text, 120), "amounts": amounts_phrase(r), "source_url": r.source_url,
                        "validity": validity_sentence(r, today), "lead_units": r.lead_units})
    return results, out


def handoff(sender: str, channel: Optional[str], slots: Dict[str, object], question: str, shown: Sequence[int],
            conversation: Sequence[dict], inbox: Optional[Inbox] = None) -> Reply:
    p = profile_from_slots(slots)
    hotline = load_lexicon().hotline_info(p.district) if p.district else None
    try:
        results, measures = _measures(shown, p)
    except Exception:  # the measures database is down: the ticket still goes to a person
        logger.exception("handoff: measures shown could not be read")
        results, measures = [], []
    summary = handoff_summary(p, question, results, hotline)
    try:
        ticket = (inbox or Inbox()).open_ticket(
            sender=sender, channel=channel or "rest", question=wording.plain(question or "", 500),
            profile={"district": p.district, "industry": p.industry, "sizes": list(p.sizes), "topic": p.topic,
                     "unknown": p.unknown, "profile_line": profile_line(p)},
            conversation=conversation, measures=measures, summary=summary, hotline=hotline)
    except Exception:
        logger.exception("handoff: the ticket could not be stored")
        return Reply([wording.handoff_unavailable(hotline)])
    return Reply([wording.handed_to_agent(ticket["number"], ticket["queue_position"], hotline)])
