"""The handoff inbox: "转人工" opens a ticket an agent sees live, claims, answers and closes;
the enterprise reads a plain sentence; work orders export as JSON and CSV; bad input is a
clear 4xx. On SQLite by default; on PostgreSQL with TEST_DATABASE_URL (scripts/test.sh --postgres)."""
from __future__ import annotations

import asyncio
import csv
import io
import json
import os

import pytest

from bot import handoff, inbox as inbox_store
from bot.assist.app import create_app
from bot.inbox import Inbox
from bot.chat import find

TOKEN = "inbox-test-token-x7"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CONVERSATION = [{"from": "user", "text": "增城区小微企业有什么贷款贴息", "at": 1764650000.0},
                {"from": "bot", "text": "按您的情况……找到3条措施", "at": 1764650001.5},
                {"from": "user", "text": "转人工", "at": 1764650010.0}]


@pytest.fixture()
def inbox_url(tmp_path, monkeypatch):
    url = os.environ.get("TEST_DATABASE_URL") or ""
    if url and not url.startswith("sqlite"):  # PostgreSQL: the same tables, emptied for each test
        from sqlalchemy import create_engine
        engine = create_engine(url, future=True)
        inbox_store.Base.metadata.drop_all(engine)
        engine.dispose()
        inbox_store._ENGINES.pop(url, None)
    else:
        url = f"sqlite:///{tmp_path / 'inbox.db'}"
    monkeypatch.setenv("INBOX_DATABASE_URL", url)
    return url


@pytest.fixture()
def hand_off(db_url, inbox_url, monkeypatch):
    """The action's work: what "转人工" does after a question about 增城区 loans."""
    monkeypatch.setenv("DATABASE_URL", db_url)

    def go(sender="widget:abc", question="增城区小微企业有什么贷款贴息", slots=None, channel="widget"):
        slots = slots if slots is not None else {"district": "增城区", "size": "小微企业"}
        shown = find(slots, question).slots.get("shown_measures") or []
        return handoff.handoff(sender, channel, slots, question, shown, CONVERSATION), shown
    return go


@pytest.fixture
async def client(aiohttp_client, db_url, inbox_url):
    return await aiohttp_client(create_app(database_url=db_url, token=TOKEN, inbox_url=inbox_url))


# ---- what the enterprise reads, what the ticket holds -----------------------------------

def test_handoff_opens_a_ticket_and_the_enterprise_reads_a_plain_sentence(hand_off, inbox_url):
    reply, shown = hand_off()
    said = "\n".join(reply.messages)
    assert "已转给人工坐席，工作时间内会回复您" in said
    assert "广州12345政务服务便民热线（12345）" in said  # the lexicon's hotline for 增城区
    assert "摘要" not in said and "企业情况" not in said  # the agent's summary is not for the enterprise
    [t] = Inbox(inbox_url).tickets("open")
    assert t["number"] in said and t["status"] == "waiting"
    full = Inbox(inbox_url).ticket(t["id"])
    assert [turn["text"] for turn in full["conversation"]] == [c["text"] for c in CONVERSATION]
    assert full["conversation"][0]["at"].endswith("+08:00")
    assert full["profile"]["district"] == "增城区" and "小型" in full["profile"]["sizes"]
    assert [m["id"] for m in full["measures"]] == [int(i) for i in shown][:5] and full["measures"]
    assert all(m["citation"].startswith("《") for m in full["measures"])
    assert "诉求：增城区小微企业有什么贷款贴息" in full["summary"] and full["measures"][0]["citation"] in full["summary"]
    assert full["created_at"].endswith("+08:00")


def test_asking_twice_keeps_one_ticket_and_others_queue_behind(hand_off, inbox_url):
    first, _ = hand_off("widget:one")
    again, _ = hand_off("widget:one")
    second, _ = hand_off("widget:two", "天河区开办企业有什么便利", {"district": "天河区"})
    assert len(Inbox(inbox_url).tickets("open")) == 2
    assert "前面还有" not in first.messages[0] and first.messages[0] == again.messages[0]
    assert "您前面还有1位在等候" in second.messages[0]


