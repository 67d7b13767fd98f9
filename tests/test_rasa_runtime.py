"""The runtime pieces Rasa is started with: the cached SQL tracker store, the launcher's
validation fix and its sequential graph runner. Each must behave exactly like the stock
Rasa part it speeds up, and a server the launcher starts must really use them."""
from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.runtime.launch import patch_action_result_validation
from bot.runtime.tracker_store import CachedSQLTrackerStore

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def domain():
    return Domain.load(str(ROOT / "domain.yml"))


def _events(tracker):
    return [e.as_dict() for e in tracker.events]


def _turn(tracker, text, district=None):
    """What Rasa appends for one message: the user event, an action, maybe a slot, listen."""
    tracker.update(UserUttered(text, {"name": "ask_measures", "confidence": 1.0}))
    tracker.update(ActionExecuted("action_find_measures"))
    if district:
        tracker.update(SlotSet("district", district))
    tracker.update(ActionExecuted("action_listen"))


def _start_session(tracker):
    tracker.update(ActionExecuted("action_session_start"))
    tracker.update(SessionStarted())
    tracker.update(ActionExecuted("action_listen"))


async def _stock_view(path, domain, sender):
    return await SQLTrackerStore(domain, dialect="sqlite", db=str(path)).retrieve(sender)


async def test_cached_store_reads_back_what_stock_rasa_would(tmp_path, domain):
    db = tmp_path / "tracker.db"
    store = CachedSQLTrackerStore(domain, dialect="sqlite", db=str(db))
    tracker = await store.get_or_create_tracker("u1")
    _start_session(tracker)
    _turn(tracker, "增城区有什么补贴", "增城区")
    await store.save(tracker)
    for i, text in enumerate(["第1条详细说说", "这个找谁", "那天河区呢"]):
        cached = await store.retrieve("u1")
        stock = await _stock_view(db, domain, "u1")
        assert _events(cached) == _events(stock), f"turn {i}: cache differs from the database"
        _turn(cached, text, "天河区" if "天河" in text else None)
        await store.save(cached)
    # a new session (after the session expired): both read back only the latest session
    tracker = await store.retrieve("u1")
    time.sleep(0.01)
    _start_session(tracker)
    _turn(tracker, "海珠区呢", "海珠区")
    await store.save(tracker)
    cached, stock = await store.retrieve("u1"), await _stock_view(db, domain, "u1")
    assert _events(cached) == _events(stock)
    assert [e["text"] for e in _events(cached) if e["event"] == "user"] == ["海珠区呢"]
    assert cached.get_slot("district") == "海珠区"


async def test_every_event_is_in_the_database_before_save_returns(tmp_path, domain):
    """A restart (a new store on the same file) loses nothing."""
    db = tmp_path / "tracker.db"
    store = CachedSQLTrackerStore(domain, dialect="sqlite", db=str(db))
    tracker = await store.get_or_create_tracker("u2")
    _start_session(tracker)
    for text in ["你好", "增城区小微企业", "更多"]:
        _turn(tracker, text)
        await store.save(tracker)
        tracker = await store.retrieve("u2")
    restarted = CachedSQLTrackerStore(domain, dialect="sqlite", db=str(db))
    again = await restarted.retrieve("u2")
    assert [e.text for e in again.events if isinstance(e, UserUttered)] == ["你好", "增城区小微企业", "更多"]
    assert _events(again) == _events(tracker)


async def test_a_turn_that_never_saved_is_not_served_from_the_cache(tmp_path, domain):
    db = tmp_path / "tracker.db"
    store = CachedSQLTrackerStore(domain, dialect="sqlite", db=str(db))
    tracker = await store.get_or_create_tracker("u3")
    _start_session(tracker)
    _turn(tracker, "增城区有什么补贴")
    await store.save(tracker)
    failed = await store.retrieve("u3")
    _turn(failed, "这一轮出错了，没有保存")  # e.g. an exception inside Rasa before save
    nxt = await store.retrieve("u3")
    assert "这一轮出错了，没有保存" not in [e.text for e in nxt.events if isinstance(e, UserUttered)]
    assert _events(nxt) == _events(await _stock_view(db, domain, "u3"))


