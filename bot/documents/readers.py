"""A document file → its text, one paragraph a line, whatever form it was published in.

Why maintained libraries: a government web page's body sits among navigation, scripts and
footers (selectolax's HTML5 parser, Lexbor); a Word file's paragraphs and tables are in XML
parts (python-docx); a PDF's text is positioned glyphs (pdfplumber on pdfminer.six). Each
reader returns plain lines so that one outline parser reads them all.

Text pulled out of PDFs often carries Kangxi radicals and CJK radical-supplement characters
instead of the ideographs (⼀ for 一, ⾦ for 金, ⻔ for 门): bot.documents.radicals repairs
both blocks. Older government files are often GBK/GB18030, not UTF-8: detected
(charset-normalizer) and converted, and the report says so.
"""
from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional

from bot.documents.radicals import fold_radicals
from bot.textnorm import is_mostly_text

SUPPORTED = (".txt", ".html", ".htm", ".docx", ".pdf")
#: a file larger than this is not a policy document (the largest seed is 37 KB of text)
MAX_BYTES = 30 * 1024 * 1024


class ReadError(Exception):
    """A file that cannot be turned into text: the reason is for the person who added it."""


@dataclass
class SourceText:
    text: str
    format: str  # txt / html / docx / pdf
    encoding: Optional[str] = None
    notes: List[str] = field(default_factory=list)  # what the reader did that a person should know
    meta: dict = field(default_factory=dict)  # what the container itself says (HTML <meta>, DOCX core properties)


def read_source(path: Path, data: Optional[bytes] = None) -> SourceText:
    path = Path(path)
    if data is None:
        try:
            if path.stat().st_size > MAX_BYTES:
                raise ReadError(f"file is {path.stat().st_size // 1024 // 1024} MB, larger than any policy document "
                                f"({MAX_BYTES // 1024 // 1024} MB at most)")
            data = path.read_bytes()
        except OSError as e:
            raise ReadError(f"cannot read the file: {e.strerror or e}")
    if not data.strip():
        raise ReadError("file is empty")
    ext = path.suffix.lower()
    if ext not in SUPPORTED:
        raise ReadError(f"'{ext or path.name}' files are not read; give a .txt, .html, .docx or .pdf")
    reader = {".txt": read_txt, ".html": read_html, ".htm": read_html, ".docx": read_docx, ".pdf": read_pdf}[ext]
    src = reader(data)
    folded = fold_radicals(src.text)
    if folded != src.text:
        n = sum(1 for a, b in zip(src.text, folded) if a != b)
        src.notes.append(f"{n} Kangxi / radical-supplement characters replaced by the ideographs they stand for")
        src.text = folded
    src.text = src.text.replace("\r\n", "\n").replace("\r", "\n")
    if not re.search(r"[\u4e00-\u9fff]", src.text):
        raise ReadError("no Chinese text found in the file")
    return src


def decode_text(data: bytes) -> SourceText:
    """UTF-8 (with or without BOM); else the encoding charset-normalizer finds (GB18030 / GBK /
    Big5 for older files), accepted only when the result is text."""
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ReadError("file is binary: not UTF-8 text or text in a Chinese encoding")
    try:
        text = data.decode("utf-8-sig")
        return SourceText(text, "txt", "utf-8")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes
    best = from_bytes(data, cp_isolation=["gb18030", "gbk", "big5", "utf_16", "utf_8"]).best()
    if best is None or not is_mostly_text(str(best).encode("utf-8")):
        raise ReadError("file is not text in UTF-8 or a Chinese encoding (GB18030/GBK/Big5): binary or damaged")
    text = str(best)
    if not re.search(r"[\u4e00-\u9fff]", text):
        raise ReadError("file is not text in UTF-8 or a Chinese encoding (GB18030/GBK/Big5): binary or damaged")
    return SourceText(text, "txt", best.encoding, [f"converted from {best.encoding} to UTF-8"])


def read_txt(data: bytes) -> SourceText:
    return decode_text(data)


# ---------------------------------------------------------------- HTML
#: where government sites put the article (TRS, 政府网站集约化平台 and common CMS templates)
ARTICLE_SELECTORS = ("#zoom", ".TRS_Editor", ".TRS_UEDITOR", "#UCAP-CONTENT", ".article-content", ".article_con",
                     ".pages_content", ".news_content", ".zw", "#zw", ".content_text", "#content", ".content",
                     "article", "main")
DROP = "script, style, noscript, nav, header, footer, iframe, form, aside, select, button, svg, template"
BLOCK_TAGS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "table",
              "ul", "ol", "blockquote", "dd", "dt", "pre", "td"}
