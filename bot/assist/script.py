"""The read-out script: what the agent says to the caller about the measures found.

Only facts from the query results and the lexicon's hotline; the wording of the shared
sentences comes from ``bot.answer`` and ``bot.wording``.
"""
from __future__ import annotations

from typing import List, Optional

from bot.answer import amounts_phrase, profile_line, region_note, shorten, units_sentence, validity_sentence
from bot.assist.caller_profile import hotline_for, hotline_words
from bot.lexicon import Lexicon, load_lexicon
from bot.query import QueryResult
from bot import wording

#: How many measures the read-out script covers (the agent can read more from the cards).
SCRIPT_ITEMS = 3
_ORDINALS = "一二三四五六七八九十"


def caller_script(qr: QueryResult, lex: Optional[Lexicon] = None, items: int = SCRIPT_ITEMS) -> str:
    """What the agent reads out: situation, the first measures with validity, citation and who to
    contact (or the honest fallback). Only facts from the results and the lexicon's hotline."""
    lex = lex or load_lexicon()
    p = qr.profile
    hot = hotline_for(p, qr.results, lex)
    if p.unknown.get("district") or qr.region_covered is False:
        name = p.unknown.get("district") or p.district
        return (f"您好，目前系统里还没有收录{name}的惠企政策文件，暂时无法告诉您具体条款。"
                f"建议您咨询{hotline_words(hot)}，我们也可以为您登记转办。")
    if qr.relaxed and qr.question_words:
        return (f"您好，{wording.not_found(qr.question_words, p.district or '、'.join(qr.covered_regions))}"
                f"建议您咨询{hotline_words(hot)}，我们也可以为您登记转办。")
    if qr.total == 0 or not qr.results:
        if qr.total and not qr.results:
            return f"您好，按您说的情况（{profile_line(p)}），共查到{qr.total}条措施，已全部列出。"
        return (f"您好，按您说的情况（{profile_line(p)}），暂时没有查到适用的措施。"
                f"建议您咨询{hotline_words(hot)}，我们也可以为您登记转办。")
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
        lines.append(f"如需进一步咨询，可拨打{hotline_words(hot)}。")
    return "\n".join(lines)

