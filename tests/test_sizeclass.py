"""Enterprise size per 工信部联企业〔2011〕300号: every row at its thresholds, and reading user phrases.

The thresholds below are transcribed from the standard's text independently of
``bot/sizeclass.py``, so a wrong constant there fails here.
"""
from __future__ import annotations

import itertools

import pytest

from bot.sizeclass import (
    CATEGORIES, SIZES, STANDARDS, classify, parse_employees, parse_money_yuan, resolve_industry,
)

WAN = 10_000
CITE = "工信部联企业〔2011〕300号"

# category: (criteria, 中小微 ceiling, 中型 lower bounds, 小型 lower bounds); people in 人, money in 万元.
# 微型 is "below the 小型 bound of either criterion" in every row of the standard.
TABLE = {
    "农、林、牧、渔业": (("revenue_yuan",), (20000,), (500,), (50,)),
    "工业": (("employees", "revenue_yuan"), (1000, 40000), (300, 2000), (20, 300)),
    "建筑业": (("revenue_yuan", "total_assets_yuan"), (80000, 80000), (6000, 5000), (300, 300)),
    "批发业": (("employees", "revenue_yuan"), (200, 40000), (20, 5000), (5, 1000)),
    "零售业": (("employees", "revenue_yuan"), (300, 20000), (50, 500), (10, 100)),
    "交通运输业": (("employees", "revenue_yuan"), (1000, 30000), (300, 3000), (20, 200)),
    "仓储业": (("employees", "revenue_yuan"), (200, 30000), (100, 1000), (20, 100)),
    "邮政业": (("employees", "revenue_yuan"), (1000, 30000), (300, 2000), (20, 100)),
    "住宿业": (("employees", "revenue_yuan"), (300, 10000), (100, 2000), (10, 100)),
    "餐饮业": (("employees", "revenue_yuan"), (300, 10000), (100, 2000), (10, 100)),
    "信息传输业": (("employees", "revenue_yuan"), (2000, 100000), (100, 1000), (10, 100)),
    "软件和信息技术服务业": (("employees", "revenue_yuan"), (300, 10000), (100, 1000), (10, 50)),
    "房地产开发经营": (("revenue_yuan", "total_assets_yuan"), (200000, 10000), (1000, 5000), (100, 2000)),
    "物业管理": (("employees", "revenue_yuan"), (1000, 5000), (300, 1000), (100, 500)),
    "租赁和商务服务业": (("employees", "total_assets_yuan"), (300, 120000), (100, 8000), (10, 100)),
    "其他未列明行业": (("employees",), (300,), (100,), (10,)),
}


def _real(key, printed):
    """A bound as classify() takes it: people as is, 万元 → 元."""
    return printed if key == "employees" else printed * WAN


def _kwargs(keys, values):
    return dict(zip(keys, values))


def _boundary_cases():
    """(category, kwargs, expected size, why) at and just below every bound of every row.

    "Just below" is 1 person or 1 元 less: the largest value still "以下" the bound.
    """
    for cat, (keys, ceil, mid, small) in TABLE.items():
        ceil = [_real(k, v) for k, v in zip(keys, ceil)]
        mid = [_real(k, v) for k, v in zip(keys, mid)]
        small = [_real(k, v) for k, v in zip(keys, small)]
        huge = [10 * v for v in ceil]
        yield cat, _kwargs(keys, ceil), "大型", "all criteria exactly at the ceiling"
        yield cat, _kwargs(keys, mid), "中型", "exactly at the 中型 bounds (及以上)"
        yield cat, _kwargs(keys, small), "小型", "exactly at the 小型 bounds (及以上)"
        for i, k in enumerate(keys):
            below_ceiling = list(ceil)
            below_ceiling[i] = ceil[i] - 1
            yield cat, _kwargs(keys, below_ceiling), "中型", f"{k} one below the ceiling (或)"
            below_mid = list(mid)
            below_mid[i] = mid[i] - 1
            yield cat, _kwargs(keys, below_mid), "小型", f"{k} one below the 中型 bound (且)"
            micro = list(huge)
            micro[i] = small[i] - 1
            yield cat, _kwargs(keys, micro), "微型", f"{k} alone below the 小型 bound (或), other huge"


@pytest.mark.parametrize("cat,kwargs,expected,why", list(_boundary_cases()))
def test_every_category_at_its_thresholds(cat, kwargs, expected, why):
    r = classify(cat, **kwargs)
    assert r.size == expected, why
    assert r.category == cat
    assert r.needs is None and r.missing == []
    assert CITE in r.rule and cat in r.rule


def test_table_covers_every_industry_of_the_standard():
    assert set(CATEGORIES) == set(TABLE)