META_FIELDS = {"ArticleTitle": "title", "PubDate": "published", "ContentSource": "issuer", "Description": None}


def read_html(data: bytes) -> SourceText:
    """The article body of a web page as lines; navigation, scripts, menus and footers dropped.
    The body is the first known article container, else the block with the most Chinese text
    that is not mostly links."""
    from selectolax.lexbor import LexborHTMLParser
    src = decode_text(data) if not re.search(rb"<meta[^>]+charset", data[:4096], re.I) else None
    html = src.text if src else _decode_declared(data)
    tree = LexborHTMLParser(html)
    meta = {}
    for node in tree.css("meta[name]"):
        key = META_FIELDS.get(node.attributes.get("name") or "")
        if key and node.attributes.get("content"):
            meta[key] = node.attributes["content"].strip()
    title = tree.css_first("title")
    if title and "title" not in meta and title.text(strip=True):
        meta["title"] = title.text(strip=True)
    for node in tree.css(DROP):
        node.decompose()
    body = None
    for sel in ARTICLE_SELECTORS:
        node = tree.css_first(sel)
        if node is not None and _cjk(node.text()) >= 50:
            body = node
            break
    notes = []
    if body is None:
        body = _densest_block(tree)
        notes.append("article body found by text density (no known article container on the page)")
    if body is None:
        raise ReadError("the page has no article text")
    lines = _html_lines(body)
    text = "\n".join(lines)
    return SourceText(text, "html", src.encoding if src else "declared", notes, meta)


def _decode_declared(data: bytes) -> str:
    m = re.search(rb"charset\s*=\s*[\"']?([A-Za-z0-9_-]+)", data[:4096], re.I)
    enc = m.group(1).decode("ascii").lower() if m else "utf-8"
    if enc in ("gb2312", "gbk"):
        enc = "gb18030"  # a superset: pages labelled gb2312 often hold GBK characters
    try:
        return data.decode(enc)
    except (LookupError, UnicodeDecodeError):
        return decode_text(data).text


def _cjk(text: str) -> int:
    return len(re.findall(r"[\u4e00-\u9fff]", text or ""))


def _densest_block(tree):
    best, best_score = None, 0
    for node in tree.css("div, td, section, article, main, body"):
        text = node.text()
        links = sum(_cjk(a.text()) for a in node.css("a"))
        own = _cjk(text)
        if own < 50 or links > 0.3 * own:
            continue
        # prefer the smallest block that holds the text: penalise what the children repeat
        score = own - 0.5 * sum(1 for _ in node.css("div, td"))
        if score > best_score:
            best, best_score = node, score
    return best


def _html_lines(node) -> List[str]:
    """Text with a line break at every block element and <br>, inline elements joined."""
    parts: List[str] = []

    def walk(n):
        tag = n.tag
        if tag == "-text":
            parts.append(n.text_content or "")
            return
        if tag in ("br",):
            parts.append("\n")
            return
        block = tag in BLOCK_TAGS
        if block:
            parts.append("\n")
        child = n.child
        while child is not None:
            walk(child)
            child = child.next
        if block:
            parts.append("\n")
    walk(node)
    text = "".join(parts).replace("\xa0", " ")
    return [ln.strip() for ln in text.split("\n") if ln.strip()]


# ---------------------------------------------------------------- DOCX
def read_docx(data: bytes) -> SourceText:
    """Paragraphs and table rows in document order. Word's automatic numbering (which is not in a
    paragraph's text) is rendered from the document's own list definitions, so "一、" typed by
    Word is seen as the parser sees a typed one."""
    try:
        import docx
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as e:
        raise ReadError(f"not a readable .docx (Word 2007+) file: {e}. An old .doc must be saved as .docx first")
    except Exception as e:  # lxml errors for damaged XML parts
        raise ReadError(f"not a readable .docx file: {type(e).__name__}: {e}")
    from docx.table import Table
    from docx.text.paragraph import Paragraph
    numbering = _Numbering(document)
    lines: List[str] = []
    for child in document.element.body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            p = Paragraph(child, document)
            lines.append(numbering.prefix(p) + p.text)
        elif tag == "tbl":
            for row in Table(child, document).rows:
                cells = []
                for c in row.cells:
                    if not cells or c.text != cells[-1]:  # merged cells repeat
                        cells.append(c.text.strip())
                lines.append(" | ".join(cells) + " |")
    core = document.core_properties
    meta = {k: v for k, v in (("title", core.title), ("issuer", core.author)) if v}
    notes = [f"{numbering.rendered} automatically numbered paragraphs rendered"] if numbering.rendered else []
    return SourceText("\n".join(lines), "docx", "docx", notes, meta)


