"""The assistant's answers as plain functions: slots in, text and slot updates out.

The Rasa actions are a thin shell around these (they only read slots, call one
function in a worker thread and send the text), so the logic can be tested
without Rasa and reused by other front ends.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

from bot import db
from bot.answer import (answer_text, cn_date, handoff_summary, measure_detail, profile_line, split_for_wechat,
                        units_sentence, validity_sentence)
from bot.lexicon import load_lexicon
from bot.query import MeasureResult, Profile, covered_regions, find_measures, get_measure
from bot.textnorm import normalize_query

PAGE_SIZE = 3
#: Slot value meaning "the user does not know / skipped".
UNSPECIFIED = "不限"


@dataclass
class Reply:
    messages: List[str]
    slots: Dict[str, object] = field(default_factory=dict)


def _today() -> dt.date:
    return dt.date.today()


def _clean(value: Optional[str]) -> Optional[str]:
    if value is None or str(value).strip() in ("", UNSPECIFIED):
        return None
    return str(value)


def profile_from_slots(slots: Dict[str, object]) -> Profile:
    return Profile.from_slots(_clean(slots.get("district")), _clean(slots.get("industry")),
                              _clean(slots.get("size")), _clean(slots.get("topic")))


def _session():
    return db.session_factory()()


def regions_covered() -> List[str]:
    with _session() as s:
        return covered_regions(s)


def find(slots: Dict[str, object], question: str = "", offset: int = 0, shown: Sequence[int] = ()) -> Reply:
    """Measures for the profile; `offset` > 0 continues the numbering of an earlier list."""
    profile = profile_from_slots(slots)
    with _session() as s:
        qr = find_measures(s, profile, text=question or "", as_of=_today(), limit=PAGE_SIZE, offset=offset)
    ids = list(shown[:offset]) + [r.id for r in qr.results]
    text = answer_text(qr, page_size=PAGE_SIZE)
    return Reply(split_for_wechat(text), {"shown_measures": ids, "result_offset": float(offset + len(qr.results)),
                                          "focus_measure": float(qr.results[0].id) if len(qr.results) == 1 else None})


def more(slots: Dict[str, object], question: str, offset: int, shown: Sequence[int]) -> Reply:
    if not shown:
        return Reply(["还没有查询结果。请告诉我所在区和想了解的内容，例如“天河区有什么稳岗补贴？”"])
    reply = find(slots, question, offset=offset, shown=shown)
    if len(reply.slots["shown_measures"]) == len(shown):
        return Reply(["已经是全部结果了。可以换个地区或主题再问，或回复“转人工”。"])
    return reply


CN_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}


def parse_ordinal(text: str) -> Optional[int]:
    """"第2条" / "第二个" / "第十二条" / "2号" → the number shown in the list."""
    t = normalize_query(text)
    m = re.search(r"第\s*(\d{1,3})|(\d{1,3})\s*(?:条|个|号|项)", t)
    if m:
        return int(m.group(1) or m.group(2))
    m = re.search(r"第\s*([一二两三四五六七八九十]{1,3})", t)
    if m:
        s = m.group(1)
        if s == "十":
            return 10
        if s.startswith("十"):
            return 10 + CN_DIGITS.get(s[1:], 0)
        if "十" in s:
            a, _, b = s.partition("十")
            return CN_DIGITS.get(a, 1) * 10 + CN_DIGITS.get(b, 0)
        return CN_DIGITS.get(s[0])
    return None


def _pick(text: str, shown: Sequence[int], focus: Optional[float]) -> (Optional[int], Optional[str]):
    """Which listed measure the user means, or an explanation why we cannot tell."""
    if not shown:
        return None, "还没有给您列出措施。请先告诉我所在区和想了解的内容，例如“增城区有什么贷款贴息？”"
    n = parse_ordinal(text)
    if n is not None:
        if 1 <= n <= len(shown):
            return int(shown[n - 1]), None
        return None, f"目前列出了{len(shown)}条，请说第1到第{len(shown)}条中的一条。"
    if focus:
        return int(focus), None
    if len(shown) == 1:
        return int(shown[0]), None
    return int(shown[0]), None  # "这个" right after a list means the first one; the reply names it


def _load(mid: int) -> Optional[MeasureResult]:
    with _session() as s:
        return get_measure(s, mid, as_of=_today())


def _about_listed(text: str, shown: Sequence[int], focus: Optional[float],
                  render: Callable[[MeasureResult], List[str]]) -> Reply:
    """A follow-up on a listed measure ("第二条…", "这个…"): resolve it, load it, render it."""
    mid, problem = _pick(text, shown, focus)
    if problem:
        return Reply([problem])
    r = _load(mid)
    if r is None:
        return Reply(["这条措施已不在数据库中（可能刚更新过），请重新查询。"])
    return Reply(render(r), {"focus_measure": float(mid)})


def detail(text: str, shown: Sequence[int], focus: Optional[float]) -> Reply:
    return _about_listed(text, shown, focus, lambda r: split_for_wechat(measure_detail(r, _today())))


def lead_unit(text: str, shown: Sequence[int], focus: Optional[float]) -> Reply:
    def render(r: MeasureResult) -> List[str]:
        head = f"{r.citation}（{r.item_heading or r.text[:20]}）：\n"
        return split_for_wechat(head + units_sentence(r).replace("\n   ", "\n"))
    return _about_listed(text, shown, focus, render)


def validity(text: str, shown: Sequence[int], focus: Optional[float]) -> Reply:
    def render(r: MeasureResult) -> List[str]:
        line = f"{r.citation}：{validity_sentence(r, _today())}。"
        if r.expired:
            line += "如想了解是否有延续或新出台的政策，可咨询牵头单位或拨打12345。"
        return [line]
    return _about_listed(text, shown, focus, render)


def size_class(industry: Optional[str], employees: Optional[str], revenue: Optional[str]) -> Reply:
    from bot import sizeclass
    emp = sizeclass.parse_employees(employees) if employees else None
    rev = sizeclass.parse_money_yuan(revenue) if revenue else None
    ind = _clean(industry)
    if not ind:
        return Reply(["判断企业规模要看行业、从业人数和营业收入。请告诉我行业，例如“零售，30人，年营收300万”。"])
    if emp is None and rev is None:
        return Reply([f"请告诉我从业人数和上年营业收入（如“30人，年营收300万”），我按国家标准帮您判断{ind}企业的规模。"])
    res = sizeclass.classify(ind, employees=emp, revenue_yuan=rev)
    if res.size is None:
        return Reply([res.needs or "还需要更多信息才能判断规模。"])
    return Reply([f"按您提供的情况，属于{res.size}企业。{res.rule}"], {"size": res.size})


def validate_district(value: str) -> Reply:
    if _clean(value) is None:
        return Reply([], {"district": UNSPECIFIED})
    lex = load_lexicon()
    name = lex.canonical_region(value)
    covered = regions_covered()
    if name and (any(name in lex.ancestors(r) for r in covered) or any(r in lex.ancestors(name) for r in covered)):
        return Reply([], {"district": name})
    listed = "、".join(covered)
    what = f"“{value}”" if not name else name
    return Reply([f"目前还没有收录{what}的政策文件。已收录的地区：{listed}。请选择其一，或回复“跳过”。"], {"district": None})


def validate_industry(value: str) -> Reply:
    if _clean(value) is None:
        return Reply([], {"industry": UNSPECIFIED})
    name = load_lexicon().canonical_industry(value)
    if name:
        return Reply([], {"industry": name})
    return Reply([f"没认出“{value}”是哪个行业。可以说“餐饮”“零售”“制造业”“软件”“物流”等，或回复“跳过”。"], {"industry": None})


def validate_size(value: str) -> Reply:
    if _clean(value) is None:
        return Reply([], {"size": UNSPECIFIED})
    lex = load_lexicon()
    if lex.expand_size(value):
        return Reply([], {"size": normalize_query(value)})
    return Reply(["没认出企业规模。可以说“小微企业”“中型”“个体户”，或告诉我员工人数和年营收；也可回复“跳过”。"], {"size": None})


def change_profile(slots: Dict[str, object], question: str) -> Reply:
    """"那天河区呢": the entity already updated the slot; re-query from the first page."""
    reply = find(slots, question)
    p = profile_from_slots(slots)
    reply.messages.insert(0, f"好的，换成：{profile_line(p)}。")
    return reply


def handoff(slots: Dict[str, object], question: str, shown: Sequence[int]) -> Reply:
    p = profile_from_slots(slots)
    results = [r for r in (_load(int(i)) for i in list(shown)[:5]) if r]
    lex = load_lexicon()
    hot = lex.hotline(p.district) if p.district else None
    hotline = {"name": hot.hotline_name, "number": hot.hotline_number} if hot else None
    summary = handoff_summary(p, question, results, hotline)
    msg = ("正在为您转人工。" + (f"也可直接拨打{hotline['name']}（{hotline['number']}）。" if hotline
                              else "也可直接拨打当地12345政务服务便民热线。"))
    return Reply([msg, f"【转人工摘要】{summary}"])


def apology(region: Optional[str] = None) -> str:
    hot = load_lexicon().hotline(region) if region else None
    line = f"{hot.hotline_name}（{hot.hotline_number}）" if hot else "当地12345政务服务便民热线"
    return f"抱歉，系统暂时查不到政策数据，请稍后再试，或拨打{line}咨询。"
