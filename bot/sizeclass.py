"""Enterprise size (大型/中型/小型/微型) per 《中小企业划型标准规定》.

Source: 工业和信息化部、国家统计局、发展改革委、财政部《关于印发中小企业划型标准规定
的通知》（工信部联企业〔2011〕300号），第四条. Each industry is encoded in the
standard's own form:

* "A以下或B以下的为中小微型企业" — the ceiling, joined by 或. An enterprise is
  大型 only when *no* criterion is below its ceiling;
* "A及以上，且B及以上的为中型/小型企业" — lower bounds joined by 且;
* "A以下或B以下的为微型企业" — joined by 或.

A criterion that falls short of the 中型 (or 小型) bounds drops the enterprise one
tier ("否则下划一档", as the 2017 统计上大中小微型企业划分办法 restates it).

The thresholds are constants here, transcribed from the standard: the assistant calls
this from the dialogue, the CLI and tests alike, and they must not depend on anything
that can drift. The industry sections and their codes are the lexicon's (bot/lexicon.yml).
"""
from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from bot.lexicon import load_lexicon

__all__ = [
    "SizeResult", "Standard", "STANDARDS", "CATEGORIES", "SIZES",
    "classify", "resolve_industry", "parse_employees", "parse_money_yuan",
]

SOURCE = "《中小企业划型标准规定》（工信部联企业〔2011〕300号）"
SIZES = ("大型", "中型", "小型", "微型")

EMPLOYEES = "employees"
REVENUE = "revenue_yuan"
ASSETS = "total_assets_yuan"
_INPUT_ORDER = (EMPLOYEES, REVENUE, ASSETS)
_LABEL = {EMPLOYEES: "从业人员", REVENUE: "营业收入", ASSETS: "资产总额"}
_UNIT = {EMPLOYEES: "人", REVENUE: "万元", ASSETS: "万元"}
_ASK = {EMPLOYEES: "从业人员数", REVENUE: "上年营业收入", ASSETS: "资产总额"}
_WAN = 10_000


# --------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Standard:
    """One industry row of the standard; bounds in 人 or 万元, as printed."""

    category: str
    criteria: Tuple[str, ...]
    ceiling: Tuple[int, ...]   # 中小微型: any criterion below (或)
    medium: Tuple[int, ...]    # 中型: every criterion at or above (且)
    small: Tuple[int, ...]     # 小型: every criterion at or above (且)
    micro: Tuple[int, ...]     # 微型: any criterion below (或)

    def _yuan(self, bounds: Tuple[int, ...]) -> Dict[str, float]:
        """Bounds in the units the inputs use (人, 元): no float rounding on 万."""
        return {k: (b if k == EMPLOYEES else b * _WAN) for k, b in zip(self.criteria, bounds)}

    def decide(self, values: Mapping[str, float]) -> str:
        """The size for a complete set of values, read exactly as the standard reads."""
        ceiling, medium, small, micro = (self._yuan(b) for b in (self.ceiling, self.medium, self.small, self.micro))
        ks = self.criteria
        if not any(values[k] < ceiling[k] for k in ks):
            return "大型"
        if all(values[k] >= medium[k] for k in ks):
            return "中型"
        if all(values[k] >= small[k] for k in ks):
            return "小型"
        if any(values[k] < micro[k] for k in ks):
            return "微型"
        raise AssertionError(f"{self.category}: table leaves a gap")  # micro bounds == small bounds

    def breakpoints(self, key: str) -> List[float]:
        """0 and every bound on ``key``: one representative per region of the step function."""
        i = self.criteria.index(key)
        scale = 1 if key == EMPLOYEES else _WAN
        return sorted({0.0} | {float(b[i] * scale) for b in (self.ceiling, self.medium, self.small, self.micro)})

    # ---- wording -----------------------------------------------------------
    def _clause(self, bounds: Tuple[int, ...], suffix: str, joiner: str) -> str:
        return joiner.join(f"{_LABEL[k]}{b}{_UNIT[k]}{suffix}" for k, b in zip(self.criteria, bounds))

    def tier_text(self, size: str) -> str:
        """The standard's sentence for one tier, e.g. "从业人员10人及以上且营业收入100万元及以上的为小型企业"."""
        if size == "大型":
            return (f"{self._clause(self.ceiling, '以下', '或')}的为中小微型企业，"
                    f"{self._clause(self.ceiling, '及以上', '且')}的为大型企业")
        if size == "中型":
            return f"{self._clause(self.medium, '及以上', '且')}的为中型企业"
        if size == "小型":
            return f"{self._clause(self.small, '及以上', '且')}的为小型企业"
        return f"{self._clause(self.micro, '以下', '或')}的为微型企业"

    def full_text(self) -> str:
        """The whole row, for when the size cannot be decided yet."""
        return (f"{self.category}：{self._clause(self.ceiling, '以下', '或')}的为中小微型企业；其中，"
                f"{self.tier_text('中型')}；{self.tier_text('小型')}；{self.tier_text('微型')}")

    def same_table(self, other: "Standard") -> bool:
        return (self.criteria, self.ceiling, self.medium, self.small, self.micro) == (
            other.criteria, other.ceiling, other.medium, other.small, other.micro)


