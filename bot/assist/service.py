"""The blocking work behind the assist console: slots, measures, the script, work orders.

Everything here is synchronous (SQLAlchemy sessions, jieba, OpenCC) and runs in
a worker thread (``asyncio.to_thread`` in ``app.py``). Inputs arrive already
type-checked by ``inputs.py``. Every sentence shown to the agent or read to
the caller comes from ``bot.answer`` or restates a field of a result.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any, Dict, List, Optional, Sequence

from sqlalchemy.orm import sessionmaker

from bot.answer import (amounts_phrase, cn_date, deadline_sentence, handoff_summary, measure_summary,
                        profile_line, region_note, shorten, units_sentence, validity_sentence)
from bot.assist.inputs import MAX_TEXT_CHARS, SLOTS, csv_cell
from bot.lexicon import Lexicon, load_lexicon
from bot.query import MeasureResult, Profile, QueryResult, covered_regions, find_measures, get_measure
from bot.textnorm import normalize_query
from bot import wording
from bot.profile_reader import extract_slots

#: How many measures the read-out script covers (the agent can read more from the cards).
SCRIPT_ITEMS = 3
EXPIRED_NOTE = "标“已过期”的措施现已不能按原条款申请，可作了解或咨询是否有延续政策。"
_ORDINALS = "一二三四五六七八九十"


def warm_up() -> None:
    """Load the lexicon, OpenCC and the jieba dictionary before the first agent asks."""
    from bot.segment import terms
    load_lexicon()
    terms(normalize_query("增城區小微企業貸款貼息"))


# ---- slots ------------------------------------------------------------------

def _blank_slots() -> Dict[str, Any]:
    return {name: None for name in SLOTS}


def read_slots(text: str) -> Dict[str, Any]:
    return extract_slots(text) if text else _blank_slots()


def _profile(values: Dict[str, Any], lex: Lexicon) -> Profile:
    return Profile.from_slots(values.get("district"), values.get("industry"), values.get("size"),
                              values.get("topic"), lex=lex)


def _slot_view(values: Dict[str, Any], sources: Dict[str, Optional[str]], p: Profile) -> Dict[str, dict]:
    canonical = {"district": p.district, "industry": p.industry, "size": list(p.sizes) or None, "topic": p.topic}
    return {name: {"value": values.get(name), "canonical": canonical[name], "source": sources.get(name),
                   "unknown": p.unknown.get(name)} for name in SLOTS}


def _region_info(name: Optional[str], covered: Sequence[str], lex: Lexicon) -> Optional[dict]:
    if not name:
        return None
    hot = lex.hotline(name)
    return {"name": name, "level": lex.regions[name].level, "city": lex.city_of(name),
            "covered": _is_covered(name, covered, lex), "has_documents": name in covered,
            "hotline": _hotline_dict(hot)}


def _is_covered(region: str, covered: Sequence[str], lex: Lexicon) -> bool:
    """Same rule as find_measures: a document above or below the region applies to it."""
    near = lex.ancestors(region) + lex.descendants(region)
    return any(r in covered for r in near)


def _hotline_dict(region) -> Optional[dict]:
    if region is None:
        return None
    return {"number": region.hotline_number, "name": region.hotline_name, "region": region.name}


def understand(factory: sessionmaker, text: str) -> dict:
    lex = load_lexicon()
    slots = read_slots(text)
    p = _profile(slots, lex)
    with factory() as s:
        covered = covered_regions(s)
    return {
        "text": text,
        "normalized": normalize_query(text),
        "slots": slots,
        "canonical": {"district": p.district, "industry": p.industry, "sizes": list(p.sizes), "topic": p.topic,
                      "unknown": p.unknown},
        "region": _region_info(p.district, covered, lex),
        "profile_line": profile_line(p),
    }


# ---- measures ---------------------------------------------------------------

def _merge(text: str, given: Dict[str, Any]) -> tuple:
    """Slots the agent set win (even when set to "不限"); the rest come from the text."""
    extracted = read_slots(text)
    values, sources = {}, {}
    for name in SLOTS:
        if name in given:
            values[name], sources[name] = given[name], ("agent" if given[name] else None)
        else:
            values[name], sources[name] = extracted[name], ("text" if extracted[name] else None)
    return values, sources, extracted


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


def _hotline_for(p: Profile, results: Sequence[MeasureResult], lex: Lexicon) -> Optional[dict]:
    hot = _hotline_dict(lex.hotline(p.district)) if p.district else None
    if hot is None and results and results[0].hotline:
        hot = dict(results[0].hotline)
    return hot


def _hotline_words(hot: Optional[dict]) -> str:
    return wording.hotline_phrase(hot)


def _one_line(units: str) -> str:
    return units.replace("\n   ", "；")


def caller_script(qr: QueryResult, lex: Optional[Lexicon] = None, items: int = SCRIPT_ITEMS) -> str:
    """What the agent reads out: situation, the first measures with validity, citation and who to
    contact (or the honest fallback). Only facts from the results and the lexicon's hotline."""
    lex = lex or load_lexicon()
    p = qr.profile
    hot = _hotline_for(p, qr.results, lex)
    if p.unknown.get("district") or qr.region_covered is False:
        name = p.unknown.get("district") or p.district
        return (f"您好，目前系统里还没有收录{name}的惠企政策文件，暂时无法告诉您具体条款。"
                f"建议您咨询{_hotline_words(hot)}，我们也可以为您登记转办。")
    if qr.relaxed and qr.question_words:
        return (f"您好，{wording.not_found(qr.question_words, p.district or '、'.join(qr.covered_regions))}"
                f"建议您咨询{_hotline_words(hot)}，我们也可以为您登记转办。")
    if qr.total == 0 or not qr.results:
        if qr.total and not qr.results:
            return f"您好，按您说的情况（{profile_line(p)}），共查到{qr.total}条措施，已全部列出。"
        return (f"您好，按您说的情况（{profile_line(p)}），暂时没有查到适用的措施。"
                f"建议您咨询{_hotline_words(hot)}，我们也可以为您登记转办。")
    shown = qr.results[:min(items, len(_ORDINALS))]
    if qr.relaxed:  # only a topic with no words of its own and nothing tagged with it
        lines = [f"您好，按您企业的情况（{profile_line(p)}），有{qr.total}条措施可以了解："]
    else:
        lines = [f"您好，按您说的情况（{profile_line(p)}），查到{qr.total}条相关措施"
                 + (f"，先说最相关的{len(shown)}条：" if qr.total > len(shown) else "：")]
    said: List[str] = []
    phone_fallback = ""
    for i, r in enumerate(shown):
        what = shorten(r.item_heading, 26) + "：" if r.item_heading else ""
        parts = [f"{_ORDINALS[i]}是{what}{shorten(''.join(r.snippet) or r.text, 60)}{region_note(r) if r.region_match == 'narrower' else ''}"]
        amt = amounts_phrase(r)
        if amt:
            parts.append(f"可获得：{amt}")
        parts.append(validity_sentence(r, qr.as_of))
        parts.append(f"出处是{r.citation}")
        units = []
        for line in units_sentence(r).split("\n   "):
            if line.startswith("暂无该单位电话记录"):  # the hotline fallback: said once, at the end
                phone_fallback = line
            else:
                units.append(line)
        unit_line = "；".join(units)
        parts.append("联系单位同上" if said and unit_line == said[-1] else unit_line)
        said.append(unit_line)
        lines.append("。".join(parts) + "。")
    if any(r.expired for r in shown):
        lines.append("其中已过期的措施现在不能按原条款申请，可以了解或咨询是否有延续政策。")
    if phone_fallback:
        lines.append(phone_fallback.replace("暂无该单位电话记录，", "没有电话记录的单位，") + "。")
    elif not any(u.get("phone") for r in shown for u in r.contacts):
        lines.append(f"如需进一步咨询，可拨打{_hotline_words(hot)}。")
    return "\n".join(lines)


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
    values, sources, extracted = _merge(text, given)
    p = _profile(values, lex)
    slots_view = _slot_view(values, sources, p)
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
               hotline=_hotline_for(p, qr.results, lex), profile_line=profile_line(p), empty_input=False)
    return out


