"""The assistant's answers as plain functions: slots in, text and slot updates out.

The Rasa actions are a thin shell around these (they only read slots, call one
function in a worker thread and send the text), so the logic can be tested
without Rasa and reused by other front ends.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

from bot import db, retrieve
from bot.cards import measure_cards
from bot.answer import (answer_text, documents_answer, measure_detail, profile_line,
                        units_sentence, validity_sentence)
from bot import wording
from bot.lexicon import find_terms, load_lexicon
from bot.query import (MeasureResult, Profile, document_detail_asked, document_question, documents_asked,
                       find_measures, get_measure)
from bot.textnorm import normalize_query
from bot.profile_reader import read_profile, states_figures

PAGE_SIZE = 3
#: Slot value meaning "the user does not know / skipped".
UNSPECIFIED = "不限"


@dataclass
class Reply:
    messages: List[str]
    slots: Dict[str, object] = field(default_factory=dict)
    #: quick replies offered with the last message: [{"title": …, "payload": …}]
    buttons: List[Dict[str, str]] = field(default_factory=list)
    #: the listed measures as the widget's cards (bot.cards), sent with the first message
    cards: Optional[dict] = None


def _today() -> dt.date:
    return dt.date.today()


def _clean(value: Optional[str]) -> Optional[str]:
    if value is None or str(value).strip() in ("", UNSPECIFIED):
        return None
    return str(value)


def profile_from_slots(slots: Dict[str, object], said: Sequence[str] = ()) -> Profile:
    size = slots.get("size")
    if isinstance(size, (list, tuple)):
        size = [s for s in size if _clean(s)] or None
    else:
        size = _clean(size)
    p = Profile.from_slots(_clean(slots.get("district")), _clean(slots.get("industry")), size,
                           _clean(slots.get("topic")))
    p.said = tuple(said)
    return p


def _session():
    return db.session_factory()()


def _query(slots: Dict[str, object], question: str, offset: int = 0):
    """The profile (NLU slots + what the message itself says) and the measures for the question."""
    read, said = read_profile(slots, question)
    profile = profile_from_slots(read, said)
    with _session() as s:
        qr = find_measures(s, profile, text=question or "", as_of=_today(), limit=PAGE_SIZE, offset=offset)
    learned = {k: read[k] for k in ("district", "industry", "size")
               if read.get(k) and not slots.get(k) and not profile.unknown.get(k)}
    if "size" in learned:
        learned["size"] = _size_slot(profile.sizes)
    return profile, qr, learned


def _size_slot(sizes: Sequence[str]) -> str:
    """The size slot holds one word the lexicon expands back to these sizes ("小微企业")."""
    if len(sizes) == 1:
        return sizes[0]
    lex = load_lexicon()
    for word, members in lex.size_groups.items():
        if set(members) == set(sizes):
            return word
    return sizes[0]


def find(slots: Dict[str, object], question: str = "", offset: int = 0, shown: Sequence[int] = ()) -> Reply:
    """The answer to a question, in the turn it is asked: the measures that answer it, then
    at most one optional refinement (a profile question whose answer would change the list)."""
    if offset == 0 and not shown:
        whole = about_documents(slots, question)
        if whole is not None:
            return whole
    return compose(question, offset, shown, *_query(slots, question, offset))


def about_documents(slots: Dict[str, object], question: str) -> Optional[Reply]:
    """A question about documents as a whole ("增城这份惠企措施有效期到什么时候", "这十项机制
    最后谁来督办"): each document's validity or the office it names, as printed; None for
    any other question."""
    kind = document_question(question)
    whole = kind is not None  # "这份文件…": else only a question made of a document's closing sentence
    kind = kind or document_detail_asked(question)
    if kind is None:
        return None
    read, said = read_profile(slots, question)
    profile = profile_from_slots(read, said)
    if profile.unknown.get("district"):
        return None  # a place we do not cover: the normal answer says so
    with _session() as s:
        docs = documents_asked(s, profile, question, _today(), kind=kind, closing_only=not whole)
    if not docs:
        return None
    learned = {k: read[k] for k in ("district",) if read.get(k) and not slots.get(k)}
    return Reply([documents_answer(kind, docs, _today())], learned)


def compose(question: str, offset: int, shown: Sequence[int], profile: Profile, qr, learned) -> Reply:
    """The reply for a query already run (``_query``): callers that first look at the result
    (search_first, the retrieval bench) do not run the search twice."""
    ids = list(shown[:offset]) + [r.id for r in qr.results]
    lines = []
    if "size" in learned and not find_terms(normalize_query(question or ""), load_lexicon().size_terms()):
        # the size came from a head count and revenue: say what it was read as
        lines.append(wording.size_from_figures(list(profile.sizes)))
    lines.append(answer_text(qr, page_size=PAGE_SIZE))
    text, buttons = "\n".join(lines), []
    if offset == 0 and qr.found and not qr.relaxed:
        offer, buttons = refinement(profile, qr)
        if offer:
            text += "\n" + offer
    return Reply([text], {"shown_measures": ids, "result_offset": float(offset + len(qr.results)),
                          "focus_measure": float(qr.results[0].id) if len(qr.results) == 1 else None,
                          **learned}, buttons, cards=measure_cards(qr))


def refinement(profile: Profile, qr) -> (Optional[str], List[Dict[str, str]]):
    """One profile question worth asking, computed from the listed measures' stated tags:
    the district when they come from several regions, else the size or the industry when
    some of them are limited to one — never a question whose answer changes nothing."""
    results = qr.results
    if not profile.district and len(qr.regions) > 1:
        return wording.offer_district(qr.regions), [_button("district", r) for r in qr.regions]
    every_size = set(load_lexicon().sizes)
    if not profile.sizes and any(r.sizes and set(r.sizes) != every_size for r in results):
        return wording.offer_size(), [_button("size", s) for s in SIZE_CHOICES]
    industries = []
    for r in results:
        industries.extend(i for i in r.industries if i not in industries)
    if not profile.industry and industries:
        return wording.offer_industry(industries[:4]), [_button("industry", i) for i in industries[:4]]
    return None, []


#: the size buttons: each value expands to sizes the lexicon knows
SIZE_CHOICES = ("小微企业", "中型", "大型", "个体工商户")


def _button(slot: str, value: str) -> Dict[str, str]:
    return {"title": value, "payload": "/inform" + json.dumps({slot: value}, ensure_ascii=False)}


#: a message the NLU could not place whose nearest clause has this share of its words is a
#: policy question the documents do not answer: "没有关于…的措施" says more than "没太明白"
NEAR_COVERAGE = 0.25
#: ... and so is one with this many words the documents use ("新公司没业务，每个月零申报怎么弄":
#: 业务, 申报; chit-chat has at most one: "你们几点下班")
POLICY_WORDS = 2


def search_first(slots: Dict[str, object], text: str) -> Optional[Reply]:
    """The answer when the message asks something about the documents, else None: for
    messages the NLU could not place (low confidence, "out of scope", a size question with
    no figures) a measure that answers beats "没太明白", and so does saying plainly that the
    covered documents have nothing on it (a topic the NLU read, or a clause sharing a
    quarter of its words). Chit-chat ("今天天气怎么样") gets the caller's fixed sentence."""
    profile, qr, learned = _query(slots, text)
    if qr.region_covered is False or qr.profile.unknown.get("district"):
        return compose(text, 0, (), profile, qr, learned)  # "上海浦东开公司要几天": not covered, said so
    if not qr.question_words or retrieve.prepare(text, drop=profile.said).empty:
        return None  # no words of its own ("😀😀😀"): the topic slot alone is not a question
    near = (bool(qr.results) and qr.results[0].coverage >= NEAR_COVERAGE) or len(qr.known_words) >= POLICY_WORDS
    named_place = bool(find_terms(normalize_query(text), load_lexicon().region_terms()))
    if qr.found or qr.not_applying or near or named_place or _clean(slots.get("topic")):
        return compose(text, 0, (), profile, qr, learned)
    return None


def more(slots: Dict[str, object], question: str, offset: int, shown: Sequence[int]) -> Reply:
    if not shown:
        return Reply([wording.NOTHING_TO_SHOW_MORE])
    reply = find(slots, question, offset=offset, shown=shown)
    if len(reply.slots["shown_measures"]) == len(shown):
        return Reply([wording.NO_MORE])
    return reply


#: "第一次", "第二批", "第3年" count something else, not an item of the list shown
_NOT_A_LIST_ITEM = r"(?!\s*[次批年天季届期步名轮代回])"

CN_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}


