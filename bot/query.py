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
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import db, retrieve
from bot.lexicon import Lexicon, load_lexicon
from bot.textnorm import normalize_query


@dataclass
class Profile:
    """What we know of the enterprise, in canonical lexicon values."""
    district: Optional[str] = None
    industry: Optional[str] = None
    sizes: Tuple[str, ...] = ()
    topic: Optional[str] = None
    unknown: Dict[str, str] = field(default_factory=dict)  # slot -> what the user said that we do not know
    said: Tuple[str, ...] = ()  # words of the question read as the profile (not searched for)

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


def document_label(title: str, title_note: Optional[str], doc_number: Optional[str]) -> str:
    """《标题》（文号）; a document that prints no title is cited by our description of it,
    said to be one, never in 《》 as if it were its title."""
    if title_note:
        return f"{title}（原文无标题）"
    number = f"（{doc_number}）" if doc_number else ""
    return f"《{title}》{number}"


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
    kind: str = "enterprise"        # enterprise / government (what only the government did)
    snippet: List[str] = field(default_factory=list)  # the sentence(s) that answer the question
    lead: str = ""  # the best-matching sentence alone, for a one-line mention
    coverage: float = 0.0

    @property
    def document_label(self) -> str:
        return document_label(self.document, self.title_note, self.doc_number)

    @property
    def article(self) -> str:
        """第（二）条第3项 — where in the document."""
        clause = f"第{self.clause_no}项" if self.clause_no > 1 else ""
        if self.item.startswith("("):
            item = f"第（{self.item.strip('()')}）条"
        elif "是" in self.item:
            part, _, point = self.item.partition("、")
            item = f"第{part}部分“{point}”"
        else:
            item = f"第{self.item.rstrip('.、')}条"
        return f"{item}{clause}"

    @property
    def citation(self) -> str:
        """《标题》（文号）第（二）条第3项 — enough for a person to find the clause."""
        return f"{self.document_label}{self.article}"

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
    relaxed: bool = False  # nothing answers the question; results are the nearest alternatives
    covered_regions: List[str] = field(default_factory=list)
    region_covered: Optional[bool] = None
    found: bool = True
    question_words: List[str] = field(default_factory=list)
    # of those, the words some clause has: two or more make a message a policy question
    known_words: List[str] = field(default_factory=list)
    # things the question names that no clause mentions ("残疾人"): said beside the list
    absent_words: List[str] = field(default_factory=list)
    # clauses about the thing asked that are limited to another size/industry
    not_applying: List[MeasureResult] = field(default_factory=list)
    regions: List[str] = field(default_factory=list)  # regions of the results, in order
    # the kind of number the question asks for ("金额或比例") when no clause listed states one
    unstated: Optional[str] = None

    def to_dict(self) -> dict:
        return {
            "profile": {"district": self.profile.district, "industry": self.profile.industry,
                        "sizes": list(self.profile.sizes), "topic": self.profile.topic, "unknown": self.profile.unknown},
            "as_of": self.as_of.isoformat(), "total": self.total, "offset": self.offset, "relaxed": self.relaxed,
            "region_covered": self.region_covered, "covered_regions": self.covered_regions,
            "found": self.found, "question_words": self.question_words, "regions": self.regions,
            "unstated": self.unstated,
            "results": [r.to_dict() for r in self.results],
            "not_applying": [r.to_dict() for r in self.not_applying],
        }


def covered_regions(session: Session) -> List[str]:
    """Regions that have at least one document, in document order."""
    return list(_per_build(session, "covered_regions", lambda: list(session.execute(
        select(db.Document.region).group_by(db.Document.region).order_by(func.min(db.Document.id))).scalars())))


