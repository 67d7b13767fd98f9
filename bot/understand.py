"""Dictionary-based slot reading for the CLI and the assist console.

The chat assistant reads slots with Rasa NLU; agents and scripts that call
``bot`` directly get the same vocabulary through this longest-match reader.
"""
from __future__ import annotations

import re
from typing import Dict, List, Optional, Tuple

from bot.lexicon import find_terms, load_lexicon
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
_SELF_BEFORE = re.compile(r"(我们|我|本|是|做|搞|开|从事|经营|干|属于|一家|开了|开个|个)[^，,。？?！!]{0,3}$")
_SELF_AFTER = re.compile(r"^(的|公司|企业|厂|店|行业|业|类|门店|商户|个体户|档口|工作室|机构|平台|小厂)")
#: a place-like name ("东湖高新区", "武汉市", "南山区"): checked against the lexicon as a whole
_PLACE = re.compile(r"[\u4e00-\u9fff]{1,8}?(?:省|自治区|市|新区|高新区|开发区|经开区|自贸区|保税区|区|县|镇)")


def self_described_industry(text: str) -> Optional[Tuple[str, str]]:
    """(surface, industry) when the text says what the enterprise does, else None."""
    lex = load_lexicon()
    t = normalize_query(text)
    for surface, industry in find_terms(t, lex.industry_terms()):
        at = t.find(surface)
        before, after = t[:at], t[at + len(surface):]
        if _SELF_BEFORE.search(before) or _SELF_AFTER.match(after) or surface.endswith(("公司", "厂", "店", "企业")):
            return surface, industry
    return None


def unknown_place(text: str) -> Optional[str]:
    """A place the text names that the lexicon does not know, even when its tail is a known
    name ("东湖高新区" is not 珠海's 高新区; "武汉" alone is left to NLU and the lexicon)."""
    lex = load_lexicon()
    t = normalize_query(text)
    known = [s for s, _ in lex.region_terms()]
    for m in _PLACE.finditer(t):
        name = m.group(0)
        # the longest known name ending this mention; anything before it makes a different place
        tails = [k for k in known if name.endswith(k)]
        if not tails:
            if lex.canonical_region(name) is None and len(name) >= 3 and not _NOT_PLACE.search(name):
                return name
            continue
        tail = max(tails, key=len)
        head = name[: len(name) - len(tail)]
        if head and not any((head + tail).endswith(k) and len(k) > len(tail) for k in known) \
                and not _CONNECTIVE.search(head) and lex.canonical_region(head) is None:
            return name
    return None


#: words that end in 区/市 but are not places ("园区", "社区", "城市", "小区", "商业区")
_NOT_PLACE = re.compile(r"(园区|社区|小区|城区|片区|景区|商圈|城市|超市|市场|上市|门市|夜市|市区|本市|全市|全区|本区|我区|我市|"
                        r"辖区|街区|厂区|专区|示范区|功能区|集聚区|试验区|产业区|工业区|商业区|核心区|连片区|保护区|管控区|疫区|"
                        r"各区|该区|城镇|乡镇|村镇|小镇|特色小镇|哪个区|哪个市|什么区|哪区)$")
#: a head that is a grammatical word, not part of a name ("在高新区", "的天河区")
_CONNECTIVE = re.compile(r"^(在|的|去|到|和|与|及|或|是|位于|地处|我们|我|本|我们在|公司在|企业在)$")


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
        if not out.get("industry"):
            out["industry"] = ind[1]
    elif out.get("industry"):
        named = lex.canonical_industry(str(out["industry"]))
        if any(v == named for _, v in find_terms(t, lex.industry_terms())):
            # NLU read an industry word the enterprise did not describe itself with ("出口信用保险"
            # names 保险, not the enterprise's trade): it is part of the question, not the profile
            out["industry"] = None
    if not out.get("size"):
        sizes: List[str] = []
        for surface, members in find_terms(t, lex.size_terms()):
            sizes.extend(s for s in members if s not in sizes)
            said.append(surface)
        if not sizes:
            sizes = _sizes_from_numbers(t, out.get("industry"))
        if sizes:
            out["size"] = sizes
    return out, said


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


#: a head count or a revenue figure ("30个人", "十几个人", "营业额600万")
_FIGURES = re.compile(r"[\d一二两三四五六七八九十百千]+\s*(多|余|来|几)?\s*(个)?(人|名|员工|职工|工人)|"
                      r"(营收|收入|营业额|销售额|产值|流水)[^\d一二两三四五六七八九十百千]{0,4}[\d一二两三四五六七八九十百千]")
