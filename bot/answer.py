"""Turn query results into text a person reads: whole, numbered, honest (a channel with a
size limit splits it: bot/channels/base.py).

Every sentence here restates a field of the result; nothing is made up. Where
the source does not say (no lead unit, no validity, no phone), the text says
so and gives the fallback: the document's own contact instruction, then the
city's 12345 hotline.
"""
from __future__ import annotations

import datetime as dt
from typing import List, Optional, Sequence

from bot import wording
from bot.query import DocumentResult, MeasureResult, Profile, QueryResult

def cn_date(iso: Optional[str]) -> str:
    if not iso:
        return ""
    d = dt.date.fromisoformat(iso)
    return f"{d.year}年{d.month}月{d.day}日"


def shorten(text: str, n: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def profile_line(p: Profile) -> str:
    parts = [p.district or "地区未说明"]
    if p.industry:
        parts.append(p.industry)
    if p.sizes:
        parts.append("/".join(p.sizes))
    if p.topic:
        parts.append(p.topic)
    return " · ".join(parts)


def validity_sentence(r: MeasureResult, as_of: dt.date) -> str:
    today = f"{as_of.year}年{as_of.month}月{as_of.day}日"
    if r.valid_until:
        basis = "本条自身规定的期限" if r.validity_source == "measure" else "文件规定的有效期"
        if r.expired:
            return f"有效期至{cn_date(r.valid_until)}（{basis}），截至{today}已过期"
        return f"有效期至{cn_date(r.valid_until)}（{basis}），目前仍在有效期内"
    if r.published:
        pub = dt.date.fromisoformat(r.published)
        years = (as_of - pub).days // 365
        age = f"，距今已{years}年多" if years >= 1 else ""
        return wording.validity_unstated(cn_date(r.published), age)
    return wording.validity_unstated(None)


def deadline_sentence(r: MeasureResult, as_of: dt.date) -> str:
    if not r.deadline_text:
        return ""
    passed = f"（{'已过' if dt.date.fromisoformat(r.deadline) < as_of else '未到'}）" if r.deadline else ""
    return f"完成时限：{r.deadline_text}{passed}"


def amounts_phrase(r: MeasureResult, limit: int = 4) -> str:
    """What the enterprise can get: only amounts read as benefits (not a budget, a fee or a threshold)."""
    seen: List[str] = []
    for a in r.amounts:
        if a.get("kind", "benefit") == "benefit" and a["raw"] not in seen:
            seen.append(a["raw"])
    return "、".join(seen[:limit])


def _contact_of(u: dict) -> str:
    bits = []
    if u.get("phone"):
        bits.append(f"电话{u['phone']}")
    if u.get("address"):
        bits.append(f"地址{u['address']}")
    if u.get("website"):
        bits.append(u["website"])
    if bits:
        return f"{u['name']}（{'，'.join(bits)}；来源：{u.get('source') or '联系人名录'}）"
    return u["name"]


def units_sentence(r: MeasureResult) -> str:
    """Who leads, who is responsible, and how to reach them — or the honest fallback."""
    lead = [u for u in r.contacts if u["role"] == "lead"]
    resp = [u for u in r.contacts if u["role"] == "responsible"]
    lines: List[str] = []
    if lead:
        lines.append("牵头单位：" + "、".join(_contact_of(u) for u in lead))
    if resp:
        prefix = "责任单位：" if lead else "原文未列牵头单位；责任单位："
        lines.append(prefix + "、".join(_contact_of(u) for u in resp))
    if not lead and not resp:
        lines.append("原文未写明牵头单位")
        dc = r.document_contact
        if dc:
            lines.append(f"文件指明的联系部门：{_contact_of(dc)}（原文：“{shorten(dc.get('text') or '', 40)}”）")
    has_phone = any(u.get("phone") for u in lead + resp)
    if r.hotline and not has_phone:
        lines.append(wording.no_phone_on_record(r.hotline))
    return "\n   ".join(lines)


def documents_answer(kind: str, docs: Sequence[DocumentResult], as_of: dt.date) -> str:
    """A question about documents as a whole ("这份文件有效期到什么时候", "谁来督办"): one
    line per document, its validity or the office it names, as printed."""
    today = f"{as_of.year}年{as_of.month}月{as_of.day}日"
    lines = []
    for d in docs:
        if kind == "validity":
            until = cn_date(d.valid_until) if d.valid_until else None
            lines.append(wording.document_validity(d.label, until, d.validity_text, d.expired, today))
        else:
            unit = _contact_of(d.contact) if d.contact else None
            text = shorten(d.contact_text or "", 60) if d.contact_text else None
            lines.append(wording.document_contact(d.label, unit, text, d.hotline))
    return "\n".join(lines)


def region_note(r: MeasureResult) -> str:
    if r.region_match == "narrower":
        return f"（仅适用于{r.region}的企业）"
    return ""


def snippet_text(r: MeasureResult, max_chars: Optional[int] = None) -> str:
    """The sentence(s) of the clause that answer the question (already fitted to the page's
    budget by bot/query.py), or the clause's start; ``max_chars`` for one-line mentions."""
    if max_chars and r.lead:
        return shorten(r.lead, max_chars)
    if r.snippet:
        text = "".join(r.snippet)
        return shorten(text, max_chars) if max_chars else " ".join(text.split())
    return shorten(r.text, max_chars or 220)


def measure_summary(r: MeasureResult, n: int, as_of: dt.date, p: Optional[Profile] = None,
                    cite_document: bool = True) -> str:
    # whole: a few documents print a sentence as the item's heading ("…办理时间不超过8天、申请
    # 材料不超过8件", at most 56 characters in the seeds) and the fact asked is in it
    heading = " ".join(r.item_heading.split()) if r.item_heading else ""
    head = f"{n}. 【{heading}】" if heading else f"{n}. "
    lines = [head + snippet_text(r) + region_note(r)]
    if r.kind == "government":
        lines.append("   " + wording.GOVERNMENT_NOTE)
    amt = amounts_phrase(r)
    if amt:
        lines.append(f"   可获得：{amt}")
    if r.sizes and p is not None and p.sizes and not set(p.sizes) <= set(r.sizes):
        lines.append("   " + wording.size_limited(r.sizes))
    if r.qualifications:
        lines.append(f"   原文提及的企业类别：{'、'.join(r.qualifications)}（申请条件以原文为准）")
    lines.append(f"   有效期：{validity_sentence(r, as_of)}")
    dl = deadline_sentence(r, as_of)
    if dl:
        lines.append(f"   {dl}")
    lines.append(f"   出处：{r.citation if cite_document else r.article}")
    lines.append(f"   {units_sentence(r)}")
    return "\n".join(lines)


def measure_detail(r: MeasureResult, as_of: dt.date) -> str:
    parts = [f"{r.citation}", f"【{r.item_heading}】" if r.item_heading else "", r.text]
    if r.amounts:
        parts.append("涉及金额/比例：")
        for a in r.amounts:
            parts.append(f"· {a['raw']} —— “{shorten(a['sentence'], 60)}”")
    applies = [f"适用地区：{r.region}" + ("及下辖各区" if r.region_match != "narrower" and len(r.districts) > 1 else "")]
    applies.append("适用规模：" + ("、".join(r.sizes) if r.sizes else "原文未限定规模"))
    applies.append("适用行业：" + ("、".join(r.industries) if r.industries else "原文未限定行业"))
    if r.qualifications:
        applies.append("原文提及的企业类别：" + "、".join(r.qualifications))
    parts.append("；".join(applies))
    parts.append(f"有效期：{validity_sentence(r, as_of)}")
    dl = deadline_sentence(r, as_of)
    if dl:
        parts.append(dl)
    parts.append(units_sentence(r).replace("\n   ", "\n"))
    if r.source_url:
        parts.append(f"原文：{r.source_url}")
    if r.title_note:
        parts.append(f"注：{r.title_note}")
    return "\n".join(p for p in parts if p)


def answer_text(qr: QueryResult, page_size: int = 3, start_number: Optional[int] = None) -> str:
    """The whole answer: what answers the question first, then what to do next."""
    as_of = qr.as_of
    p = qr.profile
    lines: List[str] = []
    place = p.unknown.get("district") or (p.district if qr.region_covered is False else None)
    if place:
        lines.append(wording.not_covered(place, qr.covered_regions))
        lines.append(wording.place_hotline(_hotline_of(place)))
        if qr.total == 0:
            return "\n".join(lines)
    if qr.total == 0 and qr.question_words:
        # about the thing asked, but limited to another size or industry: said, with the clause
        ruled_out = _not_applying_lines(qr)
        where = p.district or "、".join(qr.covered_regions)
        lines.append(wording.not_for_you(qr.question_words, where) if ruled_out
                     else wording.not_found(qr.question_words, where))
        lines.extend(ruled_out)
        lines.append(wording.ask_hotline(_hotline_of(p.district) if p.district else None))
        return "\n".join(lines)
    if qr.total == 0:
        lines.append(wording.no_measures(profile_line(p)))
        lines.append(wording.rephrase_hint())
        return "\n".join(lines)
    first = (start_number or qr.offset + 1)
    shown = len(qr.results)
    documents = {r.document_key for r in qr.results}
    one_document = len(documents) == 1
    ruled_out = _not_applying_lines(qr)
    if qr.relaxed:
        where = p.district or "、".join(qr.covered_regions)
        if ruled_out:  # the clauses about it exist but are for other enterprises: that is the answer
            lines.append(wording.not_for_you(qr.question_words, where))
            lines.extend(ruled_out)
            ruled_out = []
        else:
            lines.append(wording.not_found(qr.question_words, where))
        lines.append(wording.nearest_head(shown))
    elif qr.offset:
        lines.append(f"第{first}–{first + shown - 1}条（共{qr.total}条）：")
    elif qr.question_words and qr.unstated:
        lines.append(wording.unstated_head(qr.unstated, qr.question_words, p.district or "、".join(qr.regions or qr.covered_regions),
                                           qr.total, shown))
    elif qr.question_words:
        lines.append(wording.found_head(profile_line(p), qr.total, shown, qr.question_words, qr.absent_words))
    else:
        lines.append(wording.listing_head(profile_line(p), qr.total, shown))
    if not p.district and len(qr.regions) == 1 and not qr.offset:
        lines.append(wording.one_region(qr.regions[0]))
    if one_document:
        lines.append(f"出自{qr.results[0].document_label}")
    for i, r in enumerate(qr.results):
        if qr.relaxed:  # not an answer: what it is about and where, no more
            lines.append(f"{first + i}. 【{shorten(r.item_heading, 26) or r.article}】{snippet_text(r)}"
                         f"（{r.citation if not one_document else r.article}）")
        else:
            lines.append(measure_summary(r, first + i, as_of, p, cite_document=not one_document))
    lines.extend(ruled_out)
    tail = []
    if any(r.expired for r in qr.results):
        tail.append(wording.EXPIRED_NOTE)
    if qr.relaxed or qr.unstated:
        tail.append(wording.ask_hotline(qr.results[0].hotline if qr.results else None))
    elif qr.offset + shown < qr.total:
        tail.append(wording.MORE_HINT)
    tail.append(wording.FOLLOW_UP_HINT)
    lines.extend(tail)
    return "\n".join(lines)


def _not_applying_lines(qr: QueryResult) -> List[str]:
    """The clauses about the thing asked that the enterprise's size or industry rules out."""
    p, out = qr.profile, []
    for r in qr.not_applying:
        enterprise = "/".join(p.sizes) if p.sizes else ""
        if p.sizes and r.sizes and not set(p.sizes) & set(r.sizes):
            out.append(wording.not_applying(r.sizes, enterprise, r.citation, snippet_text(r, 80)))
        elif p.industry and r.industries and p.industry not in r.industries:
            out.append(wording.not_applying_industry(r.industries, p.industry, r.citation))
    return out


def _hotline_of(place: str) -> Optional[dict]:
    from bot.lexicon import load_lexicon
    return load_lexicon().hotline_info(place)


def handoff_summary(p: Profile, question: str, shown: Sequence[MeasureResult], hotline: Optional[dict]) -> str:
    """One paragraph for the human agent who takes over."""
    measures = "；".join(f"{r.citation}" for r in shown[:5]) or "尚未给出措施"
    line = (f"企业情况：{profile_line(p)}。诉求：{wording.plain(question or '未说明', 80)}。"
            f"已提供的措施：{measures}。")
    if hotline:
        line += f"请转{hotline['name']}（{hotline['number']}）人工坐席继续处理。"
    return line