# ---- work order -------------------------------------------------------------

def _contact_fields(u: dict) -> dict:
    return {"name": u["name"], "full_name": u.get("full_name"), "region": u.get("region"),
            "phone": u.get("phone"), "address": u.get("address"), "website": u.get("website"),
            "contact_source": u.get("source")}


def default_transfer(results: Sequence[MeasureResult], hot: Optional[dict]) -> dict:
    """The first measure's first lead unit (a named office, not "各镇街"), else the office its
    document names for contact, else the hotline."""
    if results:
        r = results[0]
        leads = [u for u in r.contacts if u["role"] == "lead" and not u.get("generic")]
        if leads:
            return {**_contact_fields(leads[0]), "basis": "lead_unit",
                    "basis_text": f"第1条措施的牵头单位（{r.citation}）"}
        if r.document_contact:
            return {**_contact_fields(r.document_contact), "basis": "document_contact",
                    "basis_text": f"原文未写明牵头单位；文件指明的联系部门（{r.document}）"}
    if hot:
        return {"name": hot["name"], "full_name": None, "region": hot.get("region"), "phone": hot["number"],
                "address": None, "website": None, "contact_source": "lexicon", "basis": "hotline",
                "basis_text": "原文未写明牵头单位或联系部门，转12345热线"}
    return {"name": "12345政务服务便民热线", "full_name": None, "region": None, "phone": "12345", "address": None,
            "website": None, "contact_source": None, "basis": "hotline", "basis_text": "未确定地区，转12345热线"}


