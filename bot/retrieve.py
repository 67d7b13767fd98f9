"""Rank clauses by the question's own words, sentence by sentence (BM25 over jieba tokens).

Why sentences: a clause is often 3–8 sentences, each about a different thing (a
subsidy, who pays, a deadline). Scoring the question against each sentence, and a
clause by its best sentence plus a share of the whole clause, keeps a broad clause
that mentions many benefits from outranking the clause about the thing asked — and
the best sentence is the snippet shown, so ranking and snippet agree by construction
(shared/RETRIEVAL_NOTES.md).

* The index (``bm25s``, sparse-matrix BM25) is built once per database build and
  process from the tokens `bot build` stored (``sentences`` table); 215 measures,
  ~900 sentences index in a few ms.
* The question: normalised, region/size words removed (they are filters), the
  lexicon's question words dropped, each remaining word expanded with its synonym
  group at half weight (招工 ≈ 招用工 ≈ 新招员工).
* "Found" is decided on *coverage*, not the raw BM25 value (which depends on the
  corpus size): the idf-weighted share of the question's words (or a synonym of
  each) that the clause contains. The threshold is calibrated on the labelled dev
  set (bench/retrieval_eval.py), never on the held-out set.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from bot.lexicon import Lexicon, load_lexicon
from bot.segment import STOPWORDS, tokenizer, word_class
from bot.textnorm import normalize_query

#: share of the question's (idf-weighted) words a clause must contain to count as an answer;
#: calibrated on tests/retrieval/dev.yml (bench/retrieval_eval.py prints the trade-off)
FOUND_COVERAGE = 0.42
#: weight of a synonym relative to the enterprise's own word
SYNONYM_WEIGHT = 0.5
#: a clause's score = best sentence + this share of the whole clause's score
CLAUSE_SHARE = 0.3
#: BM25 term-frequency saturation: low, so a sentence repeating "贴息" three times does not
#: beat the one that has both words the enterprise asked about
BM25_K1 = 0.8
#: how much of a question word a clause covers with a synonym, or only with a word of its topic
SYNONYM_COVERAGE = 0.8
BROAD_COVERAGE = 0.0  # a neighbour in the topic ranks a clause, it does not answer the word (dev sweep)
#: clauses shown as answers score at least this share of the best one
SHOWN_SHARE = 0.35
#: clauses that only describe what the government did rank below usable ones
GOVERNMENT_FACTOR = 0.5

_SENTENCE_END = re.compile(r"(?<=[。；;！？!?])")
def _relayed(lex: Lexicon) -> re.Pattern:
    """The lexicon's relay phrases ("来电人称其", "企业反映") and a bare 问/请问, where a phrase starts
    ("…在天河，问新开的企业…"): only there, so "中小企业问题" keeps its words."""
    def build() -> re.Pattern:
        alternatives = "|".join(re.escape(p) for p in lex.relay_phrases + ("想问", "请问", "问"))
        return re.compile(rf"(^|[，,。；;：:\s])(?:{alternatives})")
    return _per_lexicon("relayed", lex, build)


_CJK_WORD = re.compile(r"^[\u4e00-\u9fff]+$")
#: a time limit the question states ("8天内办完"): jieba cuts it to 8 / 天内, a word no clause has;
#: sums and ratios stay ("按95%结算" finds the clause that says 95%)
_NUMBER_SPAN = re.compile(r"\d+\s*(个)?(工作日|天|日|小时)(内|以内)")
#: a count in words: "三个(月)", "两家", "十几名"
_COUNT = re.compile(r"^[一二三四五六七八九十两几]+[个只家名位条项次]$")
_TOKEN_CHAR = re.compile(r"[\u3400-\u9fffA-Za-z0-9&%]")
#: characters that glue a colloquial question together (是, 要, 能 …) — see SentenceIndex.effective
_FUNCTION_CHARS = re.compile(r"[是要能会来出好也起得了着过么呢吧啊嘛的就都还把被让给不想先掉咗嘅唔冇係哪]")

#: jieba's parts of speech of how a question is put, not what it is about: numerals and
#: measure words ("一笔", "两家", "几条"), pronouns ("哪家"), conjunctions ("因为"), time words
#: ("天天"), particles ("也好"), interjections. A word of these classes no clause has is left out
#: of coverage (SentenceIndex.effective). Dev: answerable questions told "not found" 7.6% -> 5.4%,
#: unanswerable ones reported as not found unchanged (0.805); adverbs (d) were left in: jieba
#: tags "到期" and "特新" (of 专精特新) as adverbs.
PHRASING_CLASSES = frozenset("m mq q r c p u ul uj t y e o z".split())

#: jieba's parts of speech of a word that names a thing (nouns, verbal nouns, abbreviations):
#: one of these that no clause has is said to be missing from the documents ("残疾人")
NAMING_CLASSES = frozenset("n nr ns nt nz vn j an".split())
#: ... if jieba's dictionary knows it this well (a slip of colloquial text is not a word: "会扣" 3)
NAMING_MIN_FREQ = 5

@dataclass(frozen=True)
class NumberAsk:
    """A kind of number a question asks for, and how a clause states one."""
    label: str           # what the reply says the documents do not state ("金额或比例")
    ask: re.Pattern      # the question asks for it
    stated: re.Pattern   # a sentence states one
    # asks the ranking prefers stating sentences for but that a clause can answer in words
    # ("容积率有没有上限": 不设上限), so never "the documents do not state it"
    loose: Optional[re.Pattern] = None


#: what a question asking for a number wants, and the sentences that have it; the first that
#: the question asks wins ("免了几个月房租，区里能补多少" asks an amount, not a duration).
#: An amount is a sum or a ratio ("补多少" is answered by "按租金的50%给予补助").
NUMBER_ASKS: Tuple[NumberAsk, ...] = (
    NumberAsk("金额或比例",
              re.compile(r"多少钱|多少万|几万|几千|多少元|多少%|几成|几个点|多少个点|百分之几|比例|费率|税率|利率|金额|上限"
                         r"|规模多大|多大规模|怎么算|如何计算|怎么计算|多少(?=税|费|补|奖|租|资金|贷款|利息)"
                         r"|(最高|最多|补|奖|贴|减|免|领|拿|给|返|退|贷|资助|补助|补贴|奖励|费|税)[^，。？?]{0,3}多少"
                         r"(?!天|日|个|家|场|宗|项|次|年|月|小时|分钟|周|人|户|件|平|份|张)"),
              re.compile(r"\d+(\.\d+)?\s*(余)?\s*(万|亿|千)?\s*(美)?元|\d+(\.\d+)?\s*(余)?\s*(万|亿)"
                         r"|\d+(\.\d+)?\s*%|百分之|[一二三四五六七八九十百千万两]+\s*(万|亿)?元|\d+\s*倍"),
              loose=re.compile(r"上限")),
    NumberAsk("是否收费",
              re.compile(r"要不要钱|要钱吗|收不收费|收费吗|免费吗|免不免费|花钱吗|要不要交钱|要不要花钱|收钱吗|使唔使钱|要不要收费"),
              re.compile(r"免费|不收费|零收费|零成本|收费|费用|\d+(\.\d+)?\s*(万|千)?元|减免|免收|免除")),
    NumberAsk("电话",
              re.compile(r"(电话|号码|联系方式)[^，。？?]{0,4}(多少|是什么|几多|几号)|(打|拨)(什么|哪个|边个)电话"),
              re.compile(r"\d{3,4}-\d{7,8}|(?<!\d)\d{7,8}(?!\d)|12345")),
    NumberAsk("办理时限",
              re.compile(r"几天|多少天|多久(?![^，。？?]{0,8}一次)|几耐|多长时间|几个工作日|多少个工作日|时限|多快|几日"
                         r"|几年|多少年|几个月|多少个月|还是[一二三四五六七八九十两\d]+(个)?(年|月|天|工作日)"),
              re.compile(r"\d+\s*(个)?(工作日|天|日|小时|分钟|个月|年|周)"
                         r"|[一二三四五六七八九十两半]+\s*(个)?(工作日|天|日|小时|个月|周|年)|即时|即办|当场|立等|当天|当日|限时")),
    NumberAsk("数量",
              # "几家" asks only after a word that makes it a question ("最少几家"; "几家企业想联合" says)
              re.compile(r"多少(家|项|宗|场|名|批|类|种|套|期)|(最少|至少|最多|一共|总共|共有|有|要|搞|办|推|开|建|设)几(家|项|宗|场|名|批|类|种|套|期)"),
              re.compile(r"\d+\s*(余|多)?\s*(个|家|项|宗|场|名|批|类|种|套|期|場|項|個)"
                         r"|[一二三四五六七八九十两百]+\s*(个|家|项|宗|场|名|批|类|种|套|期)")),
)


def number_asked(text: str) -> Optional[NumberAsk]:
    """The kind of number the question asks for, if any."""
    t = normalize_query(text or "")
    return next((a for a in NUMBER_ASKS if a.ask.search(t)), None)


def number_unstated(ask: Optional[NumberAsk], question: str, texts: Iterable[str]) -> Optional[str]:
    """What the question asks for (its label) when none of the clauses found states a number of
    that kind: "众创空间运营补贴有多少" answered by a clause that names 众创空间 but no sum is
    answered honestly by "原文没有写明金额", not by the clause as if it held one."""
    if ask is None:
        return None
    t = normalize_query(question or "")
    if ask.loose is not None and not ask.ask.search(ask.loose.sub("", t)):
        return None  # asked only in words a clause answers without a number ("有没有上限")
    return None if any(ask.stated.search(x or "") for x in texts) else ask.label


def split_sentences(text: str) -> List[str]:
    """A clause's sentences, at 。；！？ (kept whole: a sentence is what the snippet shows)."""
    return [s.strip() for s in _SENTENCE_END.split(text or "") if len(s.strip()) >= 2]