def parse_ordinal(text: str) -> Optional[int]:
    """"第2条" / "第二个" / "第十二条" / "2号" → the number shown in the list."""
    t = normalize_query(text)
    m = re.search(r"第\s*(\d{1,3})" + _NOT_A_LIST_ITEM + r"|(\d{1,3})\s*(?:条|个|号|项)", t)
    if m:
        return int(m.group(1) or m.group(2))
    m = re.search(r"第\s*([一二两三四五六七八九十]{1,3})" + _NOT_A_LIST_ITEM, t)
    if m:
        s = m.group(1)
        if s == "十":
            return 10
        if s.startswith("十"):
            return 10 + CN_DIGITS.get(s[1:], 0)
        if "十" in s:
            a, _, b = s.partition("十")
            return CN_DIGITS.get(a, 1) * 10 + CN_DIGITS.get(b, 0)
        return CN_DIGITS.get(s[0])
    return None


#: "第二条", "第3个": a number of a list shown earlier
_LIST_REFERENCE = re.compile(r"第\s*[\d一二两三四五六七八九十]{1,3}" + _NOT_A_LIST_ITEM)


def _pick(text: str, shown: Sequence[int], focus: Optional[float]) -> (Optional[int], Optional[str]):
    """Which listed measure the user means: a number of the last list, else the one in focus."""
    n = parse_ordinal(text)
    if n is not None:
        if 1 <= n <= len(shown):
            return int(shown[n - 1]), None
        return None, wording.pick_within(len(shown))
    if focus:
        return int(focus), None
    return int(shown[0]), None  # "这个" right after a list means the first one; the reply names it


