"""Custom actions: read slots → call bot.service in a worker thread → send the text.

Nothing here knows SQL or how answers are worded. Database work is blocking,
so it runs in a thread (asyncio.to_thread): a slow query never stalls the
action server for other conversations. Any failure becomes a polite apology
with the hotline, never silence or a stack trace.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot import service

logger = logging.getLogger(__name__)

PROFILE_SLOTS = ("district", "industry", "size", "topic")


def _slots(tracker: Tracker) -> Dict[str, Any]:
    return {name: tracker.get_slot(name) for name in PROFILE_SLOTS}


def _shown(tracker: Tracker) -> List[int]:
    return [int(x) for x in (tracker.get_slot("shown_measures") or [])]


def _text(tracker: Tracker) -> str:
    return tracker.latest_message.get("text") or ""


def _question(tracker: Tracker) -> str:
    """The question being answered: the latest "which measures…" message, not the
    answer to the form's last prompt ("跳过")."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            if ((event.get("parse_data") or {}).get("intent") or {}).get("name") == "ask_measures":
                return event.get("text") or ""
    return tracker.get_slot("last_question") or _text(tracker)


async def _run(dispatcher: CollectingDispatcher, tracker: Tracker, fn: Callable[..., service.Reply],
               *args) -> List[EventType]:
    try:
        reply = await asyncio.to_thread(fn, *args)
    except Exception:  # the database is missing or unreachable, or a bug: apologise, log, keep the conversation
        logger.exception("action failed")
        dispatcher.utter_message(text=service.apology(tracker.get_slot("district")))
        return []
    for message in reply.messages:
        dispatcher.utter_message(text=message)
    return [SlotSet(k, v) for k, v in reply.slots.items()]


class ActionFindMeasures(Action):
    def name(self) -> Text:
        return "action_find_measures"

    async def run(self, dispatcher, tracker, domain):
        question = _question(tracker)
        events = await _run(dispatcher, tracker, service.find, _slots(tracker), question)
        return events + [SlotSet("last_question", question)]


class ActionMoreMeasures(Action):
    def name(self) -> Text:
        return "action_more_measures"

    async def run(self, dispatcher, tracker, domain):
        offset = int(tracker.get_slot("result_offset") or 0)
        return await _run(dispatcher, tracker, service.more, _slots(tracker), tracker.get_slot("last_question") or "",
                          offset, _shown(tracker))


class _AboutListedMeasure:
    """Follow-ups on the last list ("第二条详细说说", "这个找谁", "还有效吗").
    A mixin, not an Action: rasa_sdk registers every Action subclass it finds."""
    action_name = ""
    answer: Callable[..., service.Reply]

    def name(self) -> Text:
        return self.action_name

    async def run(self, dispatcher, tracker, domain):
        return await _run(dispatcher, tracker, type(self).answer, _text(tracker), _shown(tracker),
                          tracker.get_slot("focus_measure"))


class ActionMeasureDetail(_AboutListedMeasure, Action):
    action_name = "action_measure_detail"
    answer = service.detail


class ActionLeadUnit(_AboutListedMeasure, Action):
    action_name = "action_lead_unit"
    answer = service.lead_unit


class ActionValidity(_AboutListedMeasure, Action):
    action_name = "action_validity"
    answer = service.validity


class ActionSizeClass(Action):
    def name(self) -> Text:
        return "action_size_class"

    async def run(self, dispatcher, tracker, domain):
        return await _run(dispatcher, tracker, service.size_class, tracker.get_slot("industry"),
                          tracker.get_slot("employees"), tracker.get_slot("revenue"))


class ActionChangeProfile(Action):
    def name(self) -> Text:
        return "action_change_profile"

    async def run(self, dispatcher, tracker, domain):
        question = tracker.get_slot("last_question") or ""
        return await _run(dispatcher, tracker, service.change_profile, _slots(tracker), question)


class ActionHumanHandoff(Action):
    def name(self) -> Text:
        return "action_human_handoff"

    async def run(self, dispatcher, tracker, domain):
        # the enterprise's question, also when it asks for a person before the form is done
        return await _run(dispatcher, tracker, service.handoff, _slots(tracker), _question(tracker), _shown(tracker))


class ValidateProfileForm(FormValidationAction):
    """Maps what people say to canonical values; rejects districts we have no documents for."""

    def name(self) -> Text:
        return "validate_profile_form"

    async def _validate(self, fn, value, dispatcher, tracker) -> Dict[Text, Any]:
        try:
            reply = await asyncio.to_thread(fn, str(value))
        except Exception:
            logger.exception("validation failed")
            dispatcher.utter_message(text=service.apology(tracker.get_slot("district")))
            return {}
        for message in reply.messages:
            dispatcher.utter_message(text=message)
        return reply.slots

    async def validate_district(self, value, dispatcher, tracker, domain: DomainDict):
        return await self._validate(service.validate_district, value, dispatcher, tracker)

    async def validate_industry(self, value, dispatcher, tracker, domain: DomainDict):
        return await self._validate(service.validate_industry, value, dispatcher, tracker)

    async def validate_size(self, value, dispatcher, tracker, domain: DomainDict):
        return await self._validate(service.validate_size, value, dispatcher, tracker)

    async def extract_size(self, dispatcher, tracker, domain: DomainDict) -> Dict[Text, Any]:
        """"30个人，年营收300万" while we ask for the size: classify by the national standard."""
        if tracker.get_slot("requested_slot") != "size":
            return {}
        entities = {e.get("entity"): e.get("value") for e in tracker.latest_message.get("entities", [])}
        if not (entities.get("employees") or entities.get("revenue")):
            return {}
        reply = await asyncio.to_thread(service.size_class, tracker.get_slot("industry"), entities.get("employees"),
                                        entities.get("revenue"))
        for message in reply.messages:
            dispatcher.utter_message(text=message)
        return {"size": reply.slots["size"]} if reply.slots.get("size") else {}