def test_no_district_gives_the_generic_hotline_not_an_invented_number(hand_off):
    reply, _ = hand_off("widget:nowhere", "有什么补贴", {})
    assert "当地12345政务服务便民热线" in reply.messages[0]


def test_inbox_down_says_so_and_gives_the_hotline(hand_off, monkeypatch, tmp_path):
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("INBOX_DATABASE_URL", f"sqlite:///{tmp_path / 'a-file' / 'inbox.db'}")  # cannot be created
    reply, _ = hand_off("widget:down")
    assert reply.messages == ["抱歉，暂时无法转接人工坐席，请直接拨打广州12345政务服务便民热线（12345）。"]


def test_markup_from_the_enterprise_is_not_stored_as_markup(hand_off, inbox_url):
    hand_off("widget:x", "<img src=x onerror=alert(1)>贷款贴息")
    [t] = Inbox(inbox_url).tickets("open")
    assert "<" not in t["question"] and "贷款贴息" in t["question"]


# ---- the console ---------------------------------------------------------------------

async def _open(hand_off, *args):
    return await asyncio.to_thread(hand_off, *args)


ROUTES = [("GET", "/api/inbox"), ("GET", "/api/inbox/stream"), ("GET", "/api/tickets/1"),
          ("POST", "/api/tickets/1/claim"), ("POST", "/api/tickets/1/reply"), ("POST", "/api/tickets/1/fields"),
          ("POST", "/api/tickets/1/close"), ("GET", "/api/tickets/1/workorder"), ("GET", "/api/workorders")]


@pytest.mark.parametrize("method, path", ROUTES)
async def test_inbox_routes_need_the_token(client, method, path):
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        resp = await client.request(method, path, headers=headers, data=b'{"agent": "a"}')
        assert resp.status == 401
        assert "令牌" in (await resp.json())["error"]


async def _read_event(resp, timeout=10.0):
    """The next SSE event (id, data) from a stream."""
    event = {}
    while True:
        line = (await asyncio.wait_for(resp.content.readline(), timeout)).decode("utf-8").rstrip("\n")
        if not line:
            if "data" in event:
                return int(event["id"]), json.loads(event["data"])
            continue
        if line.startswith(":"):
            continue
        key, _, value = line.partition(": ")
        event[key] = value