def _load(mid: int) -> Optional[MeasureResult]:
    with _session() as s:
        return get_measure(s, mid, as_of=_today())


def _about_listed(text: str, shown: Sequence[int], focus: Optional[float],
                  render: Callable[[MeasureResult], str], slots: Optional[Dict[str, object]] = None) -> Reply:
    """A follow-up on a measure ("第二条…", "这个…", "某某补贴找哪个部门"): resolve it, load it, render it."""
    if not shown:
        # no list yet: a message with words of its own ("葛店天然气报装归哪个单位") gets the
        # whole answer — each item names its units, contact and validity — rather than one
        # line; one the documents do not answer is told so ("工商年报截止到几号"). "第二条…"
        # refers to a list there is not.
        if _LIST_REFERENCE.search(normalize_query(text)):
            return Reply([wording.NO_LIST_YET])
        whole = about_documents(slots or {}, text)
        if whole is not None:
            return whole
        profile, qr, learned = _query(slots or {}, text)
        if qr.question_words or qr.region_covered is False or profile.unknown.get("district") \
                or gives_profile(text):
            # "省里的中小企业26条，在增城是谁负责落实": the place alone is something to answer with
            return compose(text, 0, (), profile, qr, learned)
        return Reply([wording.NO_LIST_YET])
    mid, problem = _pick(text, shown, focus)
    if problem:
        return Reply([problem])
    r = _load(mid)
    if r is None:
        return Reply([wording.MEASURE_GONE])
    return Reply([render(r)], {"focus_measure": float(mid)})


def detail(text: str, shown: Sequence[int], focus: Optional[float], slots: Optional[Dict[str, object]] = None) -> Reply:
    return _about_listed(text, shown, focus, lambda r: measure_detail(r, _today()), slots)


def lead_unit(text: str, shown: Sequence[int], focus: Optional[float], slots: Optional[Dict[str, object]] = None) -> Reply:
    def render(r: MeasureResult) -> str:
        head = f"{r.citation}（{r.item_heading or r.text[:20]}）：\n"
        return head + units_sentence(r).replace("\n   ", "\n")
    return _about_listed(text, shown, focus, render, slots)


def validity(text: str, shown: Sequence[int], focus: Optional[float], slots: Optional[Dict[str, object]] = None) -> Reply:
    def render(r: MeasureResult) -> str:
        line = f"{r.citation}：{validity_sentence(r, _today())}。"
        if r.expired:
            line += wording.EXPIRED_ASK
        return line
    return _about_listed(text, shown, focus, render, slots)


