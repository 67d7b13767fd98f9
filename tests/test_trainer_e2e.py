"""The review loop end to end: a message the trained model is unsure of, said in a real REST
conversation (Rasa + action server, tests/servers.py), shows up on the trainers' review API with
its prediction, is corrected, lands in a reviewed-data file (a temporary one: the repo's data/ is
not touched), and `rasa data validate` still passes on the project with that file added.

Needs the model (scripts/test.sh trains it first when its inputs changed).
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.assist.app import create_app
from tests.servers import MODEL, ROOT

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not MODEL.exists(), reason="no trained model (run scripts/test.sh)")]

AGENT, TRAINER = "e2e-agent-token", "e2e-trainer-token"
RASA = str(Path(sys.executable).with_name("rasa"))
#: short messages the model tends to be unsure of, with the correction a trainer would make
CANDIDATES = {
    "微型": ("inform", [(0, 2, "size")], "[微型](size)"),
    "中型": ("inform", [(0, 2, "size")], "[中型](size)"),
    "那个补贴的事": ("ask_measures", [(2, 4, "topic")], "那个[补贴](topic)的事"),
    "咋整": ("ask_measures", [], "咋整"),
    "额": ("out_of_scope", [], "额"),
}


async def test_unsure_message_is_reviewed_into_training_data(assistant, db_url, aiohttp_client, tmp_path):
    # which of the candidates this model is unsure of (below 0.6 or falling back), as Rasa parses it
    unsure = [t for t in CANDIDATES
              if (p := assistant.parse(t)["intent"])["name"] == "nlu_fallback" or p["confidence"] < 0.6]
    assert unsure, "the model is sure of every candidate; add one it misreads"
    text = unsure[0]
    sender = "e2e-review"
    assistant.say(sender, "增城区小微企业有什么贷款贴息政策")  # understood: not for review
    assistant.say(sender, text)

    reviewed = tmp_path / "nlu_reviewed.yml"
    c = await aiohttp_client(create_app(database_url=db_url, token=AGENT, trainer_token=TRAINER,
                                        inbox_url=assistant.inbox_url,
                                        tracker_url=f"sqlite:///{assistant.tmp / 'tracker.db'}",
                                        review_file=str(reviewed)))
    auth = {"Authorization": f"Bearer {TRAINER}"}
    data = await (await c.get("/api/review/messages", headers=auth)).json()
    rows = {r["text"]: r for r in data["messages"]}
    assert text in rows, sorted(rows)
    assert "增城区小微企业有什么贷款贴息政策" not in rows
    row = rows[text]
    assert row["channel"] == "rest" and set(row["reasons"]) & {"low_confidence", "fallback"}
    assert row["intent"] and 0 < row["confidence"] < 0.6 or row["intent"] == "nlu_fallback"
    # the agents' token sees none of it
    assert (await c.get("/api/review/messages", headers={"Authorization": f"Bearer {AGENT}"})).status == 403

    intent, spans, line = CANDIDATES[text]
    resp = await c.post("/api/review/decisions", headers=auth, json={
        "text": text, "action": "add", "intent": intent,
        "entities": [{"start": s, "end": e, "entity": k} for s, e, k in spans]})
    assert resp.status == 200, await resp.text()
    doc = yaml.safe_load(reviewed.read_text(encoding="utf-8"))
    assert doc["nlu"] == [{"intent": intent, "examples": f"- {line}\n"}]
    data = await (await c.get("/api/review/messages", headers=auth)).json()
    assert text not in {r["text"] for r in data["messages"]}

    # the project with the reviewed file still validates (Rasa's own validator)
    env = dict(os.environ, RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run([RASA, "data", "validate", "--data", "data", str(reviewed), "--domain", "domain.yml"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "Misaligned" not in out.stdout + out.stderr
