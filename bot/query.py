"""Which measures apply to (district, industry, size, topic, free text) as of a date.

The API the Rasa actions, the assist console and the CLI call. Filtering is
strict — a measure is never returned as applying to a district, size or
industry it does not apply to — and ranking puts measures that state the
enquirer's size/industry first, then topic and text relevance (jieba terms,
idf-weighted). Every result carries its citation, units and contacts.
"""
from __future__ import annotations

import copy
import datetime as dt
import math
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from sqlalchemy import Integer, and_, case, cast, exists, func, literal, or_, select
from sqlalchemy.orm import Session, selectinload

from bot import db
from bot.lexicon import Lexicon, load_lexicon
from bot.terms import terms as text_terms
from bot.textnorm import normalize_query


@dataclass
class Profile:
    """What we know of the enterprise, in canonical lexicon values."""
    district: Optional[str] = None
    industry: Optional[str] = None
    sizes: Tuple[str, ...] = ()
    topic: Optional[str] = None
    unknown: Dict[str, str] = field(default_factory=dict)  # slot -> what the user said that we do not know

    @classmethod
    def from_slots(cls, district=None, industry=None, size=None, topic=None, lex: Optional[Lexicon] = None) -> "Profile":
        lex = lex or load_lexicon()
        p = cls()
        if district:
            p.district = lex.canonical_region(district)
            if not p.district:
                p.unknown["district"] = district
        if industry:
            p.industry = lex.canonical_industry(industry)
            if not p.industry:
                p.unknown["industry"] = industry
        if size:
            sizes: List[str] = []
            for word in ([size] if isinstance(size, str) else list(size)):
                for s in lex.expand_size(word):
                    if s not in sizes:
                        sizes.append(s)
                if not lex.expand_size(word):
                    p.unknown["size"] = word
            p.sizes = tuple(sizes)
        if topic:
            p.topic = lex.canonical_topic(topic)
            if not p.topic:
                p.unknown["topic"] = topic
        return p


@dataclass
class UnitInfo:
    name: str
    role: str  # lead / responsible / document_contact
    region: str
    full_name: Optional[str] = None
    aliases: List[str] = field(default_factory=list)
    generic: bool = False
    phone: Optional[str] = None
    address: Optional[str] = None
    website: Optional[str] = None
    source: Optional[str] = None


@dataclass
class MeasureResult:
    id: int
    document_key: str
    document: str
    title_note: Optional[str]
    doc_number: Optional[str]
    issuer: Optional[str]
    published: Optional[str]
    source_url: Optional[str]
    region: str
    item: str
    item_heading: str
    clause_no: int
    section: str
    text: str
    lead_units: List[str]
    responsible_units: List[str]
    amounts: List[dict]
    deadline_text: Optional[str]
    deadline: Optional[str]
    valid_until: Optional[str]
    validity_source: str
    validity_text: Optional[str]
    expired: Optional[bool]
    sizes: List[str]
    industries: List[str]
    districts: List[str]
    topics: List[str]
    qualifications: List[str]
    region_match: str  # applies / narrower / unknown
    contacts: List[dict]
    document_contact: Optional[dict]
    hotline: Optional[dict]
    score: float

    @property
    def citation(self) -> str:
        """《标题》（文号）第（二）条第3项 — enough for a person to find the clause."""
        number = f"（{self.doc_number}）" if self.doc_number else ""
        clause = f"第{self.clause_no}项" if self.clause_no > 1 else ""
        if self.item.startswith("("):
            item = f"第（{self.item.strip('()')}）条"
        elif "是" in self.item:
            part, _, point = self.item.partition("、")
            item = f"第{part}部分“{point}”"
        else:
            item = f"第{self.item.rstrip('.、')}条"
        return f"《{self.document}》{number}{item}{clause}"

    def to_dict(self) -> dict:
        d = asdict(self)
        d["citation"] = self.citation
        return d


@dataclass
class QueryResult:
    profile: Profile
    as_of: dt.date
    total: int
    offset: int
    results: List[MeasureResult]
    relaxed: bool = False  # nothing matched the topic/text; results are the nearest alternatives
    covered_regions: List[str] = field(default_factory=list)
    region_covered: Optional[bool] = None

    def to_dict(self) -> dict:
        return {
            "profile": {"district": self.profile.district, "industry": self.profile.industry,
                        "sizes": list(self.profile.sizes), "topic": self.profile.topic, "unknown": self.profile.unknown},
            "as_of": self.as_of.isoformat(), "total": self.total, "offset": self.offset, "relaxed": self.relaxed,
            "region_covered": self.region_covered, "covered_regions": self.covered_regions,
            "results": [r.to_dict() for r in self.results],
        }


