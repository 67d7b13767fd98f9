"""Kangxi radicals and CJK radical-supplement characters → the ideographs they stand for.

Why: many Chinese PDFs extract as radicals instead of ideographs (their fonts map 一 to ⼀, 金 to
⾦, 门 to ⻔), so a measure would never match a question typed with the real characters. Kept
here, for documents only: users do not type radicals, and bot/textnorm.py is an input of the NLU
model (a change there retrains it).
"""
from __future__ import annotations

import unicodedata


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