async def test_evicted_and_foreign_trackers_are_saved_correctly(tmp_path, domain):
    db = tmp_path / "tracker.db"
    store = CachedSQLTrackerStore(domain, dialect="sqlite", db=str(db), cache_size=1)
    trackers = {}
    for sender in ["a", "b", "c"]:  # cache of one: a and b are evicted
        t = await store.get_or_create_tracker(sender)
        _start_session(t)
        _turn(t, f"{sender} 第一句")
        await store.save(t)
    for sender in ["a", "b", "c"]:
        t = await store.retrieve(sender)
        _turn(t, f"{sender} 第二句")
        await store.save(t)
        trackers[sender] = t
    # a tracker the store did not hand out (as the HTTP API's "replace events" builds): no duplicates
    foreign = DialogueStateTracker.from_dict("a", _events(trackers["a"]), domain.slots)
    _turn(foreign, "a 第三句")
    await store.save(foreign)
    for sender in ["a", "b", "c"]:
        stock = await _stock_view(db, domain, sender)
        texts = [e.text for e in stock.events if isinstance(e, UserUttered)]
        assert texts == [f"{sender} 第一句", f"{sender} 第二句"] + (["a 第三句"] if sender == "a" else [])


def test_cache_switches_off_with_several_sanic_workers(tmp_path, domain, monkeypatch):
    monkeypatch.setenv("SANIC_WORKERS", "2")
    store = CachedSQLTrackerStore(domain, dialect="sqlite", db=str(tmp_path / "t.db"))
    assert store.cache_size == 0

    async def go():
        t = await store.get_or_create_tracker("w")
        _start_session(t)
        _turn(t, "增城区")
        await store.save(t)
        assert await store.retrieve("w") is not t  # read from SQL every time
    asyncio.run(go())


VALID = {"events": [{"event": "slot", "name": "district", "value": "增城区"}],
         "responses": [{"text": "1. 贷款贴息"}]}
INVALID = [
    {"events": "not a list"},
    {"events": [{"name": "district"}]},  # no "event" key
    {"events": [{"event": "slot", "name": "district", "value": "x", "timestamp": "yesterday"}]},
    {"events": [], "responses": "text"},
]


def test_launcher_validation_accepts_and_rejects_exactly_what_rasa_does(monkeypatch):
    stock = RemoteAction._validate_action_result
    action = RemoteAction("action_find_measures", None)
    stock_verdicts = []
    for payload in [VALID] + INVALID:
        try:
            stock_verdicts.append(stock(action, payload))
        except ValidationError:
            stock_verdicts.append("rejected")
    assert stock_verdicts == [True] + ["rejected"] * len(INVALID)

    monkeypatch.setattr(RemoteAction, "_validate_action_result", stock)  # restored after the test
    patch_action_result_validation()
    assert RemoteAction._validate_action_result is not stock
    assert action._validate_action_result(VALID) is True
    for payload in INVALID:
        with pytest.raises(ValidationError, match="Failed to validate Action server response"):
            action._validate_action_result(payload)


# --------------------------------------------------------------------------- graph runner
# What the runner is compared on: the bench's conversations plus awkward input.
CONVERSATIONS = [
    ["增城区小微企业有什么贷款贴息", "跳过", "第1条详细说说", "这个找谁", "还有效吗", "那天河区呢", "更多"],
    ["你好", "海珠區個體戶有冇社保補貼？？", "转人工", "谢谢"],
    ["", "😀😀", "'; DROP TABLE measures; --", "我们30个人年营收300万算小型企业吗", "拜拜"],
]


def _sequential_twin(dask_runner):
    """A SequentialGraphRunner over the very same loaded nodes (loading the model twice
    would double the test's time and compare two loads rather than two schedulers)."""
    from bot.runtime.graph_runner import SequentialGraphRunner

    twin = SequentialGraphRunner.__new__(SequentialGraphRunner)
    twin.__dict__.update(dask_runner.__dict__)
    twin._orders = {}
    return twin