def test_the_brief_example_retail_30_people_3_million_is_small_with_the_rule_cited():
    r = classify("零售业", employees=30, revenue_yuan=3_000_000)
    assert r.size == "小型"
    assert r.rule == (
        "依据《中小企业划型标准规定》（工信部联企业〔2011〕300号），"
        "零售业：从业人员10人及以上且营业收入100万元及以上的为小型企业。"
    )


def test_micro_rule_is_worded_with_or_and_large_rule_names_the_ceiling():
    micro = classify("工业", employees=500, revenue_yuan=2_000_000)
    assert micro.size == "微型"
    assert "从业人员20人以下或营业收入300万元以下的为微型企业" in micro.rule
    large = classify("工业", employees=1000, revenue_yuan=400_000_000)
    assert large.size == "大型"
    assert "从业人员1000人以下或营业收入40000万元以下的为中小微型企业" in large.rule


def test_above_ceiling_on_one_criterion_only_drops_down_a_tier():
    # 1000+ people but 500万 revenue: revenue is under the ceiling, so 中小微; 小型 bounds met.
    assert classify("工业", employees=5000, revenue_yuan=5_000_000).size == "小型"
    # 20 亿 revenue but 8 people: 微型 by head count alone.
    assert classify("零售业", employees=8, revenue_yuan=2_000_000_000).size == "微型"
    # 建筑业 uses 资产总额, not head count: a big payroll changes nothing.
    assert classify("建筑业", employees=5000, revenue_yuan=70_000_000, total_assets_yuan=40_000_000).size == "小型"


def _grid(std):
    """Values at, just below and far above every bound of ``std``, per criterion."""
    out = []
    for key in std.criteria:
        i = std.criteria.index(key)
        bounds = {_real(key, b[i]) for b in (std.ceiling, std.medium, std.small, std.micro)}
        out.append(sorted({0} | bounds | {b - 1 for b in bounds} | {10 * max(bounds)}))
    return out


@pytest.mark.parametrize("cat", list(TABLE))
def test_every_input_gets_exactly_one_size_and_more_never_means_smaller(cat):
    std = STANDARDS[cat]
    grid = _grid(std)
    rank = {s: i for i, s in enumerate(reversed(SIZES))}  # 微型 0 … 大型 3
    seen = set()
    for combo in itertools.product(*grid):
        size = classify(cat, **dict(zip(std.criteria, combo))).size
        assert size in SIZES
        seen.add(size)
        for i in range(len(combo)):  # raising one criterion to its next grid value
            bigger = list(combo)
            later = [v for v in grid[i] if v > combo[i]]
            if later:
                bigger[i] = later[0]
                assert rank[classify(cat, **dict(zip(std.criteria, bigger))).size] >= rank[size]
    assert seen == set(SIZES)


# ---- missing data ---------------------------------------------------------

def test_micro_is_decided_by_either_criterion_alone():
    by_people = classify("零售业", employees=9)
    assert by_people.size == "微型" and by_people.missing == [] and by_people.needs is None
    by_revenue = classify("零售业", revenue_yuan=999_999)
    assert by_revenue.size == "微型"
    by_assets = classify("租赁和商务服务业", total_assets_yuan=500_000)
    assert by_assets.size == "微型"


def test_missing_revenue_is_asked_for_when_it_decides_the_tier():
    r = classify("零售业", employees=30)
    assert r.size is None
    assert r.category == "零售业"
    assert r.missing == ["revenue_yuan"]
    assert "营业收入" in r.needs
    assert "从业人员10人及以上且营业收入100万元及以上的为小型企业" in r.rule  # the whole row, to explain


def test_head_count_above_the_ceiling_does_not_make_a_large_enterprise_without_revenue():
    r = classify("工业", employees=5000)
    assert r.size is None and r.missing == ["revenue_yuan"]


def test_construction_and_real_estate_need_total_assets():
    r = classify("建筑业", revenue_yuan=1_000_000_000)
    assert r.size is None and r.missing == ["total_assets_yuan"] and "资产总额" in r.needs
    r = classify("房地产开发经营", revenue_yuan=50_000_000)
    assert r.size is None and r.missing == ["total_assets_yuan"]
    assert classify("房地产开发经营", revenue_yuan=50_000_000, total_assets_yuan=60_000_000).size == "中型"


def test_nothing_given_asks_for_every_criterion_of_the_row():
    r = classify("工业")
    assert r.size is None and r.missing == ["employees", "revenue_yuan"]
    assert "从业人员" in r.needs and "营业收入" in r.needs


def test_single_criterion_rows_ignore_the_other_inputs():
    assert classify("农、林、牧、渔业", revenue_yuan=5_000_000).size == "中型"
    r = classify("农、林、牧、渔业", employees=3)
    assert r.size is None and r.missing == ["revenue_yuan"]
    assert classify("其他未列明行业", employees=150).size == "中型"
    assert classify("其他未列明行业", employees=150, revenue_yuan=1).size == "中型"


