"""Text repairs shared by ingest (documents) and NLU/query (what users type).

Why here: the same normalisation must run on both sides, or "復工" typed by a
user would never meet "复工" stored from a document.
"""
from __future__ import annotations

import re
import unicodedata

import opencc

_T2S = opencc.OpenCC("t2s.json")

#: The mark left where the source lost a character ("?" in 003). Visible on purpose.
LOST_CHAR = "□"

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u2028\u2029\ufeff]")
_SPACES = re.compile(r"[ \t\u00a0\u3000]+")
_CJK = r"\u3400-\u9fff\uf900-\ufaff"
# A pinyin reading inserted after a character: "領(lǐng)導", "產(chǎn)". Pinyin here always
# carries at least one tone-marked vowel, which ordinary bracketed text never does.
_TONE_VOWELS = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü"
_PINYIN = re.compile(r"\((?=[a-z" + _TONE_VOWELS + r"]*[" + _TONE_VOWELS + r"])[a-z" + _TONE_VOWELS + r"]{1,8}\)")


def to_halfwidth(text: str) -> str:
    """Full-width ASCII (ＡＢＣ１２３（）：，) to half-width; ideographic space to space."""
    out = []
    for ch in text:
        code = ord(ch)
        if 0xFF01 <= code <= 0xFF5E:
            out.append(chr(code - 0xFEE0))
        elif code == 0x3000:
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


def to_simplified(text: str) -> str:
    return _T2S.convert(text)


def strip_pinyin(text: str) -> str:
    return _PINYIN.sub("", text)


def mark_lost_chars(text: str) -> str:
    """A '?' between Chinese characters is a character the source lost: mark it."""
    return re.sub(r"(?<=[" + _CJK + r"])\?+|\?+(?=[" + _CJK + r"])", lambda m: LOST_CHAR * len(m.group()), text)


def pdf_spacing(text: str) -> str:
    """Undo PDF extraction damage inside a line: spaces inside words ("牵 头单位").

    A space between two Chinese characters, or between one and a digit or
    punctuation, is an artifact. Hard line breaks mid-sentence are joined by the
    parser, which keeps track of line numbers.
    """
    for _ in range(2):  # overlapping matches ("自 然 资 源") need a second pass
        text = _PDF_GAP.sub("", text)
    return text


_GLUE = _CJK + r"\d:;,.、()%\"”“∶"
_PDF_GAP = re.compile(r"(?<=[" + _GLUE + r"])[ \t]+(?=[" + _GLUE + r"])")


def normalize_query(text: str) -> str:
    """What a user typed → comparable text: NFKC-ish width, simplified, tidy spaces."""
    text = _CONTROL.sub("", text or "")
    text = to_halfwidth(text)
    text = to_simplified(text)
    return _SPACES.sub(" ", text).strip()


CLEANERS = {
    "fullwidth": to_halfwidth,
    "traditional_to_simplified": to_simplified,
    "strip_pinyin": strip_pinyin,
    "mark_lost_chars": mark_lost_chars,
    "pdf_spacing": pdf_spacing,
}


#: CJK Radicals Supplement (U+2E80–U+2EF3) → the ideograph each stands for, where one does. NFKC
#: maps the Kangxi Radicals block (U+2F00–U+2FD5) but not this one. Built from the glyphs Noto
#: CJK SC draws identically for the radical and the ideograph (77 of 115), plus nine whose glyph
#: differs but whose ideograph is plain (⻔ 门, ⻣ 骨, ⻤ 鬼, ⻝ 食, ⻗ 雨, ⺜ 日, ⺝ 月, ⺧ 牛, ⺶ 羊).
RADICAL_SUPPLEMENT = {
"⺂": "乛", "⺃": "乚", "⺅": "亻", "⺇": "𠘨", "⺉": "刂", "⺋": "㔾", "⺍": "𭕄", "⺎": "兀", "⺏": "尣", "⺒": "巳",
    "⺓": "幺", "⺔": "彑", "⺖": "忄", "⺘": "扌", "⺙": "攵", "⺛": "旡", "⺜": "日", "⺝": "月", "⺞": "歺", "⺟": "母",
    "⺠": "民", "⺡": "氵", "⺣": "灬", "⺤": "爫", "⺦": "丬", "⺧": "牛", "⺨": "犭", "⺩": "𤣩", "⺫": "罒", "⺭": "礻",
    "⺮": "𥫗", "⺯": "糹", "⺰": "纟", "⺱": "罓", "⺲": "罒", "⺳": "㓁", "⺶": "羊", "⺹": "耂", "⺺": "肀", "⺽": "𦥑",
    "⺾": "艹", "⻂": "衤", "⻃": "覀", "⻄": "西", "⻅": "见", "⻇": "𧢲", "⻈": "讠", "⻉": "贝", "⻊": "𧾷", "⻋": "车",
    "⻍": "辶", "⻐": "钅", "⻑": "長", "⻒": "镸", "⻓": "长", "⻔": "门", "⻕": "𨸏", "⻖": "阝", "⻗": "雨", "⻘": "青",
    "⻙": "韦", "⻚": "页", "⻛": "风", "⻜": "飞", "⻝": "食", "⻞": "𩙿", "⻟": "飠", "⻠": "饣", "⻡": "𩠐", "⻢": "马",
    "⻣": "骨", "⻤": "鬼", "⻥": "鱼", "⻦": "鸟", "⻧": "卤", "⻨": "麦", "⻩": "黄", "⻪": "黾", "⻫": "斉", "⻬": "齐",
    "⻭": "歯", "⻮": "齿", "⻯": "竜", "⻰": "龙", "⻲": "亀", "⻳": "龟",
}
_RADICALS = str.maketrans({**{chr(c): unicodedata.normalize("NFKC", chr(c)) for c in range(0x2F00, 0x2FD6)},
                           **RADICAL_SUPPLEMENT})


def fold_radicals(text: str) -> str:
    """"⼀⾦⻔" → "一金门": what many Chinese PDFs extract as (their fonts map ideographs to radicals).
    Only these two blocks: full NFKC would also turn "…" into "..." and "①" into "1"."""
    return text.translate(_RADICALS)


def is_mostly_text(data: bytes) -> bool:
    """Reject binaries early: a policy text decodes as UTF-8 and has no NULs."""
    if b"\x00" in data:
        return False
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    printable = sum(1 for ch in text if ch.isprintable() or ch in "\n\r\t")
    return printable >= 0.95 * max(1, len(text))
