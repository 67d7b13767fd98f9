"""The trainers' review page: misread messages of real conversations → corrected training data.

Routes (``/api/review/…`` take the **trainer** token, ``$ASSIST_TRAINER_TOKEN``; the agents'
token is refused there with 403, and the trainer token everywhere else — app.py):

* ``GET  /review``                       the page (``static/review.html``)
* ``GET  /api/review/messages?reason=low_confidence|fallback|down_vote|handoff|all&limit=``
                                         rows to review (bot/review.py), with the intents and
                                         entity types a correction may use and the file it goes to
* ``POST /api/review/decisions``         {"text", "action": "add"|"out_of_scope"|"dismiss",
                                         "intent"?, "entities"?: [{"start", "end", "entity"}], "reviewer"?}
                                         add: one example in the reviewed file (Rasa YAML, under data/);
                                         out_of_scope: an example of the out_of_scope intent;
                                         dismiss: recorded only. Either way the sentence is not listed again.
* ``GET  /api/review/decisions``         the latest decisions, newest first

A correction is checked with the rules ``make nlu-report`` enforces (bot/trainingdata.py):
entity boundaries on jieba tokens, lexicon values, not already in the training data, never a
held-out sentence — refused with 400/409 and the reason, so the file never holds what the
report would reject.
"""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml
from aiohttp import web

from bot import review as review_store
from bot import trainingdata, wording
from bot.assist import inputs
from bot.assist.inputs import InputError
from bot.assist.responses import REVIEW, json_response, read_body

REVIEW_KEY = web.AppKey("review", review_store.Review)
FILE_KEY = web.AppKey("review_file", Path)
STATIC_DIR = Path(__file__).with_name("static")
ROOT = trainingdata.ROOT
ACTIONS = {"add": "added", "out_of_scope": "out_of_scope", "dismiss": "dismissed"}
OUT_OF_SCOPE = "out_of_scope"
MAX_REVIEWER_CHARS = 32


def _domain() -> Dict[str, List[str]]:
    doc = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    intents = [i if isinstance(i, str) else next(iter(i)) for i in doc.get("intents") or []]
    entities = [e if isinstance(e, str) else next(iter(e)) for e in doc.get("entities") or []]
    return {"intents": intents, "entities": entities}


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


async def page(request: web.Request) -> web.FileResponse:
    resp = web.FileResponse(STATIC_DIR / "review.html")
    resp.headers["Cache-Control"] = "no-cache"
    return resp


async def api_messages(request: web.Request) -> web.Response:
    reason = request.query.get("reason") or "all"
    if reason not in review_store.REASONS + ("all",):
        raise InputError(f"reason 应为：{'、'.join(review_store.REASONS + ('all',))}", "reason")
    limit = inputs.integer(dict(request.query), "limit", 200, 1, 1000) if "limit" in request.query else 200
    out = await asyncio.to_thread(request.app[REVIEW_KEY].candidates, reason, limit)
    out.update(_domain(), file=_shown(request.app[FILE_KEY]), threshold=review_store.LOW_CONFIDENCE)
    return json_response(out)


def _entities(body: Dict[str, Any], text: str, allowed: List[str]) -> List[dict]:
    raw = body.get("entities") or []
    if not isinstance(raw, list) or len(raw) > 20:
        raise InputError(REVIEW["entities"], "entities")
    out = []
    for e in raw:
        if not isinstance(e, dict):
            raise InputError(REVIEW["entities"], "entities")
        start, end, kind = e.get("start"), e.get("end"), e.get("entity")
        if not (isinstance(start, int) and isinstance(end, int) and not isinstance(start, bool)
                and not isinstance(end, bool) and 0 <= start < end <= len(text)):
            raise InputError(REVIEW["entities"], "entities")
        if kind not in allowed:
            raise InputError(REVIEW["entity_type"].format(choices="、".join(allowed)), "entities")
        out.append({"start": start, "end": end, "entity": kind})
    out.sort(key=lambda e: e["start"])
    if any(a["end"] > b["start"] for a, b in zip(out, out[1:])):
        raise InputError(REVIEW["entities"], "entities")
    return out


def _decide(app: web.Application, body: Dict[str, Any]) -> dict:
    action = body.get("action")
    if action not in ACTIONS:
        raise InputError(REVIEW["action"], "action")
    raw = inputs.string(body, "text", inputs.MAX_TEXT_CHARS, "原句")
    if not raw or not raw.strip():
        raise InputError(REVIEW["text"], "text")
    lead = len(raw) - len(raw.lstrip())
    text = raw.strip()
    reviewer = inputs.string(body, "reviewer", MAX_REVIEWER_CHARS, "审核人")
    reviewer = wording.plain(reviewer, MAX_REVIEWER_CHARS) if reviewer else None
    domain = _domain()
    path = app[FILE_KEY]
    intent: Optional[str] = None
    entities: List[dict] = []
    line = None
    if action != "dismiss":
        if action == "add":
            intent = body.get("intent")
            if intent not in domain["intents"]:
                raise InputError(REVIEW["intent"].format(choices="、".join(domain["intents"])), "intent")
            entities = [dict(e, start=e["start"] - lead, end=e["end"] - lead)
                        for e in _entities(body, raw, domain["entities"])]
            if any(e["start"] < 0 or e["end"] > len(text) for e in entities):
                raise InputError(REVIEW["entities"], "entities")
        else:
            intent = OUT_OF_SCOPE
        line, problems = trainingdata.example_problems(text, entities)
        if line is None:
            raise InputError(REVIEW["markup"], "text")
        if problems:
            kind, detail = problems[0]
            raise InputError(REVIEW[kind].format(detail=detail), "entities")
        if text in trainingdata.held_out_texts():
            raise InputError(REVIEW["held_out"], "text", 409)
        known = trainingdata.training_examples([trainingdata.DATA_DIR, path] if path.exists()
                                               else [trainingdata.DATA_DIR]).get(text)
        if known is not None:
            raise InputError(REVIEW["duplicate"].format(file=known.file, intent=known.intent), "text", 409)

    def write():
        if line is not None:
            trainingdata.add_example(path, intent, line)
    try:
        return app[REVIEW_KEY].decide(text=text, action=ACTIONS[action], intent=intent, entities=entities, line=line,
                                      file=_shown(path) if line else None, reviewer=reviewer, write=write)
    except review_store.AlreadyReviewed:
        raise InputError(REVIEW["reviewed"], "text", 409) from None


async def api_decide(request: web.Request) -> web.Response:
    body = await read_body(request)
    return json_response(await asyncio.to_thread(_decide, request.app, body))


async def api_decisions(request: web.Request) -> web.Response:
    return json_response({"decisions": await asyncio.to_thread(request.app[REVIEW_KEY].decisions)})


def install(app: web.Application, inbox_url: Optional[str] = None, tracker_url: Optional[str] = None,
            review_file: Optional[str] = None) -> None:
    """``tracker_url``: the conversations (``$TRACKER_DATABASE_URL`` / endpoints.yml); ``review_file``:
    where corrections go (``$REVIEW_DATA_PATH``, else ``data/nlu_reviewed.yml``)."""
    app[REVIEW_KEY] = review_store.Review(tracker_url, inbox_url)
    app[FILE_KEY] = trainingdata.reviewed_path(review_file)
    app.router.add_get("/review", page)
    app.router.add_get("/api/review/messages", api_messages)
    app.router.add_post("/api/review/decisions", api_decide)
    app.router.add_get("/api/review/decisions", api_decisions)
