"""Dictionary-based slot reading for the CLI and the assist console.

The chat assistant reads slots with Rasa NLU; agents and scripts that call
``bot`` directly get the same vocabulary through this longest-match reader.
"""
from __future__ import annotations

from typing import Dict, List, Optional

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
