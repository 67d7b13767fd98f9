"""The trainers' tools: the review page's API (bot/assist/review_api.py, bot/review.py), the two
roles' tokens, and the training-data checks ``make nlu-report`` fails on (bot/trainingdata.py).

Conversations are written with Rasa's own SQLTrackerStore, so the review reads what a running
assistant stores; tests/test_trainer_e2e.py does the same from a real REST conversation."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot import nlu_report, trainingdata
from bot.assist.app import create_app
from bot.inbox import Inbox

AGENT = "agent-token-Zq81"
TRAINER = "trainer-token-Wm42"
ROOT = trainingdata.ROOT


def _parse(text, intent, confidence, entities=()):
    ranking = [{"name": intent, "confidence": confidence}]
    if intent == "nlu_fallback":
        ranking.append({"name": "ask_measures", "confidence": 0.31})
    return {"text": text, "intent": {"name": intent, "confidence": confidence}, "intent_ranking": ranking,
            "entities": [dict(e) for e in entities]}


async def _store_conversation(db: Path, sender: str, turns):
    """Turns (text, intent, confidence, entities) saved by Rasa's SQLTrackerStore, as `rasa run` does."""
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker
    store = SQLTrackerStore(Domain.load(str(ROOT / "domain.yml")), dialect="sqlite", db=str(db))
    tracker = await store.retrieve(sender) or DialogueStateTracker(sender, None)
    for text, intent, conf, ents in turns:
        tracker.update(UserUttered(text, _parse(text, intent, conf, ents)["intent"], list(ents),
                                   parse_data=_parse(text, intent, conf, ents), input_channel="rest"))
    await store.save(tracker)


@pytest.fixture
async def world(tmp_path, db_url, aiohttp_client):
    tracker = tmp_path / "tracker.db"
    inbox = f"sqlite:///{tmp_path / 'inbox.db'}"
    await _store_conversation(tracker, "u-low-2", [("中型", "inform", 0.44, [])])  # older: the newest is shown
    await _store_conversation(tracker, "u-low", [
        ("中型", "inform", 0.41, [{"start": 0, "end": 2, "entity": "size", "value": "中型", "extractor": "DIETClassifier"},
                                 {"start": 0, "end": 2, "entity": "size", "value": "中型", "extractor": "RegexEntityExtractor"}]),
        ("增城区小微企业有什么贷款贴息政策", "ask_measures", 0.97, []),  # understood: not listed
        ('/inform{"size": "小型"}', "inform", 1.0, []),                  # a button: not listed
    ])
    await _store_conversation(tracker, "u-fallback", [("咋整啊这个", "nlu_fallback", 0.4, [])])
    await _store_conversation(tracker, "u-vote", [("天河区有什么租金减免", "ask_measures", 0.93, [])])
    await _store_conversation(tracker, "u-handoff", [("你们这个跟没说一样", "deny", 0.88, []),
                                                     ("转人工", "human_handoff", 0.99, [])])
    box = Inbox(inbox)
    box.vote(sender="u-vote", channel="widget", answer_key="a1", answer_text="…", question="天河区有什么租金减免",
             vote="down")
    box.open_ticket(sender="u-handoff", channel="rest", question="转人工", profile={}, conversation=[], measures=[],
                    summary="", hotline=None)
    reviewed = tmp_path / "data" / "nlu_reviewed.yml"

    async def client():
        return await aiohttp_client(create_app(database_url=db_url, token=AGENT, trainer_token=TRAINER,
                                               inbox_url=inbox, tracker_url=f"sqlite:///{tracker}",
                                               review_file=str(reviewed)))
    return {"client": client, "reviewed": reviewed, "tracker": tracker}


def T(token=TRAINER):
    return {"Authorization": f"Bearer {token}"}


async def listing(c, reason="all"):
    resp = await c.get(f"/api/review/messages?reason={reason}", headers=T())
    assert resp.status == 200, await resp.text()
    return await resp.json()


# ---- tokens ----------------------------------------------------------------------------

async def test_each_role_only_its_own_pages(world):
    c = await world["client"]()
    # the agents' token: refused on the trainers' API, with a sentence saying which token to use
    for method, path in (("GET", "/api/review/messages"), ("POST", "/api/review/decisions"),
                         ("GET", "/api/review/decisions")):
        resp = await c.request(method, path, headers=T(AGENT), json={})
        assert resp.status == 403, path
        assert "训练员令牌" in (await resp.json())["error"]
    # the trainers' token: refused on every agent API
    for method, path in (("GET", "/api/vocabulary"), ("POST", "/api/measures"), ("GET", "/api/inbox"),
                         ("GET", "/api/workorders"), ("GET", "/api/inbox/stream")):
        resp = await c.request(method, path, headers=T(TRAINER), json={"text": "x"})
        assert resp.status == 403, path
        assert "坐席令牌" in (await resp.json())["error"]
    # and through ?token= the same
    assert (await c.get(f"/api/vocabulary?token={TRAINER}")).status == 403
    assert (await c.get(f"/api/review/messages?token={AGENT}")).status == 403
    # no token or a wrong one: nothing, as before
    for headers in ({}, T("wrong")):
        assert (await c.get("/api/review/messages", headers=headers)).status == 401
    # each with its own: data
    assert (await c.get("/api/vocabulary", headers=T(AGENT))).status == 200
    assert (await c.get("/api/review/messages", headers=T(TRAINER))).status == 200
    # the page itself is public (it asks for the token), like the agents' console
    page = await c.get("/review")
    assert page.status == 200 and "训练员令牌" in await page.text()