def test_negative_or_non_numeric_inputs_are_rejected():
    with pytest.raises(ValueError):
        classify("零售业", employees=-1, revenue_yuan=1_000_000)
    with pytest.raises(TypeError):
        classify("零售业", employees="30")


# ---- industries -------------------------------------------------------------

@pytest.mark.parametrize("name,category", [
    ("制造业", "工业"), ("采矿业", "工业"), ("电力、热力、燃气及水生产和供应业", "工业"), ("C", "工业"),
    ("农、林、牧、渔业", "农、林、牧、渔业"), ("农林牧渔业", "农、林、牧、渔业"), ("建筑业", "建筑业"),
    ("租赁和商务服务业", "租赁和商务服务业"), ("科学研究和技术服务业", "其他未列明行业"),
    ("教育", "其他未列明行业"), ("卫生和社会工作", "其他未列明行业"), ("文化、体育和娱乐业", "其他未列明行业"),
    ("零售", "零售业"), ("批发", "批发业"), ("餐饮", "餐饮业"), ("饭店", "餐饮业"), ("奶茶店", "餐饮业"),
    ("酒店", "住宿业"), ("软件", "软件和信息技术服务业"), ("软件公司", "软件和信息技术服务业"),
    ("超市", "零售业"), ("快递", "邮政业"), ("仓库", "仓储业"), ("物业公司", "物业管理"),
    ("房地产开发", "房地产开发经营"), ("房产中介", "其他未列明行业"), ("装修公司", "建筑业"),
    ("ＩＴ公司", "软件和信息技术服务业"),
])
def test_industry_names_resolve_to_the_standards_category(name, category):
    assert resolve_industry(name) == (category,)


def test_colloquial_industry_classifies_like_the_category():
    assert classify("饭店", employees=12, revenue_yuan=1_500_000).size == "小型"
    assert classify("餐饮业", employees=12, revenue_yuan=1_500_000).size == "小型"
    assert classify("软件", employees=10, revenue_yuan=500_000).size == "小型"  # 软件 小型 starts at 50万


def test_wholesale_and_retail_section_asks_which_when_answers_differ():
    # 30 people, 300万: 零售业 小型 but 批发业 微型 (revenue < 1000万).
    assert classify("零售业", employees=30, revenue_yuan=3_000_000).size == "小型"
    assert classify("批发业", employees=30, revenue_yuan=3_000_000).size == "微型"
    r = classify("批发和零售业", employees=30, revenue_yuan=3_000_000)
    assert r.size is None
    assert r.needs == "请问是批发还是零售？"
    assert r.candidates == ["批发业", "零售业"]
    assert "industry" in r.missing


def test_wholesale_and_retail_section_decides_when_both_agree():
    r = classify("批发和零售业", employees=3)
    assert r.size == "微型" and r.needs is None
    assert "批发业" in r.rule and "零售业" in r.rule and CITE in r.rule
    assert classify("批发和零售业", employees=100, revenue_yuan=100_000_000).size == "中型"


def test_accommodation_and_catering_share_one_table_so_never_ask_which():
    r = classify("住宿和餐饮业", employees=150, revenue_yuan=30_000_000)
    assert r.size == "中型" and r.needs is None
    missing = classify("住宿和餐饮业", employees=50)
    assert missing.size is None and missing.missing == ["revenue_yuan"]
    assert "住宿" not in missing.needs  # asks for the number, not the sub-category


def test_information_section_asks_transmission_or_software():
    # 50 people, 80万: 软件 小型 (≥50万) but 信息传输 微型 (<100万).
    r = classify("信息传输、软件和信息技术服务业", employees=50, revenue_yuan=800_000)
    assert r.size is None and "信息传输" in r.needs and "软件" in r.needs
    assert classify("信息传输、软件和信息技术服务业", employees=50, revenue_yuan=2_000_000).size == "小型"


def test_transport_section_asks_among_transport_storage_and_post():
    # 50 people, 150万: 交通运输业 微型 (<200万); 仓储业 and 邮政业 小型.
    r = classify("交通运输、仓储和邮政业", employees=50, revenue_yuan=1_500_000)
    assert r.size is None
    assert r.needs == "请问是交通运输、仓储还是邮政快递？"
    assert r.candidates == ["交通运输业", "仓储业", "邮政业"]
    assert classify("交通运输、仓储和邮政业", employees=10).size == "微型"


def test_real_estate_section_asks_development_or_property_management():
    r = classify("房地产业", employees=200, revenue_yuan=20_000_000, total_assets_yuan=60_000_000)
    assert r.size is None
    assert "房地产开发经营" in r.needs and "物业管理" in r.needs
    tiny = classify("房地产业", employees=5, revenue_yuan=500_000, total_assets_yuan=10_000_000)
    assert tiny.size == "微型"