async def test_a_new_ticket_is_pushed_to_the_console_then_claimed_answered_and_closed(client, hand_off, inbox_url):
    stream = await client.get("/api/inbox/stream", headers=AUTH)
    assert stream.status == 200 and stream.content_type == "text/event-stream"
    await _open(hand_off, "widget:live")  # another process (the action server) opens it
    _, opened = await _read_event(stream)
    assert opened["kind"] == "opened" and opened["ticket"]["sender"] == "widget:live"
    tid = opened["ticket"]["id"]

    resp = await client.post(f"/api/tickets/{tid}/claim", json={"agent": "王坐席"}, headers=AUTH)
    assert resp.status == 200 and (await resp.json())["claimed_by"] == "王坐席"
    _, claimed = await _read_event(stream)
    assert claimed["kind"] == "claimed" and claimed["author"] == "王坐席"
    # another agent cannot take it or answer it
    for path, body in ((f"/api/tickets/{tid}/claim", {"agent": "李坐席"}),
                       (f"/api/tickets/{tid}/reply", {"agent": "李坐席", "text": "您好"})):
        resp = await client.post(path, json=body, headers=AUTH)
        assert resp.status == 409 and "王坐席" in (await resp.json())["error"]

    resp = await client.post(f"/api/tickets/{tid}/reply", json={"agent": "王坐席", "text": "您好，贴息请找区工信局。"},
                             headers=AUTH)
    assert resp.status == 200
    _, replied = await _read_event(stream)
    assert replied["kind"] == "agent" and replied["text"] == "您好，贴息请找区工信局。"
    # the enterprise's widget fetches it
    got = await asyncio.to_thread(Inbox(inbox_url).replies_for, "widget:live", 0)
    assert [r["text"] for r in got["replies"]] == ["您好，贴息请找区工信局。"] and got["open"]["status"] == "claimed"

    resp = await client.post(f"/api/tickets/{tid}/fields", headers=AUTH,
                             json={"agent": "王坐席", "caller_name": "陈先生", "caller_phone": "020-8888 1234",
                                   "category": "政策咨询"})
    assert resp.status == 200
    resp = await client.post(f"/api/tickets/{tid}/close", json={"agent": "王坐席", "outcome": "已解答"}, headers=AUTH)
    assert resp.status == 200 and (await resp.json())["status"] == "closed"
    got = await asyncio.to_thread(Inbox(inbox_url).replies_for, "widget:live", replied["id"])
    assert [r["kind"] for r in got["replies"]] == ["closed"] and got["open"] is None
    resp = await client.post(f"/api/tickets/{tid}/reply", json={"agent": "王坐席", "text": "补充"}, headers=AUTH)
    assert resp.status == 409
    stream.close()

    wo = await (await client.get(f"/api/tickets/{tid}/workorder", headers=AUTH)).json()
    assert wo["ticket_number"] == opened["ticket"]["number"] and wo["caller_name"] == "陈先生"
    assert wo["caller_phone"] == "020-8888 1234" and wo["category"] == "政策咨询" and wo["outcome"] == "已解答"
    assert wo["created_at"].endswith("+08:00") and wo["closed_at"].endswith("+08:00")
    assert wo["measures"] and all(m["citation"] for m in wo["measures"])
    resp = await client.get(f"/api/tickets/{tid}/workorder?format=csv", headers=AUTH)
    assert resp.status == 200 and resp.content_type == "text/csv"
    rows = list(csv.DictReader(io.StringIO((await resp.read()).decode("utf-8-sig"))))
    assert rows[0]["工单编号"] == wo["ticket_number"] and rows[0]["办理结果"] == "已解答"
    assert rows[0]["联系电话"] == "020-8888 1234" and "《" in rows[0]["已告知措施（出处）"]
    assert rows[0]["坐席答复"] == "1. 您好，贴息请找区工信局。"
    allcsv = await client.get("/api/workorders?format=csv", headers=AUTH)
    assert len(list(csv.DictReader(io.StringIO((await allcsv.read()).decode("utf-8-sig"))))) == 1


async def test_stream_resumes_after_last_event_id(client, hand_off):
    await _open(hand_off, "widget:a")
    await _open(hand_off, "widget:b", "天河区开办企业", {"district": "天河区"})
    stream = await client.get("/api/inbox/stream", headers={**AUTH, "Last-Event-ID": "1"})
    _, second = await _read_event(stream)
    assert second["ticket"]["sender"] == "widget:b"
    stream.close()


async def test_caller_history_shows_the_earlier_tickets(client, hand_off):
    await _open(hand_off, "widget:again")
    [first] = (await (await client.get("/api/inbox", headers=AUTH)).json())["tickets"]
    resp = await client.post(f"/api/tickets/{first['id']}/close", json={"agent": "王", "outcome": "已转办"}, headers=AUTH)
    assert resp.status == 200  # closing a ticket nobody claimed (a duplicate, a hang-up) is allowed
    await _open(hand_off, "widget:again", "天河区开办企业", {"district": "天河区"})
    listed = (await (await client.get("/api/inbox", headers=AUTH)).json())["tickets"]
    assert [t["sender"] for t in listed] == ["widget:again"]  # open ones only by default
    t = await (await client.get(f"/api/tickets/{listed[0]['id']}", headers=AUTH)).json()
    assert [h["number"] for h in t["history"]] == [first["number"]] and t["history"][0]["outcome"] == "已转办"
    assert t["history"][0]["conversation"]