def find_measures(session: Session, profile: Profile, text: str = "", as_of: Optional[dt.date] = None,
                  limit: int = 5, offset: int = 0, lex: Optional[Lexicon] = None) -> QueryResult:
    """Measures that answer ``text`` for ``profile``, best first.

    Filtering is strict (district, then a stated size or industry other than the
    enterprise's removes a measure); ranking is by the question's own words
    (bot/retrieve.py) with the enterprise's stated size/industry and the topic as a
    small boost. A question with no words of its own ("天河区有什么政策") lists the
    measures that apply, usable ones first."""
    lex = lex or load_lexicon()
    as_of = as_of or dt.date.today()
    covered = covered_regions(session)
    if profile.unknown.get("district"):
        # a place we do not know: never fall back to listing every region's measures
        return QueryResult(profile=profile, as_of=as_of, total=0, offset=offset, results=[],
                           covered_regions=covered, region_covered=False)
    region_filter, size_filter, region_covered = _filters(session, profile, covered, lex)
    question = retrieve.prepare(text, lex, drop=profile.said)
    topic_only = question.empty and bool(profile.topic) and profile.topic in lex.topics
    if topic_only:
        question = _topic_question(profile.topic, lex)
    if question.empty:
        return _listing(session, profile, as_of, limit, offset, lex, region_filter, size_filter, covered,
                        region_covered)

    tags = _tag_index(session)
    in_region = region_filter
    applicable = tags.both(region_filter, size_filter)
    index, positions = _sentence_index(session)
    hits = index.search(question, allowed=None if in_region is None else in_region[positions], k=60)
    sizes, industry, topic = (tags.having("size", profile.sizes), tags.having("industry", [profile.industry]),
                              tags.having("topic", [profile.topic]))
    qualification = tags.having("qualification")
    for h in hits:  # the enterprise's own size/industry or the asked topic: a small boost, not the signal
        at = tags.position[h.measure_id]
        if profile.sizes and sizes[at]:
            h.score *= 1.1
        if profile.industry and industry[at]:
            h.score *= 1.1
        if profile.topic and topic[at]:
            h.score *= 1.1
        if qualification[at]:  # for a narrower audience (农业龙头企业, 高企) than the enterprise said
            h.score *= 0.9
    hits.sort(key=lambda h: -h.score)
    if topic_only:  # every measure tagged with the topic answers it, best matching first
        answering = [h for h in hits if topic[tags.position[h.measure_id]]]
    else:
        answering = [h for h in hits if h.coverage >= retrieve.FOUND_COVERAGE]
    if answering and not topic_only:  # of the clauses about the thing asked, those near the best one
        top = answering[0].score
        answering = [h for h in answering if h.score >= top * retrieve.SHOWN_SHARE]
    found = [h for h in answering if tags.holds(applicable, h.measure_id)]
    # about the thing asked but limited to another size/industry: said, with the clause
    excluded = [h for h in answering if not tags.holds(applicable, h.measure_id)][:2]
    if found and excluded:
        excluded = [h for h in excluded if h.score >= found[0].score]
    relaxed = not found
    shown = found if found else [h for h in hits if tags.holds(applicable, h.measure_id)][:NEAREST_SHOWN]
    page = shown[offset:offset + limit]
    _stored_measures(session, [h.measure_id for h in page + excluded])  # one read for both lists
    rows = [(h.measure_id, 1, 0, h.score, 0) for h in page]
    results = _load_results(session, rows, profile, as_of, lex)
    snippets = {h.measure_id: h.sentences for h in page}
    budget = snippet_budget(len(page)) if found else NEAREST_BUDGET
    for r in results:
        r.snippet = _snippet(r.text, snippets.get(r.id, []), max_chars=budget, number=question.number)
        r.lead = _lead(r.text, snippets.get(r.id, []))
        r.coverage = next(h.coverage for h in page if h.measure_id == r.id)
    not_applying = _load_results(session, [(h.measure_id, 1, 0, h.score, 0) for h in excluded], profile, as_of, lex)
    for r, h in zip(not_applying, excluded):
        r.snippet = _snippet(r.text, h.sentences)
        r.lead = _lead(r.text, h.sentences)
    searched = index.searched_words(question)
    # asked "多少钱" of clauses that state no sum: said first, not implied by listing them
    hit_of = {h.measure_id: h for h in page + excluded}
    unstated = retrieve.number_unstated(
        question.asked, text, [_near_matches(r, hit_of[r.id])
                               + " ".join(c.get("phone") or "" for c in r.contacts)  # a phone on record answers too
                               for r in results + not_applying]) if found and not topic_only else None
    return QueryResult(profile=profile, as_of=as_of, total=len(found) if found else len(shown), offset=offset,
                       results=results, relaxed=relaxed, covered_regions=covered, region_covered=region_covered,
                       found=bool(found), question_words=searched, not_applying=not_applying,
                       known_words=[w for w in searched if index.df.get(w)], absent_words=index.absent_words(question),
                       regions=_regions_of_ids(session, [h.measure_id for h in (found or page)]),
                       unstated=unstated)