E, R, A = EMPLOYEES, REVENUE, ASSETS
_ROWS = (
    #         category                 criteria  ceiling           中型            小型          微型
    Standard("农、林、牧、渔业",         (R,),     (20000,),         (500,),         (50,),        (50,)),
    Standard("工业",                     (E, R),   (1000, 40000),    (300, 2000),    (20, 300),    (20, 300)),
    Standard("建筑业",                   (R, A),   (80000, 80000),   (6000, 5000),   (300, 300),   (300, 300)),
    Standard("批发业",                   (E, R),   (200, 40000),     (20, 5000),     (5, 1000),    (5, 1000)),
    Standard("零售业",                   (E, R),   (300, 20000),     (50, 500),      (10, 100),    (10, 100)),
    Standard("交通运输业",               (E, R),   (1000, 30000),    (300, 3000),    (20, 200),    (20, 200)),
    Standard("仓储业",                   (E, R),   (200, 30000),     (100, 1000),    (20, 100),    (20, 100)),
    Standard("邮政业",                   (E, R),   (1000, 30000),    (300, 2000),    (20, 100),    (20, 100)),
    Standard("住宿业",                   (E, R),   (300, 10000),     (100, 2000),    (10, 100),    (10, 100)),
    Standard("餐饮业",                   (E, R),   (300, 10000),     (100, 2000),    (10, 100),    (10, 100)),
    Standard("信息传输业",               (E, R),   (2000, 100000),   (100, 1000),    (10, 100),    (10, 100)),
    Standard("软件和信息技术服务业",     (E, R),   (300, 10000),     (100, 1000),    (10, 50),     (10, 50)),
    Standard("房地产开发经营",           (R, A),   (200000, 10000),  (1000, 5000),   (100, 2000),  (100, 2000)),
    Standard("物业管理",                 (E, R),   (1000, 5000),     (300, 1000),    (100, 500),   (100, 500)),
    Standard("租赁和商务服务业",         (E, A),   (300, 120000),    (100, 8000),    (10, 100),    (10, 100)),
    Standard("其他未列明行业",           (E,),     (300,),           (100,),         (10,),        (10,)),
)
del E, R, A
STANDARDS: Dict[str, Standard] = {s.category: s for s in _ROWS}
CATEGORIES: Tuple[str, ...] = tuple(STANDARDS)
_OTHER = "其他未列明行业"


# --------------------------------------------------------------------------
# Industry names → categories of the standard
# --------------------------------------------------------------------------

_FINANCE = "金融业"
_RAIL = "铁路运输业"
_NOT_ENTERPRISE = "非企业"
#: Why the standard does not apply; these never get a size.
_NOT_COVERED = {
    _FINANCE: "金融业企业按《金融业企业划型标准规定》（银发〔2015〕309号）划型，不适用" + SOURCE + "。",
    _RAIL: "交通运输业不含铁路运输业，" + SOURCE + "未规定铁路运输业的划型标准。",
    _NOT_ENTERPRISE: "公共管理、社会保障和社会组织及国际组织不是企业，不适用" + SOURCE + "。",
}

