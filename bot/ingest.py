"""Parse policy documents into documents → sections → measures.

One reader for every layout (bot/documents/outline.py): the numbering hierarchy, headings,
attributions, deadlines and validity every Chinese government document uses, so a new document
is "drop the file (.txt, .html, .docx or a text PDF), add a manifest entry, rebuild" — or
``python -m bot add FILE`` (bot/documents/review.py), which drafts the entry and reports on it.
``layout:`` in the manifest is an optional override; a name it does not know is an error.

Parsing never touches the database: a document that cannot be parsed raises
:class:`IngestError` naming the file and line, before anything is written.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Set, Tuple

import yaml

from bot.documents.outline import (FRAMING, GENERIC_HEADING, KIND_EXAMPLE, DocumentFacts, Line,
                                   Outline, build_outline, first_sentence, read_facts, split_clauses)
from bot.documents.readers import ReadError, read_source
from bot.lexicon import Lexicon, load_lexicon
from bot.textnorm import _PINYIN, CLEANERS, to_simplified

SEEDS_DIR = Path(__file__).resolve().parent.parent / "seeds"


class IngestError(Exception):
    """A document that cannot be read or has no structure we know."""

    def __init__(self, file: str, line: int, message: str):
        super().__init__(f"{file}:{line}: {message}")
        self.file, self.line, self.message = file, line, message


# ---------------------------------------------------------------- data model
@dataclass
class Amount:
    raw: str
    value: float
    unit: str  # 元 / 美元 / %
    qualifier: Optional[str]  # 最高 / 不超过 / 每人 …
    sentence: str
    kind: str = "benefit"  # benefit / fund / fee / threshold (amount_kind)


@dataclass
class ParsedMeasure:
    section_number: str
    section_heading: str
    item_number: str
    item_heading: str
    clause_no: int
    text: str
    line: int
    lead_units: List[str] = field(default_factory=list)
    responsible_units: List[str] = field(default_factory=list)
    deadline_text: Optional[str] = None
    deadline: Optional[dt.date] = None
    valid_until: Optional[dt.date] = None
    validity_source: str = "document"
    amounts: List[Amount] = field(default_factory=list)
    kind: str = "enterprise"  # enterprise / government (classify_measure)
    # what an attribution said besides unit names ("以下政策措施均需…"): shown in the review, never as a unit
    notes: List[str] = field(default_factory=list)
    # tags: kind -> {value: stated?}
    tags: Dict[str, Dict[str, bool]] = field(default_factory=dict)


@dataclass
class Finding:
    """Something a person reviewing the document should see: ``level`` warning or info."""
    level: str
    line: int
    message: str


@dataclass
class ParsedDocument:
    key: str
    file: str
    sha256: str
    meta: dict
    regions: List[str]
    header: Dict[str, str]
    sizes: List[str]
    valid_until: Optional[dt.date]
    measures: List[ParsedMeasure]
    facts: DocumentFacts = field(default_factory=DocumentFacts)
    findings: List[Finding] = field(default_factory=list)
    cleaners: List[str] = field(default_factory=list)
    source_format: str = "txt"
    item_kinds: Dict[str, int] = field(default_factory=dict)  # numbering form → items found
    lines: List[Line] = field(default_factory=list)  # the cleaned text, for the review report
    text: str = ""

    def warnings(self) -> List[Finding]:
        return [f for f in self.findings if f.level == "warning"]


# ---------------------------------------------------------------- helpers
MONTH_END = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(底|末|(\d{1,2})\s*日)?")


def parse_deadline(text: str) -> Optional[dt.date]:
    m = MONTH_END.search(text or "")
    if not m:
        return None
    year, month = int(m.group(1)), int(m.group(2))
    if m.group(4):
        return dt.date(year, month, int(m.group(4)))
    nxt = dt.date(year + (month == 12), month % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


PERIOD = re.compile(r"(?:自)?(?:(\d{4})年)?(\d{1,2})月(\d{1,2})日至(?:(\d{4})年)?(\d{1,2})月(\d{1,2})日")
BEFORE = re.compile(r"在(\d{4})年(\d{1,2})月(\d{1,2})日前")


def measure_period_end(text: str, year_hint: Optional[int]) -> Optional[dt.date]:
    """The end of a period the measure itself states ("2月1日至6月30日")."""
    m = PERIOD.search(text)
    if m:
        year = int(m.group(4) or m.group(1) or 0) or year_hint
        if year:
            return dt.date(year, int(m.group(5)), int(m.group(6)))
    m = BEFORE.search(text)
    if m:
        return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    return None


MONEY = re.compile(r"(\d+(?:\.\d+)?)\s*(余)?\s*(万|亿)?\s*(美元|元)")
PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*%")
BENEFIT = re.compile(r"补贴|补助|奖励|贴息|给予|返还|减免|结算|资助|扣除|补偿")
QUALIFIER = re.compile(r"(总额最高|最高|不超过|不超|最多|不低于|每人|每辆|每家企业每年|每家企业|每家机构|每家|每个农业龙头企业|每个|一次性)")


#: words just before an amount that make it something other than what the enterprise gets
FUND_BEFORE = re.compile(r"(安排|投入|设立|筹集|统筹|拨付|下达|资金池|规模|总规模|预算|累计|共计|合计|财政资金|专项资金|发放了?|兑现了?|惠及)[^,，;；。]{0,10}$")
FEE_BEFORE = re.compile(r"(收取|缴纳|交纳|收费|费用为|按)[^,，;；。]{0,6}$")
THRESHOLD_BEFORE = re.compile(r"(超过|不足|以上|达到|达|低于|高于|增长|下降|年产值|营收|营业收入|产值|投资额|额度在|金额在)[^,，;；。]{0,6}$")
THRESHOLD_AFTER = re.compile(r"^\s*(以上|以下|及以上|以内)?(的|企业|项目)")
#: a sum the government mobilised or reached across the district ("发动区内国资物业、园区为企业减免
#: 租金2500万元", "带动全区…减免租金和物业管理费超过1亿元"): a total, not what one enterprise gets
TOTAL_BEFORE = re.compile(r"发动|带动|累计|共计|合计|惠及")
GRANT_BEFORE = re.compile(r"(给予|最高|补贴|奖励|补助|资助|贴息|返还|减免|一次性|不超过|每人|每家|每个)[^,，;；。]{0,8}$")


def amount_kind(before: str, after: str) -> str:
    """What an amount is, read from the words around it: "给予最高20万元" is a benefit,
    "区财政安排300万元" a fund, "赔付率超过120%" or "年产值2000万元以上的" a threshold.
    "可获得" is shown only for benefits (bot/answer.py). ``before``: the text of the amount's
    phrase (up to the last comma) before it."""
    if TOTAL_BEFORE.search(before):
        return "fund"
    if GRANT_BEFORE.search(before[-8:]) and not THRESHOLD_BEFORE.search(before[-4:]):
        return "benefit"
    if THRESHOLD_BEFORE.search(before) or THRESHOLD_AFTER.match(after):
        return "threshold"
    if FUND_BEFORE.search(before):
        return "fund"
    if FEE_BEFORE.search(before):
        return "fee"
    return "benefit"  # extract_amounts reads only sentences that grant something


#: what only the government does: bodies it sets up, visits, budgets it spent
GOVERNMENT_ACTION = re.compile(r"成立|指挥部|领导小组|工作专班|挂点|带队|督导|督办|调度|走访|摸排|摸查|部署|召开|宣传|"
                               r"投入财政资金|累计发放|发放了|兑现了|截至|惠及|研究制定|专题会|党员|干部")
#: what an enterprise can use: money, a service, a shorter procedure
ENTERPRISE_USE = re.compile(r"补贴|补助|奖励|贴息|减免|免收|免征|缓缴|返还|资助|给予|可申请|可享受|申报|办理|办结|"
                            r"工作日|压缩|免费|一次性|不超过|最高|提供.{0,8}(服务|咨询|帮办|代办)|可向|企业可|即享|免申|"
                            r"开通|绿色通道|容缺|承诺制|网上|线上|一网|一窗|延长|延期|降低|下调")


def classify_measure(text: str) -> str:
    """"government" when a clause only says what the government did (成立指挥部, 领导带队挂点,
    投入财政资金5000余万元) and offers the enterprise nothing to use or apply for; such
    clauses are ranked below usable ones and labelled when shown."""
    if GOVERNMENT_ACTION.search(text) and not ENTERPRISE_USE.search(text):
        return "government"
    return "enterprise"


def extract_amounts(text: str) -> List[Amount]:
    """Money and rates in sentences that grant something; each with its sentence and kind."""
    out: List[Amount] = []
    for sentence in re.split(r"(?<=[。;；])", text):
        if not BENEFIT.search(sentence):
            continue
        for part in re.split(r"[,，]", sentence):
            for m in MONEY.finditer(part):
                mult = {"万": 1e4, "亿": 1e8}.get(m.group(3) or "", 1)
                before = part[max(0, m.start() - 12):m.start()]
                q = QUALIFIER.findall(before)
                out.append(Amount(raw=(q[-1] if q else "") + m.group(0), value=float(m.group(1)) * mult,
                                  unit=m.group(4), qualifier=q[-1] if q else None, sentence=sentence.strip(),
                                  kind=amount_kind(part[:m.start()], part[m.end():])))
            for m in PERCENT.finditer(part):
                before = part[max(0, m.start() - 12):m.start()]
                q = QUALIFIER.findall(before)
                out.append(Amount(raw=(q[-1] if q else "") + m.group(0), value=float(m.group(1)), unit="%",
                                  qualifier=q[-1] if q else None, sentence=sentence.strip(),
                                  kind=amount_kind(part[:m.start()], part[m.end():])))
    return out


SIZE_MENTION = re.compile(r"(中小微|大中型|中小型|中小|小微|大型|中型|小型|微型)企业|个体工商户|小微贷款")


#: "尤其是/特别是 X": X is stressed among the enterprises the clause is for, not the only ones
EMPHASIS_BEFORE = re.compile(r"(尤其是|特别是|尤其|特别)$")
#: right after an industry word, the words that make it the clause's audience ("餐饮企业", "农业
#: 龙头企业", "疫情防控产品生产企业", or at the end of its list: "住宿餐饮、交通运输、批发零售等企业");
#: "交通物流保障" is no list item, "环保、…税务等重点公共行业领域" no audience
_AUDIENCE_AFTER = re.compile(r"^(?:[、和及与][^，,。；;：:、等]{1,8}?)*(?:等[^，,。；;：:、]{0,3}?|[^，,。；;：:、等]{0,2}?)"
                             r"(企业|行业|商户|业户|经营户|经营者|市场主体|龙头|从业|机构)")
_AUDIENCE_WORD = re.compile(r"(企业|公司|机构)$")
#: a place or body of a trade ("旅行社", "医院") is the audience when the clause is for it:
#: "对受疫情影响的旅行社", not "推动公安、民政、医院等政务服务数据上链"
_INSTITUTION_WORD = re.compile(r"(组织|学校|医院|卫生院|幼儿园|旅行社|景区|酒店|民宿|展馆|市场)$")
_FOR_BEFORE = re.compile(r"(对|向|为|支持|扶持|帮扶|鼓励|补贴|奖励)[^，,。；;：:、]{0,8}$")


def size_limits(text: str, lex: Lexicon) -> List[str]:
    """The sizes a clause names as its audience ("中小微企业", "个体工商户", "小微贷款"), not one it
    only stresses ("企业尤其是中小企业": every enterprise, small ones first)."""
    out: List[str] = []
    for hit in SIZE_MENTION.finditer(text):
        if EMPHASIS_BEFORE.search(text[max(0, hit.start() - 4):hit.start()]):
            continue
        word = "小微企业" if hit.group(0) == "小微贷款" else hit.group(0)
        out.extend(s for s in lex.expand_size(word) if s not in out)
    return out


def industry_limits(text: str, lex: Lexicon) -> List[str]:
    """The industries a clause is *for*, not every industry it mentions. "对参加境外展会的外贸
    企业" and "支持疫情防控产品生产企业" limit it; "增加涉农和小微贷款", "工业用地", "文旅市场复苏"
    only mention one (the clause helps any enterprise), and so does a word after 尤其是.
    A mention counted as a limit would remove the clause for every other enterprise and tell
    it "按原文不适用" (bot/query.py filters on these tags); a stressed or passing mention does
    not. Measured on the five seeds: the clauses with an industry tag went from 78 to 33."""
    return [ind.name for ind in lex.industries.values() if any(_names_audience(text, k) for k in ind.keywords)]


def _names_audience(text: str, keyword: str) -> bool:
    """Some occurrence of ``keyword`` in ``text`` names who the clause is for (not stressed)."""
    for m in re.finditer(re.escape(keyword), text):
        start, end = m.span()
        if EMPHASIS_BEFORE.search(text[max(0, start - 4):start]):
            continue
        if (_AUDIENCE_WORD.search(keyword) or _AUDIENCE_AFTER.search(text[end:end + 80])
                or (_INSTITUTION_WORD.search(keyword) and _FOR_BEFORE.search(text[max(0, start - 12):start]))):
            return True
    return False


def tag_measure(m: ParsedMeasure, doc_regions: Sequence[str], doc_sizes: Sequence[str], lex: Lexicon) -> None:
    """Attach district, size, industry, topic and qualification tags.

    A tag is *stated* when the text (or the document header) names it; a
    measure that names no size or industry applies to all, recorded as the
    absence of stated tags — the query treats it as general.
    """
    text = m.text
    heading_and_text = f"{m.item_heading}。{text}"
    m.tags["district"] = {r: True for r in doc_regions}
    sizes: Dict[str, bool] = {s: True for s in size_limits(text, lex)}
    if not sizes:
        sizes = {s: True for s in doc_sizes}
    m.tags["size"] = sizes
    m.tags["industry"] = {name: True for name in industry_limits(text, lex)}
    topics: Dict[str, bool] = {}
    for t in lex.topics.values():
        if any(k in heading_and_text for k in t.keywords):
            topics[t.name] = True
    m.tags["topic"] = topics
    quals: Dict[str, bool] = {}
    for q, words in lex.qualifications.items():
        if any(w in text for w in words):
            quals[q] = True
    m.tags["qualification"] = quals


# ---------------------------------------------------------------- layouts
#: ``layout:`` in the manifest: an override naming the numbering form of the items. The old
#: per-document names stay valid so existing manifests keep their meaning.
LAYOUTS: Dict[str, Optional[str]] = {
    "auto": None,
    "clauses_with_lead_parens": "cn_paren",
    "numbered_tasks": "arabic",
    "numbered_with_unit_fields": "arabic",
    "ordinal_points": "ordinal",
    "numbered_items_with_lead_parens": "cn",
    "articles": "article",
    **{example: kind for kind, example in KIND_EXAMPLE.items()},
    "(一)": "cn_paren", "(1)": "arabic_paren",
}


def item_kind_of(layout, manifest: str, file: str) -> Optional[str]:
    if layout in (None, ""):
        return None
    if not isinstance(layout, str) or layout not in LAYOUTS:
        raise IngestError(manifest, 0, f"entry {file}: unknown layout {layout!r}; leave it out (the parser finds the "
                          f"items itself) or name the items' numbering: {', '.join(sorted(set(LAYOUTS) - {'(一)', '(1)'}))}")
    return LAYOUTS[layout]


#: cleaners in the order they must run (pinyin before width folding: its brackets are full-width)
CLEANER_ORDER = ("strip_pinyin", "fullwidth", "traditional_to_simplified", "mark_lost_chars", "pdf_spacing")
_CJK_GAP = re.compile(r"[\u4e00-\u9fff] [\u4e00-\u9fff]")


def detect_cleaners(text: str, source_format: str) -> List[str]:
    """The repairs a text needs, read from the text: pinyin readings after characters (003),
    traditional characters, '?' for lost characters, spaces inside words from a PDF (002)."""
    found = ["fullwidth"]
    if len(_PINYIN.findall(text)) >= 3:
        found.insert(0, "strip_pinyin")
    cjk = re.findall(r"[\u4e00-\u9fff]", text)
    if cjk:
        sample = "".join(cjk[:20000])
        changed = sum(1 for a, b in zip(sample, to_simplified(sample)) if a != b)
        if changed >= max(3, 0.01 * len(sample)):
            found.append("traditional_to_simplified")
    if re.search(r"[\u4e00-\u9fff]\?|\?[\u4e00-\u9fff]", text):
        found.append("mark_lost_chars")
    lines = max(1, text.count("\n"))
    if source_format == "pdf" or len(_CJK_GAP.findall(text)) >= max(10, lines / 3):
        found.append("pdf_spacing")
    return found


def measures_from_outline(outline: Outline, known: Set[str], item_kind: Optional[str], pdf_spacing: bool,
                          findings: List[Finding]) -> Tuple[List[ParsedMeasure], Dict[str, int]]:
    """Each item (a leaf of the numbering tree, or a block of the override's form) → one measure per
    attributed clause. Framing sections are skipped; an item with no text is a warning."""
    measures: List[ParsedMeasure] = []
    kinds: Dict[str, int] = {}
    skipped: Dict[str, int] = {}
    items = [b for b in outline.blocks() if b.kind == item_kind] if item_kind else outline.leaves()
    # numbering that restarts under each article or section ("第五条 … (一) (二)", "第六条 … (一)") is
    # cited with its parent: "第五条(一)"
    starts: Dict[str, int] = {}
    for b in items:
        if b.number == 1 and b.kind != "ordinal":  # 一是 carries its parent already
            starts[b.kind] = starts.get(b.kind, 0) + 1
    label_of = {id(b): (b.parent.label + b.label if starts.get(b.kind, 0) > 1 and b.parent is not None
                        and b.parent.kind != "root" else b.label) for b in items}
    for leaf in items:
        ancestors = leaf.ancestors()
        framing = next((a.heading for a in ancestors + [leaf] if FRAMING.match(a.heading)), None)
        if framing:
            skipped[framing] = skipped.get(framing, 0) + 1
            continue
        text = leaf.text if not leaf.children else " ".join(b.text for b in [leaf] + leaf.children)
        if pdf_spacing:
            text = CLEANERS["pdf_spacing"](text)
        heading, body = first_sentence(text)
        named = [a for a in ancestors if a.heading and not GENERIC_HEADING.match(a.heading)]
        if not heading or (not body and len(heading) >= 15):
            # no heading sentence, or the item is one sentence ("第二条 对…给予返还。"): all of it is text
            heading, body = (named[-1].heading if named else ""), text
        clauses = split_clauses(body, known)
        if not clauses:
            findings.append(Finding("warning", leaf.line, f"item {leaf.label} has a heading but no text: "
                                    f"not a measure ('{text[:30]}')"))
            continue
        kinds[leaf.kind] = kinds.get(leaf.kind, 0) + 1
        top = named[0] if named else None
        section_number = "" if top is None else (top.numeral if top.kind == "cn" else top.label)
        section_heading = " / ".join(a.heading for a in named)
        for i, clause in enumerate(clauses, start=1):
            att = clause.attribution
            for note in att.notes:
                findings.append(Finding("warning", leaf.line, f"item {leaf.label}: '{note}' in its attribution does "
                                        "not look like a unit name: kept as a note, never read out as a unit"))
            measures.append(ParsedMeasure(
                section_number=section_number, section_heading=section_heading, item_number=label_of[id(leaf)],
                item_heading=heading, clause_no=i, text=clause.text, line=leaf.line, lead_units=att.lead,
                responsible_units=att.responsible, deadline_text=att.deadline_text,
                deadline=parse_deadline(att.deadline_text or ""), notes=list(att.notes)))
    for heading, n in skipped.items():
        findings.append(Finding("info", 0, f"section '{heading}' ({n} item(s)) frames the document: not read as measures"))
    if len(kinds) > 1:
        findings.append(Finding("warning", 0, "items found at more than one numbering level (" + ", ".join(
            f"{KIND_EXAMPLE[k]} {n}" for k, n in kinds.items()) + "): check that no heading was taken for an item"))
    for ln in outline.rejected_markers[:10]:
        findings.append(Finding("info", ln.no, f"'{ln.text.strip()[:12]}…' looks numbered but is out of sequence: "
                                "read as text"))
    return measures, kinds



def parse_pipe_header(lines: List[Line]) -> Tuple[Dict[str, str], List[Line]]:
    """"键 | 值 | 键 | 值 |" lines at the top of a text (004's metadata table)."""
    header: Dict[str, str] = {}
    rest_start = 0
    for i, ln in enumerate(lines):
        if "|" not in ln.text:
            rest_start = i
            break
        cells = [c.strip() for c in ln.text.strip().strip("|").split("|")]
        for k, v in zip(cells[0::2], cells[1::2]):
            if k:
                header[k] = v
    return header, lines[rest_start:]


def _header_regions(value: str, lex: Lexicon) -> List[str]:
    out: List[str] = []
    for token in re.split(r"[,，、()]", value):
        r = lex.canonical_region(token.strip())
        if r and r not in out:
            out.append(r)
    return out


# ---------------------------------------------------------------- documents
def load_manifest(seeds_dir: Path = SEEDS_DIR) -> List[dict]:
    path = seeds_dir / "manifest.yml"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IngestError(str(path), 0, "manifest.yml is missing")
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", -1) + 1
        raise IngestError(str(path), line, f"manifest is not valid YAML: {exc}")
    docs = (raw or {}).get("documents")
    if not isinstance(docs, list) or not docs:
        raise IngestError(str(path), 1, "manifest lists no documents")
    return docs


REQUIRED = ("file", "title", "region")


def known_units(lex: Lexicon, region: str) -> Set[str]:
    """Unit names the lexicon knows for a region and those above it: always accepted as units."""
    out: Set[str] = set()
    for r in lex.ancestors(region):
        out.update(lex.unit_aliases.get(r, {}))
    return out


def read_text(path: Path, data: bytes, entry_clean: Optional[list], manifest: str, file: str):
    """The file → cleaned text, the cleaners used and what the reader noted."""
    try:
        src = read_source(path, data)
    except ReadError as e:
        raise IngestError(str(path), 1, str(e))
    text = src.text
    cleaners = list(entry_clean) if entry_clean else detect_cleaners(text, src.format)
    for name in cleaners:
        if name not in CLEANERS:
            raise IngestError(manifest, 0, f"entry {file}: unknown cleaner '{name}' (known: {', '.join(CLEANERS)})")
        text = CLEANERS[name](text)  # every cleaner keeps the line structure
    return src, text, cleaners


def parse_document(entry: dict, seeds_dir: Path = SEEDS_DIR, lex: Optional[Lexicon] = None) -> ParsedDocument:
    lex = lex or load_lexicon()
    manifest = str(seeds_dir / "manifest.yml")
    for k in REQUIRED:
        if not entry.get(k):
            raise IngestError(manifest, 0, f"entry {entry.get('file', '?')}: missing '{k}'")
    file = entry["file"]
    path = seeds_dir / file
    if not path.is_file():
        raise IngestError(str(path), 0, "file named in manifest.yml does not exist")
    item_kind = item_kind_of(entry.get("layout"), manifest, file)
    region = lex.canonical_region(entry["region"])
    if not region:
        raise IngestError(manifest, 0, f"entry {file}: region '{entry['region']}' is not in bot/lexicon.yml")
    data = path.read_bytes()
    src, text, cleaners = read_text(path, data, entry.get("clean"), manifest, file)
    findings: List[Finding] = [Finding("info", 0, n) for n in src.notes]
    lines = [Line(i + 1, t) for i, t in enumerate(text.split("\n"))]

    header: Dict[str, str] = {}
    body_lines = lines
    if entry.get("header") == "pipe_table" or (entry.get("header") is None and lines and lines[0].text.count("|") >= 4):
        header, body_lines = parse_pipe_header(lines)
        if not header and entry.get("header") == "pipe_table":
            raise IngestError(str(path), 1, "manifest says the text starts with a '|' table, but none was found")

    known = known_units(lex, region)
    outline = build_outline(body_lines, known, item_kind)
    measures, kinds = measures_from_outline(outline, known, item_kind, "pdf_spacing" in cleaners, findings)
    if not measures:
        form = f" numbered {KIND_EXAMPLE[item_kind]} (the manifest's layout)" if item_kind else ""
        found = ", ".join(sorted({KIND_EXAMPLE[b.kind] for b in outline.blocks()})) or "no numbering at all"
        raise IngestError(str(path), lines[0].no if lines else 1,
                          f"no items{form} recognised (the text has: {found}); a policy document lists its measures "
                          "as numbered items (一、 / （一） / 1. / 第一条 / 一是)")
    published = _date(entry.get("published"), manifest, file, "published")
    facts = read_facts(outline, body_lines, published)

    regions = [region]
    if header.get("适用区域"):
        regions = _header_regions(header["适用区域"], lex) or regions
    doc_sizes: List[str] = []
    if header.get("企业规模"):
        for word in re.split(r"[,，、]", header["企业规模"]):
            doc_sizes.extend(s for s in lex.expand_size(word.strip()) if s not in doc_sizes)

    valid_until = _date(entry.get("valid_until"), manifest, file, "valid_until")
    if facts.validity and facts.validity.valid_until:
        from_text = facts.validity.valid_until
        if valid_until and valid_until != from_text:
            raise IngestError(str(path), facts.validity.line,
                              f"text says valid until {from_text}, manifest says {valid_until}: fix the manifest")
        valid_until = from_text

    for pm in measures:
        own = measure_period_end(pm.text, published.year if published else None)
        if own:
            pm.valid_until, pm.validity_source = own, "measure"
        elif valid_until:
            pm.valid_until, pm.validity_source = valid_until, "document"
        else:
            pm.validity_source = "none"
        pm.amounts = extract_amounts(pm.text)
        pm.kind = classify_measure(pm.text)
        tag_measure(pm, regions, doc_sizes, lex)

    return ParsedDocument(key=Path(file).stem.split("_")[0], file=file, sha256=hashlib.sha256(data).hexdigest(),
                          meta=entry, regions=regions, header=header, sizes=doc_sizes, valid_until=valid_until,
                          measures=measures, facts=facts, findings=findings, cleaners=cleaners,
                          source_format=src.format, item_kinds=kinds, lines=lines, text=text)

def _date(value, manifest: str, file: str, name: str) -> Optional[dt.date]:
    if value in (None, "", "null"):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise IngestError(manifest, 0, f"entry {file}: {name} '{value}' is not a YYYY-MM-DD date")


def parse_all(seeds_dir: Path = SEEDS_DIR, lex: Optional[Lexicon] = None) -> List[ParsedDocument]:
    lex = lex or load_lexicon()
    docs = [parse_document(e, seeds_dir, lex) for e in load_manifest(seeds_dir)]
    keys = [d.key for d in docs]
    if len(set(keys)) != len(keys):
        raise IngestError(str(seeds_dir / "manifest.yml"), 0, f"duplicate document keys {keys}")
    return docs