class _Numbering:
    FORMATS = {"decimal": lambda n: str(n), "chineseCounting": None, "chineseCountingThousand": None,
               "ideographTraditional": None, "decimalEnclosedCircle": lambda n: "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"[n - 1] if n <= 20 else str(n)}

    def __init__(self, document):
        self.levels = {}
        self.counters = {}
        self.rendered = 0
        try:
            root = document.part.numbering_part.element
        except (KeyError, NotImplementedError, AttributeError):
            return
        ns = root.nsmap.get("w")
        w = lambda tag: f"{{{ns}}}{tag}"
        abstract = {}
        for a in root.iter(w("abstractNum")):
            lv = {}
            for l in a.iter(w("lvl")):
                fmt = l.find(w("numFmt"))
                text = l.find(w("lvlText"))
                start = l.find(w("start"))
                lv[int(l.get(w("ilvl")))] = (fmt.get(w("val")) if fmt is not None else "decimal",
                                             text.get(w("val")) if text is not None else "",
                                             int(start.get(w("val"))) if start is not None else 1)
            abstract[a.get(w("abstractNumId"))] = lv
        for n in root.iter(w("num")):
            ref = n.find(w("abstractNumId"))
            if ref is not None:
                self.levels[n.get(w("numId"))] = abstract.get(ref.get(w("val")), {})
        self.w = w

    def prefix(self, p) -> str:
        if not self.levels:
            return ""
        numPr = _num_pr(p._p.pPr)
        style = p.style
        while numPr is None and style is not None:  # "List Number": the numbering is the style's
            numPr = _num_pr(style.element.pPr)
            style = style.base_style
        if numPr is None or numPr.numId is None:
            return ""
        num_id, ilvl = str(numPr.numId.val), int(numPr.ilvl.val) if numPr.ilvl is not None else 0
        levels = self.levels.get(num_id)
        if not levels or ilvl not in levels:
            return ""
        fmt, text, start = levels[ilvl]
        counters = self.counters.setdefault(num_id, {})
        counters[ilvl] = counters.get(ilvl, start - 1) + 1
        for deeper in [k for k in counters if k > ilvl]:
            del counters[deeper]

        def render(match):
            lvl = int(match.group(1)) - 1
            f = levels.get(lvl, ("decimal", "", 1))[0]
            n = counters.get(lvl, levels.get(lvl, ("", "", 1))[2])
            conv = self.FORMATS.get(f, lambda n: str(n))
            return conv(n) if conv else _cn_numeral(n)
        if fmt == "bullet" or fmt == "none":
            return ""
        self.rendered += 1
        return re.sub(r"%(\d)", render, text)


def _num_pr(pPr):
    return pPr.numPr if pPr is not None else None


def _cn_numeral(n: int) -> str:
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    if n < 20:
        return "十" + (digits[n % 10] if n % 10 else "")
    if n < 100:
        return digits[n // 10] + "十" + (digits[n % 10] if n % 10 else "")
    return str(n)


# ---------------------------------------------------------------- PDF
PAGE_NUMBER = re.compile(r"^\s*[-—–－]?\s*\d{1,3}\s*[-—–－]?\s*$|^\s*第\s*\d+\s*页(\s*共\s*\d+\s*页)?\s*$")


def read_pdf(data: bytes) -> SourceText:
    """The text layer of a PDF, page by page, page numbers dropped. A PDF with no text layer (a
    scan) is refused with what to do instead: OCR belongs to the person who has the paper."""
    import pdfplumber
    from pdfminer.pdfparser import PDFSyntaxError
    lines: List[str] = []
    pages = 0
    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            for page in pdf.pages:
                pages += 1
                text = page.extract_text() or ""
                lines.extend(ln for ln in text.split("\n") if not PAGE_NUMBER.match(ln))
    except PDFSyntaxError as e:
        raise ReadError(f"not a readable PDF: {e}")
    except Exception as e:  # pdfminer raises many kinds (PSEOF, KeyError, TypeError …) for damaged files
        raise ReadError(f"not a readable PDF (damaged or encrypted): {type(e).__name__}: {str(e)[:200]}")
    text = "\n".join(lines)
    if _cjk(text) < 20:
        raise ReadError(f"the PDF has no text layer ({pages} page(s), {_cjk(text)} Chinese characters found): "
                        "it is a scan. Ask the issuer for the text version (HTML/DOCX), or OCR it and add the text")
    return SourceText(text, "pdf", None, ["PDF text: line breaks inside sentences are joined, "
                                          "spaces inside words removed (pdf_spacing)"])
