"""The console's inbox: tickets from "转人工", live, claimed, answered and closed by agents.

Routes (under ``/api/``, so the console's token guards them like every other API route):

* ``GET  /api/inbox?status=open|waiting|claimed|closed|all``  tickets, newest first
* ``GET  /api/inbox/stream``              server-sent events: one ``ticket`` event per change
                                          (opened, claimed, agent/customer message, fields, closed);
                                          resumes after ``Last-Event-ID`` (or ``?after=``)
* ``GET  /api/tickets/{id}``              the ticket: conversation, profile, measures shown, summary,
                                          events, and the sender's earlier tickets and earlier
                                          conversations (caller history; bot/conversations.py)
* ``POST /api/tickets/{id}/claim``        {"agent"}
* ``POST /api/tickets/{id}/reply``        {"agent", "text"} → reaches the enterprise (widget: on its next
                                          fetch; WeChat/WeCom: the message API, when configured)
* ``POST /api/tickets/{id}/fields``       {"agent", "caller_name"?, "caller_phone"?, "category"?}
* ``POST /api/tickets/{id}/close``        {"agent", "outcome", "note"?}
* ``GET  /api/tickets/{id}/workorder``    the 12345 work order (``?format=csv`` for CSV)
* ``GET  /api/workorders``                every ticket's work order (``?format=csv``, ``?status=``)

Why SSE and not WebSocket: the push goes one way (server → agent); EventSource reconnects
by itself and resends Last-Event-ID, so an agent whose network blips misses nothing.
Tickets are opened by another process (the action server), so each stream polls the
inbox's event table: one indexed query a second per open console (~2 ms on SQLite, bot/inbox.py),
and at once when this console itself changed something.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import re
from typing import Any, Dict, Optional

from aiohttp import web

from bot import inbox as inbox_store
from bot import wording
from bot.assist import inputs
from bot.assist.inputs import InputError
from bot.assist.responses import json_response, read_body as _body
from bot.channels.delivery import WeChatCustomerService, WeComAppMessenger
from bot.conversations import Conversations
from bot.inbox import CATEGORIES, OUTCOMES, Inbox

log = logging.getLogger("bot.assist.inbox")

INBOX_KEY = web.AppKey("inbox", Inbox)
CLOSING_KEY = web.AppKey("inbox_closing", asyncio.Event)
WAKE_KEY = web.AppKey("inbox_wake", dict)
SENDERS_KEY = web.AppKey("inbox_senders", dict)
CONVERSATIONS_KEY = web.AppKey("inbox_conversations", Conversations)

POLL_SECONDS = 1.0
KEEPALIVE_SECONDS = 15.0
MAX_AGENT_CHARS = 32
MAX_REPLY_CHARS = 1000
MAX_NOTE_CHARS = 500
MAX_NAME_CHARS = 32
STATUSES = ("open", "waiting", "claimed", "closed", "all")
_PHONE = re.compile(r"^[0-9+\-() 转]{3,24}$")


def _ticket_id(request: web.Request) -> int:
    raw = request.match_info["id"]
    if not raw.isdecimal() or not raw.isascii() or len(raw) > 9:
        raise InputError("工单编号应为整数", "id", 404)
    return int(raw)


def _agent(body: Dict[str, Any]) -> str:
    agent = inputs.string(body, "agent", MAX_AGENT_CHARS, "坐席姓名或工号")
    if not agent:
        raise InputError("请先填写坐席姓名或工号（agent）", "agent")
    return wording.plain(agent, MAX_AGENT_CHARS)


def _choice(body: Dict[str, Any], field: str, allowed, label: str, required: bool = False) -> Optional[str]:
    value = inputs.string(body, field, 32, label)
    if value is None:
        if required:
            raise InputError(f"请选择{label}：{'、'.join(allowed)}", field)
        return None
    if value not in allowed:
        raise InputError(f"{label}应为：{'、'.join(allowed)}", field)
    return value


def _wake(app: web.Application) -> None:
    """Streams in this console show this change now rather than at their next poll."""
    app[WAKE_KEY]["event"].set()
    app[WAKE_KEY]["event"] = asyncio.Event()


async def _in_thread(fn, *args, **kwargs):
    return await asyncio.to_thread(fn, *args, **kwargs)


# ---- handlers -----------------------------------------------------------------------

async def api_inbox(request: web.Request) -> web.Response:
    status = request.query.get("status") or "open"
    if status not in STATUSES:
        raise InputError(f"status 应为：{'、'.join(STATUSES)}", "status")
    store = request.app[INBOX_KEY]
    tickets = await _in_thread(store.tickets, None if status == "all" else status)
    last = await _in_thread(store.last_event_id)
    return json_response({"tickets": tickets, "last_event": last, "outcomes": list(OUTCOMES),
                          "categories": list(CATEGORIES)})


async def api_stream(request: web.Request) -> web.StreamResponse:
    store = request.app[INBOX_KEY]
    raw = request.headers.get("Last-Event-ID") or request.query.get("after") or ""
    if raw and not (raw.isdecimal() and raw.isascii() and len(raw) <= 12):
        raise InputError("Last-Event-ID / after 应为整数", "after")
    after = int(raw) if raw else await _in_thread(store.last_event_id)
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8",
                                       "Cache-Control": "no-store", "X-Accel-Buffering": "no"})
    await resp.prepare(request)
    closing = request.app[CLOSING_KEY]
    await resp.write(b"retry: 2000\n: connected\n\n")
    idle = 0.0
    try:
        while not closing.is_set():
            events = await _in_thread(store.events_after, after)
            for e in events:
                data = json.dumps(e, ensure_ascii=False)
                await resp.write(f"id: {e['id']}\nevent: ticket\ndata: {data}\n\n".encode("utf-8"))
                after = e["id"]
            idle = 0.0 if events else idle + POLL_SECONDS
            if idle >= KEEPALIVE_SECONDS:
                await resp.write(b": keep-alive\n\n")
                idle = 0.0
            waiters = [asyncio.ensure_future(request.app[WAKE_KEY]["event"].wait()),
                       asyncio.ensure_future(closing.wait())]
            try:
                await asyncio.wait(waiters, timeout=POLL_SECONDS, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for fut in waiters:
                    fut.cancel()
    except (ConnectionResetError, ConnectionError):
        pass  # the agent closed the page
    return resp


async def api_ticket(request: web.Request) -> web.Response:
    t = await _in_thread(request.app[INBOX_KEY].ticket, _ticket_id(request))
    t["earlier_conversations"] = await asyncio.to_thread(_earlier_conversations, request.app, t)
    return json_response(t)


def _earlier_conversations(app: web.Application, t: Dict[str, Any]) -> list:
    """The sender's conversations before this ticket's, from the tracker store (caller
    history beyond tickets); none when the store cannot be read (logged: the ticket still shows)."""
    import datetime as dt

    times = [c.get("at") for c in t.get("conversation") or [] if c.get("at")] or [t.get("created_at")]
    try:
        before = min(dt.datetime.fromisoformat(x).timestamp() for x in times if x)
        return app[CONVERSATIONS_KEY].earlier(t["sender"], before)
    except Exception:
        log.exception("inbox: earlier conversations of ticket %s could not be read", t.get("id"))
        return []


async def api_claim(request: web.Request) -> web.Response:
    tid = _ticket_id(request)
    body = await _body(request)
    out = await _in_thread(request.app[INBOX_KEY].claim, tid, _agent(body))
    _wake(request.app)
    return json_response(out)


async def api_reply(request: web.Request) -> web.Response:
    tid = _ticket_id(request)
    body = await _body(request)
    agent = _agent(body)
    text = inputs.string(body, "text", MAX_REPLY_CHARS, "回复内容")
    if not text:
        raise InputError("回复内容不能为空", "text")
    text = wording.plain(text, MAX_REPLY_CHARS)  # the widget shows it as text; no markup reaches anyone
    store = request.app[INBOX_KEY]
    brief = await _in_thread(store.ticket, tid)
    sender = request.app[SENDERS_KEY].get(brief["channel"])
    pushed = brief["channel"] in ("wechat", "wecom")
    out = await _in_thread(store.reply, tid, agent, text, ("sending" if sender else "unavailable") if pushed else None)
    if pushed and sender is not None:
        ok = await sender.send_text(brief["sender"], wording.agent_reply(text))
        out["event"]["delivery"] = "sent" if ok else "failed"
        await _in_thread(store.set_delivery, out["event"]["id"], out["event"]["delivery"])
    _wake(request.app)
    return json_response(out)


async def api_fields(request: web.Request) -> web.Response:
    tid = _ticket_id(request)
    body = await _body(request)
    agent = _agent(body)
    fields: Dict[str, Optional[str]] = {}
    if "caller_name" in body:
        fields["caller_name"] = inputs.string(body, "caller_name", MAX_NAME_CHARS, "来电人姓名")
        if fields["caller_name"]:
            fields["caller_name"] = wording.plain(fields["caller_name"], MAX_NAME_CHARS)
    if "caller_phone" in body:
        phone = inputs.string(body, "caller_phone", 24, "联系电话")
        if phone and not _PHONE.match(phone):
            raise InputError("联系电话只能含数字、空格、+、-、括号和“转”", "caller_phone")
        fields["caller_phone"] = phone
    if "category" in body:
        fields["category"] = _choice(body, "category", CATEGORIES, "诉求类别")
    out = await _in_thread(request.app[INBOX_KEY].set_fields, tid, agent, fields)
    _wake(request.app)
    return json_response(out)


async def api_close(request: web.Request) -> web.Response:
    tid = _ticket_id(request)
    body = await _body(request)
    agent = _agent(body)
    outcome = _choice(body, "outcome", OUTCOMES, "办理结果", required=True)
    note = inputs.string(body, "note", MAX_NOTE_CHARS, "结果说明")
    out = await _in_thread(request.app[INBOX_KEY].close, tid, agent, outcome, note and wording.plain(note, MAX_NOTE_CHARS))
    brief = await _in_thread(request.app[INBOX_KEY].ticket, tid)
    sender = request.app[SENDERS_KEY].get(brief["channel"])
    if sender is not None:
        await sender.send_text(brief["sender"], wording.AGENT_CLOSED)
    _wake(request.app)
    return json_response(out)


def _format(request: web.Request) -> str:
    fmt = (request.query.get("format") or "json").lower()
    if fmt not in ("json", "csv"):
        raise InputError("format 只能是 json 或 csv", "format")
    return fmt


def _csv_response(records, name: str) -> web.Response:
    from urllib.parse import quote
    resp = web.Response(body=inbox_store.workorders_csv(records, inputs.csv_cell), content_type="text/csv",
                        charset="utf-8")
    resp.headers["Content-Disposition"] = (f"attachment; filename=\"workorders.csv\"; "
                                           f"filename*=UTF-8''{quote(name)}")
    resp.headers["Cache-Control"] = "no-store"
    return resp


async def api_ticket_workorder(request: web.Request) -> web.StreamResponse:
    tid = _ticket_id(request)
    fmt = _format(request)
    record = await _in_thread(request.app[INBOX_KEY].workorder, tid)
    if fmt == "json":
        return json_response(record)
    return _csv_response([record], f"12345工单-{record['ticket_number']}.csv")


async def api_workorders(request: web.Request) -> web.StreamResponse:
    fmt = _format(request)
    status = request.query.get("status") or "all"
    if status not in STATUSES:
        raise InputError(f"status 应为：{'、'.join(STATUSES)}", "status")
    store = request.app[INBOX_KEY]

    def collect():
        return [store.workorder(t["id"]) for t in store.tickets(None if status == "all" else status, limit=1000)]
    records = await _in_thread(collect)
    if fmt == "json":
        return json_response({"workorders": records})
    return _csv_response(records, "12345工单.csv")


# ---- wiring ------------------------------------------------------------------------------

def _senders() -> Dict[str, Any]:
    """Agent replies to WeChat / WeCom conversations go out through their message APIs, when
    the environment configures them (the same variables the channels read)."""
    out: Dict[str, Any] = {}
    env = os.environ
    if env.get("WECHAT_APPID") and env.get("WECHAT_SECRET"):
        out["wechat"] = WeChatCustomerService(env["WECHAT_APPID"], env["WECHAT_SECRET"],
                                              env.get("WECHAT_API_BASE") or "https://api.weixin.qq.com")
    if env.get("WECOM_CORP_ID") and env.get("WECOM_SECRET") and (env.get("WECOM_AGENT_ID") or "").isdecimal():
        out["wecom"] = WeComAppMessenger(env["WECOM_CORP_ID"], env["WECOM_SECRET"], env["WECOM_AGENT_ID"],
                                         env.get("WECOM_API_BASE") or "https://qyapi.weixin.qq.com")
    return out


async def _on_startup(app: web.Application) -> None:
    app[WAKE_KEY]["event"] = asyncio.Event()


async def _on_shutdown(app: web.Application) -> None:
    app[CLOSING_KEY].set()  # open event streams end, so the server can stop


async def _on_cleanup(app: web.Application) -> None:
    for sender in app[SENDERS_KEY].values():
        await sender.close()


def install(app: web.Application, inbox_url: Optional[str] = None, tracker_url: Optional[str] = None) -> None:
    app[INBOX_KEY] = Inbox(inbox_url)
    app[CONVERSATIONS_KEY] = Conversations(tracker_url)
    app[CLOSING_KEY] = asyncio.Event()
    app[WAKE_KEY] = {"event": None}
    app[SENDERS_KEY] = _senders()
    r = app.router
    r.add_get("/api/inbox", api_inbox)
    r.add_get("/api/inbox/stream", api_stream)
    r.add_get("/api/tickets/{id}", api_ticket)
    r.add_post("/api/tickets/{id}/claim", api_claim)
    r.add_post("/api/tickets/{id}/reply", api_reply)
    r.add_post("/api/tickets/{id}/fields", api_fields)
    r.add_post("/api/tickets/{id}/close", api_close)
    r.add_get("/api/tickets/{id}/workorder", api_ticket_workorder)
    r.add_get("/api/workorders", api_workorders)
    app.on_startup.append(_on_startup)
    app.on_shutdown.append(_on_shutdown)
    app.on_cleanup.append(_on_cleanup)