_PER_LEXICON: Dict[Tuple[str, int], Tuple[object, object]] = {}


def _per_lexicon(name: str, lex: Lexicon, build):
    """What ``build`` makes of one lexicon, made once per lexicon object (held beside it, so its id
    is not reused while the entry lives)."""
    cached = _PER_LEXICON.get((name, id(lex)))
    if cached is None or cached[0] is not lex:
        cached = _PER_LEXICON[(name, id(lex))] = (lex, build())
    return cached[1]


def _single_char_words() -> frozenset:
    """The lexicon's one-character topic words ("税"), once per lexicon: gathering them on every
    call was 65 µs of each index_tokens call, 6.5 s of the 28 s the index of 100,000 measures
    took to load (cProfile)."""
    lex = load_lexicon()
    return _per_lexicon("single_chars", lex, lambda: frozenset(
        w for t in lex.topics.values() for w in t.keywords + t.aliases if len(w) == 1))


def index_tokens(text: str) -> List[str]:
    """Tokens of a text as the index stores them: jieba search-mode segments (repeats kept,
    BM25 counts them), lower-cased; two characters or more unless a lexicon word ("税")."""
    singles = _single_char_words()
    out: List[str] = []
    for tok in tokenizer().cut_for_search(normalize_query(text or "")):
        tok = tok.strip().lower()
        if not tok or len(tok) > 32 or not _TOKEN_CHAR.search(tok) or tok in STOPWORDS:
            continue
        if len(tok) >= 2 or tok in singles:
            out.append(tok)
    return out