def workorder(factory: sessionmaker, *, text: str, given: Dict[str, Any], caller_need: Optional[str],
              measure_ids: Sequence[int], transfer_unit: Optional[str] = None,
              as_of: Optional[dt.date] = None, now: Optional[dt.datetime] = None) -> dict:
    lex = load_lexicon()
    as_of = as_of or dt.date.today()
    now = now or dt.datetime.now().astimezone()
    values, sources, _ = _merge(text, given)
    p = _profile(values, lex)
    with factory() as s:
        covered = covered_regions(s)
        found = {i: get_measure(s, i, p, as_of) for i in measure_ids}
    shown = [r for r in found.values() if r is not None]
    missing = [i for i, r in found.items() if r is None]
    hot = _hotline_for(p, shown, lex)
    need = caller_need or (shorten(text, 80) if text else "未说明")
    if transfer_unit:
        transfer = {"name": transfer_unit, "full_name": None, "region": p.district, "phone": None, "address": None,
                    "website": None, "contact_source": None, "basis": "agent", "basis_text": "坐席指定"}
    else:
        transfer = default_transfer(shown, hot)
    items = [{
        "id": r.id, "citation": r.citation, "document": r.document, "doc_number": r.doc_number, "issuer": r.issuer,
        "region": r.region, "item_heading": r.item_heading, "text": shorten(r.text, 80),
        "amounts": amounts_phrase(r), "valid_until": r.valid_until, "expired": r.expired,
        "validity": validity_sentence(r, as_of), "lead_units": r.lead_units, "responsible_units": r.responsible_units,
        "units": _one_line(units_sentence(r)),
    } for r in shown]
    summary = handoff_summary(p, need, shown, None) + f"建议转办：{transfer['name']}（{transfer['basis_text']}）。"
    return {
        "kind": "12345工单",
        "created_at": now.isoformat(timespec="seconds"),
        "as_of": as_of.isoformat(),
        "caller_need": need,
        "caller_text": text,
        "region": {"district": p.district, "as_given": values.get("district"),
                   "city": lex.city_of(p.district) if p.district else None,
                   "covered": _is_covered(p.district, covered, lex) if p.district else None},
        "enterprise": {"industry": p.industry, "sizes": list(p.sizes), "topic": p.topic, "unknown": p.unknown,
                       "profile_line": profile_line(p)},
        "slot_sources": sources,
        "measures": items,
        "measure_ids_not_found": missing,
        "transfer": transfer,
        "hotline": hot,
        "summary": summary,
    }