@pytest.mark.slow
async def test_sequential_runner_gives_what_dask_gives(trained_processor):
    """Same parses (intent ranking, entities, confidences) and same next-action
    predictions, turn by turn, as Rasa's DaskGraphRunner on the same model."""
    from rasa.core.channels import UserMessage
    from rasa.engine.runner.dask import DaskGraphRunner

    processor = trained_processor
    dask_runner = processor.graph_runner
    assert type(dask_runner) is DaskGraphRunner
    seq_runner = _sequential_twin(dask_runner)
    predictions = 0
    try:
        for n, script in enumerate(CONVERSATIONS):
            sender = f"runner-{n}"
            for text in script:
                message = UserMessage(text, sender_id=sender)
                processor.graph_runner = dask_runner
                stock_parse = await processor.parse_message(message)
                processor.graph_runner = seq_runner
                assert await processor.parse_message(message) == stock_parse, text
                tracker = await processor.log_message(message)  # parses again (sequential) and stores the turn
                for _ in range(4):  # the actions Rasa would run before listening again
                    processor.graph_runner = dask_runner
                    stock = processor._predict_next_with_tracker(tracker)
                    processor.graph_runner = seq_runner
                    ours = processor._predict_next_with_tracker(tracker)
                    assert (ours.max_confidence_index, ours.probabilities, ours.policy_name, ours.events) == \
                           (stock.max_confidence_index, stock.probabilities, stock.policy_name, stock.events), text
                    predictions += 1
                    action = processor.domain.action_names_or_texts[stock.max_confidence_index]
                    if action == "action_listen":
                        break
                    tracker.update(ActionExecuted(action, policy=stock.policy_name,
                                                  confidence=max(stock.probabilities)))
                tracker.update(ActionExecuted("action_listen"))
    finally:
        processor.graph_runner = dask_runner  # the processor is shared by the session's tests
    assert predictions >= 20


#: Run in a child process: the launcher's own entry point with a real command line, up to
#: the moment the Sanic server has started and Rasa has loaded the agent; then report the
#: classes the running app holds and stop the server. Only ``Sanic.run`` is wrapped (to add
#: that listener): everything before it — Rasa's CLI, serve_application, configure_app,
#: load_agent_on_start — is what `make run` runs.
_PROBE = r'''
import json, sys
import sanic
from bot.runtime import launch

seen = {}
_run = sanic.Sanic.run

def _name(obj):
    return type(obj).__module__ + "." + type(obj).__qualname__

def run(app, *args, **kwargs):
    @app.listener("after_server_start")
    async def report(app, loop):
        agent = app.ctx.agent
        store = agent.tracker_store
        seen["graph_runner"] = _name(agent.processor.graph_runner)
        seen["tracker_store"] = _name(getattr(store, "_tracker_store", store))  # Rasa wraps it
        app.stop()
    return _run(app, *args, **kwargs)

sanic.Sanic.run = run
try:
    launch.main(sys.argv[1:])
except SystemExit:
    pass
print("REPORT " + json.dumps(seen))
'''


