"""The structure every Chinese government document uses, read without a per-document layout.

Why one reader instead of a layout per document: a hotline centre holds hundreds of documents,
and they differ only in which of a handful of numbering forms they use and how they name the
responsible units. Five hand-picked parsers (one per seed) did not scale, and a wrong layout
name built silently with every unit dropped (issue 12). Here:

* numbering: 第X章 / 第X节 / 第X条, 一、 / （一） / 1. / （1） / ① / 一是 — the hierarchy is the order
  in which the forms appear; a marker is accepted only in sequence (1 after nothing, 7 after 6,
  even across parents), so "2020年" or a wrapped PDF line starting "0.5个" is never an item;
* items are the leaves of that tree; a block with children is a heading. Framing sections
  (工作目标, 保障措施, 组织实施 …) are not measures and are reported as skipped;
* attributions — "（区发改局牵头）", "（牵头单位：…；责任单位：…；完成时限：…）", "（责任单位：…）",
  "（…负责）" — close a clause; names in them are units only if they look like an organisation
  (see :func:`looks_like_unit`), anything else is a note, reported and never read out;
* metadata for a person to confirm: document number, issuer, date, title, validity sentence.

Measured on the five seeds: 215 measures, 347 unit mentions and 36 amounts, every field the same
as the five per-document layouts it replaces gave (tests/test_outline.py against
tests/data/seed_measures_5layouts.json). Reading and parsing cost 12–35 ms a document
(bench/ingest_bench.py, 50 to 1,000 documents).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

CN_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN = "〇零一二三四五六七八九十百两"
CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"


def cn_to_int(s: str) -> int:
    """一 → 1, 十二 → 12, 三十二 → 32, 一百零二 → 102; digits as they are."""
    if s.isdigit():
        return int(s)
    if s in CIRCLED:
        return CIRCLED.index(s) + 1
    total = num = 0
    for ch in s:
        if ch in CN_DIGITS:
            num = CN_DIGITS[ch]
        elif ch == "十":
            total += (num or 1) * 10
            num = 0
        elif ch == "百":
            total += (num or 1) * 100
            num = 0
    return total + num


@dataclass(frozen=True)
class MarkerKind:
    name: str
    pattern: re.Pattern
    fmt: str  # how the item number is shown: "({})", "{}."


def _kind(name: str, pattern: str, fmt: str) -> MarkerKind:
    return MarkerKind(name, re.compile(r"^\s*" + pattern), fmt)


#: every numbering form, tried in this order on the start of a line
KINDS: Tuple[MarkerKind, ...] = (
    _kind("chapter", r"第([" + _CN + r"\d]{1,5})章\s*", "第{}章"),
    _kind("part", r"第([" + _CN + r"\d]{1,5})节\s*", "第{}节"),
    _kind("article", r"第([" + _CN + r"\d]{1,5})条\s*", "第{}条"),
    _kind("cn", r"([" + _CN + r"]{1,4})\s*[、]\s*", "{}、"),
    _kind("cn_paren", r"[(（]\s*([" + _CN + r"]{1,4})\s*[)）]\s*", "({})"),
    _kind("arabic", r"(\d{1,3})\s*[.．、](?!\d)\s*", "{}."),
    _kind("arabic_paren", r"[(（]\s*(\d{1,3})\s*[)）]\s*", "({})"),
    _kind("circled", r"([" + CIRCLED + r"])\s*", "{}"),
    _kind("ordinal", r"([一二三四五六七八九十]{1,3})是\s*", "{}是"),
)
KIND_BY_NAME = {k.name: k for k in KINDS}
#: the example a person recognises, for reports and for the manifest's `layout: {items: …}`
KIND_EXAMPLE = {"chapter": "第一章", "part": "第一节", "article": "第一条", "cn": "一、", "cn_paren": "（一）",
                "arabic": "1.", "arabic_paren": "（1）", "circled": "①", "ordinal": "一是"}

#: headings of sections that frame a document rather than offer anything (reported as skipped)
FRAMING = re.compile(r"^(工作目标|总体目标|主要目标|发展目标|目标任务|指导思想|总体要求|总体思路|基本原则|工作原则|"
                     r"保障措施|组织保障|保障机制|组织实施|实施保障|工作要求|工作步骤|实施步骤|进度安排|总则|附则|其他|其它)$")
#: headings that only say "here come the tasks": left out of the section name shown with a measure
GENERIC_HEADING = re.compile(r"^(主要任务|重点任务|工作任务|主要措施|具体措施|政策措施|工作措施|重点工作|主要内容)$")
ATTACHMENT = re.compile(r"^\s*附\s*件\s*[\d一二三四五六七八九十]*\s*([:：∶]|$)")
DATE_ONLY = re.compile(r"^\s*(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日\s*$")


@dataclass
class Line:
    no: int
    text: str


@dataclass
class Block:
    kind: str
    number: int
    label: str  # as shown: "(一)", "1.", "一、一是"
    line: int
    numeral: str = ""  # as written: "一", "12"
    parts: List[str] = field(default_factory=list)
    children: List["Block"] = field(default_factory=list)
    parent: Optional["Block"] = None
    closed: str = ""  # "attribution" ("(…牵头)" ends it) or "paragraph" (text after it is not its own)

    @property
    def text(self) -> str:
        return "".join(p.strip() for p in self.parts).strip()

    @property
    def heading(self) -> str:
        """What a container block is about: its first sentence, or its whole line when short."""
        head, body = first_sentence(self.parts[0] if self.parts else "")
        if head:
            return head
        first = (self.parts[0] if self.parts else "").strip()
        return first.rstrip("。.") if len(first) <= 60 else ""

    @property
    def has_body(self) -> bool:
        """"(一)注重组织领导。" alone has none: the paragraph after it (after a blank line) is its text."""
        head, body = first_sentence(self.text)
        return bool(body) if head else len(self.text) > 30 or len(self.parts) > 1

    def ancestors(self) -> List["Block"]:
        out, b = [], self.parent
        while b is not None and b.kind != "root":
            out.append(b)
            b = b.parent
        return out[::-1]


def first_sentence(text: str) -> Tuple[str, str]:
    """Split "标题。正文" into (标题, 正文); no full stop within 60 characters → ("", text)."""
    m = re.match(r"^(.{2,60}?)[。.](?!\d)", text)
    if m:
        return m.group(1).strip(), text[m.end():].strip()
    return "", text.strip()


def match_marker(text: str) -> Optional[Tuple[MarkerKind, int, str, str]]:
    """(kind, number, numeral as written, rest of the line) when the line starts with numbering."""
    for kind in KINDS:
        m = kind.pattern.match(text)
        if m and text[m.end():].strip():
            return kind, cn_to_int(m.group(1)), m.group(1), text[m.end():]
    return None


# ---------------------------------------------------------------- units
#: how the name of an organisation ends (局, 委, 办, 中心, 公司, 银行, 法院, 管委会 …)
UNIT_SUFFIX = re.compile(r"(局|委|办|署|厅|处|科|室|所|站|队|院|庭|部|部门|单位|机构|中心|公司|集团|银行|支行|分行|"
                         r"会|委员会|管委会|工委|党委|政府|镇|乡|街|街道|镇街|社区|海关|组|专班|指挥部|学校|医院|园区)$")
#: words an organisation's name never contains but a note does ("以下政策措施均需…", "不再单独列出")
NOT_A_UNIT = re.compile(r"均需|需要|应当|应按|负责|落实|按照|根据|单独|列出|以下|以上|不再|其中|分别|确保|"
                        r"[。;；:：!?！？\d]")


def looks_like_unit(name: str, known: Iterable[str] = ()) -> bool:
    """"区发改局", "人民银行增城支行", "各镇街" yes; "以下政策措施均需各县区人民政府", "不再单独列出" no.
    A name the lexicon knows (an alias such as "区优化办") is always a unit."""
    if name in set(known):
        return True
    return 2 <= len(name) <= 25 and bool(UNIT_SUFFIX.search(name)) and not NOT_A_UNIT.search(name)


@dataclass
class Attribution:
    lead: List[str] = field(default_factory=list)
    responsible: List[str] = field(default_factory=list)
    deadline_text: Optional[str] = None
    notes: List[str] = field(default_factory=list)  # text in the parenthesis that is not a unit


FIELD_LABELS = r"牵头单位|责任单位|主责单位|配合单位|协办单位|参与单位|完成时限|完成时间|时间节点|时限"
FIELD = re.compile(r"(" + FIELD_LABELS + r")\s*[:：∶]")
PAREN = re.compile(r"[(（]([^()（）]{2,200})[)）]")
LEAD_TAIL = re.compile(r"^(.+?)(牵头|负责)(?:[,，;；](.+?)(?:配合|参与|协办))?$")


def split_unit_list(text: str) -> Tuple[List[str], List[str]]:
    """"区财政局会同区各相关产业扶持部门" → ([区财政局], [区各相关产业扶持部门]); names split at 、 , ；."""
    lead, co = text, ""
    if "会同" in text:
        lead, _, co = text.partition("会同")
    clean = lambda xs: [re.sub(r"\s+", "", x).rstrip("等").strip() for x in re.split(r"[、,，;；]", xs) if x.strip()]
    return clean(lead), clean(co)


def _sort_units(names: Sequence[str], known: Set[str], att: Attribution) -> List[str]:
    out = []
    for n in names:
        if looks_like_unit(n, known):
            out.append(n)
        elif n:
            att.notes.append(n)
    return out


def read_attribution(content: str, known: Set[str] = frozenset()) -> Optional[Attribution]:
    """What a parenthesis says about who does a measure, or None when it is ordinary text
    ("(项目)", "(展期视同新增)"). Everything after a full stop inside it is a note."""
    content = content.strip()
    if FIELD.search(content):
        att = Attribution()
        starts = [m for m in FIELD.finditer(content)]
        if content[:starts[0].start()].strip(" ;；,，"):
            att.notes.append(content[:starts[0].start()].strip())
        for i, m in enumerate(starts):
            value = content[m.end(): starts[i + 1].start() if i + 1 < len(starts) else len(content)]
            value = value.strip().strip(";；,，").strip()
            label = m.group(1)
            if label in ("完成时限", "完成时间", "时间节点", "时限"):
                att.deadline_text = value or None
                continue
            value, stop, note = value.partition("。")
            if note.strip():
                att.notes.append(note.strip())
            lead, co = split_unit_list(value)
            if label in ("牵头单位", "主责单位"):
                att.lead += _sort_units(lead, known, att)
                att.responsible += _sort_units(co, known, att)
            else:
                att.responsible += _sort_units(lead + co, known, att)
        return att
    m = LEAD_TAIL.match(content)
    if m:
        names, _, _ = m.group(1).partition("。")
        lead, co = split_unit_list(names)
        att = Attribution()
        att.lead = _sort_units(lead, known, att)
        att.responsible = _sort_units(co + (split_unit_list(m.group(3))[0] if m.group(3) else []), known, att)
        if not att.lead and not att.responsible:
            return None  # "(由企业自行负责)": ordinary text, not an attribution
        if "。" in m.group(1):
            att.notes.append(m.group(1).partition("。")[2].strip())
        return att
    return None


@dataclass
class Clause:
    text: str
    attribution: Attribution


def split_clauses(text: str, known: Set[str] = frozenset()) -> List[Clause]:
    """An item's text cut at each attribution: "A。(区发改局牵头)B。(区财政局牵头)" → two clauses.
    Two attributions in a row belong to the same clause; a tail with no attribution is a clause of
    its own when it says something (four Chinese characters or more)."""
    out: List[Clause] = []
    pos = 0
    for m in PAREN.finditer(text):
        att = read_attribution(m.group(1), known)
        if att is None:
            continue
        clause = text[pos:m.start()].strip()
        if clause:
            out.append(Clause(clause, att))
        elif out:
            prev = out[-1].attribution
            prev.lead += att.lead
            prev.responsible += att.responsible
            prev.notes += att.notes
            prev.deadline_text = prev.deadline_text or att.deadline_text
        pos = m.end()
    tail = text[pos:].strip()
    if tail and re.search(r"[\u4e00-\u9fff]{4}", tail):
        out.append(Clause(tail, Attribution()))
    return out


def ends_with_attribution(text: str, known: Set[str] = frozenset()) -> bool:
    m = re.search(r"[(（]([^()（）]{2,200})[)）]\s*$", text)
    return bool(m and read_attribution(m.group(1), known))


# ---------------------------------------------------------------- outline
@dataclass
class Outline:
    preamble: List[Line]
    root: Block
    outside: List[Line]  # text after items that belongs to no item (closing paragraphs, signatures)
    attachments_from: Optional[int]
    rejected_markers: List[Line]  # lines that look numbered but are out of sequence

    def blocks(self) -> List[Block]:
        out: List[Block] = []

        def walk(b: Block) -> None:
            for c in b.children:
                out.append(c)
                walk(c)
        walk(self.root)
        return out

    def leaves(self) -> List[Block]:
        return [b for b in self.blocks() if not b.children]

    def kinds_by_depth(self) -> List[str]:
        seen: List[str] = []
        for b in self.blocks():
            if b.kind not in seen:
                seen.append(b.kind)
        return seen


SIGNATURE = re.compile(r"^[(（][\u4e00-\u9fff]{2,30}[)）]$")


def is_signature(text: str) -> bool:
    """"(广州市海珠区委改革办)" or "2021年4月19日" alone on a line: who issued it and when, not item text."""
    t = text.strip()
    return bool(DATE_ONLY.match(t) or (SIGNATURE.match(t) and looks_like_unit(t[1:-1])))


def build_outline(lines: Sequence[Line], known: Set[str] = frozenset(), item_kind: Optional[str] = None) -> Outline:
    """Numbered blocks of a document as a tree. ``item_kind`` (a manifest override) accepts only
    that numbering form and the forms above it, for a document whose body text starts lines with
    something that reads as numbering."""
    root = Block("root", 0, "", 0)
    stack: List[Block] = [root]
    last_seen: Dict[str, int] = {}
    preamble: List[Line] = []
    outside: List[Line] = []
    rejected: List[Line] = []
    attachments_from = None
    blank = False
    for ln in lines:
        t = ln.text.strip()
        if not t:
            blank = True
            continue
        if len(stack) > 1 and ATTACHMENT.match(t):
            attachments_from = ln.no
            break
        hit = match_marker(t)
        accepted = False
        if hit:
            kind, number, numeral, rest = hit
            on_stack = next((i for i, b in enumerate(stack) if b.kind == kind.name), None)
            if on_stack is not None:
                accepted = number == stack[on_stack].number + 1
            else:
                # numbering may run on across parents (1.–6. under (一), 7. under (二)), except
                # 一是/二是, which restart in every item: a wrapped line starting "三是" is text
                accepted = number == 1 or (kind.name != "ordinal" and len(stack) > 1
                                           and number == last_seen.get(kind.name, 0) + 1)
                if item_kind and kind.name != item_kind and item_kind in [b.kind for b in stack]:
                    accepted = False  # the override: nothing is numbered below the item form
            if accepted:
                if on_stack is not None:
                    del stack[on_stack:]
                parent = stack[-1]
                label = kind.fmt.format(numeral)
                if kind.name == "ordinal" and parent.kind != "root":
                    label = parent.label + label  # 一是 restarts in every section: "一、一是"
                b = Block(kind.name, number, label, ln.no, numeral, [rest], parent=parent)
                parent.children.append(b)
                stack.append(b)
                last_seen[kind.name] = number
            elif len(stack) > 1 or preamble:
                rejected.append(ln)
        if not accepted:
            cur = stack[-1] if len(stack) > 1 else None
            if cur is None:
                (outside if root.children else preamble).append(ln)
            elif FIELD.match(t) and cur.closed != "paragraph":
                cur.parts.append(f"({t})")  # "牵头单位：区人社局" on a line of its own: an attribution
                cur.closed = "attribution"
            elif cur.closed or is_signature(t):
                cur.closed = "paragraph"
                outside.append(ln)
            elif blank and (cur.has_body or cur.children):
                cur.closed = "paragraph"  # a paragraph after a blank line, after an item that has its text
                outside.append(ln)
            elif ends_with_attribution(cur.text, known) and not cur.children:
                cur.closed = "attribution"  # "(…牵头)" ends an item: what follows is not part of it
                outside.append(ln)
            else:
                cur.parts.append(t)
        blank = False
    return Outline(preamble, root, outside, attachments_from, rejected)


# ---------------------------------------------------------------- metadata
DOC_NUMBER = re.compile(r"^\s*([\u4e00-\u9fff]{1,12}\s*[〔\[［(（【]\s*\d{4}\s*[〕\]］)）】]\s*\d{1,4}\s*号)\s*$")
DATE_IN_TEXT = re.compile(r"(\d{4})\s*[-年./]\s*(\d{1,2})\s*[-月./]\s*(\d{1,2})\s*日?")
TITLE_END = re.compile(r"(方案|措施|办法|意见|通知|规定|细则|决定|规划|计划|政策|条例|指引|清单|做法|机制|公告|通告|批复)$")


def _date(m: re.Match) -> Optional[dt.date]:
    try:
        return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def add_years(d: dt.date, years: int) -> dt.date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


@dataclass
class Validity:
    sentence: str
    valid_from: Optional[dt.date]
    valid_until: Optional[dt.date]
    line: int


VALID_RANGE = re.compile(r"有效期(?:为)?自(.{0,16}?)起至(\d{4})年(\d{1,2})月(\d{1,2})日")
VALID_UNTIL = re.compile(r"有效期(?:至|到)(\d{4})年(\d{1,2})月(\d{1,2})日")
VALID_YEARS = re.compile(r"自(\d{4}年\d{1,2}月\d{1,2}日|印发之日|发布之日|公布之日)起(?:施行|实施|执行)[^。]{0,10}?有效期(?:为)?([一二三四五六七八九十两\d]{1,3})年")


def read_validity(lines: Sequence[Line], published: Optional[dt.date]) -> Optional[Validity]:
    """"有效期自印发之日起至2020年12月31日" / "自2022年1月1日起施行，有效期5年" (→ 2026-12-31) /
    "自印发之日起施行，有效期3年" (from the date printed on the document, when there is one)."""
    for ln in lines:
        t = ln.text
        m = VALID_RANGE.search(t)
        if m:
            sentence = _sentence_around(t, m.start())
            start = DATE_IN_TEXT.search(m.group(1))
            return Validity(sentence, _date(start) if start else None,
                            dt.date(int(m.group(2)), int(m.group(3)), int(m.group(4))), ln.no)
        m = VALID_UNTIL.search(t)
        if m:
            return Validity(_sentence_around(t, m.start()), None, _date(m), ln.no)
        m = VALID_YEARS.search(t)
        if m:
            start_m = DATE_IN_TEXT.search(m.group(1))
            start = _date(start_m) if start_m else published
            years = cn_to_int(m.group(2))
            until = add_years(start, years) - dt.timedelta(days=1) if start else None
            return Validity(_sentence_around(t, m.start()), start, until, ln.no)
    return None


def _sentence_around(text: str, pos: int) -> str:
    start = max(text.rfind("。", 0, pos), text.rfind("\n", 0, pos)) + 1
    end = text.find("。", pos)
    return text[start:end + 1 if end >= 0 else len(text)].strip()


@dataclass
class DocumentFacts:
    """What the text itself says about the document: a draft for a person to confirm."""
    title: Optional[str] = None
    issuer: Optional[str] = None
    doc_number: Optional[str] = None
    published: Optional[dt.date] = None
    validity: Optional[Validity] = None
    contact: Optional[str] = None  # "请径向区发展改革局反映"


CONTACT = re.compile(r"[^。]*(请径向|请向|请与|联系|咨询)[^。]*?(反映|联系|咨询)[^。]*。")
LABELLED = re.compile(r"(发布时间|发表时间|成文日期|发文日期|印发日期|信息来源|发布机构|发文机关|文号|发文字号)\s*[:：]\s*(\S+)")


def read_facts(outline: Outline, lines: Sequence[Line], published: Optional[dt.date] = None) -> DocumentFacts:
    """``published``: the date a person confirmed (the manifest's), used for "有效期N年" when the
    text prints no date of its own."""
    facts = DocumentFacts()
    head = outline.preamble
    tail = outline.outside
    for ln in head:
        t = ln.text.strip()
        m = DOC_NUMBER.match(t)
        if m and not facts.doc_number:
            facts.doc_number = re.sub(r"\s+", "", m.group(1))
        for lm in LABELLED.finditer(t):
            label, value = lm.group(1), lm.group(2)
            if label in ("发布时间", "发表时间", "成文日期", "发文日期", "印发日期") and not facts.published:
                d = DATE_IN_TEXT.search(value)
                facts.published = _date(d) if d else None
            elif label in ("信息来源", "发布机构", "发文机关") and not facts.issuer:
                facts.issuer = value
            elif label in ("文号", "发文字号") and not facts.doc_number:
                facts.doc_number = value
    # "广州市增城区人民政府 / 2020年4月3日": the signature above the date is the issuer, the date is
    # the date of issue (preferred to a web page's publishing time)
    for group in (head, tail):
        for prev, ln in zip(group, group[1:]):
            d = DATE_ONLY.match(ln.text)
            if d and len(prev.text.strip()) <= 30 and looks_like_unit(prev.text.strip().strip("()（）")):
                facts.issuer = prev.text.strip().strip("()（）")
                facts.published = _date(d) or facts.published
                break
    if not facts.issuer:
        for ln in tail[-3:]:
            if SIGNATURE.match(ln.text.strip()) and looks_like_unit(ln.text.strip()[1:-1]):
                facts.issuer = ln.text.strip()[1:-1]
    facts.published = facts.published or published
    titles = [ln.text.strip() for ln in head if 6 <= len(ln.text.strip()) <= 80 and TITLE_END.search(ln.text.strip())
              and not re.search(r"[:：,，]$|^(当前位置|您现在的位置)", ln.text.strip())]
    if titles:
        facts.title = re.sub(r"(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])", "", titles[-1])
    facts.validity = read_validity(lines, facts.published)
    for ln in list(head) + list(tail):
        m = CONTACT.search(ln.text)
        if m:
            facts.contact = m.group(0).strip()
            break
    return facts