#: GB/T 4754-2017 sections (by the lexicon's names; their codes are the lexicon's too)
#: → categories of the standard. A section that spans several categories maps to all
#: of them and is asked about. tests/test_sizeclass.py checks the names against the lexicon.
_SECTION_TARGET: Dict[str, object] = {
    "农、林、牧、渔业": ("农、林、牧、渔业",),
    "采矿业": ("工业",),
    "制造业": ("工业",),
    "电力、热力、燃气及水生产和供应业": ("工业",),
    "建筑业": ("建筑业",),
    "批发和零售业": ("批发业", "零售业"),
    "交通运输、仓储和邮政业": ("交通运输业", "仓储业", "邮政业"),
    "住宿和餐饮业": ("住宿业", "餐饮业"),
    "信息传输、软件和信息技术服务业": ("信息传输业", "软件和信息技术服务业"),
    "金融业": _FINANCE,
    # 房地产中介服务、其他房地产业 fall under 其他未列明行业 (统计上大中小微型企业划分办法).
    "房地产业": ("房地产开发经营", "物业管理", _OTHER),
    "租赁和商务服务业": ("租赁和商务服务业",),
    "科学研究和技术服务业": (_OTHER,),
    "水利、环境和公共设施管理业": (_OTHER,),
    "居民服务、修理和其他服务业": (_OTHER,),
    "教育": (_OTHER,),
    "卫生和社会工作": (_OTHER,),
    "文化、体育和娱乐业": (_OTHER,),
    "公共管理、社会保障和社会组织": _NOT_ENTERPRISE,
    "国际组织": _NOT_ENTERPRISE,
}

#: Words enterprises use for themselves, by the standard's categories (finer than the
#: lexicon's sections: 批发业 or 零售业, 住宿业 or 餐饮业). Longest match wins; a word inside
#: a longer matched word ("房地产" in "房地产开发") does not count. A word the lexicon also
#: knows must name a category of the lexicon's section for it (tests/test_sizeclass.py).
_KEYWORDS: Dict[object, str] = {
    ("农、林、牧、渔业",): "农林牧渔 农业 林业 牧业 畜牧 渔业 养殖 种植 农场 果园 养猪 种地 农民专业合作社",
    ("工业",): "工业 采矿 矿山 煤矿 制造 工厂 加工厂 厂子 服装厂 电子厂 生产企业 电力 发电 供电 热力 供热 燃气 供水 自来水",
    ("建筑业",): "建筑 施工 装修 工程队",
    ("批发业",): "批发",
    ("零售业",): "零售 超市 便利店 小卖部 商店 网店 药店 卖衣服",
    ("批发业", "零售业"): "批零 商贸 贸易 电商",
    ("交通运输业",): "交通运输 运输 货运 客运 航运 公交 出租车 货代",
    ("仓储业",): "仓储 仓库",
    ("邮政业",): "邮政 快递",
    ("交通运输业", "仓储业"): "物流",
    ("住宿业",): "住宿 酒店 宾馆 旅馆 旅店 民宿 招待所",
    ("餐饮业",): "餐饮 饭店 饭馆 餐馆 餐厅 酒楼 小吃 快餐 火锅 奶茶 咖啡店",
    ("信息传输业",): "信息传输 电信 互联网 宽带 广播电视传输 卫星传输",
    ("软件和信息技术服务业",): "软件 信息技术 信息技术服务 IT 系统集成",
    ("房地产开发经营",): "房地产开发 地产开发 开发商 房开",
    ("物业管理",): "物业",
    ("房地产开发经营", "物业管理", _OTHER): "房地产 地产",
    ("租赁和商务服务业",): "租赁 商务服务 广告 人力资源 旅行社 会展 咨询公司 中介",
    (_OTHER,): ("房产中介 房地产中介 科研 研发 技术服务 检测 教育 培训 学校 幼儿园 医疗 医院 诊所 养老 "
                "卫生 文化 体育 娱乐 传媒 影视 健身 电影院 KTV 环保 园林 景区 家政 维修 修理 美容 美发 理发 洗衣"),
    _FINANCE: "金融 银行 保险 证券 基金 信托 小贷",
    _RAIL: "铁路 铁路运输",
    _NOT_ENTERPRISE: "公共管理 社会保障 社会组织 国际组织",
}
_KEYWORD_LIST: List[Tuple[str, object]] = sorted(
    ((w, target) for target, words in _KEYWORDS.items() for w in words.split()),
    key=lambda wt: -len(wt[0]),
)

#: The sub-category question for a multi-category section.
_QUESTIONS: Dict[frozenset, str] = {
    frozenset({"批发业", "零售业"}): "请问是批发还是零售？",
    frozenset({"住宿业", "餐饮业"}): "请问是住宿（酒店、宾馆、民宿）还是餐饮？",
    frozenset({"信息传输业", "软件和信息技术服务业"}):
        "请问是信息传输（电信、广播电视和卫星传输、互联网服务）还是软件和信息技术服务？",
    frozenset({"交通运输业", "仓储业", "邮政业"}): "请问是交通运输、仓储还是邮政快递？",
    frozenset({"交通运输业", "仓储业"}): "请问主要做运输还是仓储？",
    frozenset({"房地产开发经营", "物业管理", _OTHER}):
        "请问是房地产开发经营、物业管理，还是房地产中介等其他房地产业务？",
}
_ASK_INDUSTRY = "请问企业主营业务属于哪个行业（如制造业、批发、零售、餐饮、软件等）？"


