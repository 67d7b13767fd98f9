"""A Rasa session also ends after ``MAX_SESSION_TURNS`` user messages, its slots carried over.

Why: on every turn Rasa 3.6 does work in proportion to the events of the current session.
The RulePolicy's state history is rebuilt from every event of the session for each
prediction (``Domain.states_for_tracker_history`` replays them all), the whole session is
serialised for each custom-action call and parsed again by the action server, and with a
shared tracker store (`make run-scaled`) every event is read back from PostgreSQL and
replayed on each turn. Measured on one instance (`bench.length_bench`, 2 cores): the median
turn grew from ~30 ms (turns 1–20) to ~57 ms (91–110) and ~127 ms (181–200). A WeChat
user's conversation lasts months, so an idle timeout (``session_expiration_time`` in
domain.yml) alone does not bound a busy conversation.

Here, when a message arrives and the current session already holds ``MAX_SESSION_TURNS``
user messages, Rasa's own ``action_session_start`` mechanism opens a new session first —
the events Rasa writes when a session expires (``action_session_start``, ``session_started``,
``action_listen``) — with the *current* value of every set slot carried over (one
``SlotSet`` per slot, not the replay of every past ``SlotSet`` that stock carry-over does).
What the enterprise sees does not change: the profile, the last question and the list a
follow-up ("第2条详细说说", "更多", "这个找谁") refers to all live in slots, and every rule in
data/rules.yml is one intent → one action, so no prediction depends on turns before the
new session. What changes: the conversation an agent sees in a handoff ticket, and the
events stock Rasa loads, are the current session's (the last ≤ MAX_SESSION_TURNS
messages); every event stays in the tracker store. ``tests/test_rasa_runtime.py`` checks
the replies of a long conversation against the same conversation without the cap.

An idle session still expires as configured (and then slots are not carried over, as
``carry_over_slots_to_new_session: false`` says): this only adds a length limit.
``MAX_SESSION_TURNS=0`` in the environment turns it off (the benchmark's baseline).
"""
from __future__ import annotations

import logging
import os
from typing import Any, Dict, List, Optional, Text

logger = logging.getLogger(__name__)

MAX_SESSION_TURNS_ENV = "MAX_SESSION_TURNS"
DEFAULT_MAX_SESSION_TURNS = 30


def max_session_turns(env: Optional[Dict[str, str]] = None) -> int:
    """The limit from ``$MAX_SESSION_TURNS`` (0 = no limit); a value that is not a number is the default."""
    raw = (os.environ if env is None else env).get(MAX_SESSION_TURNS_ENV, "")
    try:
        return max(0, int(raw)) if raw.strip() else DEFAULT_MAX_SESSION_TURNS
    except ValueError:
        logger.warning("%s=%r is not a number; using %d", MAX_SESSION_TURNS_ENV, raw, DEFAULT_MAX_SESSION_TURNS)
        return DEFAULT_MAX_SESSION_TURNS


def user_turns_in_session(tracker: Any) -> int:
    """User messages since the latest ``session_started`` (scanned from the end: the session only)."""
    from rasa.shared.core.events import SessionStarted, UserUttered

    n = 0
    for event in reversed(tracker.events):
        if isinstance(event, SessionStarted):
            break
        if isinstance(event, UserUttered):
            n += 1
    return n


def carried_slots(tracker: Any, domain: Any) -> List[Any]:
    """One SlotSet per slot whose value differs from its initial value: the state the new
    session starts from, the same state stock carry-over ends in."""
    from rasa.shared.core.constants import SESSION_START_METADATA_SLOT
    from rasa.shared.core.events import SlotSet

    out = []
    for slot in domain.slots:
        if slot.name == SESSION_START_METADATA_SLOT:
            continue
        value = tracker.get_slot(slot.name)
        if value != slot.initial_value:
            out.append(SlotSet(slot.name, value))
    return out


def patch_session_length() -> None:
    """Wrap MessageProcessor._update_tracker_session with the length limit (idempotent)."""
    from rasa.core.actions.action import ActionSessionStart
    from rasa.core.policies.policy import PolicyPrediction
    from rasa.core.processor import MessageProcessor
    from rasa.shared.core.constants import ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME
    from rasa.shared.core.events import ActionExecuted, SessionStarted

    stock = MessageProcessor._update_tracker_session
    if getattr(stock, "session_length_limit", False):
        return

    class CarryOverSessionStart(ActionSessionStart):
        """``action_session_start`` that carries the slots' current values."""

        async def run(self, output_channel: Any, nlg: Any, tracker: Any, domain: Any) -> List[Any]:
            return [SessionStarted(), *carried_slots(tracker, domain), ActionExecuted(ACTION_LISTEN_NAME)]

    limit = max_session_turns()

    async def _update_tracker_session(self: MessageProcessor, tracker: Any, output_channel: Any,
                                      metadata: Optional[Dict[Text, Any]] = None) -> None:
        if (limit and tracker.events and not self._has_session_expired(tracker)
                and not tracker.active_loop_name and user_turns_in_session(tracker) >= limit):
            logger.debug("conversation %s: %d messages in this session, starting a new one", tracker.sender_id, limit)
            await self._run_action(action=CarryOverSessionStart(), tracker=tracker, output_channel=output_channel,
                                   nlg=self.nlg,
                                   prediction=PolicyPrediction.for_action_name(self.domain, ACTION_SESSION_START_NAME))
            return
        await stock(self, tracker, output_channel, metadata)

    _update_tracker_session.session_length_limit = True  # type: ignore[attr-defined]
    MessageProcessor._update_tracker_session = _update_tracker_session  # type: ignore[assignment]