def covered_regions(session: Session) -> List[str]:
    """Regions that have at least one document, in document order."""
    return list(_per_build(session, "covered_regions", lambda: list(session.execute(
        select(db.Document.region).group_by(db.Document.region).order_by(func.min(db.Document.id))).scalars())))


def find_measures(session: Session, profile: Profile, text: str = "", as_of: Optional[dt.date] = None,
                  limit: int = 5, offset: int = 0, lex: Optional[Lexicon] = None) -> QueryResult:
    lex = lex or load_lexicon()
    as_of = as_of or dt.date.today()
    M, T = db.Measure, db.Tag

    def has_tag(kind: str, values: Optional[Sequence[str]] = None):
        cond = [T.measure_id == M.id, T.kind == kind]
        if values is not None:
            cond.append(T.value.in_(list(values)))
        return exists().where(and_(*cond))

    filters = []
    applies_expr = literal(1)
    covered = covered_regions(session)
    region_covered = None
    if profile.unknown.get("district"):
        # a place we do not know: never fall back to listing every region's measures
        return QueryResult(profile=profile, as_of=as_of, total=0, offset=offset, results=[],
                           covered_regions=covered, region_covered=False)
    if profile.district:
        up = lex.ancestors(profile.district)
        down = lex.descendants(profile.district)
        # Uncorrelated IN rather than EXISTS: the database starts from the region's measures
        # instead of testing every measure (bench/query_bench.py).
        filters.append(M.id.in_(select(T.measure_id).where(T.kind == "district", T.value.in_(up + down))))
        applies_expr = cast(M.id.in_(select(T.measure_id).where(T.kind == "district", T.value.in_(up))), Integer)
        region_covered = any(r in covered for r in up + down) or any(profile.district in lex.ancestors(r) for r in covered)
    size_match = literal(0)
    if profile.sizes:
        filters.append(or_(~has_tag("size"), has_tag("size", profile.sizes)))
        size_match = cast(has_tag("size", profile.sizes), Integer)
    industry_match = literal(0)
    if profile.industry:
        filters.append(or_(~has_tag("industry"), has_tag("industry", [profile.industry])))
        industry_match = cast(has_tag("industry", [profile.industry]), Integer)

    topic_match = literal(0)
    if profile.topic:
        topic_match = cast(has_tag("topic", [profile.topic]), Integer)
    qterms = [t for t in text_terms(_without_slot_words(text, lex)) if not _is_slot_word(t, lex)] if text else []
    text_score = literal(0.0)
    source = M.__table__
    if qterms:
        n = _per_build(session, "measure_count",
                       lambda: session.execute(select(func.count()).select_from(M)).scalar_one()) or 1
        df = dict(session.execute(select(db.Term.term, func.count(db.Term.measure_id))
                                  .where(db.Term.term.in_(qterms)).group_by(db.Term.term)).all())
        weights = {t: math.log(1 + n / c) for t, c in df.items() if c}
        if weights:
            tw = (select(db.Term.measure_id.label("mid"),
                         func.sum(case(*[(db.Term.term == t, w) for t, w in weights.items()], else_=0.0)).label("s"))
                  .where(db.Term.term.in_(list(weights))).group_by(db.Term.measure_id).subquery())
            # joined once (one row per measure) rather than looked up per measure
            source = source.outerjoin(tw, tw.c.mid == M.id)
            text_score = func.coalesce(tw.c.s, 0.0)

    expired_rank = case((M.valid_until.is_(None), 1), (M.valid_until < as_of, 2), else_=0)
    # A measure that states the enquirer's size or industry outranks an equally
    # relevant general one, but never a clearly more relevant one.
    slot_score = (size_match + industry_match).label("slot")
    relevance = (topic_match * 10.0 + text_score).label("rel")
    rank = (slot_score * 3.0 + relevance)

    def run(with_relevance: bool):
        where = list(filters)
        if with_relevance:
            where.append((topic_match * 10.0 + text_score) > 0)
        base = (select(M.id, applies_expr.label("applies"), slot_score, relevance, expired_rank.label("exp"))
                .select_from(source).where(*where))
        # the total comes with the page (one pass instead of two); a count only past the last page
        rows = session.execute(base.add_columns(func.count().over().label("total"))
                               .order_by(applies_expr.desc(), rank.desc(), expired_rank, M.document_id, M.ordinal)
                               .limit(limit).offset(offset)).all()
        if rows or not offset:
            return (rows[0].total if rows else 0), rows
        return session.execute(select(func.count()).select_from(base.subquery())).scalar_one(), rows

    relevance_wanted = bool(profile.topic or qterms)
    relaxed = False
    total, rows = run(relevance_wanted)
    if relevance_wanted and total == 0:
        relaxed = True
        total, rows = run(False)

    results = _load_results(session, rows, profile, as_of, lex)
    return QueryResult(profile=profile, as_of=as_of, total=total, offset=offset, results=results, relaxed=relaxed,
                       covered_regions=covered, region_covered=region_covered)


