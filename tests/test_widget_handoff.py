"""The widget channel's handoff and vote endpoints on a real Rasa server: a session's
"转人工" marks the answer, its next messages go to the ticket, the agent's reply is fetched
by that session only; bad input is a clear 4xx."""
from __future__ import annotations

from bot.inbox import Inbox

REPLIES = "/webhooks/widget/replies"
VOTE = "/webhooks/widget/vote"
WIDGET = "/webhooks/widget/webhook"


def test_handoff_marks_the_answer_and_the_agents_reply_reaches_only_that_session(assistant):
    session = assistant.widget_session()
    status, replies = assistant.post(WIDGET, {"sender": session, "message": "增城区小微企业有什么贷款贴息"})
    assert status == 200 and not any("handoff" in (r.get("custom") or {}) for r in replies)
    status, replies = assistant.post(WIDGET, {"sender": session, "message": "转人工"})
    assert status == 200
    [marker] = [r["custom"]["handoff"] for r in replies if "handoff" in (r.get("custom") or {})]
    assert "已转给人工坐席" in "".join(r.get("text", "") for r in replies) and marker["status"] == "waiting"
    # the next message goes to the ticket, not the bot
    status, replies = assistant.post(WIDGET, {"sender": session, "message": "我姓陈，电话020-12345678"})
    assert status == 200 and replies[0]["text"] == f"已转给人工坐席（工单号{marker['ticket']}），请稍候。"
    box = Inbox(assistant.inbox_url)
    [t] = [t for t in box.tickets("open") if t["number"] == marker["ticket"]]
    assert [e["text"] for e in box.ticket(t["id"])["events"] if e["kind"] == "customer"] == ["我姓陈，电话020-12345678"]
    box.claim(t["id"], "王坐席")
    box.reply(t["id"], "王坐席", "陈先生您好，材料清单如下。")
    status, got = assistant.post(REPLIES, {"sender": session, "after": marker["after"]})
    assert status == 200 and [r["text"] for r in got["replies"]] == ["陈先生您好，材料清单如下。"]
    other = assistant.widget_session()
    status, got = assistant.post(REPLIES, {"sender": other, "after": 0})
    assert status == 200 and got == {"replies": [], "open": None}
    box.close(t["id"], "王坐席", "已解答")
    status, got = assistant.post(REPLIES, {"sender": session, "after": marker["after"]})
    assert got["replies"][-1]["kind"] == "closed" and "结束本次服务" in got["replies"][-1]["text"] and got["open"] is None
    status, replies = assistant.post(WIDGET, {"sender": session, "message": "天河区开办企业有什么便利"})
    assert "工单号" not in replies[0]["text"]  # the bot answers again


def test_vote_is_stored_with_the_conversation(assistant):
    session = assistant.widget_session()
    status, body = assistant.post(VOTE, {"sender": session, "answer_key": "k1", "vote": "down",
                                         "answer": "1. 某措施", "question": "中型"})
    assert status == 200 and body == {"answer_key": "k1", "vote": "down"}
    [v] = Inbox(assistant.inbox_url).votes("widget:" + session.split(".")[1])
    assert v["vote"] == "down" and v["question"] == "中型"


def test_bad_input_to_replies_and_vote_is_a_clear_4xx(assistant):
    session = assistant.widget_session()
    forged = session[:-4] + ("AAAA" if not session.endswith("AAAA") else "BBBB")
    cases = [
        (REPLIES, {"sender": forged, "after": 0}, 403), (REPLIES, {"after": 0}, 400),
        (REPLIES, {"sender": session, "after": "1"}, 400), (REPLIES, {"sender": session, "after": -1}, 400),
        (REPLIES, {"sender": session, "after": True}, 400), (REPLIES, {"sender": session, "after": 2**60}, 400),
        (REPLIES, b"not json", 400), (REPLIES, b'{"sender": "\xed\xa0\x80"}', 400),
        (VOTE, {"sender": forged, "answer_key": "k", "vote": "up"}, 403),
        (VOTE, {"sender": session, "answer_key": "k", "vote": "meh"}, 400),
        (VOTE, {"sender": session, "answer_key": "", "vote": "up"}, 400),
        (VOTE, {"sender": session, "answer_key": "键", "vote": "up"}, 400),
        (VOTE, {"sender": session, "answer_key": "k" * 65, "vote": "up"}, 400),
        (VOTE, {"sender": session, "answer_key": "k", "vote": "up", "answer": ["x"]}, 400),
        (VOTE, [1, 2], 400),
    ]
    for path, body, code in cases:
        status, reply = assistant.post(path, body)
        assert status == code, (path, body, status, reply)
        assert isinstance(reply, dict) and reply.get("error"), (path, body)
