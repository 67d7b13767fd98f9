"""Parse the seed documents into documents → sections → measures.

Each document's layout is named in ``seeds/manifest.yml``; the parsers below
know the layouts, not the documents, so a sixth document in a known layout is
"drop the file, add a manifest entry, rebuild". Parsing never touches the
database: a document that cannot be parsed raises :class:`IngestError` naming
the file and line, before anything is written.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import yaml

from bot.lexicon import Lexicon, load_lexicon
from bot.textnorm import CLEANERS, is_mostly_text

SEEDS_DIR = Path(__file__).resolve().parent.parent / "seeds"

CN_NUM = "一二三四五六七八九十"


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
    # tags: kind -> {value: stated?}
    tags: Dict[str, Dict[str, bool]] = field(default_factory=dict)


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


@dataclass
class Line:
    no: int
    text: str


# ---------------------------------------------------------------- helpers
def cn_to_int(s: str) -> int:
    """一 → 1, 十二 → 12, 三十二 → 32 (item numbers only go that far)."""
    if s.isdigit():
        return int(s)
    digits = {c: i + 1 for i, c in enumerate(CN_NUM[:9])}
    if "十" not in s:
        return digits[s]
    tens, _, ones = s.partition("十")
    return (digits[tens] if tens else 1) * 10 + (digits[ones] if ones else 0)


def first_sentence(text: str) -> Tuple[str, str]:
    """Split "标题。正文" into (标题, 正文); no full stop → ("", text)."""
    m = re.match(r"^(.{2,60}?)[。.](?!\d)", text)
    if m:
        return m.group(1).strip(), text[m.end():].strip()
    return "", text.strip()


LEAD_PAREN = re.compile(r"\(([^()]{2,120}?)牵头\)")
UNIT_FIELDS = re.compile(r"\(((?:牵头单位|责任单位)\s*[:∶][^()]*)\)\s*$")


def split_units(text: str) -> Tuple[List[str], List[str]]:
    """"区财政局会同区各相关产业扶持部门" → lead [区财政局], co-units [区各相关…]."""
    lead, co = text, ""
    if "会同" in text:
        lead, _, co = text.partition("会同")
    clean = lambda xs: [re.sub(r"\s+", "", x).rstrip("等").strip() for x in re.split(r"[、,]", xs) if x.strip()]
    return clean(lead), clean(co)


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
GRANT_BEFORE = re.compile(r"(给予|最高|补贴|奖励|补助|资助|贴息|返还|减免|一次性|不超过|每人|每家|每个)[^,，;；。]{0,8}$")


def amount_kind(before: str, after: str) -> str:
    """What an amount is, read from the words around it: "给予最高20万元" is a benefit,
    "区财政安排300万元" a fund, "赔付率超过120%" or "年产值2000万元以上的" a threshold.
    "可获得" is shown only for benefits (bot/answer.py)."""
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
                                  kind=amount_kind(part[max(0, m.start() - 16):m.start()], part[m.end():])))
            for m in PERCENT.finditer(part):
                before = part[max(0, m.start() - 12):m.start()]
                q = QUALIFIER.findall(before)
                out.append(Amount(raw=(q[-1] if q else "") + m.group(0), value=float(m.group(1)), unit="%",
                                  qualifier=q[-1] if q else None, sentence=sentence.strip(),
                                  kind=amount_kind(part[max(0, m.start() - 16):m.start()], part[m.end():])))
    return out


SIZE_MENTION = re.compile(r"(中小微|大中型|中小型|中小|小微|大型|中型|小型|微型)企业|个体工商户|小微贷款")


def tag_measure(m: ParsedMeasure, doc_regions: Sequence[str], doc_sizes: Sequence[str], lex: Lexicon) -> None:
    """Attach district, size, industry, topic and qualification tags.

    A tag is *stated* when the text (or the document header) names it; a
    measure that names no size or industry applies to all, recorded as the
    absence of stated tags — the query treats it as general.
    """
    text = m.text
    heading_and_text = f"{m.item_heading}。{text}"
    m.tags["district"] = {r: True for r in doc_regions}
    sizes: Dict[str, bool] = {}
    for hit in SIZE_MENTION.finditer(text):
        word = hit.group(0)
        if word == "小微贷款":
            word = "小微企业"
        for s in lex.expand_size(word):
            sizes[s] = True
    if not sizes:
        sizes = {s: True for s in doc_sizes}
    m.tags["size"] = sizes
    industries: Dict[str, bool] = {}
    for ind in lex.industries.values():
        if any(k in text for k in ind.keywords):
            industries[ind.name] = True
    m.tags["industry"] = industries
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
SECTION_CN = re.compile(r"^\s*([" + CN_NUM + r"]{1,3})、\s*(.+?)\s*$")
ITEM_CN_PAREN = re.compile(r"^\s*\(([" + CN_NUM + r"]{1,3})\)\s*(.+?)\s*$")
ITEM_ARABIC = re.compile(r"^\s*(\d{1,3})\.(?!\d)\s*(.+?)\s*$")
ORDINAL_POINT = re.compile(r"^\s*([" + CN_NUM + r"])是\s*(.+?)\s*$")


def _clauses_by_lead_paren(item_text: str) -> List[Tuple[str, List[str], List[str]]]:
    """Split an item's text at each "(…牵头)": one clause per lead parenthetical."""
    out = []
    pos = 0
    for m in LEAD_PAREN.finditer(item_text):
        clause = item_text[pos:m.start()].strip()
        lead, co = split_units(m.group(1))
        if clause:
            out.append((clause, lead, co))
        elif out:  # two parentheticals in a row belong to the same clause
            out[-1][1].extend(lead)
            out[-1][2].extend(co)
        pos = m.end()
    tail = item_text[pos:].strip()
    if tail and re.search(r"[" + "\u4e00-\u9fff" + r"]{4}", tail):
        out.append((tail, [], []))
    return out