def _norm_name(text: str) -> str:
    """Compare names without width, spacing, punctuation or the 和 of "批发和零售业"."""
    t = unicodedata.normalize("NFKC", text or "").upper()
    return re.sub(r"[\s、,，.。:：;；()（）\[\]【】“”\"'和]", "", t)


_EXACT: Dict[str, object] = {}


def _register(name: str, target: object) -> None:
    """Index a name with and without its trailing 业 ("零售业", "零售")."""
    key = _norm_name(name)
    _EXACT.setdefault(key, target)
    if key.endswith("业") and len(key) > 2:
        _EXACT.setdefault(key[:-1], target)


for _cat in CATEGORIES:
    _register(_cat, (_cat,))
for _name, _target in _SECTION_TARGET.items():
    _register(_name, _target)
for _section in load_lexicon().industries.values():
    if _section.is_section:
        _EXACT[_section.code] = _SECTION_TARGET[_section.name]
_EXACT[_norm_name("交通运输业（不含铁路运输业）")] = ("交通运输业",)
_EXACT[_norm_name("其他")] = (_OTHER,)


def resolve_industry(industry: str) -> object:
    """A tuple of candidate categories, a not-covered key, or None when unknown."""
    key = _norm_name(industry)
    if not key:
        return None
    if key in _EXACT:
        return _EXACT[key]
    hits: List[Tuple[int, int, object]] = []
    for word, target in _KEYWORD_LIST:
        for m in re.finditer(re.escape(word), key):
            s, e = m.span()
            if not any(hs <= s and e <= he for hs, he, _ in hits):
                hits.append((s, e, target))
    targets = list(dict.fromkeys(t for _, _, t in hits))
    if not targets:
        return None
    if len(targets) == 1:
        return targets[0]
    cats = [t for t in targets if isinstance(t, tuple)]
    if not cats:
        return targets[0]
    return tuple(dict.fromkeys(c for t in cats for c in t))


# --------------------------------------------------------------------------
# Classification
# --------------------------------------------------------------------------

@dataclass
class SizeResult:
    """What the standard says about one enterprise.

    ``size`` None with ``needs`` set: ask the user ``needs``. ``size`` None with
    ``needs`` None: the standard does not apply; ``rule`` says why.
    """

    size: Optional[str]
    category: Optional[str]
    rule: str
    needs: Optional[str] = None
    missing: List[str] = field(default_factory=list)
    #: Categories still in play when the industry spans several.
    candidates: List[str] = field(default_factory=list)

    @property
    def decided(self) -> bool:
        return self.size is not None


def _possible_sizes(std: Standard, given: Mapping[str, Optional[float]]) -> Tuple[List[str], List[str]]:
    """(sizes reachable over every value the missing inputs could take, missing inputs)."""
    missing = [k for k in std.criteria if given.get(k) is None]
    grids = [std.breakpoints(k) if k in missing else [float(given[k])] for k in std.criteria]
    sizes = {std.decide(dict(zip(std.criteria, combo))) for combo in itertools.product(*grids)}
    return [s for s in SIZES if s in sizes], missing


def _order_inputs(keys: Iterable[str]) -> List[str]:
    ks = set(keys)
    return [k for k in _INPUT_ORDER if k in ks]


def _ask_for(keys: Sequence[str]) -> str:
    return "请提供" + "和".join(_ASK[k] for k in keys) + "。"


def _classify_one(std: Standard, given: Mapping[str, Optional[float]], label: Optional[str] = None) -> SizeResult:
    name = label or std.category
    sizes, missing = _possible_sizes(std, given)
    if len(sizes) == 1:
        text = std.tier_text(sizes[0])
        return SizeResult(sizes[0], name, f"依据{SOURCE}，{name}：{text}。")
    rule = f"依据{SOURCE}，{std.full_text().replace(std.category, name, 1)}。"
    return SizeResult(None, name, rule, needs=_ask_for(missing), missing=missing)


def _check(name: str, value: Optional[float]) -> Optional[float]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {value!r}")
    return float(value)