def test_ambiguous_section_without_numbers_asks_the_sub_category_and_lists_inputs():
    r = classify("批发和零售业")
    assert r.size is None and r.needs == "请问是批发还是零售？"
    assert r.missing == ["industry", "employees", "revenue_yuan"]


def test_finance_and_railways_are_outside_the_standard():
    fin = classify("金融业", employees=10, revenue_yuan=1_000_000)
    assert fin.size is None and fin.needs is None and "银发〔2015〕309号" in fin.rule
    rail = classify("铁路运输", employees=10, revenue_yuan=1_000_000)
    assert rail.size is None and rail.needs is None and "铁路运输业" in rail.rule


def test_unknown_industry_asks_for_the_industry():
    r = classify("不知道做什么的", employees=5)
    assert r.size is None and r.category is None
    assert r.missing == ["industry"] and "行业" in r.needs


# ---- parsing ---------------------------------------------------------------

@pytest.mark.parametrize("text,expected", [
    ("30个人", 30), ("三十人", 30), ("员工200多人", 200), ("有两百五十名员工", 250), ("一百零五人", 105),
    ("十二个人", 12), ("员工30", 30), ("30", 30), ("营收300万，员工30", 30), ("员工30人，营收300万", 30),
    ("1万人", 10000), ("２０人", 20), ("20人以上", 20),
])
def test_parse_employees(text, expected):
    assert parse_employees(text) == expected


@pytest.mark.parametrize("text", ["不到100人", "100人以下", "20-30人", "三四十人", "几十人", "营收300万", ""])
def test_parse_employees_refuses_bounds_ranges_and_vague_counts(text):
    assert parse_employees(text) is None


@pytest.mark.parametrize("text,expected", [
    ("年营收300万", 3_000_000), ("营业额3000万元", 30_000_000), ("1.5亿", 150_000_000),
    ("五百万", 5_000_000), ("3百万", 3_000_000), ("2千万", 20_000_000), ("两千万", 20_000_000),
    ("一千二百万", 12_000_000), ("1亿2000万元", 120_000_000), ("1.5亿元", 150_000_000),
    ("3000000元", 3_000_000), ("3,000,000元", 3_000_000), ("100多万", 1_000_000), ("三千五百元", 3_500),
    ("一亿五", 150_000_000), ("员工30人，营收三千万", 30_000_000), ("８０万", 800_000), ("50w", 500_000),
])
def test_parse_money_yuan(text, expected):
    assert parse_money_yuan(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["营收300", "30个人", "不到300万", "300万以下", "300-500万", "几百万", ""])
def test_parse_money_refuses_bare_numbers_bounds_and_ranges(text):
    assert parse_money_yuan(text) is None


def test_parsed_phrases_feed_classify():
    people = parse_employees("我们店员工三十个人")
    revenue = parse_money_yuan("去年营业额三百万元")
    assert (people, revenue) == (30, 3_000_000)
    assert classify("零售", employees=people, revenue_yuan=revenue).size == "小型"


def _categories(target):
    return set(target) if isinstance(target, tuple) else {target}


def test_the_standards_section_table_names_exactly_the_lexicons_sections():
    from bot.lexicon import load_lexicon
    from bot.sizeclass import _SECTION_TARGET

    sections = {i.name: i.code for i in load_lexicon().industries.values() if i.is_section}
    assert set(_SECTION_TARGET) == set(sections)
    for name, code in sections.items():  # the lexicon's code ("F") is read as its section
        assert resolve_industry(code) == _SECTION_TARGET[name]


def test_a_word_the_lexicon_knows_is_sized_within_the_lexicons_industry_for_it():
    """The chat reads "药店" as one industry (the lexicon) and sizes it by another word list
    (the standard's categories): both must agree, or a pharmacy would be searched as one
    trade and sized as another."""
    from bot.lexicon import load_lexicon
    from bot.sizeclass import _KEYWORD_LIST, _SECTION_TARGET

    lex = load_lexicon()
    checked, wrong = 0, []
    for word, _ in _KEYWORD_LIST:
        section = lex.canonical_industry(word)
        if section in _SECTION_TARGET:
            checked += 1
            if not _categories(resolve_industry(word)) <= _categories(_SECTION_TARGET[section]):
                wrong.append(f"{word}: {resolve_industry(word)} but the lexicon says {section}")
    assert checked >= 50 and not wrong, wrong
    for ind in lex.industries.values():  # and every self-description the lexicon has, the other way
        if ind.is_section:
            for alias in ind.aliases:
                got = resolve_industry(alias)
                assert got is None or _categories(got) <= _categories(_SECTION_TARGET[ind.name]), (alias, got)
