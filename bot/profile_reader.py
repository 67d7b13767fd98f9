"""Dictionary-based slot reading for the CLI and the assist console.

The chat assistant reads slots with Rasa NLU; agents and scripts that call
``bot`` directly get the same vocabulary through this longest-match reader.
"""
from __future__ import annotations

import re
from typing import Dict, List, Optional, Tuple

from bot import regions
from bot.lexicon import find_terms, load_lexicon
from bot.segment import pos_tokenizer
from bot.textnorm import normalize_query


def extract_slots(text: str) -> Dict[str, Optional[object]]:
    """{"district", "industry", "size" (list of sizes), "topic"} found in ``text``."""
    lex = load_lexicon()
    text = normalize_query(text)
    out: Dict[str, Optional[object]] = {"district": None, "industry": None, "size": None, "topic": None}
    regions = find_terms(text, lex.region_terms())
    if regions:
        # the most specific region named wins ("广州天河" → 天河区)
        names = [v for _, v in regions]
        out["district"] = max(names, key=lambda r: len(lex.ancestors(r)))
    sizes: List[str] = []
    for _, members in find_terms(text, lex.size_terms()):
        sizes.extend(s for s in members if s not in sizes)
    out["size"] = sizes or None
    inds = find_terms(text, lex.industry_terms())
    if inds:
        out["industry"] = inds[0][1]
    topics = find_terms(text, lex.topic_terms())
    if topics:
        out["topic"] = topics[0][1]
    return out


#: an industry word describes the enterprise itself only next to words like these
#: ("我们是做外贸的", "五金加工厂", "餐饮企业"); otherwise it is what the enterprise asks
#: about ("外贸公司问出口信用保险" is not 金融业 because it names 保险)
_SELF_BEFORE = re.compile(r"(我们|我|本|是|做|搞|开|从事|经营|干|属于|一家|开了|开个|(?<![那这哪每各])个)[^，,。？?！!]{0,3}$")
_SELF_AFTER = re.compile(r"^(的|公司|企业|厂|大厂|小厂|工厂|店|行业|业|类|门店|商户|个体户|档口|工作室|机构|平台)")
#: a preposition right before the word makes it a place or a counterpart, not the trade
_OBJECT_BEFORE = re.compile(r"[在到去找向跟和与从给对帮替]$")
#: what the enterprise wants to turn into is not what it does ("做餐饮的，想转做信息技术"):
#: the measures for it are those of its present trade, and the new one is what it asks about
_TURNING_INTO = re.compile(r"转(型|行|产)?(做|搞|干|到|向|成|为)?[^，,。？?！!]{0,2}$")


def self_described_industry(text: str) -> Optional[Tuple[str, str]]:
    """(surface, industry) when the text says what the enterprise does, else None."""
    lex = load_lexicon()
    t = normalize_query(text)
    for surface, industry in find_terms(t, lex.industry_terms()):
        at = t.find(surface)
        before, after = t[:at], t[at + len(surface):]
        if _OBJECT_BEFORE.search(before) and not _SELF_AFTER.match(after):
            continue  # "我们今年在银行新借了一笔钱": the bank is where, not what the enterprise is
        if _SELF_BEFORE.search(before) or _SELF_AFTER.match(after) or surface.endswith(("公司", "厂", "店", "企业")):
            if _TURNING_INTO.search(before):
                continue  # "想转做电商": what it asks about, searched for
            return surface, industry
    return None


def unknown_place(text: str) -> Optional[str]:
    """A place the text names that the lexicon does not know ("武汉", "东湖高新区", "深圳南山区"),
    found by jieba's part-of-speech tagger (``ns``, place name), then by the national list of
    divisions (bot/regions.py: "顺德", which jieba calls a person's name).

    A known region named as well wins ("我在武汉上班，葛店开发区的执照能办吗" asks about 葛店),
    except when the known name is only the tail of the unknown one: "东湖高新区" is not
    珠海's 高新区."""
    lex = load_lexicon()
    t = normalize_query(text)
    tokens = list(pos_tokenizer().cut(t, HMM=False))  # HMM tagging of unknown runs: ~4 s per 300 random characters
    known = find_terms(t, lex.region_terms())
    for i, (word, flag) in enumerate(tokens):
        if not flag.startswith("ns") or lex.canonical_region(word) or word in _NOT_A_PLACE \
                or not regions.looks_like_place(word):
            continue
        following = tokens[i + 1].word if i + 1 < len(tokens) else ""
        region = lex.canonical_region(following)
        if region and lex.regions[region].level == "function_area":
            return word + following  # "东湖" + "高新区"
        if not known:
            return word
    if not known:
        # a division of the national list the tagger did not call a place ("顺德", "义乌市")
        named = regions.place_named(t, [(w, f) for w, f in tokens])
        if named and not lex.canonical_region(named) and not lex.canonical_region(regions.short_form(named)) \
                and named not in _NOT_A_PLACE:
            return named
    return None