def classify(
    industry: str,
    employees: Optional[int] = None,
    revenue_yuan: Optional[float] = None,
    total_assets_yuan: Optional[float] = None,
) -> SizeResult:
    """Size of an enterprise under 工信部联企业〔2011〕300号.

    ``industry`` may be a category of the standard, a GB/T 4754-2017 section
    (name or letter) or an everyday word ("饭店"). Money is in 元. A missing
    input is only asked for when the answer depends on it.
    """
    given = {
        EMPLOYEES: _check(EMPLOYEES, employees),
        REVENUE: _check(REVENUE, revenue_yuan),
        ASSETS: _check(ASSETS, total_assets_yuan),
    }
    target = resolve_industry(industry)
    if target is None:
        return SizeResult(None, None, f"{SOURCE}按行业分别规定划型标准，需先确定行业。",
                          needs=_ASK_INDUSTRY, missing=["industry"])
    if isinstance(target, str):
        return SizeResult(None, None, _NOT_COVERED[target])
    stds = [STANDARDS[c] for c in target]
    if len(stds) == 1:
        return _classify_one(stds[0], given)
    if all(s.same_table(stds[0]) for s in stds[1:]):
        # 住宿业 and 餐饮业 share one table: the sub-category cannot change the answer.
        merged = _classify_one(stds[0], given, label="、".join(target))
        merged.candidates = list(target)
        return merged
    return _classify_ambiguous(stds, given)


def possible_sizes_any_industry(employees: Optional[int] = None, revenue_yuan: Optional[float] = None) -> List[str]:
    """Every size some category of the standard gives these figures (the industry unknown)."""
    given = {EMPLOYEES: _check(EMPLOYEES, employees), REVENUE: _check(REVENUE, revenue_yuan), ASSETS: None}
    found: set = set()
    for std in STANDARDS.values():
        found.update(_possible_sizes(std, given)[0])
    return [s for s in SIZES if s in found]


def _classify_ambiguous(stds: Sequence[Standard], given: Mapping[str, Optional[float]]) -> SizeResult:
    """Several categories fit the industry: decide only if they all agree."""
    names = [s.category for s in stds]
    results = [_classify_one(s, given) for s in stds]
    sizes = {r.size for r in results}
    if len(sizes) == 1 and None not in sizes:
        size = results[0].size
        clauses = "；".join(f"{s.category}：{s.tier_text(size)}" for s in stds)
        rule = f"依据{SOURCE}，{clauses}。按{'或'.join(names)}划型，结果均为{size}企业。"
        return SizeResult(size, "、".join(names), rule, candidates=names)
    question = _QUESTIONS.get(frozenset(names)) or f"请问主营业务属于哪一类：{'、'.join(names)}？"
    missing = _order_inputs(k for r in results if r.size is None for k in r.missing)
    rule = f"{SOURCE}对{'、'.join(names)}分别规定了划型标准，按所给数据各类别结果不同，需先确定细分行业。"
    return SizeResult(None, None, rule, needs=question, missing=["industry"] + missing, candidates=names)


# --------------------------------------------------------------------------
# Reading numbers out of what users type
# --------------------------------------------------------------------------

_CN_DIGIT = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_SMALL_UNIT = {"十": 10, "百": 100, "千": 1000}
_BIG_UNIT = {"万": 10**4, "亿": 10**8}
_NUM_CHARS = "零〇一二两三四五六七八九十百千万亿"
_AMOUNT = re.compile(
    r"(?P<num>(?:\d+(?:\.\d+)?|[" + _NUM_CHARS + r"])+)"
    r"(?P<approx>多|余|来|几)?"
    r"(?P<unit>千万|百万|万|亿|[wW](?![a-zA-Z]))?"
    r"(?P<yuan>元|块)?"
)
_TOKEN = re.compile(r"\d+(?:\.\d+)?|[" + _NUM_CHARS + r"]")
#: Before or after a number: it is a bound, not a value ("不到100人", "300万以下").
_UPPER_BEFORE = re.compile(r"(不到|不足|少于|低于|未满|不超过|不满|近|几)$")
_UPPER_AFTER = re.compile(r"^(?:个人|人|名|位|员工)?(以下|以内|之内|不到)")
_RANGE_AFTER = re.compile(r"^\s*(?:[-~～—至到]|或)\s*[\d" + _NUM_CHARS + r"]")
_RANGE_BEFORE = re.compile(r"[\d" + _NUM_CHARS + r"](?:多|余)?\s*(?:[-~～—至到]|或)\s*$")
_PEOPLE_AFTER = re.compile(r"^(个人|个员工|个工人|人|名|位|员工|职工|工人|雇员)")
_PEOPLE_BEFORE = re.compile(r"(员工|人数|从业人员|职工|雇员|工人|雇了|招了)[^\d" + _NUM_CHARS + r"]{0,3}$")
_MONEY_WORDS = re.compile(r"营收|收入|营业额|销售额|流水|产值|资产|元|块钱")