async def test_the_enterprise_writing_while_the_ticket_is_open_reaches_the_agent(client, hand_off, inbox_url):
    await _open(hand_off, "widget:talk")
    got = await asyncio.to_thread(Inbox(inbox_url).customer_message, "widget:talk", "我的电话是020-1234")
    assert got is not None
    assert await asyncio.to_thread(Inbox(inbox_url).customer_message, "widget:other", "你好") is None
    [t] = (await (await client.get("/api/inbox", headers=AUTH)).json())["tickets"]
    full = await (await client.get(f"/api/tickets/{t['id']}", headers=AUTH)).json()
    assert [e["text"] for e in full["events"] if e["kind"] == "customer"] == ["我的电话是020-1234"]


@pytest.mark.parametrize("method, path, body, status", [
    ("GET", "/api/tickets/abc", None, 404),
    ("GET", "/api/tickets/99999", None, 404),
    ("GET", "/api/tickets/１", None, 404),
    ("GET", "/api/tickets/1/workorder?format=xml", None, 400),
    ("GET", "/api/inbox?status=deleted", None, 400),
    ("GET", "/api/workorders?status=x", None, 400),
    ("GET", "/api/inbox/stream?after=-1", None, 400),
    ("POST", "/api/tickets/1/claim", b"", 400),
    ("POST", "/api/tickets/1/claim", b"\xff\xfe", 400),
    ("POST", "/api/tickets/1/claim", b"[1]", 400),
    ("POST", "/api/tickets/1/claim", {}, 400),
    ("POST", "/api/tickets/1/claim", {"agent": 7}, 400),
    ("POST", "/api/tickets/1/claim", {"agent": "坐" * 40}, 400),
    ("POST", "/api/tickets/1/reply", {"agent": "王"}, 400),
    ("POST", "/api/tickets/1/reply", {"agent": "王", "text": ["x"]}, 400),
    ("POST", "/api/tickets/1/reply", {"agent": "王", "text": "长" * 1001}, 413),
    ("POST", "/api/tickets/1/close", {"agent": "王"}, 400),
    ("POST", "/api/tickets/1/close", {"agent": "王", "outcome": "随便"}, 400),
    ("POST", "/api/tickets/1/fields", {"agent": "王", "caller_phone": "=cmd|' /C calc'!A0"}, 400),
    ("POST", "/api/tickets/1/fields", {"agent": "王", "category": "闲聊"}, 400),
    ("POST", "/api/tickets/99999/claim", {"agent": "王"}, 404),
])
async def test_bad_input_is_a_clear_4xx(client, hand_off, method, path, body, status):
    await _open(hand_off, "widget:bad")
    kw = {"data": body} if isinstance(body, bytes) else ({"json": body} if body is not None else {})
    resp = await client.request(method, path, headers=AUTH, **kw)
    assert resp.status == status, await resp.text()
    assert (await resp.json())["error"]


async def test_reply_to_a_waiting_ticket_asks_to_claim_first_and_markup_is_dropped(client, hand_off, inbox_url):
    await _open(hand_off, "widget:m")
    [t] = (await (await client.get("/api/inbox", headers=AUTH)).json())["tickets"]
    resp = await client.post(f"/api/tickets/{t['id']}/reply", json={"agent": "王", "text": "好"}, headers=AUTH)
    assert resp.status == 409 and "接单" in (await resp.json())["error"]
    await client.post(f"/api/tickets/{t['id']}/claim", json={"agent": "王"}, headers=AUTH)
    resp = await client.post(f"/api/tickets/{t['id']}/reply", json={"agent": "王", "text": "<b>请</b>拨打"}, headers=AUTH)
    assert (await resp.json())["event"]["text"] == "请拨打"