_TOPIC_QUESTIONS: Dict[Tuple[int, str], Tuple[Lexicon, retrieve.Question]] = {}


def _topic_question(topic: str, lex: Lexicon) -> retrieve.Question:
    """Only a topic (a button, "/inform{"topic": …}"): any of its words answers it. Prepared
    once per topic and lexicon (segmenting its ~30 words was 2.4 ms of each such question)."""
    key = (id(lex), topic)
    if key not in _TOPIC_QUESTIONS:
        t = lex.topics[topic]
        question = retrieve.prepare(" ".join((t.name,) + t.aliases + t.keywords), lex)
        question.groups = [tuple(question.weights)]
        _TOPIC_QUESTIONS[key] = (lex, question)  # the lexicon held: its id is not reused
    return copy.copy(_TOPIC_QUESTIONS[key][1])


#: when nothing answers the question, at most this many nearest clauses are offered
NEAREST_SHOWN = 2


def _filters(session: Session, profile: Profile, covered: List[str], lex: Lexicon):
    """(district, size/industry) as masks over ``_tag_index``'s measures (None: no condition),
    and whether the district is covered."""
    tags = _tag_index(session)
    region = size = None
    region_covered = None
    if profile.district:
        region = tags.having("district", lex.ancestors(profile.district) + lex.descendants(profile.district))
        region_covered = lex.is_covered(profile.district, covered)
    if profile.sizes:  # a measure that states no size applies to every size
        size = ~tags.having("size") | tags.having("size", profile.sizes)
    if profile.industry:
        size = tags.both(size, ~tags.having("industry") | tags.having("industry", [profile.industry]))
    return region, size, region_covered