def parse_clauses_with_lead_parens(lines: List[Line], file: str) -> List[ParsedMeasure]:
    """(一)…(三十二) items, each split into clauses closed by "(…牵头)" (增城区 000)."""
    return _parse_lead_paren_items(lines, file, ITEM_CN_PAREN, number_fmt="({})", sections=True)


def parse_numbered_items_with_lead_parens(lines: List[Line], file: str) -> List[ParsedMeasure]:
    """一、…十、 items each closed by "(…牵头)" (珠海市 004)."""
    return _parse_lead_paren_items(lines, file, SECTION_CN, number_fmt="{}、", sections=False)


def _parse_lead_paren_items(lines, file, item_re, number_fmt, sections) -> List[ParsedMeasure]:
    measures: List[ParsedMeasure] = []
    sec_no, sec_heading = "", ""
    expected = 1
    for ln in lines:
        if sections:
            s = SECTION_CN.match(ln.text)
            if s and not LEAD_PAREN.search(ln.text):
                sec_no, sec_heading = s.group(1), s.group(2)
                continue
        m = item_re.match(ln.text)
        if not m or cn_to_int(m.group(1)) != expected or not LEAD_PAREN.search(ln.text):
            continue
        expected += 1
        heading, body = first_sentence(m.group(2))
        for i, (clause, lead, co) in enumerate(_clauses_by_lead_paren(body), start=1):
            measures.append(ParsedMeasure(
                section_number=sec_no, section_heading=sec_heading, item_number=number_fmt.format(m.group(1)),
                item_heading=heading, clause_no=i, text=clause, line=ln.no, lead_units=lead, responsible_units=co,
            ))
    return measures


def parse_numbered_tasks(lines: List[Line], file: str) -> List[ParsedMeasure]:
    """1.…32. tasks under (一)…(五) 工程; the text names no units (天河区 001)."""
    measures: List[ParsedMeasure] = []
    sec_no, sec_heading, expected = "", "", 1
    for ln in lines:
        s = ITEM_CN_PAREN.match(ln.text)
        if s:
            sec_no, sec_heading = f"({s.group(1)})", s.group(2).rstrip("。")
            continue
        m = ITEM_ARABIC.match(ln.text)
        if m and int(m.group(1)) == expected:
            expected += 1
            heading, body = first_sentence(m.group(2))
            measures.append(ParsedMeasure(sec_no, sec_heading, f"{m.group(1)}.", heading, 1, body, ln.no))
    return measures


def parse_numbered_with_unit_fields(lines: List[Line], file: str) -> List[ParsedMeasure]:
    """1.…54. measures ending "(牵头单位:…;责任单位:…;完成时限:…)", wrapped lines (葛店 002)."""
    measures: List[ParsedMeasure] = []
    sec_no, sec_heading, expected = "", "", 1
    current: Optional[Tuple[Line, str]] = None  # (first line, accumulated text)
    sub_heading = ""

    def close():
        nonlocal current
        if current is None:
            return
        first, text = current
        current = None
        text = CLEANERS["pdf_spacing"](text)
        lead: List[str] = []
        resp: List[str] = []
        deadline_text = None
        f = UNIT_FIELDS.search(text)
        if f:
            body = text[:f.start()].strip()
            for part in re.split(r"[;；,，]\s*(?=(?:牵头单位|责任单位|完成时限)\s*[:∶])", f.group(1)):
                name, value = _field(part)
                value = value.strip().rstrip(";；,，").strip()
                if name == "牵头单位":
                    lead = split_units(value)[0]
                elif name == "责任单位":
                    resp = split_units(value)[0]
                elif name == "完成时限":
                    deadline_text = value
        else:
            body = text
        num = re.match(r"(\d+)\.", text).group(1)
        heading, rest = first_sentence(body[len(num) + 1:].strip())
        pm = ParsedMeasure(sec_no, sec_heading, f"{num}.", heading or sub_heading, 1, rest if heading else body[len(num) + 1:].strip(),
                           first.no, lead, resp, deadline_text, parse_deadline(deadline_text or ""))
        pm.section_heading = sec_heading + (f" / {sub_heading}" if sub_heading else "")
        measures.append(pm)

    for ln in lines:
        t = ln.text.strip()
        if not t:
            continue
        if t.startswith("附件"):
            close()
            break
        s = SECTION_CN.match(t)
        if s and len(t) < 40:
            close()
            sec_no, sec_heading, sub_heading = s.group(1), s.group(2), ""
            continue
        sub = ITEM_CN_PAREN.match(t)
        if sub and len(t) < 50 and "单位" not in t:
            close()
            sub_heading = sub.group(2)
            continue
        m = ITEM_ARABIC.match(t)
        if m and int(m.group(1)) == expected:
            close()
            expected += 1
            current = (ln, t)
            continue
        if current is not None:
            current = (current[0], current[1] + t)
    close()
    return measures


