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


# ---- what the console tells agents and trainers about tokens and reviews ----------------
#: by role: a token of the other role is refused with 403 and this sentence
WRONG_ROLE = {
    "trainer": "这是坐席令牌，不能使用训练员审核页面；请用训练员令牌（ASSIST_TRAINER_TOKEN）",
    "agent": "这是训练员令牌，只能用于训练员审核页面（/review）；坐席功能请用坐席令牌（ASSIST_TOKEN）",
}
REVIEW = {
    "action": "action 应为：add（改正后加入训练数据）、out_of_scope（超出范围）、dismiss（忽略）",
    "text": "请给出要审核的原句（text）",
    "intent": "意图应为 domain.yml 中的一个：{choices}",
    "entities": "实体应为列表，每项 {{\"start\", \"end\", \"entity\"}}，在原句范围内且互不重叠",
    "entity_type": "实体类型应为：{choices}",
    "markup": "原句含换行或方括号、花括号，不能按 Rasa 的标注格式原样写入；请在训练数据文件中手工添加",
    "misaligned": "实体边界不在分词边界上：{detail}",
    "lexicon": "实体值不在词表 bot/lexicon.yml 中：{detail}",
    "duplicate": "这句话已在训练数据中（{file}，意图 {intent}），无需再加",
    "held_out": "这句话在留出测试集 tests/nlu_test.yml 中，不能加入训练数据",
    "reviewed": "这句话已审核过",
}