class TagIndex:
    """Which measures carry each tag, for one database build, as numpy arrays.

    Why not SQL: the filters (district, size, industry) select thousands of measures at
    100,000 (a city: a third of them), and the ranking needs them all as a set. Fetching
    those ids from the database for every question was most of find_measures' time — 40 ms
    of SQLite and SQLAlchemy row handling per set of ids and 44 ms per listing at 100,000
    measures (cProfile over the bench's mix, bench/query_bench.py) — while the tags never
    change within a build. Loaded once per build and process (2 s at 100,000 measures,
    404,000 tags, next to the ranking's own index), a filter is then a few vectorised
    operations (0.2 ms for district + size at 100,000), and SQLite and PostgreSQL give the
    same answers by construction.

    Masks are boolean arrays over ``ids`` (every measure, ascending id)."""

    def __init__(self, measures: Sequence[Tuple[int, int, int, str, str]], tags: Iterable[Tuple[int, str, str]]):
        """measures: (id, document id, ordinal, kind, document region) ordered by id; tags: (measure id, kind, value)."""
        self.ids = np.array([m[0] for m in measures], dtype=np.int64)
        self.position = {m[0]: i for i, m in enumerate(measures)}
        self.document = np.array([m[1] for m in measures], dtype=np.int64)
        self.ordinal = np.array([m[2] for m in measures], dtype=np.int64)
        self.usable = np.array([m[3] == "enterprise" for m in measures], dtype=bool)
        self.region = [m[4] for m in measures]
        lists: Dict[Tuple[str, str], List[int]] = {}
        for mid, kind, value in tags:
            at = self.position.get(mid)
            if at is not None:
                lists.setdefault((kind, value), []).append(at)
        self.by_value = {key: np.unique(np.array(v, dtype=np.int64)) for key, v in lists.items()}
        kinds: Dict[str, List[np.ndarray]] = {}
        for (kind, _), at in self.by_value.items():
            kinds.setdefault(kind, []).append(at)
        self.by_kind = {kind: np.unique(np.concatenate(parts)) for kind, parts in kinds.items()}

    def having(self, kind: str, values: Optional[Iterable[Optional[str]]] = None) -> np.ndarray:
        """Measures with a tag of ``kind`` (of one of ``values`` when given)."""
        mask = np.zeros(len(self.ids), dtype=bool)
        if values is None:
            at = self.by_kind.get(kind)
            if at is not None:
                mask[at] = True
            return mask
        for v in values:
            at = self.by_value.get((kind, v))
            if at is not None:
                mask[at] = True
        return mask

    @staticmethod
    def both(a: Optional[np.ndarray], b: Optional[np.ndarray]) -> Optional[np.ndarray]:
        return b if a is None else a if b is None else a & b

    def holds(self, mask: Optional[np.ndarray], measure_id: int) -> bool:
        return mask is None or bool(mask[self.position[measure_id]])


def _tag_index(session: Session) -> TagIndex:
    def load():
        M, D, T = db.Measure, db.Document, db.Tag
        measures = session.execute(select(M.id, M.document_id, M.ordinal, M.kind, D.region)
                                   .join(D, D.id == M.document_id).order_by(M.id)).all()
        return TagIndex([tuple(m) for m in measures], session.execute(select(T.measure_id, T.kind, T.value)))
    return _per_build(session, "tag_index", load)


def _sentence_index(session: Session) -> Tuple[retrieve.SentenceIndex, np.ndarray]:
    """The ranking's index, and where its measures are among ``_tag_index``'s (to hand it a filter)."""
    def load():
        rows = session.execute(select(db.Sentence.measure_id, db.Sentence.ordinal, db.Sentence.text, db.Sentence.tokens)
                               .order_by(db.Sentence.measure_id, db.Sentence.ordinal)).all()
        heads = dict(session.execute(select(db.Measure.id, db.Measure.item_heading)).all())
        kinds = dict(session.execute(select(db.Measure.id, db.Measure.kind)).all())
        index = retrieve.SentenceIndex([tuple(r) for r in rows], {k: v or "" for k, v in heads.items()}, kinds)
        return index, np.searchsorted(_tag_index(session).ids, np.array(index.measure_ids, dtype=np.int64))
    return _per_build(session, "sentence_index", load)


#: characters of clause text shown per answer, shared by the items of one page: one item shows
#: its clause nearly whole, three show their best sentences (a 12345 agent reads it aloud)
SNIPPET_BUDGET = {1: 400, 2: 300}
SNIPPET_BUDGET_MANY = 220


#: a nearest clause offered when nothing answers: its best sentence (and the one with the kind
#: of number asked), enough to judge whether it is what was meant (dev: the lead sentence cut
#: at 80 characters instead: key fact shown 0.920 against 0.931)
NEAREST_BUDGET = 160


def snippet_budget(n_items: int) -> int:
    return SNIPPET_BUDGET.get(n_items, SNIPPET_BUDGET_MANY)


def _lead(text: str, best: Sequence[int]) -> str:
    """The clause's best-matching sentence (its first when none matched)."""
    sentences = retrieve.split_sentences(text) or [text]
    return sentences[best[0]] if best and best[0] < len(sentences) else sentences[0]