CSV_COLUMNS = (
    ("工单类型", lambda w: w["kind"]),
    ("生成时间", lambda w: w["created_at"]),
    ("查询基准日", lambda w: cn_date(w["as_of"])),
    ("来电诉求", lambda w: w["caller_need"]),
    ("来电原话", lambda w: w["caller_text"]),
    ("所在地区", lambda w: w["region"]["district"] or w["region"]["as_given"] or "未说明"),
    ("所属城市", lambda w: w["region"]["city"] or ""),
    ("行业", lambda w: w["enterprise"]["industry"] or ""),
    ("企业规模", lambda w: "、".join(w["enterprise"]["sizes"])),
    ("关注事项", lambda w: w["enterprise"]["topic"] or ""),
    ("未识别信息", lambda w: "；".join(f"{k}：{v}" for k, v in w["enterprise"]["unknown"].items())),
    ("已告知措施（出处）", lambda w: _numbered(m["citation"] for m in w["measures"])),
    ("措施内容", lambda w: _numbered(m["text"] for m in w["measures"])),
    ("有效期", lambda w: _numbered(m["validity"] for m in w["measures"])),
    ("牵头/责任单位", lambda w: _numbered(m["units"] for m in w["measures"])),
    ("转办单位", lambda w: w["transfer"]["name"]),
    ("转办依据", lambda w: w["transfer"]["basis_text"]),
    ("转办单位电话", lambda w: w["transfer"]["phone"] or ""),
    ("热线", lambda w: _hotline_words(w["hotline"]) if w["hotline"] else ""),
    ("工单摘要", lambda w: w["summary"]),
)


def _numbered(xs) -> str:
    return "\n".join(f"{i}. {x}" for i, x in enumerate(xs, 1))


def workorder_csv(record: dict) -> bytes:
    """Header row + one row; UTF-8 with BOM so Excel (zh-CN) opens it without mojibake."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([name for name, _ in CSV_COLUMNS])
    w.writerow([csv_cell(get(record)) for _, get in CSV_COLUMNS])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


# ---- vocabulary -------------------------------------------------------------

def vocabulary(factory: sessionmaker) -> dict:
    lex = load_lexicon()
    with factory() as s:
        covered = covered_regions(s)
    regions = []
    for name, r in lex.regions.items():
        regions.append({"name": name, "level": r.level, "parent": r.parent, "city": lex.city_of(name),
                        "aliases": list(r.aliases), "has_documents": name in covered,
                        "covered": _is_covered(name, covered, lex)})
    order = {name: i for i, name in enumerate(covered)}
    regions.sort(key=lambda r: (0 if r["has_documents"] else 1 if r["covered"] else 2, order.get(r["name"], 0)))
    sizes = [{"name": s, "members": [s], "group": False} for s in lex.sizes]
    seen = set()
    for name, members in lex.size_groups.items():
        key = frozenset(members)
        if key not in seen:
            seen.add(key)
            sizes.append({"name": name, "members": list(members), "group": True})
    return {
        "districts": regions,
        "covered_regions": covered,
        "sizes": sizes,
        "industries": [{"name": i.name, "code": i.code, "aliases": list(i.aliases), "section": i.is_section}
                       for i in lex.industries.values()],
        "topics": [{"name": t.name, "aliases": list(t.aliases)} for t in lex.topics.values()],
        "limits": {"max_text_chars": MAX_TEXT_CHARS},
    }
