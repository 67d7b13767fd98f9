"""What the caller said, as the console's profile: slots read from the text, the agent's
choices merged over them, the region and its hotline.

Shared by the measures view, the read-out script and the work order (one rule for
"which slot wins" and "which hotline to give"). Synchronous; runs in a worker thread.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Sequence

from sqlalchemy.orm import sessionmaker

from bot.answer import profile_line
from bot.assist.inputs import SLOTS
from bot.lexicon import Lexicon, load_lexicon
from bot.query import MeasureResult, Profile, covered_regions
from bot.textnorm import normalize_query
from bot import wording
from bot.profile_reader import extract_slots


def warm_up() -> None:
    """Load the lexicon, OpenCC and the jieba dictionary before the first agent asks."""
    from bot.segment import terms
    load_lexicon()
    terms(normalize_query("增城區小微企業貸款貼息"))


def blank_slots() -> Dict[str, Any]:
    return {name: None for name in SLOTS}


def read_slots(text: str) -> Dict[str, Any]:
    return extract_slots(text) if text else blank_slots()


def profile_of(values: Dict[str, Any], lex: Lexicon) -> Profile:
    return Profile.from_slots(values.get("district"), values.get("industry"), values.get("size"),
                              values.get("topic"), lex=lex)


def slot_view(values: Dict[str, Any], sources: Dict[str, Optional[str]], p: Profile) -> Dict[str, dict]:
    canonical = {"district": p.district, "industry": p.industry, "size": list(p.sizes) or None, "topic": p.topic}
    return {name: {"value": values.get(name), "canonical": canonical[name], "source": sources.get(name),
                   "unknown": p.unknown.get(name)} for name in SLOTS}


def region_info(name: Optional[str], covered: Sequence[str], lex: Lexicon) -> Optional[dict]:
    if not name:
        return None
    return {"name": name, "level": lex.regions[name].level, "city": lex.city_of(name),
            "covered": lex.is_covered(name, covered), "has_documents": name in covered,
            "hotline": lex.hotline_info(name)}


def understand(factory: sessionmaker, text: str) -> dict:
    lex = load_lexicon()
    slots = read_slots(text)
    p = profile_of(slots, lex)
    with factory() as s:
        covered = covered_regions(s)
    return {
        "text": text,
        "normalized": normalize_query(text),
        "slots": slots,
        "canonical": {"district": p.district, "industry": p.industry, "sizes": list(p.sizes), "topic": p.topic,
                      "unknown": p.unknown},
        "region": region_info(p.district, covered, lex),
        "profile_line": profile_line(p),
    }



def merge(text: str, given: Dict[str, Any]) -> tuple:
    """Slots the agent set win (even when set to "不限"); the rest come from the text."""
    extracted = read_slots(text)
    values, sources = {}, {}
    for name in SLOTS:
        if name in given:
            values[name], sources[name] = given[name], ("agent" if given[name] else None)
        else:
            values[name], sources[name] = extracted[name], ("text" if extracted[name] else None)
    return values, sources, extracted


def hotline_for(p: Profile, results: Sequence[MeasureResult], lex: Lexicon) -> Optional[dict]:
    hot = lex.hotline_info(p.district) if p.district else None
    if hot is None and results and results[0].hotline:
        hot = dict(results[0].hotline)
    return hot


def hotline_words(hot: Optional[dict]) -> str:
    return wording.hotline_phrase(hot)