@dataclass
class Question:
    """The question as the ranking sees it."""
    words: List[str]                       # the enterprise's own content words
    weights: Dict[str, float]              # word or synonym → weight
    groups: List[Tuple[str, ...]]          # each own word with its synonyms (coverage counts a group once)
    asked: Optional[NumberAsk] = None      # the kind of number asked for, if any
    # a topic word's tagging keywords ("水电气" → 用电, 用水, 报装 …): used only when the
    # documents rarely use the word itself (SentenceIndex.effective)
    topic_words: Dict[str, Tuple[str, ...]] = field(default_factory=dict)
    broad: frozenset = frozenset()  # topic keywords added by SentenceIndex.effective
    compound: Dict[str, Tuple[str, ...]] = field(default_factory=dict)  # a long word → its pieces
    # words that name a topic ("水电气", "社保"): its keywords are kinds of it, not neighbours
    umbrella: frozenset = frozenset()

    @property
    def empty(self) -> bool:
        return not self.words

    @property
    def number(self) -> Optional[re.Pattern]:
        """How a sentence states the number asked for, if any."""
        return self.asked.stated if self.asked else None


def prepare(text: str, lex: Optional[Lexicon] = None, drop: Iterable[str] = ()) -> Question:
    """Content words of a question. ``drop``: surface words already read as slots (regions,
    sizes, an industry the enterprise described itself with)."""
    lex = lex or load_lexicon()
    t = normalize_query(text or "")
    asked = number_asked(t)
    t = _relayed(lex).sub(r"\1 ", t)  # "来电人称其公司在天河，问新开的企业…": how an agent relays
    for surface in sorted(set(drop), key=len, reverse=True):
        if surface:
            t = t.replace(surface, " ")
    t = _NUMBER_SPAN.sub(" ", t)
    for surface, _ in lex.region_terms() + [(s, None) for s, _ in lex.size_terms()]:
        if surface in t:
            t = t.replace(surface, " ")
    words: List[str] = []
    for tok in index_tokens(t):
        if tok in lex.query_stopwords or tok in words or tok.replace(".", "").isdigit() or _COUNT.match(tok):
            continue  # a bare number ("3", "三个", "两家") is asked about, not searched for
        if lex.canonical_region(tok) or lex.expand_size(tok):
            continue
        words.append(tok)
    # a word that is part of a longer word of the question adds nothing (cut_for_search
    # gives both "出口信用保险" and "信用", "保险")
    words = [w for w in words if not any(w != o and w in o and len(o) > len(w) for o in words)] or words
    weights: Dict[str, float] = {}
    groups: List[Tuple[str, ...]] = []
    topic_words: Dict[str, Tuple[str, ...]] = {}
    compound: Dict[str, Tuple[str, ...]] = {}
    umbrella: set = set()
    for w in words:
        weights[w] = max(weights.get(w, 0.0), 1.0)
        syn = list(lex.synonyms_of(w))
        topic = lex.canonical_topic(w)
        if topic:
            topic_words[w] = tuple(k for k in lex.topics[topic].keywords if k != w and k not in syn)
            if lex.topics[topic].name == w:
                umbrella.add(w)
        for s in syn:
            weights.setdefault(s, SYNONYM_WEIGHT)
        # a word of three characters or more the corpus may hold only in pieces ("免申即享" →
        # 免申, 即享; "招聘会" → 招聘)
        pieces = list(dict.fromkeys(p for p in tokenizer().cut_for_search(w)
                                    if len(p) >= 2 and p != w and p not in lex.query_stopwords)) \
            if len(w) >= 3 else []
        if pieces:
            compound[w] = tuple(pieces)
        for p in pieces:
            weights.setdefault(p, SYNONYM_WEIGHT)
        groups.append((w,) + tuple(syn) + tuple(pieces))
    return Question(words=words, weights=weights, groups=groups, asked=asked, topic_words=topic_words,
                    compound=compound, umbrella=frozenset(umbrella))


