"""The assist console for 12345 hotline agents: an aiohttp app (JSON API + one static page).

Routes (every ``/api/`` route needs a token, as ``Authorization: Bearer <token>``
or ``?token=``; the pages and ``/healthz`` do not). Two roles, two tokens: the agents'
(``$ASSIST_TOKEN``) for everything below, the trainers' (``$ASSIST_TRAINER_TOKEN``) for
``/api/review/…`` only. A valid token of the other role gets 403; none or a wrong one, 401:

* ``GET  /``                    the console (``bot/assist/static/``; no build step, no CDN)
* ``POST /api/understand``      {"text"} → slots read from the text, canonical values
* ``POST /api/measures``        {"text", "district", "industry", "size", "topic", "as_of"?, "limit"?, "offset"?}
* ``POST /api/workorder``       {"caller_need", "text", slots…, "measure_ids", "transfer_unit"?} → JSON record
                                (``?format=csv`` → CSV)
* ``GET  /api/workorder.csv``   the same, parameters in the query string (size and measure_ids may repeat
                                or be comma-separated)
* ``GET  /api/vocabulary``      districts (covered first), sizes, industries, topics
* ``GET  /healthz``             liveness, no database
* the handoff inbox (``/api/inbox``, ``/api/inbox/stream``, ``/api/tickets/{id}/…``, ``/api/workorders``):
  see ``bot/assist/inbox_api.py``
* the trainers' review page (``/review``, ``/api/review/…``): see ``bot/assist/review_api.py``

Slots in ``/api/measures`` and ``/api/workorder``: a key that is present (even
``null``/``""``, meaning 不限) is the agent's choice; an absent key is read from
``text``. Errors are JSON ``{"error": "…", "field"?: "…"}`` with 400 (bad input),
401 (token), 403 (the other role's token), 404/405, 409 (a ticket another agent holds, or closed), 413 (``text`` over 2000 characters — rejected, not
truncated — or a body over 64 KB) or 503 (database unavailable). Database and
segmentation work runs in worker threads so the event loop never blocks.
"""
from __future__ import annotations

import argparse
import asyncio
import hmac
import logging
import os
import secrets
import sys
from pathlib import Path
from typing import Any, Dict, Optional
from urllib.parse import quote

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import sessionmaker

from bot import db, widget
from bot.inbox import InboxError
from bot.assist import caller_profile, inbox_api, inputs, measures, review_api, vocabulary, workorders
from bot.assist.responses import WRONG_ROLE, json_error, json_response, read_body
from bot.assist.inputs import InputError

log = logging.getLogger("bot.assist")

STATIC_DIR = Path(__file__).with_name("static")
WIDGET_DIR = widget.STATIC_DIR
TOKEN_KEY = web.AppKey("assist_token", str)
TRAINER_TOKEN_KEY = web.AppKey("assist_trainer_token", str)
TRAINER_PREFIX = "/api/review/"
SESSIONS_KEY = web.AppKey("assist_sessions", sessionmaker)
DEFAULT_PORT = 8081

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'")


_HTTP_MESSAGES = {
    404: "没有这个接口",
    405: "请求方法不对（查询类接口用 POST，导出 CSV 可用 GET /api/workorder.csv）",
    413: f"请求内容过大（上限 {inputs.MAX_BODY_BYTES // 1024} KB；来电内容上限 {inputs.MAX_TEXT_CHARS} 字）",
}


@web.middleware
async def error_middleware(request: web.Request, handler):
    api = request.path.startswith("/api/")
    try:
        return await handler(request)
    except (InputError, InboxError) as exc:
        return json_error(exc.status, exc.message, field=exc.field)
    except web.HTTPException as exc:
        if not api or exc.status < 400:
            raise
        return json_error(exc.status, _HTTP_MESSAGES.get(exc.status, exc.reason))
    except SQLAlchemyError:
        log.exception("database error on %s", request.path)
        return json_error(503, "数据库暂不可用，请稍后再试或联系管理员（python -m bot build）")
    except asyncio.CancelledError:
        raise
    except Exception:  # the agent sees a message, never a stack trace
        log.exception("unhandled error on %s", request.path)
        return json_error(500, "服务器内部错误，已记录；请稍后再试")