def _without_slot_words(text: str, lex: Lexicon) -> str:
    """Drop region and size words before segmenting: they are filters, not topics, and
    jieba's search mode would otherwise turn "天河区" into "河区" that matches every 天河 measure."""
    text = normalize_query(text)
    for surface, _ in lex.region_terms() + [(s, None) for s, _ in lex.size_terms()]:
        if surface in text:
            text = text.replace(surface, " ")
    return text


def _is_slot_word(term: str, lex: Lexicon) -> bool:
    return bool(lex.canonical_region(term) or lex.expand_size(term) or lex.canonical_industry(term))


def get_measure(session: Session, measure_id: int, profile: Optional[Profile] = None,
                as_of: Optional[dt.date] = None) -> Optional[MeasureResult]:
    rows = [(measure_id, 1, 0, 0.0, 0)]
    found = _load_results(session, rows, profile or Profile(), as_of or dt.date.today(), load_lexicon())
    return found[0] if found else None


# What the documents and measures hold never changes within one build of the database
# (a rebuild writes a new build_id), so loading a measure through the ORM — about a
# dozen SELECTs and ~20 ms per answer — is done once per build and process. Contacts
# are NOT cached: a person may import a new contact list while the assistant runs.
_BUILDS: Dict[Tuple[str, str], dict] = {}


def _build_cache(session: Session) -> dict:
    """This process's cache for the database build the session sees (a throwaway dict for
    a database built before build ids existed)."""
    cached = session.info.get("build_cache")
    if cached is None:  # one lookup per session (a session serves one short request)
        build = session.execute(select(db.BuildInfo.value).where(db.BuildInfo.key == "build_id")).scalar_one_or_none()
        cached = {}
        if build:
            url = str(session.get_bind().url)
            if (url, build) not in _BUILDS:
                for key in [k for k in _BUILDS if k[0] == url]:  # an older build of this database
                    del _BUILDS[key]
                _BUILDS[(url, build)] = {}
            cached = _BUILDS[(url, build)]
        session.info["build_cache"] = cached
    return cached


def _per_build(session: Session, key: str, compute: Callable[[], Any]) -> Any:
    """`compute()` once per database build and process."""
    cache = _build_cache(session)
    if key not in cache:
        cache[key] = compute()
    return cache[key]


def _stored_measures(session: Session, ids: Sequence[int]) -> Dict[int, dict]:
    cache = _per_build(session, "measures", dict)
    missing = [i for i in ids if i not in cache]
    if missing:
        for m in session.execute(select(db.Measure).where(db.Measure.id.in_(missing)).options(
                selectinload(db.Measure.document).selectinload(db.Document.contact_unit).selectinload(db.Unit.aliases),
                selectinload(db.Measure.units).selectinload(db.MeasureUnit.unit).selectinload(db.Unit.aliases),
                selectinload(db.Measure.amounts), selectinload(db.Measure.tags))).scalars():
            cache[m.id] = _stored_fields(m)
    return {i: cache[i] for i in ids if i in cache}


def _unit_fields(unit: db.Unit, role: str) -> dict:
    return {"name": unit.name, "role": role, "region": unit.region, "full_name": unit.full_name,
            "aliases": [a.alias for a in unit.aliases], "generic": unit.generic}


