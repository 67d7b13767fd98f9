"""Custom actions: read slots → call bot.chat in a worker thread → send the text.

Nothing here knows SQL or how answers are worded. Database work is blocking,
so it runs in a thread (asyncio.to_thread): a slow query never stalls the
action server for other conversations. Any failure becomes a polite apology
with the hotline, never silence or a stack trace.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot import chat, handoff

logger = logging.getLogger(__name__)

PROFILE_SLOTS = ("district", "industry", "size", "topic")


def _slots(tracker: Tracker) -> Dict[str, Any]:
    return {name: tracker.get_slot(name) for name in PROFILE_SLOTS}


def _shown(tracker: Tracker) -> List[int]:
    return [int(x) for x in (tracker.get_slot("shown_measures") or [])]


def _text(tracker: Tracker) -> str:
    return tracker.latest_message.get("text") or ""


def _question(tracker: Tracker) -> str:
    """The question being answered: the latest "which measures…" message, not a later
    profile answer ("做餐饮的") or button."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            if ((event.get("parse_data") or {}).get("intent") or {}).get("name") == "ask_measures":
                return event.get("text") or ""
    return tracker.get_slot("last_question") or _text(tracker)


async def _run(dispatcher: CollectingDispatcher, tracker: Tracker, fn: Callable[..., chat.Reply],
               *args) -> List[EventType]:
    try:
        reply = await asyncio.to_thread(fn, *args)
    except Exception:  # the database is missing or unreachable, or a bug: apologise, log, keep the conversation
        logger.exception("action failed")
        dispatcher.utter_message(text=chat.apology(tracker.get_slot("district")))
        return []
    for i, message in enumerate(reply.messages):
        last = i == len(reply.messages) - 1
        # the cards go out as a custom message right after the text (REST/WeChat read the text)
        dispatcher.utter_message(text=message, buttons=reply.buttons if last and reply.buttons else None,
                                 json_message={"cards": reply.cards} if i == 0 and reply.cards else None)
    return [SlotSet(k, v) for k, v in reply.slots.items()]


class ActionFindMeasures(Action):
    def name(self) -> Text:
        return "action_find_measures"

    async def run(self, dispatcher, tracker, domain):
        question = _question(tracker)
        events = await _run(dispatcher, tracker, chat.find, _slots(tracker), question)
        return events + [SlotSet("last_question", question)]


class ActionMoreMeasures(Action):
    def name(self) -> Text:
        return "action_more_measures"

    async def run(self, dispatcher, tracker, domain):
        offset = int(tracker.get_slot("result_offset") or 0)
        return await _run(dispatcher, tracker, chat.more, _slots(tracker), tracker.get_slot("last_question") or "",
                          offset, _shown(tracker))


class _AboutListedMeasure:
    """Follow-ups on the last list ("第二条详细说说", "这个找谁", "还有效吗").
    A mixin, not an Action: rasa_sdk registers every Action subclass it finds."""
    action_name = ""
    answer: Callable[..., chat.Reply]

    def name(self) -> Text:
        return self.action_name

    async def run(self, dispatcher, tracker, domain):
        # with no list yet, the message itself says which measure ("复工热线电话多少")
        return await _run(dispatcher, tracker, type(self).answer, _text(tracker), _shown(tracker),
                          tracker.get_slot("focus_measure"), _slots(tracker))


class ActionMeasureDetail(_AboutListedMeasure, Action):
    action_name = "action_measure_detail"
    answer = chat.detail


class ActionLeadUnit(_AboutListedMeasure, Action):
    action_name = "action_lead_unit"
    answer = chat.lead_unit


class ActionValidity(_AboutListedMeasure, Action):
    action_name = "action_validity"
    answer = chat.validity


class ActionSizeClass(Action):
    def name(self) -> Text:
        return "action_size_class"

    async def run(self, dispatcher, tracker, domain):
        return await _run(dispatcher, tracker, chat.size_class, tracker.get_slot("industry"),
                          tracker.get_slot("employees"), tracker.get_slot("revenue"), _text(tracker), _slots(tracker))


class _SearchOrSay:
    """A message the NLU could not place: answered from the documents when they answer it,
    else the fixed response. A mixin, not an Action (rasa_sdk registers every Action)."""
    action_name = ""
    response = ""

    def name(self) -> Text:
        return self.action_name

    async def run(self, dispatcher, tracker, domain):
        text = _text(tracker)
        try:
            reply = await asyncio.to_thread(chat.search_first, _slots(tracker), text) if text.strip() else None
        except Exception:
            logger.exception("search for an unplaced message failed")
            reply = None
        if reply is None:
            dispatcher.utter_message(response=self.response)
            return []
        events = await _run(dispatcher, tracker, lambda: reply)
        return events + [SlotSet("last_question", text)]


class ActionFallbackSearch(_SearchOrSay, Action):
    action_name = "action_fallback_search"
    response = "utter_default"


class ActionOutOfScopeSearch(_SearchOrSay, Action):
    action_name = "action_out_of_scope_search"
    response = "utter_out_of_scope"


class ActionChangeProfile(Action):
    def name(self) -> Text:
        return "action_change_profile"

    async def run(self, dispatcher, tracker, domain):
        if not tracker.latest_message.get("entities") and not chat.gives_profile(_text(tracker)):
            # read as a profile answer but says nothing of one ("😀😀😀"): as an unplaced message
            return await ActionFallbackSearch().run(dispatcher, tracker, domain)
        text = _text(tracker)
        # "珠海 先租后让" names a place and asks something: that is the question now
        last = tracker.get_slot("last_question") or ""
        question = text if chat.asks_something(_slots(tracker), text, last) else last
        events = await _run(dispatcher, tracker, chat.change_profile, _slots(tracker), question)
        return events + [SlotSet("last_question", question)]


class ActionHumanHandoff(Action):
    def name(self) -> Text:
        return "action_human_handoff"

    async def run(self, dispatcher, tracker, domain):
        # a ticket in the agents' inbox; the enterprise's question, also when it asks for a
        # person before the form is done
        return await _run(dispatcher, tracker, handoff.handoff, tracker.sender_id, tracker.get_latest_input_channel(),
                          _slots(tracker), _question(tracker), _shown(tracker), _conversation(tracker))


def _conversation(tracker: Tracker) -> List[Dict[str, Any]]:
    """The conversation so far as the agent reads it: who said what, when (epoch seconds)."""
    return [{"from": "user" if e.get("event") == "user" else "bot", "text": e.get("text"), "at": e.get("timestamp")}
            for e in tracker.events if e.get("event") in ("user", "bot") and e.get("text")]