def _norm_text(text: str) -> str:
    t = unicodedata.normalize("NFKC", text or "")
    return re.sub(r"(?<=\d),(?=\d)", "", t)


def _to_number(expr: str) -> Optional[float]:
    """"1亿2000万", "三千五", "3百万", "一百零五" → value; None if malformed."""
    tokens = _TOKEN.findall(expr)
    if "".join(tokens) != expr:
        return None
    total = section = 0.0
    cur: Optional[float] = None
    prev: Optional[str] = None  # the previous token, when it was a digit
    last_unit = 1
    for tok in tokens:
        if tok in _SMALL_UNIT:
            section += (cur if cur is not None else 1) * _SMALL_UNIT[tok]
            cur, prev, last_unit = None, None, _SMALL_UNIT[tok]
        elif tok in _BIG_UNIT:
            if tok == "亿":
                total = (total + section + (cur or 0)) * _BIG_UNIT[tok]
            else:
                total += (section + (cur or 0)) * _BIG_UNIT[tok]
            section, cur, prev, last_unit = 0.0, None, None, _BIG_UNIT[tok]
        else:
            if prev is not None:
                # "三〇〇" is positional; "三四十" is a vague range, not 340.
                if tok[0].isdigit() or prev[0].isdigit() or not ({tok, prev} & set("零〇")):
                    return None
                cur = (cur or 0) * 10 + _CN_DIGIT[tok]
            else:
                cur = float(tok) if tok[0].isdigit() else float(_CN_DIGIT[tok])
            prev = tok
    if cur is not None:
        # "一万二" is 12000, "三千五" is 3500: a lone digit after a unit is the next place down.
        trailing_digit = len(tokens) >= 2 and tokens[-2] in {**_SMALL_UNIT, **_BIG_UNIT} and last_unit >= 100
        if trailing_digit and cur.is_integer() and 1 <= cur <= 9:
            cur *= last_unit / 10
        section += cur
    return total + section


_UNIT_FACTOR = {"千万": 10**7, "百万": 10**6, "万": 10**4, "w": 10**4, "W": 10**4, "亿": 10**8}


def _amounts(text: str):
    """Every number in ``text`` with its surroundings, left to right."""
    for m in _AMOUNT.finditer(text):
        value = _to_number(m.group("num"))
        if value is None:
            continue
        if m.group("unit"):
            value *= _UNIT_FACTOR[m.group("unit")]
        before, after = text[: m.start()], text[m.end():]
        bounded = bool(_UPPER_BEFORE.search(before) or _UPPER_AFTER.search(after)
                       or _RANGE_AFTER.search(after) or _RANGE_BEFORE.search(before))
        moneyish = bool(m.group("yuan") or m.group("unit") or re.search("[万亿]", m.group("num")))
        yield m, value, before, after, bounded, moneyish


def parse_employees(text: str) -> Optional[int]:
    """Head count from "30个人", "三十人", "员工200多人" (多/余 read as the lower bound).

    None when there is no count or only a bound or range ("不到100人", "20-30人"):
    asking again beats a guess that lands on the wrong side of a threshold.
    """
    t = _norm_text(text)
    found = list(_amounts(t))
    for m, value, before, after, bounded, moneyish in found:
        if _PEOPLE_AFTER.match(after) or (_PEOPLE_BEFORE.search(before) and not moneyish):
            return None if bounded or not value.is_integer() else int(value)
    plain = [a for a in found if not a[5]]
    if len(found) == 1 and plain and not _MONEY_WORDS.search(t):
        m, value, before, after, bounded, moneyish = plain[0]
        return None if bounded or not value.is_integer() else int(value)
    return None


def parse_money_yuan(text: str) -> Optional[float]:
    """Amount in 元 from "年营收300万", "营业额3000万元", "1.5亿", "五百万", "3百万".

    A bare number with no 元/万/亿 ("营收300") gives None: reading it as 300 元
    when the user meant 300 万 would silently make the enterprise 微型.
    """
    t = _norm_text(text)
    for m, value, before, after, bounded, moneyish in _amounts(t):
        if not moneyish or _PEOPLE_AFTER.match(after):
            continue
        return None if bounded else value
    return None