def _near_matches(r: MeasureResult, hit: retrieve.Hit) -> str:
    """The heading and the sentences of a clause that match the question, with their neighbours:
    where a number the question asks for would be (a clause's other numbers are about other
    things: "100%“网上办”" does not say what a 众创空间 gets). When the heading matches, its
    first sentence too: the heading's words are often only there ("投诉、处置、回应机制" →
    "一般问题5个工作日…办结"). A clause matched only by its heading is read whole."""
    sentences = retrieve.split_sentences(r.text)
    best = [i for i in hit.sentences if 0 <= i < len(sentences)]
    if not best:
        return f"{r.item_heading or ''}{r.text}"
    near = {j for i in best for j in (i - 1, i, i + 1) if 0 <= j < len(sentences)} | ({0} if hit.heading else set())
    return (r.item_heading or "") + "".join(sentences[j] for j in sorted(near))


def _snippet(text: str, best: Sequence[int], max_chars: int = SNIPPET_BUDGET_MANY, number=None) -> List[str]:
    """The sentence(s) of the clause that answer the question, in the clause's order.

    The best-matching sentence comes first in the choice; a question asking for a number
    ("几天", "最高多少") also gets the clause's first sentence stating one of that kind; then,
    while ``max_chars`` allows, the other matching sentences and the rest of the clause. The
    fact an enterprise asks about is often in the sentence next to the one its words match
    ("晚上能在手机上申请吗" → "24小时"); on the dev set a one-item answer showing its clause
    whole raised the share of replies that show the key fact (bench/retrieval_eval.py).
    A sentence that does not follow the one before it is marked "…"."""
    sentences = retrieve.split_sentences(text)
    if not sentences:
        return [text[:max_chars]]
    ranked = [i for i in dict.fromkeys(best) if i < len(sentences)] or [0]
    chosen = [ranked[0]]
    if number is not None and not number.search(sentences[ranked[0]]):
        with_number = next((i for i in ranked[1:] + list(range(len(sentences)))
                            if number.search(sentences[i])), None)
        if with_number is not None and with_number not in chosen:
            chosen.append(with_number)
    used = sum(len(sentences[i]) for i in chosen)
    for i in ranked[1:] + list(range(len(sentences))):
        if i not in chosen and used + len(sentences[i]) <= max_chars:
            chosen.append(i)
            used += len(sentences[i])
    out: List[str] = []
    last = None
    for i in sorted(chosen):
        t = sentences[i] if len(sentences[i]) <= max_chars else sentences[i][:max_chars - 1] + "…"
        out.append(t if last is None or i == last + 1 else "…" + t)
        last = i
    return out


def _regions_of_ids(session: Session, ids: Sequence[int]) -> List[str]:
    """Regions of these measures, in order (find_measures passes every measure that answers,
    not only the page shown)."""
    tags = _tag_index(session)
    out: List[str] = []
    for i in ids:
        region = tags.region[tags.position[i]] if i in tags.position else None
        if region and region not in out:
            out.append(region)
    return out


