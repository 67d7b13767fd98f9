"""The rasa_sdk actions as the action server runs them: slots in, messages and slot events out."""
from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.actions import ActionChangeProfile, ActionFindMeasures, ActionHumanHandoff, ActionLeadUnit


def tracker(slots, text="", entities=()):
    return Tracker("u1", slots, {"text": text, "intent": {"name": "ask_measures"}, "entities": list(entities)},
                   [], False, None, {}, "action_listen")


async def test_find_measures_action_answers_and_remembers_the_list(db_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db_url)
    d = CollectingDispatcher()
    events = await ActionFindMeasures().run(d, tracker({"district": "增城区", "size": "小微企业", "topic": "融资贴息"},
                                                        "贷款贴息"), {})
    text = "\n".join(m["text"] for m in d.messages)
    assert "区科工商信局" in text and "增府规〔2020〕1号" in text
    slots = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    assert len(slots["shown_measures"]) == 3 and slots["last_question"] == "贷款贴息"
    d2 = CollectingDispatcher()
    await ActionLeadUnit().run(d2, tracker({**slots, "district": "增城区"}, "第一条找谁"), {})
    assert "区科工商信局" in d2.messages[0]["text"]


async def test_database_unreachable_gives_an_apology_with_the_hotline(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path/'missing-dir'/'none.db'}")
    d = CollectingDispatcher()
    await ActionFindMeasures().run(d, tracker({"district": "天河区"}, "有什么政策"), {})
    text = d.messages[0]["text"]
    assert "抱歉" in text and "广州12345" in text and "Traceback" not in text


async def test_an_uncovered_district_is_said_with_what_is_covered_and_no_district_question(db_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db_url)
    d = CollectingDispatcher()
    await ActionFindMeasures().run(d, tracker({"district": "越秀"}, "越秀区有什么贷款贴息"), {})
    text = "\n".join(m["text"] for m in d.messages)
    assert "还没有收录越秀区" in text and "天河区" in text and "12345" in text
    assert "哪个区" not in text and not any(m.get("buttons") for m in d.messages)


async def test_a_profile_answer_re_answers_the_question_asked_before(db_url, monkeypatch):
    """A button or "做零售的" after the answer: the last question is answered again with it."""
    monkeypatch.setenv("DATABASE_URL", db_url)
    events = [
        {"event": "user", "text": "小微企业有什么贷款贴息", "parse_data": {"intent": {"name": "ask_measures"}}},
        {"event": "user", "text": '/inform{"district":"增城区"}', "parse_data": {"intent": {"name": "inform"}}},
    ]
    t = Tracker("u2", {"district": "增城区", "size": "小微企业", "last_question": "小微企业有什么贷款贴息"},
                {"text": '/inform{"district":"增城区"}', "intent": {"name": "inform"}, "entities": []}, events, False,
                None, {}, "action_listen")
    d = CollectingDispatcher()
    slot_events = await ActionChangeProfile().run(d, t, {})
    first = d.messages[0]["text"].split("\n2. ")[0]
    assert "总额最高20万元" in first and "第（二）条第3项" in first  # the loan-interest measure comes first
    assert {e["name"]: e["value"] for e in slot_events}["last_question"] == "小微企业有什么贷款贴息"


async def test_handoff_carries_the_question_not_the_request_for_a_person(db_url, monkeypatch, tmp_path):
    """Asking for a person right after a question: the ticket's summary for the agent has the
    enterprise's question, not "转人工"; the enterprise reads the plain sentence."""
    from bot.inbox import Inbox
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("INBOX_DATABASE_URL", f"sqlite:///{tmp_path / 'inbox.db'}")
    events = [
        {"event": "user", "text": "有什么稳岗补贴", "parse_data": {"intent": {"name": "ask_measures"}}},
        {"event": "user", "text": "转人工", "parse_data": {"intent": {"name": "human_handoff"}}},
    ]
    t = Tracker("u3", {"topic": "稳岗用工"},
                {"text": "转人工", "intent": {"name": "human_handoff"}, "entities": []}, events, False, None,
                {}, "action_listen")
    d = CollectingDispatcher()
    await ActionHumanHandoff().run(d, t, {})
    assert "已转给人工坐席" in d.messages[-1]["text"]
    [ticket] = Inbox().tickets("open")
    full = Inbox().ticket(ticket["id"])
    assert "诉求：有什么稳岗补贴" in full["summary"] and full["sender"] == "u3"
    assert [turn["text"] for turn in full["conversation"]] == ["有什么稳岗补贴", "转人工"]


async def test_a_message_read_as_a_profile_answer_that_holds_none_is_not_answered_with_the_last_list(db_url, monkeypatch):
    """"😀😀😀" read as `inform`: the fixed "没太明白" response, not the last question's list again."""
    monkeypatch.setenv("DATABASE_URL", db_url)
    t = Tracker("u3", {"district": "增城区", "topic": "融资贴息", "last_question": "增城贴息"},
                {"text": "😀😀😀", "intent": {"name": "inform"}, "entities": []}, [], False, None, {}, "action_listen")
    d = CollectingDispatcher()
    events = await ActionChangeProfile().run(d, t, {})
    assert d.messages == [{"response": "utter_default", **{k: v for k, v in d.messages[0].items() if k != "response"}}]
    assert events == []