def _stored_fields(m: db.Measure) -> dict:
    doc = m.document
    tags: Dict[str, List[str]] = {}
    for t in m.tags:
        tags.setdefault(t.kind, []).append(t.value)
    return {
        "result": dict(
            id=m.id, document_key=doc.key, document=doc.title, title_note=doc.title_note, doc_number=doc.doc_number,
            issuer=doc.issuer, published=doc.published.isoformat() if doc.published else None,
            source_url=doc.source_url, region=doc.region,
            item=m.item_number, item_heading=m.item_heading or "", clause_no=m.clause_no,
            section=m.section_heading or "", text=m.text,
            lead_units=[mu.unit.name for mu in m.units if mu.role == "lead"],
            responsible_units=[mu.unit.name for mu in m.units if mu.role == "responsible"],
            amounts=[{"raw": a.raw, "value": a.value, "unit": a.unit, "qualifier": a.qualifier, "sentence": a.sentence}
                     for a in m.amounts],
            deadline_text=m.deadline_text, deadline=m.deadline.isoformat() if m.deadline else None,
            valid_until=m.valid_until.isoformat() if m.valid_until else None,
            validity_source=m.validity_source, validity_text=doc.validity_text,
            sizes=tags.get("size", []), industries=tags.get("industry", []), districts=tags.get("district", []),
            topics=tags.get("topic", []), qualifications=tags.get("qualification", [])),
        "units": [_unit_fields(mu.unit, mu.role) for mu in m.units],
        "document_contact": _unit_fields(doc.contact_unit, "document_contact") if doc.contact_unit else None,
        "document_contact_text": doc.contact_text,
    }


def _load_results(session: Session, rows, profile: Profile, as_of: dt.date, lex: Lexicon) -> List[MeasureResult]:
    ids = [r[0] for r in rows]
    if not ids:
        return []
    stored = _stored_measures(session, ids)
    unit_keys = set()
    for m in stored.values():
        for u in m["units"] + ([m["document_contact"]] if m["document_contact"] else []):
            unit_keys.add((u["region"], u["name"]))
    contacts = _contacts_for(session, unit_keys)
    out: List[MeasureResult] = []
    for r in rows:
        m = stored.get(r[0])
        if m is None:
            continue
        fields = m["result"]
        doc_contact = _unit_info(m["document_contact"], contacts) if m["document_contact"] else None
        hot = lex.hotline(fields["region"])
        out.append(MeasureResult(
            **copy.deepcopy(fields),  # callers may edit their results; the cache stays as stored
            expired=None if fields["valid_until"] is None else dt.date.fromisoformat(fields["valid_until"]) < as_of,
            region_match=_region_match(profile, fields["districts"], lex),
            contacts=[asdict(_unit_info(u, contacts)) for u in m["units"]],
            document_contact=({**asdict(doc_contact), "text": m["document_contact_text"]} if doc_contact else None),
            hotline={"number": hot.hotline_number, "name": hot.hotline_name, "region": hot.name} if hot else None,
            score=float(r[3] or 0),
        ))
    return out


def _region_match(profile: Profile, districts: Sequence[str], lex: Lexicon) -> str:
    """applies: the measure covers the enquirer's region; narrower: only part of it."""
    if not profile.district:
        return "unknown"
    return "applies" if set(districts) & set(lex.ancestors(profile.district)) else "narrower"


def _contacts_for(session: Session, keys: Iterable[Tuple[str, str]]) -> Dict[Tuple[str, str], db.Contact]:
    keys = list(keys)
    if not keys:
        return {}
    names = {k[1] for k in keys}
    rows = session.execute(select(db.Contact).where(db.Contact.unit_name.in_(names))).scalars().all()
    return {(c.region, c.unit_name): c for c in rows}


def _unit_info(unit: dict, contacts: Dict[Tuple[str, str], db.Contact]) -> UnitInfo:
    """A unit as stored, with the contact a person maintains for it (phone, address) if any."""
    c = contacts.get((unit["region"], unit["name"]))
    return UnitInfo(name=unit["name"], role=unit["role"], region=unit["region"],
                    full_name=(c.full_name if c and c.full_name else unit["full_name"]),
                    aliases=list(unit["aliases"]), generic=unit["generic"],
                    phone=c.phone if c else None, address=c.address if c else None,
                    website=c.website if c else None, source=c.source if c else None)