def _listing(session: Session, profile: Profile, as_of: dt.date, limit: int, offset: int, lex: Lexicon,
             region_filter, size_filter, covered, region_covered) -> QueryResult:
    """No words to search for: the measures that apply to the profile, those stating the
    enterprise's size/industry first, usable ones before government work descriptions,
    then in document order (sorted over ``_tag_index``'s arrays: 44 ms of SQL per listing
    at 100,000 measures before, see TagIndex)."""
    tags = _tag_index(session)
    where = tags.both(region_filter, size_filter)
    chosen = np.arange(len(tags.ids)) if where is None else np.flatnonzero(where)
    size_match = tags.having("size", profile.sizes)[chosen] if profile.sizes else np.zeros(len(chosen), dtype=bool)
    industry_match = (tags.having("industry", [profile.industry])[chosen] if profile.industry
                      else np.zeros(len(chosen), dtype=bool))
    topic_match = (tags.having("topic", [profile.topic])[chosen] if profile.topic
                   else np.zeros(len(chosen), dtype=bool)).astype(np.int64)
    slot = size_match.astype(np.int64) + industry_match.astype(np.int64)
    # usable first, then the asked topic, then the stated size/industry, then document order
    order = np.lexsort((tags.ordinal[chosen], tags.document[chosen], -slot, -topic_match,
                        -tags.usable[chosen].astype(np.int64)))
    page = order[offset:offset + limit]
    rows = [(int(tags.ids[chosen[i]]), 1, int(slot[i]), float(topic_match[i]), 0) for i in page]
    results = _load_results(session, rows, profile, as_of, lex)
    for r in results:
        r.snippet = _snippet(r.text, [0])
    return QueryResult(profile=profile, as_of=as_of, total=len(chosen), offset=offset, results=results,
                       covered_regions=covered, region_covered=region_covered, found=bool(results),
                       regions=_regions_of_ids(session, [r.id for r in results]))


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
        cache.update(_read_measures(session, missing))
    return {i: cache[i] for i in ids if i in cache}