def test_the_two_tokens_must_differ(db_url):
    with pytest.raises(RuntimeError, match="must differ"):
        create_app(database_url=db_url, token="same-token", trainer_token="same-token")


# ---- the review list ------------------------------------------------------------------------

async def test_review_lists_what_the_model_misread(world):
    c = await world["client"]()
    data = await listing(c)
    rows = {r["text"]: r for r in data["messages"]}
    assert set(rows) == {"中型", "咋整啊这个", "天河区有什么租金减免", "你们这个跟没说一样"}
    low = rows["中型"]
    assert low["reasons"] == ["low_confidence"] and low["count"] == 2  # two conversations, one row
    assert low["intent"] == "inform" and low["confidence"] < 0.6
    assert [(e["text"], e["entity"]) for e in low["entities"]] == [("中型", "size")]  # one per span
    fb = rows["咋整啊这个"]
    assert fb["reasons"] == ["fallback"] and fb["guess"]["intent"] == "ask_measures"
    assert rows["天河区有什么租金减免"]["reasons"] == ["down_vote"]
    assert rows["你们这个跟没说一样"]["reasons"] == ["handoff"]
    assert data["counts"] == {"low_confidence": 1, "fallback": 1, "down_vote": 1, "handoff": 1}
    assert [r["text"] for r in (await listing(c, "fallback"))["messages"]] == ["咋整啊这个"]
    assert "human_handoff" in data["intents"] and "size" in data["entities"]
    assert (await c.get("/api/review/messages?reason=nope", headers=T())).status == 400


async def test_correction_lands_in_the_yaml_and_is_not_listed_again(world):
    c = await world["client"]()
    resp = await c.post("/api/review/decisions", headers=T(), json={
        "text": "中型", "action": "add", "intent": "inform",
        "entities": [{"start": 0, "end": 2, "entity": "size"}], "reviewer": "王训练"})
    assert resp.status == 200, await resp.text()
    out = await resp.json()
    assert out["line"] == "[中型](size)" and out["intent"] == "inform"
    # the file: Rasa YAML that Rasa's own loader reads back as this example
    doc = yaml.safe_load(world["reviewed"].read_text(encoding="utf-8"))
    assert doc["nlu"] == [{"intent": "inform", "examples": "- [中型](size)\n"}]
    from rasa.shared.nlu.training_data.loading import load_data
    [ex] = load_data(str(world["reviewed"])).intent_examples
    assert ex.get("text") == "中型" and ex.get("intent") == "inform"
    assert [(e["start"], e["end"], e["entity"]) for e in ex.get("entities")] == [(0, 2, "size")]
    # out of scope: an example of that intent; dismissed: nothing written
    r2 = await c.post("/api/review/decisions", headers=T(), json={"text": "你们这个跟没说一样", "action": "out_of_scope"})
    assert r2.status == 200, await r2.text()
    r3 = await c.post("/api/review/decisions", headers=T(), json={"text": "咋整啊这个", "action": "dismiss"})
    assert r3.status == 200 and (await r3.json())["line"] is None
    doc = yaml.safe_load(world["reviewed"].read_text(encoding="utf-8"))
    assert {b["intent"]: b["examples"] for b in doc["nlu"]} == {"inform": "- [中型](size)\n",
                                                                "out_of_scope": "- 你们这个跟没说一样\n"}
    # reviewed sentences are gone from the list, also for a console started afresh (stored, not in memory)
    c2 = await world["client"]()
    assert [r["text"] for r in (await listing(c2))["messages"]] == ["天河区有什么租金减免"]
    history = await (await c2.get("/api/review/decisions", headers=T())).json()
    assert [d["action"] for d in history["decisions"]] == ["dismissed", "out_of_scope", "added"]
    assert history["decisions"][2]["reviewer"] == "王训练"
    # twice: a clear 409
    again = await c2.post("/api/review/decisions", headers=T(), json={"text": "中型", "action": "dismiss"})
    assert again.status == 409 and "已审核" in (await again.json())["error"]