#: words the tagger calls places that do not name a region an enterprise is in
_NOT_A_PLACE = frozenset("中国 全国 国家 国内 境外 海外 港澳 内地 本地 当地 大湾 大湾区 粤港澳 粤港澳大湾区 "
                         "城市 山区 新区 老城区 湾区".split())  # "城市设施配套费" is no city




def read_profile(slots: Dict[str, Optional[object]], text: str) -> Tuple[Dict[str, Optional[object]], List[str]]:
    """The enterprise's profile from the NLU slots and the message itself.

    The message wins where it is explicit: the size from a head count and revenue
    ("我们30个人，一年营业额600万"), an industry only when the enterprise describes
    itself with it, a place the lexicon does not know. Returns the slots (canonical
    where known) and the surface words read as the profile (not searched for)."""
    lex = load_lexicon()
    out = dict(slots)
    said: List[str] = []
    t = normalize_query(text or "")
    place = unknown_place(t)
    if place:
        out["district"] = place
        said.append(place)
    elif not out.get("district"):
        regions = find_terms(t, lex.region_terms())
        if regions:
            out["district"] = max((v for _, v in regions), key=lambda r: len(lex.ancestors(r)))
    ind = self_described_industry(t)
    if ind:
        said.append(ind[0])
        # what the enterprise says it does wins over an entity the NLU read elsewhere in the
        # message ("开酒店的，…银行说要收回贷款": 住宿和餐饮, not 金融业) and over an earlier turn's
        out["industry"] = ind[1]
    elif out.get("industry"):
        named = lex.canonical_industry(str(out["industry"]))
        if any(v == named for _, v in find_terms(t, lex.industry_terms())):
            # NLU read an industry word the enterprise did not describe itself with ("出口信用保险"
            # names 保险, not the enterprise's trade): it is part of the question, not the profile
            out["industry"] = None
    sized = False
    if not out.get("size"):
        sizes: List[str] = []
        for surface, members in find_terms(t, lex.size_terms()):
            sizes.extend(s for s in members if s not in sizes)
            said.append(surface)
        if not sizes:
            sizes = _sizes_from_numbers(t, out.get("industry"))
        if sizes:
            out["size"] = sizes
            sized = True
    # "30个人", "营业额600万" describe the enterprise, not what it asks, beside a size it stated or
    # when they are its own ("我们是一家餐馆，十几个人": 住宿餐饮 needs the revenue too, so no size);
    # "招一个工人补多少钱" asks about a hire, and is searched for
    said.extend(m.group(0) for m in _FIGURES_SPAN.finditer(t)
                if m.group(0) not in said and (sized or ind or _OWN_FIGURE.search(t[:m.start()])))
    return out, said


#: what comes before a figure that describes the enterprise itself
_OWN_FIGURE = re.compile(r"(我们|我司|我家|咱们|本公司|公司|企业|店里|厂里|单位|一共|总共)[^，,。？?！!]{0,6}$|[，,]\s*$")


def states_figures(text: str) -> bool:
    """A head count or revenue is in the text ("二十来个人", "营业额600万")."""
    return bool(_FIGURES.search(normalize_query(text or "")))


def _sizes_from_numbers(text: str, industry: Optional[object]) -> List[str]:
    """Head count and revenue → the size(s) the national standard allows: for the stated
    industry, or — when the industry is not known — every size some industry would give,
    used only if none is 大型 (the answer then says which sizes a measure is limited to)."""
    from bot import sizeclass

    if not _FIGURES.search(text):  # "五金" is not five employees
        return []
    employees = sizeclass.parse_employees(text)
    revenue = sizeclass.parse_money_yuan(text)
    if employees is None and revenue is None:
        return []
    if industry:
        res = sizeclass.classify(str(industry), employees=employees, revenue_yuan=revenue)
        return [res.size] if res.size else []
    possible = sizeclass.possible_sizes_any_industry(employees, revenue)
    if possible and "大型" not in possible:
        return possible
    return []


#: the whole figure phrase, to leave out of the search ("一年营业额600万", "30个人")
_FIGURES_SPAN = re.compile(r"[\d一二两三四五六七八九十百千]+\s*(多|余|来|几)?\s*(个)?(人|名|员工|职工|工人)|"
                           r"(一年|年|去年|每年)?(营收|收入|营业额|销售额|产值|流水)[^\d一二两三四五六七八九十百千]{0,4}"
                           r"[\d.一二两三四五六七八九十百千]+\s*(多|余|来|几)?\s*(千万|百万|万|亿)?\s*(元|块)?")
#: a head count or a revenue figure ("30个人", "十几个人", "营业额600万")
_FIGURES = re.compile(r"[\d一二两三四五六七八九十百千]+\s*(多|余|来|几)?\s*(个)?(人|名|员工|职工|工人)|"
                      r"(营收|收入|营业额|销售额|产值|流水)[^\d一二两三四五六七八九十百千]{0,4}[\d一二两三四五六七八九十百千]")
