"""China's administrative divisions (GB/T 2260): every province, city and county-level
division by name, so a message naming any of them ("顺德的工厂", "义乌小商品企业") is read as a
place — one the documents may not cover — instead of as words to search for.

The list is the one the maintained package cpca ships (``cpca/resources/adcodes.csv``: 3,500
divisions with their 12-digit codes). Only that file is read; cpca itself is not imported
(its matcher loads pandas, ~0.5 s and 60 MB, for what is one dictionary lookup here). The
project's own lexicon (bot/lexicon.yml) stays the home of the regions we cover, their aliases
and hotlines; this list only tells a place from a word.

A name is taken when it is a full division name of three or more characters ("顺德区",
"义乌市"), or its short form ("顺德", "普陀": the name without 省/市/区/县/自治州 …) when
jieba reads the short form as a name (a place, or a person: jieba calls 顺德 a person's name;
several divisions may share it, it is a place all the same); and only when it starts and
ends on jieba's word boundaries, so "东方市场" is no 东方市. Loading costs ~40 ms once.
"""
from __future__ import annotations

import csv
import functools
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

#: what a division's name ends with; the rest is its short form (longest first)
SUFFIXES = ("特别行政区", "维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "自治州", "自治县", "自治旗",
            "林区", "地区", "新区", "矿区", "省", "市", "区", "县", "盟", "旗")
#: rows of the list that are placeholders, not places
_PLACEHOLDERS = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})
#: jieba's tags for a name (a place, a person, another proper noun)
_NAME_TAGS = ("ns", "nr", "nz")


@dataclass(frozen=True)
class Division:
    code: str    # 12 digits: province (2), city (4), county (6)
    name: str


def _adcodes_file() -> Optional[Path]:
    spec = importlib.util.find_spec("cpca")  # finds the package without running its __init__
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "resources" / "adcodes.csv"
    return path if path.exists() else None


def short_form(name: str) -> str:
    for suffix in SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


@functools.lru_cache(maxsize=1)
def _index() -> Tuple[Dict[str, List[Division]], Dict[str, List[Division]]]:
    """full name → divisions, short form → divisions."""
    full: Dict[str, List[Division]] = {}
    short: Dict[str, List[Division]] = {}
    path = _adcodes_file()
    if path is None:
        return full, short
    with path.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            name = (row.get("name") or "").strip()
            if not name or name in _PLACEHOLDERS:
                continue
            d = Division(code=row["adcode"], name=name)
            full.setdefault(name, []).append(d)
            s = short_form(name)
            if s != name:
                short.setdefault(s, []).append(d)
    return full, short


def available() -> bool:
    return bool(_index()[0])


#: how a place name ends when it is not on the national list (a town, a village, a zone)
_PLACE_ENDINGS = ("区", "县", "市", "省", "州", "镇", "乡", "村", "街道", "开发区", "新区", "高新区", "园区")


def looks_like_place(word: str) -> bool:
    """A word jieba tags as a place is taken as one if it starts with a name of the national
    list (in full or short: "武汉", "上海浦东") or it ends like a place on a stem of two characters or more
    ("中关村", "东湖高新区"): "上市" (to go public) is no city."""
    full, short = _index()
    if not full:
        return True  # no list to check against: trust the tagger, as before there was one
    if any(word[:n] in full or word[:n] in short for n in range(2, len(word) + 1)):
        return True  # "武汉", "上海浦东"
    return any(word.endswith(e) and len(word) - len(e) >= 2 for e in _PLACE_ENDINGS)


def place_named(text: str, tokens: List[Tuple[str, str]]) -> Optional[str]:
    """The first division ``text`` names, as the text says it ("顺德区", "义乌"), or None.
    ``tokens``: jieba's (word, part of speech) for ``text``, in order."""
    full, short = _index()
    if not full:
        return None
    starts, ends, pos = set(), set(), 0
    for word, _ in tokens:
        starts.add(pos)
        pos += len(word)
        ends.add(pos)
    for i in range(len(text)):
        if i not in starts:
            continue
        for j in range(min(len(text), i + 12), i + 1, -1):
            if j not in ends:
                continue
            piece = text[i:j]
            if len(piece) >= 3 and piece in full:
                return piece
    for word, flag in tokens:  # a short form, even one several divisions share ("普陀"): a place all the same
        if word in short and flag.startswith(_NAME_TAGS):
            return word
    return None
