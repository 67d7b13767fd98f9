"""The one vocabulary: regions, sizes, industries, topics and unit aliases.

Loaded once from ``bot/lexicon.yml`` (a file a person maintains). Ingest uses
it to tag measures, query uses it to match, and ``python -m bot lexicon``
generates the jieba dictionary and Rasa lookup tables from it.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import yaml

from bot.textnorm import normalize_query

LEXICON_PATH = Path(__file__).with_name("lexicon.yml")


@dataclass(frozen=True)
class Region:
    name: str
    level: str
    parent: Optional[str]
    aliases: Tuple[str, ...]
    hotline_number: Optional[str] = None
    hotline_name: Optional[str] = None


@dataclass(frozen=True)
class Industry:
    code: str
    name: str
    keywords: Tuple[str, ...]
    aliases: Tuple[str, ...]

    @property
    def is_section(self) -> bool:
        """GB/T 4754-2017 sections have one-letter codes; groups are words."""
        return len(self.code) == 1


@dataclass(frozen=True)
class Topic:
    name: str
    keywords: Tuple[str, ...]
    aliases: Tuple[str, ...]


@dataclass
class Lexicon:
    regions: Dict[str, Region]
    sizes: Tuple[str, ...]
    size_aliases: Dict[str, str]
    size_groups: Dict[str, Tuple[str, ...]]
    #: short form → the group's full name, which the size slot holds ("小微" → "小微企业")
    size_short_forms: Dict[str, str]
    qualifications: Dict[str, Tuple[str, ...]]
    industries: Dict[str, Industry]
    topics: Dict[str, Topic]
    unit_aliases: Dict[str, Dict[str, str]]
    unit_full_names: Dict[str, Dict[str, str]]
    generic_unit_patterns: Tuple[re.Pattern, ...]
    synonyms: Tuple[Tuple[str, ...], ...] = ()
    query_stopwords: frozenset = frozenset()
    #: how a 12345 agent relays a call ("来电人称其", "企业反映"): removed from the question text
    #: before it is segmented (jieba cuts "来电人称其公司" into 来电 / 人称 / 其 …)
    relay_phrases: Tuple[str, ...] = ()
    _region_alias_index: Dict[str, str] = field(default_factory=dict)

    # ---- regions -------------------------------------------------------
    def ancestors(self, region: str) -> List[str]:
        """The region itself and every region above it, nearest first."""
        out: List[str] = []
        cur: Optional[str] = region
        while cur is not None and cur in self.regions and cur not in out:
            out.append(cur)
            cur = self.regions[cur].parent
        return out

    def descendants(self, region: str) -> List[str]:
        """Every region below ``region`` (not the region itself)."""
        out: List[str] = []
        frontier = [region]
        while frontier:
            parent = frontier.pop()
            for r in self.regions.values():
                if r.parent == parent and r.name not in out:
                    out.append(r.name)
                    frontier.append(r.name)
        return out

    def is_covered(self, region: str, covered: Sequence[str]) -> bool:
        """Whether documents of the ``covered`` regions apply to ``region``: one of a region
        above it (the city's apply to its districts) or below it (a district's is among the
        city's). The one rule for the chat, the console and the query."""
        return any(r in covered for r in self.ancestors(region) + self.descendants(region))

    def city_of(self, region: str) -> Optional[str]:
        for r in self.ancestors(region):
            if self.regions[r].level == "city":
                return r
        return None

    def hotline(self, region: Optional[str]) -> Optional[Region]:
        """The nearest region (self or above) that has a 12345 hotline on record."""
        for r in self.ancestors(region or ""):
            if self.regions[r].hotline_number:
                return self.regions[r]
        return None

    def hotline_info(self, region: Optional[str]) -> Optional[Dict[str, str]]:
        """{"name", "number", "region"} of the hotline that answers for ``region``, or None."""
        hot = self.hotline(region)
        return {"name": hot.hotline_name, "number": hot.hotline_number, "region": hot.name} if hot else None

    def canonical_region(self, text: str) -> Optional[str]:
        """Map a region name or alias ("天河", "横琴新区") to its canonical name."""
        key = normalize_query(text or "").strip()
        return self._region_alias_index.get(key)

    def region_terms(self) -> List[Tuple[str, str]]:
        """(surface form, canonical) pairs, longest surface first."""
        return sorted(self._region_alias_index.items(), key=lambda kv: -len(kv[0]))

    # ---- sizes ---------------------------------------------------------
    def expand_size(self, text: str) -> Tuple[str, ...]:
        """"小微" → (小型, 微型); "小型企业" → (小型,); unknown → ()."""
        key = normalize_query(text or "").strip()
        if key in self.sizes:
            return (key,)
        if key in self.size_aliases:
            return (self.size_aliases[key],)
        if key in self.size_groups:
            return self.size_groups[key]
        return ()

    def size_slot_value(self, word: str) -> str:
        """The value the size slot holds for a size, alias or group word: a group's short
        form becomes its full name ("小微" → "小微企业"), anything else stays as it is."""
        return self.size_short_forms.get(word, word)

    def size_terms(self) -> List[Tuple[str, Tuple[str, ...]]]:
        terms: Dict[str, Tuple[str, ...]] = {s: (s,) for s in self.sizes}
        for alias, s in self.size_aliases.items():
            terms[alias] = (s,)
        terms.update(self.size_groups)
        return sorted(terms.items(), key=lambda kv: -len(kv[0]))

    # ---- industries and topics ----------------------------------------
    def canonical_industry(self, text: str) -> Optional[str]:
        """Map "奶茶店" or "住宿和餐饮业" or "H" to the industry name."""
        key = normalize_query(text or "").strip()
        for ind in self.industries.values():
            if key in (ind.name, ind.code) or key in ind.aliases:
                return ind.name
        for ind in self.industries.values():
            if key.rstrip("业") and key.rstrip("业") == ind.name.rstrip("业"):
                return ind.name
        return None

    def canonical_topic(self, text: str) -> Optional[str]:
        key = normalize_query(text or "").strip()
        for t in self.topics.values():
            if key == t.name or key in t.aliases:
                return t.name
        return None

    def industry_terms(self) -> List[Tuple[str, str]]:
        pairs = {}
        for ind in self.industries.values():
            for a in (ind.name,) + ind.aliases:
                pairs.setdefault(a, ind.name)
        return sorted(pairs.items(), key=lambda kv: -len(kv[0]))

    def topic_terms(self) -> List[Tuple[str, str]]:
        pairs = {}
        for t in self.topics.values():
            for a in (t.name,) + t.aliases:
                pairs.setdefault(a, t.name)
        return sorted(pairs.items(), key=lambda kv: -len(kv[0]))

    # ---- units -----------------------------------------------------------
    def canonical_unit(self, region: str, name: str) -> str:
        """One name per office per region ("区发改局" → "区发展改革局" in 增城区)."""
        return self.unit_aliases.get(region, {}).get(name, name)

    def unit_full_name(self, region: str, canonical: str) -> Optional[str]:
        return self.unit_full_names.get(region, {}).get(canonical)

    def unit_alias_list(self, region: str, canonical: str) -> List[str]:
        return sorted(a for a, c in self.unit_aliases.get(region, {}).items() if c == canonical and a != canonical)

    def is_generic_unit(self, name: str) -> bool:
        return any(p.search(name) for p in self.generic_unit_patterns)

    # ---- query words -------------------------------------------------------
    def synonyms_of(self, word: str) -> Tuple[str, ...]:
        """The other words of every synonym group ``word`` belongs to ("招工" → 招用工, 新招员工, …)."""
        out: List[str] = []
        for group in self.synonyms:
            if word in group:
                out.extend(w for w in group if w != word and w not in out)
        return tuple(out)


def _tuple(xs: Optional[Iterable[str]]) -> Tuple[str, ...]:
    return tuple(str(x) for x in (xs or ()))


def parse_lexicon(raw: dict) -> Lexicon:
    regions: Dict[str, Region] = {}
    for r in raw["regions"]:
        hot = r.get("hotline") or {}
        regions[r["name"]] = Region(
            name=r["name"], level=r["level"], parent=r.get("parent"), aliases=_tuple(r.get("aliases")),
            hotline_number=hot.get("number"), hotline_name=hot.get("name"),
        )
    for r in regions.values():
        if r.parent and r.parent not in regions:
            raise ValueError(f"lexicon: region {r.name} has unknown parent {r.parent}")
    alias_index: Dict[str, str] = {}
    for r in regions.values():
        for surface in (r.name,) + r.aliases:
            if alias_index.get(surface, r.name) != r.name:
                raise ValueError(f"lexicon: region alias {surface} is ambiguous")
            alias_index[surface] = r.name

    s = raw["sizes"]
    sizes = _tuple(s["canonical"])
    size_aliases = {a: k for k, vs in s["aliases"].items() for a in vs}
    size_groups: Dict[str, Tuple[str, ...]] = {}
    short_forms: Dict[str, str] = {}
    for k, v in s["groups"].items():
        if isinstance(v, str):  # a short form of the group named
            if v not in size_groups:
                raise ValueError(f"lexicon: size group {k} is a short form of {v}, which is not a group above it")
            short_forms[k] = v
            v = size_groups[v]
        size_groups[k] = _tuple(v)
    for g, members in size_groups.items():
        unknown = set(members) - set(sizes)
        if unknown:
            raise ValueError(f"lexicon: size group {g} names unknown sizes {unknown}")
    quals = {k: _tuple(v) for k, v in (s.get("qualifications") or {}).items()}

    industries = {
        i["name"]: Industry(code=str(i["code"]), name=i["name"], keywords=_tuple(i.get("keywords")), aliases=_tuple(i.get("aliases")))
        for i in raw["industries"]
    }
    topics = {t["name"]: Topic(name=t["name"], keywords=_tuple(t.get("keywords")), aliases=_tuple(t.get("aliases"))) for t in raw["topics"]}

    unit_aliases: Dict[str, Dict[str, str]] = {}
    unit_full: Dict[str, Dict[str, str]] = {}
    for region, units in (raw.get("units") or {}).items():
        if region not in regions:
            raise ValueError(f"lexicon: units listed for unknown region {region}")
        for u in units or []:
            m = unit_aliases.setdefault(region, {})
            m[u["name"]] = u["name"]
            for a in u.get("aliases") or []:
                m[a] = u["name"]
            if u.get("full_name"):
                unit_full.setdefault(region, {})[u["name"]] = u["full_name"]
    patterns = tuple(re.compile(p) for p in raw.get("generic_unit_patterns") or ())
    synonyms = tuple(_tuple(g) for g in raw.get("synonyms") or ())
    return Lexicon(
        regions=regions, sizes=sizes, size_aliases=size_aliases, size_groups=size_groups,
        size_short_forms=short_forms, qualifications=quals,
        industries=industries, topics=topics, unit_aliases=unit_aliases, unit_full_names=unit_full,
        generic_unit_patterns=patterns, synonyms=synonyms,
        query_stopwords=frozenset(_tuple(raw.get("query_stopwords"))),
        relay_phrases=tuple(sorted(_tuple(raw.get("relay_phrases")), key=len, reverse=True)),
        _region_alias_index=alias_index,
    )


@functools.lru_cache(maxsize=None)
def load_lexicon(path: Optional[str] = None) -> Lexicon:
    with open(path or LEXICON_PATH, encoding="utf-8") as fh:
        return parse_lexicon(yaml.safe_load(fh))


def find_terms(text: str, terms: Sequence[Tuple[str, object]]) -> List[Tuple[str, object]]:
    """Longest-first, non-overlapping matches of ``terms`` in ``text``."""
    taken = [False] * len(text)
    found: List[Tuple[str, object]] = []
    for surface, value in terms:
        if not surface:
            continue
        start = text.find(surface)
        while start != -1:
            end = start + len(surface)
            if not any(taken[start:end]):
                for i in range(start, end):
                    taken[i] = True
                found.append((surface, value))
            start = text.find(surface, end)
    return found