def size_class(industry: Optional[str], employees: Optional[str], revenue: Optional[str],
               text: str = "", slots: Optional[Dict[str, object]] = None) -> Reply:
    from bot import sizeclass
    emp = sizeclass.parse_employees(employees) if employees else None
    rev = sizeclass.parse_money_yuan(revenue) if revenue else None
    if text and find_terms(normalize_query(text), load_lexicon().size_terms()):
        # the enterprise said its size ("我们是大型企业，…能用吗"): nothing to classify, answer it
        answer = search_first(slots or {}, text)
        if answer is not None:
            return answer
    if text and (emp is None and rev is None or not _ASKS_SIZE.search(normalize_query(text))):
        # no figures to classify, or figures that are not asked about: the message asks about a
        # measure ("贴息是按几个月算", "投了六千万建新厂，会不会纳入清单跟踪"), answer that
        answer = search_first(slots or {}, text)
        if answer is not None:
            return answer
    ind = _clean(industry)
    if not ind:
        return Reply([wording.SIZE_NEEDS_INDUSTRY])
    if emp is None and rev is None:
        return Reply([wording.size_needs_figures(ind)])
    res = sizeclass.classify(ind, employees=emp, revenue_yuan=rev)
    if res.size is None:
        return Reply([res.needs or wording.SIZE_NEEDS_MORE])
    return Reply([wording.size_decided(res.size, res.rule)], {"size": res.size})


#: a message that asks which size the enterprise is ("30人营收600万算什么规模", "算不算小微")
_ASKS_SIZE = re.compile(r"(算|属于|是)(什么|哪种|哪个|哪类|多大)(规模|企业|类型)|规模(算|是|属于)|企业规模|划型|大中小"
                        r"|算(不算)?(小微|小型|微型|中型|大型|中小)|是不是(小微|中小|大型)")


def change_profile(slots: Dict[str, object], question: str, said: str = "") -> Reply:
    """A profile fact ("那天河区呢", a button, "做食品加工"): re-answer the last question with it.
    A value we cannot read is said so and treated as 跳过 — the question is answered anyway."""
    slots = dict(slots)
    notes: List[str] = []
    p = profile_from_slots(slots)
    for slot in ("industry", "size"):
        if p.unknown.get(slot):
            notes.append(wording.unrecognised(slot, p.unknown[slot]))
            slots[slot] = None
    reply = find(slots, question)
    if not notes:
        notes.append(wording.searching_with(profile_line(profile_from_slots(slots))))
    reply.messages[0] = "\n".join(notes + [reply.messages[0]])
    for slot in ("industry", "size"):
        if p.unknown.get(slot):
            reply.slots[slot] = UNSPECIFIED
    return reply


#: a reply to a profile question that skips it ("跳过", "不清楚"): a profile answer all the same
_SKIP = re.compile(r"跳过|不清楚|不知道|不确定|不方便|算了|随便|都行|略过|skip", re.I)


#: a message that asks: a question word or mark ("会不会重罚", "复市了几家", "？")
_ASKS = re.compile(r"[吗？?]|怎么|怎样|如何|多少|几|什么|啥|哪|能不能|可不可以|有没有|是否|要不要|会不会|是不是|有冇|使唔使|点样|乜")


def asks_something(slots: Dict[str, object], text: str, last_question: str = "") -> bool:
    """Whether a message read as a profile answer also asks something of its own ("珠海 先租后让",
    "增城这边第一次轻微违规，会不会重罚"): then it is the question, answered with the profile,
    instead of re-running the last one. Right after a question has been answered, a message must
    also ask ("那海珠的稳岗补贴呢？"): "貿易", "孵化器运营" or "二十来个人" answer the profile
    question offered with the list, and the question they refine stays."""
    t = normalize_query(text or "")
    if not t.strip() or t.startswith("/") or _SKIP.search(t) or (states_figures(t) and not _ASKS.search(t)):
        return False  # a button, "跳过" / "不清楚", "二十来个人"
    read, said = read_profile(slots, t)
    if retrieve.prepare(t, drop=said).empty:
        return False
    return not last_question or bool(_ASKS.search(t))


def gives_profile(text: str) -> bool:
    """Whether a message the NLU read as a profile answer says anything a profile is made of:
    a place, an industry, a size or head count, or skipping the question. "😀😀😀" or "嗯"
    does not, and must not re-run the last question as if it did."""
    t = normalize_query(text or "")
    if not t.strip() or t.startswith("/"):  # a button's payload carries its own entities
        return t.startswith("/")
    if _SKIP.search(t):
        return True
    if states_figures(t):
        return True
    read, _ = read_profile({}, t)
    return any(read.get(k) for k in ("district", "industry", "size"))


def apology(region: Optional[str] = None) -> str:
    return wording.apology(load_lexicon().hotline_info(region) if region else None)
