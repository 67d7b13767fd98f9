"""Text repairs shared by ingest (documents) and NLU/query (what users type).

Why here: the same normalisation must run on both sides, or "復工" typed by a
user would never meet "复工" stored from a document.
"""
from __future__ import annotations

import re

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