@dataclass
class Hit:
    measure_id: int
    score: float
    coverage: float                 # idf-weighted share of the question's words the clause has
    sentences: List[int] = field(default_factory=list)  # best sentence ordinals, best first
    heading: bool = False           # the item's heading matches the question


class SentenceIndex:
    """BM25 over every sentence and every clause of one database build."""

    def __init__(self, rows: Sequence[Tuple[int, int, str, str]], headings: Dict[int, str],
                 kinds: Dict[int, str]):
        """rows: (measure_id, sentence ordinal, text, space-joined tokens), ordered by measure
        then ordinal; headings and kinds by measure id."""
        import bm25s

        # an item's heading is one of its sentences for the ranking (ordinal -1, never a
        # snippet: it is printed as the heading): "大力提升银行机构贷款办理效率,…办理环节不
        # 超过3个" holds the words a question about 贷款环节 uses, the body does not
        with_heads: List[Tuple[int, int, str, str]] = []
        for r in rows:
            if (not with_heads or with_heads[-1][0] != r[0]) and headings.get(r[0]):
                with_heads.append((r[0], -1, headings[r[0]], " ".join(index_tokens(headings[r[0]]))))
            with_heads.append(tuple(r))
        rows = with_heads
        self.sentence_measure = np.array([r[0] for r in rows], dtype=np.int64)
        self.sentence_ordinal = [r[1] for r in rows]
        self.texts = [r[2] for r in rows]
        sentence_tokens = [r[3].split() or ["\u0000"] for r in rows]
        self.measure_ids: List[int] = []
        clause_tokens: List[List[str]] = []
        self.measure_sets: List[set] = []
        for mid, toks in zip(self.sentence_measure.tolist(), sentence_tokens):
            if not self.measure_ids or self.measure_ids[-1] != mid:
                self.measure_ids.append(mid)
                clause_tokens.append([])
            clause_tokens[-1].extend(toks)
        self.measure_sets = [set(t) for t in clause_tokens]
        self.position = {mid: i for i, mid in enumerate(self.measure_ids)}
        # where each measure's sentences start, for a per-measure max (np.maximum.reduceat)
        self.starts = np.searchsorted(self.sentence_measure, np.array(self.measure_ids, dtype=np.int64))
        self.sentence_position = np.searchsorted(np.array(self.measure_ids, dtype=np.int64), self.sentence_measure)
        self.government = np.array([kinds.get(mid) == "government" for mid in self.measure_ids])
        self.sentences = bm25s.BM25(k1=BM25_K1, b=0.75)
        self.sentences.index(sentence_tokens, show_progress=False)
        self.clauses = bm25s.BM25(k1=BM25_K1, b=0.75)
        self.clauses.index(clause_tokens or [["\u0000"]], show_progress=False)
        n = max(len(clause_tokens), 1)
        df: Dict[str, int] = {}
        for toks in self.measure_sets:
            for t in toks:
                df[t] = df.get(t, 0) + 1
        self.n = n
        self.df = df

    def homophones(self, word: str) -> Tuple[str, ...]:
        """The documents' words that sound like ``word``, a word they do not use and jieba's
        dictionary does not know: what a pinyin keyboard gives for a slip ("专里" → 专利,
        "营业执找" → 营业执照). Read as its synonyms, at their weight."""
        if word in self.df or tokenizer().FREQ.get(word) or not 2 <= len(word) <= 4 \
                or not _CJK_WORD.match(word) or word[0] in "每各这那哪几该本此其":
            return ()  # "每架" (Cantonese: per car) is a determiner and a measure word, not 每家
        from pypinyin import lazy_pinyin
        by_sound = self.__dict__.get("_by_sound")
        if by_sound is None:  # once per index: 3,459 words, 0.3 s, most of it loading pypinyin's dictionary
            by_sound = {}
            for w in self.df:
                if 2 <= len(w) <= 4 and _CJK_WORD.match(w):
                    by_sound.setdefault(" ".join(lazy_pinyin(w)), []).append(w)
            self.__dict__["_by_sound"] = by_sound
        return tuple(by_sound.get(" ".join(lazy_pinyin(word)), ()))

    def idf(self, word: str) -> float:
        """Rare words say most about which clause is meant; a word no clause has gets the
        highest weight (the question is about something the documents may not cover)."""
        return math.log(1 + (self.n - self.df.get(word, 0) + 0.5) / (self.df.get(word, 0) + 0.5))

    def _weighted(self, model, q: Question) -> Optional[np.ndarray]:
        """Sum over the question's words of the best of (the word, half the best synonym):
        a group counts once, so ten synonyms of a broad topic word cannot outweigh the
        one clause that has the word itself ("工会经费")."""
        total = None
        scores = model.scores
        for group in q.groups:
            best = None
            for i, w in enumerate(group):
                token = model.vocab_dict.get(w)
                if token is None:
                    continue
                # the word's postings only (bm25s' get_scores adds them into a dense array with
                # np.add.at: ~0.35 ms a word at 230,000 sentences, 8 ms a question); the same
                # float32 values, so the same ranking
                lo, hi = scores["indptr"][token], scores["indptr"][token + 1]
                docs = scores["indices"][lo:hi]
                values = scores["data"][lo:hi] * (q.weights.get(w, SYNONYM_WEIGHT) if i else 1.0)
                if best is None:
                    best = np.zeros(scores["num_docs"], dtype=scores["data"].dtype)
                best[docs] = np.maximum(best[docs], values)
            if best is not None:
                total = best if total is None else total + best
        return total

    def coverage(self, q: Question, position: int) -> float:
        """The idf-weighted share of the question's words the clause has: a synonym or the
        word's pieces count for most of a word, a word of the same topic only for less
        (a clause about 融资 does not answer "贴息").

        Each word of the clause is evidence for one question word only: exact matches are
        taken first, then synonyms, then topic words, each from the clause words not yet
        used. "贷款有没有贴息" asked of a clause about 融资 covers 贷款 (融资 is its
        synonym) and not 贴息 as well (融资 is also a word of 贴息's topic)."""
        have = self.measure_sets[position]
        heads = {g[0] for g in q.groups}
        weights = [self.idf(g[0]) for g in q.groups]
        total = sum(weights)
        if not total:
            return 0.0
        got = [0.0] * len(q.groups)
        used = set()
        for i, group in enumerate(q.groups):
            if group[0] in have:
                got[i] = 1.0
                used.add(group[0])
        for share, broad in ((SYNONYM_COVERAGE, False), (BROAD_COVERAGE, True)):
            for i, group in enumerate(q.groups):
                if got[i]:
                    continue
                pieces = q.compound.get(group[0], ())
                term = next((g for g in group[1:] if g in have and g not in heads and g not in used
                             and g not in pieces and (g in q.broad) == broad), None)
                if term is not None:
                    got[i] = share
                    used.add(term)
                elif pieces and not broad:
                    # a compound is covered by its pieces in proportion: "稳岗补贴" is not
                    # answered by a clause that only has 补贴
                    present = [p for p in pieces if p in have and p not in used]
                    part = sum(self.idf(p) for p in present) / sum(self.idf(p) for p in pieces)
                    got[i] = share * part
                    used.update(present)
        return sum(w * g for w, g in zip(weights, got)) / total

    #: a topic word found in fewer clauses than this is read as its topic's keywords too
    RARE_TOPIC_WORD = 3

    def effective(self, q: Question) -> Question:
        """The question as this index reads it.

        * Topic words the documents rarely use are expanded by their topic's keywords:
          "水电气" means 用电/用水/报装 here, but "贷款" (in many clauses) means 贷款, not
          every word of the 融资贴息 topic.
        * A rare compound of words the documents use ("贷款贴息") is read as those words.
        * A short word no clause has and that holds a function character is a segmentation
          slip of colloquial text ("电要" from "新装电要不要", "手能" from "拿到手能"), not a
          subject the documents lack: it is left out instead of counting against coverage
          (a word of jieba's dictionary is kept: "招聘会", "展销会"). So is a word no clause
          has that only phrases the question (PHRASING_CLASSES: "新借了一笔钱")."""
        cached = q.__dict__.get("_effective")
        if cached is not None and cached[0] is self:  # search, searched_words, absent_words: once
            return cached[1]
        groups, weights, broad = [], dict(q.weights), set()
        for g in q.groups:
            if not any(w in self.df for w in g):
                sounds = self.homophones(g[0])
                if sounds:
                    g = g + sounds
                    for w in sounds:
                        weights.setdefault(w, SYNONYM_WEIGHT)
            if len(g[0]) <= 3 and _FUNCTION_CHARS.search(g[0]) and not any(w in self.df for w in g) \
                    and not tokenizer().FREQ.get(g[0]):
                continue  # a slip, not a word jieba knows ("招聘会" is one)
            if not any(w in self.df for w in g) and word_class(g[0]) in PHRASING_CLASSES:
                continue  # how the question is put ("一笔", "两家", "因为"), not what it asks
            pieces = q.compound.get(g[0], ())
            if pieces and self.df.get(g[0], 0) == 0 and all(p in self.df for p in pieces) \
                    and not any(w in self.df for w in g[1:] if w not in pieces):
                # (not when the documents use a synonym of it: "开公司" means 开办, not 公司)
                # a rare compound of words the documents use ("贷款贴息") means its pieces, each in full
                for p in pieces:
                    weights[p] = 1.0
                    groups.append((p,) + load_lexicon().synonyms_of(p))
                    for syn in groups[-1][1:]:
                        weights.setdefault(syn, SYNONYM_WEIGHT)
                continue
            # a topic's name ("社保") is answered by its kinds (养老保险) however often the
            # documents use the name itself; a topic's other words only when they rarely do
            extra = q.topic_words.get(g[0], ()) \
                if g[0] in q.umbrella or self.df.get(g[0], 0) < self.RARE_TOPIC_WORD else ()
            extra = tuple(k for k in extra if k not in g)
            for k in extra:
                weights.setdefault(k, SYNONYM_WEIGHT)
                if g[0] not in q.umbrella:  # 用电 is a kind of 水电气; 融资 is only near 贴息
                    broad.add(k)
            groups.append(g + extra)
        out = Question(words=q.words, weights=weights, groups=groups, asked=q.asked, topic_words=q.topic_words,
                       broad=frozenset(broad), compound=q.compound, umbrella=q.umbrella)
        q.__dict__["_effective"] = (self, out)
        return out

    def searched_words(self, q: Question) -> List[str]:
        """The question's own words this index searches for: not the slips and phrasing words
        ``effective`` leaves out, so a reply never says it looked for "一笔" or "交不上"."""
        kept = {g[0] for g in self.effective(q).groups}
        return [w for w in q.words if w in kept or any(p in kept for p in q.compound.get(w, ()))]

    def absent_words(self, q: Question) -> List[str]:
        """The things the question names that no clause has, in any of its words ("招用残疾人有没有
        补贴": 残疾人): the reply says the documents do not mention them instead of implying the
        clauses it lists are about them."""
        freq = tokenizer().FREQ
        return [g[0] for g in self.effective(q).groups
                if not any(w in self.df for w in g) and g[0] in q.words
                and (freq.get(g[0]) or 0) >= NAMING_MIN_FREQ and word_class(g[0]) in NAMING_CLASSES]

    def _number_factor(self, number: re.Pattern) -> np.ndarray:
        """1.25 for the sentences stating the kind of number asked, else 1.0: once per pattern
        and index (matching every sentence again per question was 0.9 s at 100,000 measures,
        230,000 sentences: most of the 430 ms p95 of free-text questions there)."""
        cache = self.__dict__.setdefault("_number_factors", {})
        if number.pattern not in cache:
            cache[number.pattern] = np.array([1.25 if number.search(t) else 1.0 for t in self.texts])
        return cache[number.pattern]

    def search(self, q: Question, allowed: Optional[np.ndarray] = None, k: int = 30) -> List[Hit]:
        """The best ``k`` clauses for the question among the ``allowed`` ones (a boolean mask
        over ``measure_ids``; all if None).

        Only the clauses with a positive score among the allowed ones are ordered, and of them
        only those that can be among the best k (np.partition), in the order a stable sort of
        every clause gives: at 100,000 measures sorting them all and skipping those of other
        districts one by one in Python took 14 ms a question for a district's 5% of them."""
        if q.empty or not self.measure_ids:
            return []
        q = self.effective(q)
        sent = self._weighted(self.sentences, q)
        if sent is None:
            return []
        if q.number is not None:
            # a question asking "多少天/最高多少" prefers the sentence that states such a number
            sent = sent * self._number_factor(q.number)
        # each clause's best sentence, from the sentences that score at all (a max over every
        # sentence, np.maximum.reduceat, was 2.5 ms a question at 230,000 sentences)
        scored = np.flatnonzero(sent > 0)
        best = np.zeros(len(self.measure_ids), dtype=sent.dtype)
        if len(scored):
            owner = self.sentence_position[scored]
            first = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
            best[owner[first]] = np.maximum.reduceat(sent[scored], first)
        clause = self._weighted(self.clauses, q)
        score = best + CLAUSE_SHARE * clause
        score = np.where(self.government, score * GOVERNMENT_FACTOR, score)
        keep = score > 0
        if allowed is not None:
            keep &= allowed
        candidates = np.flatnonzero(keep)
        if len(candidates) > k:  # every clause scoring at least the k-th best (ties kept)
            cut = np.partition(score[candidates], len(candidates) - k)[len(candidates) - k]
            candidates = candidates[score[candidates] >= cut]
        order = candidates[np.argsort(-score[candidates], kind="stable")]
        hits: List[Hit] = []
        for pos in order:
            mid = self.measure_ids[pos]
            lo = self.starts[pos]
            hi = self.starts[pos + 1] if pos + 1 < len(self.starts) else len(sent)
            ranked = sorted(range(lo, hi), key=lambda i: -sent[i])
            hits.append(Hit(measure_id=mid, score=float(score[pos]), coverage=self.coverage(q, pos),
                            sentences=[self.sentence_ordinal[i] for i in ranked
                                       if sent[i] > 0 and self.sentence_ordinal[i] >= 0],
                            heading=any(sent[i] > 0 and self.sentence_ordinal[i] < 0 for i in range(lo, hi))))
            if len(hits) >= k:
                break
        return hits