def _field(part: str) -> Tuple[str, str]:
    """"牵头单位:经发局" → ("牵头单位", "经发局")."""
    pieces = re.split(r"\s*[:∶]\s*", part.strip(), maxsplit=1)
    return pieces[0].strip(), (pieces[1] if len(pieces) > 1 else "")


def parse_ordinal_points(lines: List[Line], file: str) -> List[ParsedMeasure]:
    """"一是/二是/三是" points under "一、" headings (海珠区 003)."""
    measures: List[ParsedMeasure] = []
    sec_no, sec_heading = "", ""
    for ln in lines:
        s = SECTION_CN.match(ln.text)
        if s:
            sec_no, sec_heading = s.group(1), s.group(2)
            continue
        m = ORDINAL_POINT.match(ln.text)
        if m and sec_no:
            heading, body = first_sentence(m.group(2))
            measures.append(ParsedMeasure(sec_no, sec_heading, f"{sec_no}、{m.group(1)}是", heading, 1, body, ln.no))
    return measures


LAYOUTS: Dict[str, Callable[[List[Line], str], List[ParsedMeasure]]] = {
    "clauses_with_lead_parens": parse_clauses_with_lead_parens,
    "numbered_tasks": parse_numbered_tasks,
    "numbered_with_unit_fields": parse_numbered_with_unit_fields,
    "ordinal_points": parse_ordinal_points,
    "numbered_items_with_lead_parens": parse_numbered_items_with_lead_parens,
}


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


REQUIRED = ("file", "title", "region", "layout")


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
    data = path.read_bytes()
    if not data.strip():
        raise IngestError(str(path), 1, "file is empty")
    if not is_mostly_text(data):
        raise IngestError(str(path), 1, "file is not UTF-8 text (binary or wrong encoding)")
    if entry["layout"] not in LAYOUTS:
        raise IngestError(manifest, 0, f"entry {file}: unknown layout '{entry['layout']}' (known: {', '.join(LAYOUTS)})")
    region = lex.canonical_region(entry["region"])
    if not region:
        raise IngestError(manifest, 0, f"entry {file}: region '{entry['region']}' is not in bot/lexicon.yml")

    text = data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    for name in entry.get("clean") or []:
        if name not in CLEANERS:
            raise IngestError(manifest, 0, f"entry {file}: unknown cleaner '{name}'")
        text = CLEANERS[name](text)  # every cleaner keeps the line structure
    lines = [Line(i + 1, t) for i, t in enumerate(text.split("\n"))]

    header: Dict[str, str] = {}
    if entry.get("header") == "pipe_table":
        header, lines = parse_pipe_header(lines)
        if not header:
            raise IngestError(str(path), 1, "manifest says the text starts with a '|' table, but none was found")

    measures = LAYOUTS[entry["layout"]](lines, str(path))
    if not measures:
        raise IngestError(str(path), lines[0].no if lines else 1, f"no items recognised for layout '{entry['layout']}'")

    regions = [region]
    if header.get("适用区域"):
        regions = _header_regions(header["适用区域"], lex) or regions
    doc_sizes: List[str] = []
    if header.get("企业规模"):
        for word in re.split(r"[,，、]", header["企业规模"]):
            doc_sizes.extend(s for s in lex.expand_size(word.strip()) if s not in doc_sizes)

    valid_until = _date(entry.get("valid_until"), manifest, file, "valid_until")
    stated = re.search(r"有效期自.{0,12}?至(\d{4})年(\d{1,2})月(\d{1,2})日", text)
    if stated:
        from_text = dt.date(*map(int, stated.groups()))
        if valid_until and valid_until != from_text:
            raise IngestError(str(path), text[:stated.start()].count("\n") + 1,
                              f"text says valid until {from_text}, manifest says {valid_until}: fix the manifest")
        valid_until = from_text
    published = _date(entry.get("published"), manifest, file, "published")

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
                          measures=measures)


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
