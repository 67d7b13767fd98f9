"""The console's vocabulary: districts (covered first), sizes, industries, topics — what the
slot pickers offer, all from the lexicon and the measures database."""
from __future__ import annotations

from sqlalchemy.orm import sessionmaker

from bot.assist.inputs import MAX_TEXT_CHARS
from bot.lexicon import load_lexicon
from bot.query import covered_regions


def vocabulary(factory: sessionmaker) -> dict:
    lex = load_lexicon()
    with factory() as s:
        covered = covered_regions(s)
    regions = []
    for name, r in lex.regions.items():
        regions.append({"name": name, "level": r.level, "parent": r.parent, "city": lex.city_of(name),
                        "aliases": list(r.aliases), "has_documents": name in covered,
                        "covered": lex.is_covered(name, covered)})
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
