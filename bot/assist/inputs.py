"""Reading what the console (or any API caller) sends: strict types, clear Chinese errors.

Every check raises :class:`InputError`, which the app turns into a 400 (or
413) JSON error. Nothing here touches the database.

Limits (documented in ``bot/assist/__init__.py`` too):

* ``text`` (what the caller said) is capped at :data:`MAX_TEXT_CHARS`
  characters. Longer text is **rejected with 413**, not truncated: a silently
  cut transcript could drop the part that names the district or the need, and
  the agent would not know. The page's textarea has the same ``maxlength``.
* a request body is capped at :data:`MAX_BODY_BYTES` (aiohttp answers 413).
"""
from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any, Dict, List, Mapping, Optional, Tuple

MAX_TEXT_CHARS = 2000
MAX_BODY_BYTES = 64 * 1024
MAX_SLOT_CHARS = 64
MAX_NEED_CHARS = 500
MAX_UNIT_CHARS = 128
MAX_LIMIT = 50
MAX_OFFSET = 10_000
MAX_MEASURE_IDS = 50
SLOTS = ("district", "industry", "size", "topic")
SLOT_NAMES = {"district": "地区", "industry": "行业", "size": "企业规模", "topic": "事项"}

_SIZE_SEP = re.compile(r"[、,，/／;；\s]+")


class InputError(ValueError):
    def __init__(self, message: str, field: Optional[str] = None, status: int = 400):
        super().__init__(message)
        self.message = message
        self.field = field
        self.status = status


def parse_json_body(raw: bytes) -> Dict[str, Any]:
    if not raw or not raw.strip():
        raise InputError("请求内容为空：应为 JSON 对象，例如 {\"text\": \"…\"}")
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise InputError("请求内容不是有效的 JSON（需 UTF-8 编码）") from None
    if not isinstance(body, dict):
        raise InputError("请求内容应为 JSON 对象，例如 {\"text\": \"…\"}")
    return body


def _clean(value: str) -> str:
    # lone surrogates ("\ud800" is valid JSON) cannot be encoded as UTF-8 later; NULs are never meant
    value = value.encode("utf-8", "replace").decode("utf-8")
    return value.replace("\x00", "").strip()


def string(body: Mapping[str, Any], field: str, max_chars: int, label: str) -> Optional[str]:
    """An optional string field; None / "" → None."""
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(f"“{label}”（{field}）应为文字", field)
    value = _clean(value)
    if len(value) > max_chars:
        status = 413 if field == "text" else 400
        raise InputError(f"“{label}”（{field}）过长：{len(value)}字，上限{max_chars}字", field, status)
    return value or None


def text(body: Mapping[str, Any]) -> str:
    return string(body, "text", MAX_TEXT_CHARS, "来电内容") or ""


def size_value(value: Any) -> Optional[List[str]]:
    """"小微" / "小型、微型" / ["小型", "微型"] → list of words; None or empty → None."""
    if value is None:
        return None
    if isinstance(value, str):
        words = _SIZE_SEP.split(_clean(value))
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        words = [w for v in value for w in _SIZE_SEP.split(_clean(v))]
    else:
        raise InputError("“企业规模”（size）应为文字或文字列表", "size")
    words = [w for w in words if w]
    if len(words) > 10 or any(len(w) > MAX_SLOT_CHARS for w in words):
        raise InputError("“企业规模”（size）过长", "size")
    return words or None


def slots(body: Mapping[str, Any]) -> Dict[str, Any]:
    """The slots the request states. A key that is present — even as null or "" — is the
    agent's choice ("不限"); a key that is absent is left to what the text says."""
    given: Dict[str, Any] = {}
    for name in SLOTS:
        if name not in body:
            continue
        if name == "size":
            given[name] = size_value(body[name])
        else:
            given[name] = string(body, name, MAX_SLOT_CHARS, SLOT_NAMES[name])
    return given


def integer(body: Mapping[str, Any], field: str, default: int, lo: int, hi: int) -> int:
    value = body.get(field)
    if value is None or value == "":
        return default
    if isinstance(value, str) and value.strip().isdecimal():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{field} 应为整数", field)
    if not lo <= value <= hi:
        raise InputError(f"{field} 应在 {lo}–{hi} 之间", field)
    return value


def as_of(body: Mapping[str, Any]) -> Optional[dt.date]:
    value = body.get("as_of")
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InputError("as_of 应为日期文字，如 2026-11-25", "as_of")
    try:
        day = dt.date.fromisoformat(value.strip())
    except ValueError:
        raise InputError("as_of 应为日期，如 2026-11-25", "as_of") from None
    if not 1990 <= day.year <= 2100:
        raise InputError("as_of 超出可查询范围（1990–2100年）", "as_of")
    return day


def measure_ids(value: Any) -> List[int]:
    """[1, 2] or "1,2" (query string) → distinct ids in order."""
    if value is None or value == "" or value == []:
        return []
    if isinstance(value, str):
        parts = [p for p in re.split(r"[,\s，]+", value.strip()) if p]
        if not all(p.isdecimal() for p in parts):
            raise InputError("measure_ids 应为措施编号（整数）列表", "measure_ids")
        value = [int(p) for p in parts]
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise InputError("measure_ids 应为措施编号（整数）列表", "measure_ids")
    if len(value) > MAX_MEASURE_IDS:
        raise InputError(f"一张工单最多列 {MAX_MEASURE_IDS} 条措施", "measure_ids")
    if any(v < 1 or v > 2**31 for v in value):
        raise InputError("measure_ids 含无效编号", "measure_ids")
    return list(dict.fromkeys(value))


def query_to_body(query: Mapping[str, str], getall) -> Dict[str, Any]:
    """A GET query string as the JSON body the POST endpoints take (repeated keys allowed
    for size and measure_ids; token is not part of the body)."""
    body: Dict[str, Any] = {}
    for key in query:
        if key == "token" or key in body:
            continue
        values = getall(key)
        if key == "size" and len(values) > 1:
            body[key] = list(values)
        elif key == "measure_ids":
            body[key] = ",".join(values)
        else:
            body[key] = values[-1]
    return body


def csv_cell(value: Any) -> str:
    """A cell Excel shows as text: no formula injection (=, +, -, @ lead)."""
    s = "" if value is None else str(value)
    if s and s[0] in "=+-@\t\r":
        return "'" + s
    return s


__all__: Tuple[str, ...] = (
    "InputError", "parse_json_body", "string", "text", "slots", "size_value", "integer", "as_of",
    "measure_ids", "query_to_body", "csv_cell", "MAX_TEXT_CHARS", "MAX_BODY_BYTES", "SLOTS",
)
