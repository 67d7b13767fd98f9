"""JSON in and out for the console's API: UTF-8 JSON (not \\u-escaped), never cached, and the
one error shape ``{"error": "…", "status": N, "field"?: "…"}``."""
from __future__ import annotations

import functools
import json
from typing import Any, Dict

from aiohttp import web

from bot.assist import inputs
from bot.assist.inputs import InputError

_dumps = functools.partial(json.dumps, ensure_ascii=False)


def json_response(data: Any, status: int = 200) -> web.Response:
    resp = web.json_response(data, status=status, dumps=_dumps)
    resp.headers["Cache-Control"] = "no-store"
    return resp


def json_error(status: int, message: str, **extra: Any) -> web.Response:
    body: Dict[str, Any] = {"error": message, "status": status}
    body.update({k: v for k, v in extra.items() if v is not None})
    return json_response(body, status=status)


async def read_body(request: web.Request) -> Dict[str, Any]:
    try:
        raw = await request.read()
    except web.RequestPayloadError:  # e.g. "Content-Encoding: gzip" on a body that is not
        raise InputError("请求内容无法读取（Content-Encoding 与内容不符）") from None
    return inputs.parse_json_body(raw)
