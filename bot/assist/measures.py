"""The console's measures view: the caller's words and the agent's slots → measure cards,
notes on what could not be read, the read-out script and the hotline.

Synchronous (SQLAlchemy, jieba); runs in a worker thread. Inputs arrive type-checked by
``inputs.py``.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Dict, List, Optional

from sqlalchemy.orm import sessionmaker

from bot.answer import (amounts_phrase, deadline_sentence, measure_summary, profile_line, region_note, shorten,
                        units_sentence, validity_sentence)
from bot.assist.caller_profile import hotline_for, merge, profile_of, slot_view
from bot.assist.script import caller_script
from bot.lexicon import Lexicon, load_lexicon
from bot.query import MeasureResult, Profile, QueryResult, find_measures
from bot import wording

EXPIRED_NOTE = "标“已过期”的措施现已不能按原条款申请，可作了解或咨询是否有延续政策。"


def _notes(qr: QueryResult, p: Profile, lex: Lexicon) -> List[str]:
    notes: List[str] = []
    covered = "、".join(qr.covered_regions)
    if p.unknown.get("district"):
        notes.append(f"未能识别地区“{p.unknown['district']}”：为免给出其他地区的政策，未列出措施。已收录：{covered}。")
    elif qr.region_covered is False:
        notes.append(f"目前还没有收录{p.district}的政策文件。已收录：{covered}。")
    if p.unknown.get("industry"):
        notes.append(f"未能识别行业“{p.unknown['industry']}”，未按行业筛选。")
    if p.unknown.get("size"):
        notes.append(f"未能识别企业规模“{p.unknown['size']}”，未按规模筛选。")
    if p.unknown.get("topic"):
        notes.append(f"未能识别事项“{p.unknown['topic']}”，按来电原话匹配。")
    if qr.relaxed and qr.question_words:
        notes.append(wording.not_found(qr.question_words, p.district or covered)
                     + (wording.nearest_head(len(qr.results)) if qr.results else ""))
    if any(r.expired for r in qr.results):
        notes.append(EXPIRED_NOTE)
    return notes


def _result_view(r: MeasureResult, n: int, as_of: dt.date) -> dict:
    d = r.to_dict()
    d["number"] = n
    d["summary"] = measure_summary(r, n, as_of)
    d["validity"] = validity_sentence(r, as_of)
    d["units"] = units_sentence(r)
    d["deadline"] = deadline_sentence(r, as_of)
    d["amounts_text"] = amounts_phrase(r)
    d["excerpt"] = shorten(r.text, 80)
    d["region_note"] = region_note(r)
    return d


def measures(factory: sessionmaker, text: str, given: Dict[str, Any], as_of: Optional[dt.date] = None,
             limit: int = 5, offset: int = 0) -> dict:
    lex = load_lexicon()
    as_of = as_of or dt.date.today()
    values, sources, extracted = merge(text, given)
    p = profile_of(values, lex)
    slots_view = slot_view(values, sources, p)
    if not text and not any(values.values()):
        qr = QueryResult(profile=p, as_of=as_of, total=0, offset=offset, results=[])
        out = qr.to_dict()
        out.update(slots=slots_view, extracted=extracted, notes=["请输入来电人说的话，或选择地区、行业、规模、事项。"],
                   script="", hotline=None, profile_line=profile_line(p), empty_input=True)
        return out
    with factory() as s:
        # find_measures is the one place that prepares the question (normalises it, drops
        # region/size words, refuses an unknown district)
        qr = find_measures(s, p, text=text, as_of=as_of, limit=limit, offset=offset, lex=lex)
    out = qr.to_dict()
    out["results"] = [_result_view(r, offset + i + 1, as_of) for i, r in enumerate(qr.results)]
    out.update(slots=slots_view, extracted=extracted, notes=_notes(qr, p, lex), script=caller_script(qr, lex),
               hotline=hotline_for(p, qr.results, lex), profile_line=profile_line(p), empty_input=False)
    return out

