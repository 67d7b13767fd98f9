"""Word segmentation shared by the index (ingest) and the query.

A private ``jieba.Tokenizer`` (not jieba's global one, which Rasa's
JiebaTokenizer also loads) that knows every lexicon term, so "增城区",
"个体工商户" and "小微企业" stay whole on both sides.
"""
from __future__ import annotations

import functools
import logging
import re
from typing import List, Set

import jieba

from bot.lexicon import load_lexicon

jieba.setLogLevel(logging.WARNING)

_WORD = re.compile(r"[\u3400-\u9fffA-Za-z0-9&]")
#: Words too common in policy texts to say anything about relevance.
STOPWORDS = frozenset("""
企业 推进 推动 加强 实现 建立 完善 提升 提高 开展 落实 加快 进一步 全面 工作 服务 相关 有关 我区 全区
各类 以上 以下 以及 其他 积极 支持 实施 优化 机制 进行 做好 强化 按照 部门 单位 政策 措施 有效 提供
""".split())


def lexicon_words() -> List[str]:
    lex = load_lexicon()
    words: Set[str] = set()
    for surface, _ in lex.region_terms():
        words.add(surface)
    for surface, _ in lex.size_terms():
        words.add(surface)
    for surface, _ in lex.industry_terms():
        words.add(surface)
    for surface, _ in lex.topic_terms():
        words.add(surface)
    for ind in lex.industries.values():
        words.update(ind.keywords)
    for t in lex.topics.values():
        words.update(t.keywords)
    for region_units in lex.unit_aliases.values():
        words.update(region_units)
    for group in lex.synonyms:  # "新招员工" stays one word, in the index and in the question
        words.update(group)
    return sorted(w for w in words if len(w) >= 2)


@functools.lru_cache(maxsize=1)
def tokenizer() -> jieba.Tokenizer:
    tk = jieba.Tokenizer()
    tk.initialize()
    for w in lexicon_words():
        tk.add_word(w, freq=200000)
    return tk


@functools.lru_cache(maxsize=1)
def pos_tokenizer():
    """jieba's part-of-speech tagger over the project's tokenizer (lexicon names stay whole)."""
    import jieba.posseg
    return jieba.posseg.POSTokenizer(tokenizer())


@functools.lru_cache(maxsize=4096)
def word_class(word: str) -> str:
    """jieba's part of speech of a word taken whole ("一笔" m, "因为" c, "顾客" n), "" when the
    tagger splits it. Only for short words: HMM tagging of long unknown runs is slow."""
    if not word or len(word) > 8:
        return ""
    tagged = list(pos_tokenizer().cut(word))
    return tagged[0].flag if len(tagged) == 1 else ""


def terms(text: str) -> List[str]:
    """Distinct index terms of a text: search-mode segments of length ≥ 2, no stopwords."""
    seen: dict = {}
    for tok in tokenizer().cut_for_search(text or ""):
        tok = tok.strip().lower()
        if len(tok) >= 2 and _WORD.search(tok) and tok not in STOPWORDS and len(tok) <= 32:
            seen.setdefault(tok, None)
    return list(seen)