def _read_measures(session: Session, ids: Sequence[int]) -> Dict[int, dict]:
    """What a result shows of these measures, in six plain SELECTs (Core, not ORM objects).

    At 100,000 measures almost every page holds measures this process has not shown yet,
    and loading them through the ORM (selectinload of document, units, aliases, amounts,
    tags) took 2.5 s of the bench's 450 questions under cProfile, half of find_measures'
    time once the filters and the ranking were fast; these SELECTs take 0.9 s
    (bench/query_bench.py)."""
    M, D, MU, U, UA, A, T = (t.__table__ for t in (db.Measure, db.Document, db.MeasureUnit, db.Unit, db.UnitAlias,
                                                     db.AmountRow, db.Tag))
    measures = session.execute(select(M, D.c.key, D.c.title, D.c.title_note, D.c.doc_number, D.c.issuer,
                                      D.c.published, D.c.source_url, D.c.region, D.c.validity_text,
                                      D.c.contact_unit_id, D.c.contact_text)
                               .join(D, D.c.id == M.c.document_id).where(M.c.id.in_(list(ids)))).all()
    if not measures:
        return {}
    found = [m.id for m in measures]
    roles = session.execute(select(MU.c.measure_id, MU.c.role, MU.c.unit_id).where(MU.c.measure_id.in_(found))
                            .order_by(MU.c.id)).all()
    unit_ids = {r.unit_id for r in roles} | {m.contact_unit_id for m in measures if m.contact_unit_id is not None}
    units = {u.id: u for u in session.execute(select(U).where(U.c.id.in_(unit_ids)))} if unit_ids else {}
    aliases: Dict[int, List[str]] = {}
    if unit_ids:
        for a in session.execute(select(UA.c.unit_id, UA.c.alias).where(UA.c.unit_id.in_(unit_ids)).order_by(UA.c.id)):
            aliases.setdefault(a.unit_id, []).append(a.alias)
    amounts: Dict[int, List[dict]] = {}
    for a in session.execute(select(A).where(A.c.measure_id.in_(found)).order_by(A.c.id)):
        amounts.setdefault(a.measure_id, []).append({"raw": a.raw, "value": a.value, "unit": a.unit,
                                                     "qualifier": a.qualifier, "sentence": a.sentence, "kind": a.kind})
    tags: Dict[int, Dict[str, List[str]]] = {}
    for t in session.execute(select(T.c.measure_id, T.c.kind, T.c.value).where(T.c.measure_id.in_(found))
                             .order_by(T.c.id)):
        tags.setdefault(t.measure_id, {}).setdefault(t.kind, []).append(t.value)
    by_measure: Dict[int, List[Tuple[str, Any]]] = {}
    for r in roles:
        by_measure.setdefault(r.measure_id, []).append((r.role, units[r.unit_id]))

    def unit_fields(unit, role: str) -> dict:
        return _unit_fields(unit, role, aliases.get(unit.id, ()))

    out: Dict[int, dict] = {}
    for m in measures:
        mine = by_measure.get(m.id, [])
        t = tags.get(m.id, {})
        contact = units.get(m.contact_unit_id) if m.contact_unit_id is not None else None
        out[m.id] = {
            "result": dict(
                id=m.id, document_key=m.key, document=m.title, title_note=m.title_note, doc_number=m.doc_number,
                issuer=m.issuer, published=m.published.isoformat() if m.published else None,
                source_url=m.source_url, region=m.region,
                item=m.item_number, item_heading=m.item_heading or "", clause_no=m.clause_no,
                section=m.section_heading or "", text=m.text,
                lead_units=[u.name for role, u in mine if role == "lead"],
                responsible_units=[u.name for role, u in mine if role == "responsible"],
                amounts=amounts.get(m.id, []),
                deadline_text=m.deadline_text, deadline=m.deadline.isoformat() if m.deadline else None,
                valid_until=m.valid_until.isoformat() if m.valid_until else None,
                validity_source=m.validity_source, validity_text=m.validity_text, kind=m.kind,
                sizes=t.get("size", []), industries=t.get("industry", []), districts=t.get("district", []),
                topics=t.get("topic", []), qualifications=t.get("qualification", [])),
            "units": [unit_fields(u, role) for role, u in mine],
            "document_contact": unit_fields(contact, "document_contact") if contact is not None else None,
            "document_contact_text": m.contact_text,
        }
    return out


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
        out.append(MeasureResult(
            **copy.deepcopy(fields),  # callers may edit their results; the cache stays as stored
            expired=None if fields["valid_until"] is None else dt.date.fromisoformat(fields["valid_until"]) < as_of,
            region_match=_region_match(profile, fields["districts"], lex),
            contacts=[asdict(_unit_info(u, contacts)) for u in m["units"]],
            document_contact=({**asdict(doc_contact), "text": m["document_contact_text"]} if doc_contact else None),
            hotline=lex.hotline_info(fields["region"]),
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


# --------------------------------------------------------------------------- the document as a whole
#: "这份文件", "这些措施", "这十项机制", "整个方案": the question is about a document, not one clause
_WHOLE_DOCUMENT = re.compile(r"(这份|这些|整个|这套|这[一二三四五六七八九十几两\d]+[项条])[^，。？！,?!]{0,8}?"
                             r"(文件|措施|政策|方案|通知|意见|机制|办法|规定)"
                             r"|(这个|该|本)(文件|方案|通知|意见|办法|规定)|文件.{0,2}(有效期|到期|失效)")
# (not "这个政策/这项措施": that is one measure, answered from the best matching clause)
_ASKS_VALIDITY = re.compile(r"有效期|到什么时候|什么时候到期|到期|还有效|有效吗|失效|截止|执行到|管到")
_ASKS_CONTACT = re.compile(r"哪个部门|哪个单位|哪个机构|谁来|谁负责|谁管|督办|牵头|统筹|设在|反映|找谁|找哪")


@dataclass
class DocumentResult:
    """One document as a whole: what a question about "这份文件" is answered with."""
    label: str                       # 《标题》（文号）, or our description "（原文无标题）"
    region: str
    valid_until: Optional[str]
    validity_text: Optional[str]     # the sentence as printed, if any
    published: Optional[str]
    contact: Optional[dict]          # the unit the document names for questions, with its contact
    contact_text: Optional[str]      # the sentence that names it, as printed
    hotline: Optional[dict]
    expired: Optional[bool] = None


def document_question(text: str) -> Optional[str]:
    """"validity" or "contact" when the message asks about a document as a whole
    ("增城这份惠企措施有效期到什么时候", "这十项机制最后谁来督办"), else None."""
    t = normalize_query(text or "")
    return document_detail_asked(t) if _WHOLE_DOCUMENT.search(t) else None


def document_detail_asked(text: str) -> Optional[str]:
    """"validity" or "contact" when the message asks either at all, whatever it asks it of."""
    t = normalize_query(text or "")
    return "validity" if _ASKS_VALIDITY.search(t) else "contact" if _ASKS_CONTACT.search(t) else None


def _documents_of(session: Session, profile: Profile, lex: Lexicon) -> List[Any]:
    """The documents of the enterprise's region and the regions above it (all without one)."""
    docs = session.execute(select(db.Document).order_by(db.Document.id)).scalars().all()
    if profile.district:
        here = set(lex.ancestors(profile.district)) | {profile.district}
        docs = [d for d in docs if d.region in here or profile.district in lex.ancestors(d.region)]
    return docs


def _closing_sentence(document: Any, kind: str) -> str:
    """The document's own sentence on its validity or on whom to ask, normalised ("" if none)."""
    sentence = document.validity_text if kind == "validity" else document.contact_text
    return normalize_query(sentence) if sentence and "未注明" not in sentence else ""


def _made_of(document: Any, kind: str, words: Sequence[str]) -> bool:
    """Every word of the question is in the document's title or its closing sentence on
    ``kind``, one at least in that sentence: "天河优化营商环境领导小组办公室设在哪个部门" is
    about 《天河区全面优化营商环境行动方案》's "领导小组办公室设在区发展改革局", a sentence
    outside every clause."""
    sentence, title = _closing_sentence(document, kind), normalize_query(document.title)
    return bool(words) and bool(sentence) and all(w in title or w in sentence for w in words) \
        and any(w in sentence for w in words)


def documents_asked(session: Session, profile: Profile, text: str, as_of: Optional[dt.date] = None,
                    lex: Optional[Lexicon] = None, kind: Optional[str] = None,
                    closing_only: bool = False) -> List[DocumentResult]:
    """The documents a whole-document question refers to: those of the enterprise's region
    (and the regions above it), narrowed to those whose closing sentence on ``kind`` the
    question is made of (``_made_of``), else to those whose title shares a word of the
    question ("流程再造" → 再造政府系统流程); every covered document when neither says which.
    ``closing_only``: a question that does not say "这份文件" is about a document only if it
    is made of its closing sentence; [] when it is not."""
    lex = lex or load_lexicon()
    as_of = as_of or dt.date.today()
    docs = _documents_of(session, profile, lex)
    words = [w for w in retrieve.prepare(text, lex, drop=profile.said).words if len(w) >= 2]
    made_of = [d for d in docs if kind and _made_of(d, kind, words)]
    if closing_only:
        docs = made_of
    else:
        titled = [d for d in docs if any(w in normalize_query(d.title) for w in words)]
        docs = made_of or titled or docs
    contacts = _contacts_for(session, [(d.contact_unit.region, d.contact_unit.name) for d in docs if d.contact_unit])
    out = []
    for d in docs:
        unit = _unit_info(_unit_fields(d.contact_unit, "document_contact", [a.alias for a in d.contact_unit.aliases]),
                          contacts) if d.contact_unit else None
        out.append(DocumentResult(
            label=document_label(d.title, d.title_note, d.doc_number), region=d.region,
            valid_until=d.valid_until.isoformat() if d.valid_until else None,
            validity_text=d.validity_text if d.validity_text and "未注明" not in d.validity_text else None,
            published=d.published.isoformat() if d.published else None,
            contact=asdict(unit) if unit else None, contact_text=d.contact_text, hotline=lex.hotline_info(d.region),
            expired=None if d.valid_until is None else d.valid_until < as_of))
    return out


def _unit_fields(unit: Any, role: str, aliases: Iterable[str]) -> dict:
    """A unit as stored, in the shape _unit_info takes."""
    return {"name": unit.name, "role": role, "region": unit.region, "full_name": unit.full_name,
            "aliases": list(aliases), "generic": unit.generic}