def _presented_token(request: web.Request) -> Optional[str]:
    auth = request.headers.get("Authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.query.get("token") or None


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


@web.middleware
async def auth_middleware(request: web.Request, handler):
    """Agents' routes take the agents' token, ``/api/review/`` the trainers' — never the other's."""
    if request.path.startswith("/api/"):
        given = _presented_token(request)
        role = "trainer" if request.path.startswith(TRAINER_PREFIX) else "agent"
        tokens = {"agent": request.app[TOKEN_KEY], "trainer": request.app[TRAINER_TOKEN_KEY]}
        if given is not None and _same(given, tokens[role]):
            return await handler(request)
        other = "agent" if role == "trainer" else "trainer"
        if given is not None and _same(given, tokens[other]):
            return json_error(403, WRONG_ROLE[role], role=role)
        resp = json_error(401, "缺少访问令牌（Authorization: Bearer <令牌> 或 ?token=<令牌>）" if given is None
                          else "访问令牌错误")
        resp.headers["WWW-Authenticate"] = 'Bearer realm="assist"'
        return resp
    return await handler(request)


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    if request.path.startswith("/widget/"):
        return  # the widget is embedded in other sites' pages and talks to their Rasa server
    response.headers.setdefault("X-Frame-Options", "DENY")
    if not request.path.startswith("/api/"):
        response.headers.setdefault("Content-Security-Policy", CSP)


def _run(request: web.Request, fn, *args, **kwargs):
    """Blocking work (SQLAlchemy, jieba) in a worker thread."""
    return asyncio.to_thread(fn, request.app[SESSIONS_KEY], *args, **kwargs)


# ---- handlers -------------------------------------------------------------------

async def page(request: web.Request) -> web.FileResponse:
    resp = web.FileResponse(STATIC_DIR / "index.html")
    resp.headers["Cache-Control"] = "no-cache"
    return resp


async def healthz(request: web.Request) -> web.Response:
    return json_response({"ok": True})


async def api_understand(request: web.Request) -> web.Response:
    body = await read_body(request)
    text = inputs.text(body)
    return json_response(await _run(request, caller_profile.understand, text))


async def api_measures(request: web.Request) -> web.Response:
    body = await read_body(request)
    text = inputs.text(body)
    given = inputs.slots(body)
    as_of = inputs.as_of(body)
    limit = inputs.integer(body, "limit", 5, 1, inputs.MAX_LIMIT)
    offset = inputs.integer(body, "offset", 0, 0, inputs.MAX_OFFSET)
    result = await _run(request, measures.measures, text, given, as_of=as_of, limit=limit, offset=offset)
    return json_response(result)


async def _workorder(request: web.Request, body: Dict[str, Any], fmt: str) -> web.StreamResponse:
    if fmt not in ("json", "csv"):
        raise InputError("format 只能是 json 或 csv", "format")
    record = await _run(
        request, workorders.workorder,
        text=inputs.text(body), given=inputs.slots(body),
        caller_need=inputs.string(body, "caller_need", inputs.MAX_NEED_CHARS, "来电诉求"),
        measure_ids=inputs.measure_ids(body.get("measure_ids")),
        transfer_unit=inputs.string(body, "transfer_unit", inputs.MAX_UNIT_CHARS, "转办单位"),
        as_of=inputs.as_of(body))
    if fmt == "json":
        return json_response(record)
    stamp = record["created_at"][:19].replace("-", "").replace(":", "").replace("T", "-")
    name = f"12345工单-{stamp}.csv"
    resp = web.Response(body=workorders.workorder_csv(record), content_type="text/csv", charset="utf-8")
    resp.headers["Content-Disposition"] = (f"attachment; filename=\"workorder-{stamp}.csv\"; "
                                           f"filename*=UTF-8''{quote(name)}")
    resp.headers["Cache-Control"] = "no-store"
    return resp


async def api_workorder(request: web.Request) -> web.StreamResponse:
    body = await read_body(request)
    fmt = request.query.get("format") or body.get("format") or "json"
    if not isinstance(fmt, str):
        raise InputError("format 只能是 json 或 csv", "format")
    return await _workorder(request, body, fmt.lower())


async def api_workorder_csv(request: web.Request) -> web.StreamResponse:
    body = inputs.query_to_body(request.query, request.query.getall)
    return await _workorder(request, body, "csv")


async def api_vocabulary(request: web.Request) -> web.Response:
    return json_response(await _run(request, vocabulary.vocabulary))


async def _warm_up(app: web.Application) -> None:
    await asyncio.to_thread(caller_profile.warm_up)


class PathOnlyAccessLogger(AbstractAccessLogger):
    """Access log without the query string: ``?token=`` must not end up in log files."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info('%s "%s %s" %s %.1fms', request.remote, request.method, request.path,
                         response.status, time * 1000)


# ---- app --------------------------------------------------------------------------

def create_app(database_url: Optional[str] = None, token: Optional[str] = None,
               inbox_url: Optional[str] = None, trainer_token: Optional[str] = None,
               tracker_url: Optional[str] = None, review_file: Optional[str] = None) -> web.Application:
    """The console. ``token`` (or ``$ASSIST_TOKEN``) guards the agents' API, ``trainer_token``
    (or ``$ASSIST_TRAINER_TOKEN``) the trainers' review API; with neither, a random token is
    generated and printed — there is no built-in default, and the two must differ.
    ``inbox_url`` (or ``$INBOX_DATABASE_URL``, else ``var/inbox.db``): the handoff tickets
    (``bot.inbox``) and the review decisions. ``tracker_url`` (``$TRACKER_DATABASE_URL``, else
    endpoints.yml's store) and ``review_file`` (``$REVIEW_DATA_PATH``, else
    ``data/nlu_reviewed.yml``): see ``bot/assist/review_api.py``."""
    url = db.database_url(database_url)
    path = db.sqlite_path(url)
    if path is not None and not path.exists():
        raise RuntimeError(f"measures database {path} does not exist; build it with `python -m bot build`")
    token = token or os.environ.get("ASSIST_TOKEN") or None
    if not token:
        token = secrets.token_urlsafe(24)
        print(f"ASSIST_TOKEN not set; token for this run: {token}", flush=True)
    trainer_token = trainer_token or os.environ.get("ASSIST_TRAINER_TOKEN") or None
    if not trainer_token:
        trainer_token = secrets.token_urlsafe(24)
        print(f"ASSIST_TRAINER_TOKEN not set; trainer token for this run: {trainer_token}", flush=True)
    if hmac.compare_digest(token.encode("utf-8"), trainer_token.encode("utf-8")):
        raise RuntimeError("ASSIST_TRAINER_TOKEN must differ from ASSIST_TOKEN (agents and trainers are told apart by it)")
    app = web.Application(middlewares=[error_middleware, auth_middleware], client_max_size=inputs.MAX_BODY_BYTES)
    app[TOKEN_KEY] = token
    app[TRAINER_TOKEN_KEY] = trainer_token
    app[SESSIONS_KEY] = db.session_factory(url)
    app.router.add_get("/", page)
    app.router.add_get("/healthz", healthz)
    app.router.add_post("/api/understand", api_understand)
    app.router.add_post("/api/measures", api_measures)
    app.router.add_post("/api/workorder", api_workorder)
    app.router.add_get("/api/workorder.csv", api_workorder_csv)
    app.router.add_get("/api/vocabulary", api_vocabulary)
    inbox_api.install(app, inbox_url, tracker_url)  # /api/inbox, /api/tickets/…, /api/workorders
    review_api.install(app, inbox_url, tracker_url, review_file)  # /review, /api/review/…
    app.router.add_static("/static/", STATIC_DIR, show_index=False, follow_symlinks=False)
    # the embeddable web widget and its demo page (bot/widget/)
    app.router.add_static("/widget/", WIDGET_DIR, show_index=False, follow_symlinks=False)
    app.on_response_prepare.append(_security_headers)
    app.on_startup.append(_warm_up)
    return app


def main(argv: Optional[list] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bot.assist", description="政策助手 12345 坐席辅助台")
    ap.add_argument("--host", default=os.environ.get("ASSIST_HOST") or "127.0.0.1")  # public: ASSIST_HOST=0.0.0.0
    ap.add_argument("--port", type=int, default=int(os.environ.get("ASSIST_PORT") or DEFAULT_PORT))
    ap.add_argument("--database-url", default=None, help="SQLAlchemy URL (default: $DATABASE_URL or var/measures.db)")
    args = ap.parse_args(argv)
    from bot import logmask
    logmask.install()  # callers' ID-card and phone numbers never reach the log in full
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    token = os.environ.get("ASSIST_TOKEN")
    generated = not token
    if generated:
        token = secrets.token_urlsafe(24)
    trainer_token = os.environ.get("ASSIST_TRAINER_TOKEN")
    trainer_generated = not trainer_token
    if trainer_generated:
        trainer_token = secrets.token_urlsafe(24)
    try:
        app = create_app(args.database_url, token=token, trainer_token=trainer_token)
    except RuntimeError as exc:
        print(f"assist: {exc}", file=sys.stderr)
        return 2
    shown_host = "localhost" if args.host in ("0.0.0.0", "::") else args.host
    if generated:
        print(f"ASSIST_TOKEN not set; generated a token for this run: {token}", flush=True)
        print(f"open http://{shown_host}:{args.port}/#token={token}", flush=True)
    else:
        print(f"open http://{shown_host}:{args.port}/ (token from $ASSIST_TOKEN)", flush=True)
    if trainer_generated:
        print(f"ASSIST_TRAINER_TOKEN not set; generated a trainer token for this run: {trainer_token}", flush=True)
        print(f"trainers: http://{shown_host}:{args.port}/review#token={trainer_token}", flush=True)
    else:
        print(f"trainers: http://{shown_host}:{args.port}/review (token from $ASSIST_TRAINER_TOKEN)", flush=True)
    web.run_app(app, host=args.host, port=args.port, print=None, access_log_class=PathOnlyAccessLogger)
    return 0