async def test_csv_cells_cannot_be_formulas(client, hand_off):
    await _open(hand_off, "widget:csv")
    [t] = (await (await client.get("/api/inbox", headers=AUTH)).json())["tickets"]
    await client.post(f"/api/tickets/{t['id']}/fields", json={"agent": "王", "caller_name": "=HYPERLINK(1)"},
                      headers=AUTH)
    rows = list(csv.reader(io.StringIO((await (await client.get(
        f"/api/tickets/{t['id']}/workorder?format=csv", headers=AUTH)).read()).decode("utf-8-sig"))))
    assert rows[1][rows[0].index("来电人")] == "'=HYPERLINK(1)"


def test_votes_are_kept_with_the_conversation_and_a_second_vote_changes_the_first(inbox_url):
    box = Inbox(inbox_url)
    box.vote(sender="widget:v", channel="widget", answer_key="a1", answer_text="答", question="问", vote="up")
    box.vote(sender="widget:v", channel="widget", answer_key="a1", answer_text="答", question="问", vote="down")
    assert [(v["answer_key"], v["vote"]) for v in box.votes("widget:v")] == [("a1", "down")]
    with pytest.raises(inbox_store.InboxError):
        box.vote(sender="widget:v", channel="widget", answer_key="a2", answer_text="", question="", vote="meh")


async def test_a_ticket_shows_the_sender_s_earlier_conversations_from_the_tracker_store(aiohttp_client, db_url,
                                                                                        inbox_url, tmp_path):
    """Caller history beyond tickets: the agent on a ticket sees what this sender asked in earlier
    sessions (as Rasa's own SQLTrackerStore stored them), not other senders' and not this one's."""
    import time

    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import BotUttered, SessionStarted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    tracker_db = tmp_path / "tracker.db"
    store = SQLTrackerStore(Domain.load("domain.yml"), dialect="sqlite", db=str(tracker_db))
    t0 = time.time() - 3 * 86400
    tr = DialogueStateTracker("wx-caller", None)
    for ts, ev in ((t0, SessionStarted()), (t0 + 1, UserUttered("天河区开公司要几天")), (t0 + 2, BotUttered("关于“开公司”…")),
                   (t0 + 86400, SessionStarted()), (t0 + 86401, UserUttered("增城区贷款贴息")),
                   (t0 + 86402, UserUttered('/inform{"size": "小型"}'))):
        ev.timestamp = ts
        tr.update(ev)
    await store.save(tr)
    other = DialogueStateTracker("someone-else", None)
    other.update(UserUttered("别人的问题"))
    await store.save(other)

    t = handoff.handoff("wx-caller", "wechat", {"district": "增城区"}, "增城区贷款贴息", [],
                        [{"from": "user", "text": "转人工", "at": time.time()}], inbox=Inbox(inbox_url))
    tid = next(x["id"] for x in Inbox(inbox_url).tickets("all") if x["sender"] == "wx-caller")
    client = await aiohttp_client(create_app(database_url=db_url, token=TOKEN, inbox_url=inbox_url,
                                             tracker_url=f"sqlite:///{tracker_db}"))
    resp = await client.get(f"/api/tickets/{tid}", headers=AUTH)
    assert resp.status == 200 and "工单号" in t.messages[0]
    earlier = (await resp.json())["earlier_conversations"]
    assert [[m["text"] for m in c["messages"]] for c in earlier] == [["增城区贷款贴息"], ["天河区开公司要几天", "关于“开公司”…"]]
    assert earlier[1]["messages"][0]["from"] == "user" and earlier[1]["started"].endswith("+08:00")

    broken = await aiohttp_client(create_app(database_url=db_url, token=TOKEN, inbox_url=inbox_url,
                                             tracker_url="postgresql://nobody@127.0.0.1:1/none"))
    resp = await broken.get(f"/api/tickets/{tid}", headers=AUTH)
    assert resp.status == 200 and (await resp.json())["earlier_conversations"] == []  # the ticket still shows