@pytest.mark.slow
def test_a_server_started_by_the_launcher_runs_the_sequential_runner_and_the_cached_store(tmp_path):
    """The replacements apply by patching Rasa's module globals; a Rasa upgrade that loads
    models or tracker stores another way would silently serve stock Rasa again (slower,
    same answers: no other test would notice). Here the launcher starts a real server on
    the production endpoints and the loaded agent must hold our classes."""
    import json
    import os
    import subprocess
    import sys

    import yaml

    from tests.servers import MODEL, free_port, project_endpoints

    if not MODEL.exists():
        pytest.skip("no trained model (run scripts/test.sh)")
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(yaml.safe_dump(project_endpoints("http://127.0.0.1:9/webhook", tmp_path / "tracker.db")),
                         encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(ROOT), RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run([sys.executable, "-c", _PROBE, "run", "-m", str(MODEL), "--port", str(free_port()),
                           "--endpoints", str(endpoints)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)
    reports = [line for line in done.stdout.splitlines() if line.startswith("REPORT ")]
    assert reports, (done.stdout + done.stderr)[-3000:]
    assert json.loads(reports[-1][len("REPORT "):]) == {
        "graph_runner": "bot.runtime.graph_runner.SequentialGraphRunner",
        "tracker_store": "bot.runtime.tracker_store.CachedSQLTrackerStore",
    }


LONG_CONVERSATION = ["增城区小微企业有什么贷款贴息", "第1条详细说说", "这个找谁", "还有效吗", "那天河区呢", "更多",
                     "第2条详细说说", "这个找哪个部门", "我们是做餐饮的", "有什么社保补贴", "更多", "第1条详细说说",
                     "这个还有效吗"]


@pytest.mark.slow
def test_a_session_cut_by_length_answers_exactly_as_one_long_session(tmp_path, monkeypatch, db_url, assistant):
    """With MAX_SESSION_TURNS=3 a new session starts before every 4th message (slots carried
    over); the enterprise reads the same replies, turn by turn, as in the shared assistant's
    one session (limit 30), follow-ups across the cut included; Rasa's own store loads only
    the latest session, which holds the profile."""
    from tests.servers import Assistant

    monkeypatch.setenv("MAX_SESSION_TURNS", "3")
    short = Assistant(tmp_path, db_url)
    try:
        sender = f"long-{time.time_ns()}"
        for n, text in enumerate(LONG_CONVERSATION, 1):
            assert short.say(sender, text) == assistant.say(sender, text), f"turn {n}: {text}"
    finally:
        short.stop()
    domain = Domain.load(str(ROOT / "domain.yml"))
    cut = asyncio.run(SQLTrackerStore(domain, dialect="sqlite", db=str(tmp_path / "tracker.db")).retrieve(sender))
    whole = asyncio.run(SQLTrackerStore(domain, dialect="sqlite", db=str(assistant.tmp / "tracker.db")).retrieve(sender))
    assert sum(isinstance(e, UserUttered) for e in cut.events) == (len(LONG_CONVERSATION) % 3 or 3)
    assert sum(isinstance(e, UserUttered) for e in whole.events) == len(LONG_CONVERSATION)
    assert cut.current_slot_values() == whole.current_slot_values()
    assert cut.get_slot("district") and cut.get_slot("shown_measures")


async def test_the_two_step_session_query_reads_what_stock_reads(tmp_path, domain):
    """GuardedSQLTrackerStore's latest-session query (start first, then the events from it: no
    nested loop on PostgreSQL) gives stock's rows, in stock's order, and the (sender_id,
    timestamp) index is there."""
    import sqlalchemy as sa

    from bot.runtime.tracker_store import SESSION_INDEX, GuardedSQLTrackerStore

    path = tmp_path / "t.db"
    ours = GuardedSQLTrackerStore(domain, dialect="sqlite", db=str(path))
    tracker = DialogueStateTracker("s-1", domain.slots)
    for n in range(3):
        _start_session(tracker)
        for k in range(3):
            _turn(tracker, f"第{n}段第{k}问", district="增城区" if k == 1 else None)
    await ours.save(tracker)
    other = DialogueStateTracker("s-2", domain.slots)
    _turn(other, "没有会话开始的对话")
    await ours.save(other)
    stock = SQLTrackerStore(domain, dialect="sqlite", db=str(path))
    for sender in ("s-1", "s-2", "nobody"):
        with ours.session_scope() as a, stock.session_scope() as b:
            got = [e.id for e in ours._event_query(a, sender, fetch_events_from_all_sessions=False)]
            want = [e.id for e in SQLTrackerStore._event_query(stock, b, sender, fetch_events_from_all_sessions=False)]
        assert got == want, sender
    latest = await ours.retrieve("s-1")
    assert _events(latest) == _events(await _stock_view(path, domain, "s-1"))
    assert sum(isinstance(e, UserUttered) for e in latest.events) == 3 and latest.get_slot("district") == "增城区"
    names = {i["name"] for i in sa.inspect(ours.engine).get_indexes("events")}
    assert SESSION_INDEX in names