@pytest.mark.parametrize("body, status, words", [
    ({"text": "增城有什么贷款贴息", "action": "add", "intent": "ask_measures",
      "entities": [{"start": 5, "end": 7, "entity": "topic"}]}, 400, "分词边界"),        # 贷款 inside 贷款贴息
    ({"text": "火星区有什么补贴", "action": "add", "intent": "ask_measures",
      "entities": [{"start": 0, "end": 3, "entity": "district"}]}, 400, "bot/lexicon.yml"),
    ({"text": "中型", "action": "add", "intent": "no_such_intent"}, 400, "意图"),
    ({"text": "中型", "action": "add", "intent": "inform",
      "entities": [{"start": 0, "end": 9, "entity": "size"}]}, 400, "实体"),
    ({"text": "中型", "action": "add", "intent": "inform",
      "entities": [{"start": 0, "end": 2, "entity": "colour"}]}, 400, "实体类型"),
    ({"text": "中型", "action": "publish"}, 400, "action"),
    ({"text": "  ", "action": "dismiss"}, 400, "原句"),
    ({"text": "看[这个](topic)", "action": "out_of_scope"}, 400, "标注格式"),
    ({"text": "你好", "action": "add", "intent": "greet"}, 409, "已在训练数据中"),
])
async def test_bad_corrections_are_refused_with_the_reason(world, body, status, words):
    c = await world["client"]()
    resp = await c.post("/api/review/decisions", headers=T(), json=body)
    assert resp.status == status, await resp.text()
    assert words in (await resp.json())["error"]
    assert not world["reviewed"].exists()


async def test_a_held_out_sentence_is_never_added(world):
    c = await world["client"]()
    sentence = sorted(trainingdata.held_out_texts())[0]
    resp = await c.post("/api/review/decisions", headers=T(), json={"text": sentence, "action": "out_of_scope"})
    assert resp.status == 409 and "留出测试集" in (await resp.json())["error"]
    assert not world["reviewed"].exists()


async def test_no_conversations_yet_is_an_empty_list(tmp_path, db_url, aiohttp_client):
    c = await aiohttp_client(create_app(database_url=db_url, token=AGENT, trainer_token=TRAINER,
                                        inbox_url=f"sqlite:///{tmp_path / 'i.db'}",
                                        tracker_url=f"sqlite:///{tmp_path / 'missing.db'}",
                                        review_file=str(tmp_path / "r.yml")))
    data = await listing(c)
    assert data["messages"] == [] and data["total"] == 0
    assert not (tmp_path / "missing.db").exists()  # read-only: never created


# ---- nlu-report fails loudly ------------------------------------------------------------------

BAD = {
    "misaligned": ("- intent: ask_measures\n  examples: |\n    - 增城有什么[贷款](topic)[贴息](topic)政策\n",
                   "jieba token boundaries", "[贷款](topic)"),
    "synonym": ("- synonym: 天河区\n  examples: |\n    - 增城\n", "conflicting synonyms", "'增城'"),
    "lexicon": ("- intent: ask_measures\n  examples: |\n    - [火星区](district)有什么补贴\n",
                "not a name or alias in bot/lexicon.yml", "火星区"),
}


@pytest.mark.parametrize("kind", list(BAD))
def test_nlu_report_fails_loudly_on_bad_training_data(kind, tmp_path, capsys):
    body, title, what = BAD[kind]
    bad = tmp_path / f"{kind}.yml"
    bad.write_text(f'version: "3.1"\nnlu:\n{body}', encoding="utf-8")
    # the full report (not only --check-only) stops before training
    assert nlu_report.main(["--data", str(bad), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert title in err and what in err and str(bad) in err
    assert not (tmp_path / "out").exists()


def test_nlu_report_command_exits_non_zero(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text('version: "3.1"\nnlu:\n' + BAD["lexicon"][0], encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "bot", "nlu-report", "--data", str(bad), "--out", str(tmp_path / "o")],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 2
    assert "火星区" in out.stderr and "bot/lexicon.yml" in out.stderr
    assert "training the Rasa model" not in out.stderr


def test_the_project_training_data_passes_the_checks():
    assert trainingdata.check() == []


def test_synonyms_conflict_across_files_and_case():
    problems = trainingdata.synonym_conflicts([("IT", "信息技术", "a.yml"), ("it", "软件", "b.yml"),
                                               ("增城", "增城区", "a.yml"), ("增城", "增城区", "b.yml")])
    assert [p.example for p in problems] == ["it"]


def test_report_says_what_got_better_and_worse():
    before = {"intents": {"greet": {"f1": 0.90}, "inform": {"f1": 0.95}, "more": {"f1": 0.80}},
              "entities": {"DIETClassifier": {"size": {"f1": 0.90}}}}
    now = {"intents": {"greet": {"f1": 0.97}, "inform": {"f1": 0.90}, "more": {"f1": 0.801}},
           "entities": {"DIETClassifier": {"size": {"f1": 0.95}}}}
    ch = nlu_report.changes(now, before)
    assert [n for n, _, _ in ch["better"]] == ["intent greet", "DIETClassifier size"]
    assert [n for n, _, _ in ch["worse"]] == ["intent inform"]


def test_reviewed_examples_are_trained_on():
    """The reviewed file sits in data/: `rasa train` reads all of data/, and the model's fingerprint
    covers it, so adding an example retrains at the next `make nlu-report` / `make run`."""
    from bot.runtime import model
    assert trainingdata.REVIEWED_PATH.parent == ROOT / "data" and trainingdata.REVIEWED_PATH.suffix == ".yml"
    assert "data" in model.INPUTS
    config = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    assert "data" not in config  # no data paths pinned elsewhere: Rasa's default, data/
