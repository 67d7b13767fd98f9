"""The parser against the five real documents: counts and spot checks a person can verify in the text."""
from __future__ import annotations

import datetime as dt
import re
from collections import Counter

import pytest

from bot.ingest import parse_all
from bot.textnorm import LOST_CHAR, to_simplified


@pytest.fixture(scope="module")
def docs():
    return {d.key: d for d in parse_all()}


def test_measure_counts_per_document(docs):
    counts = {k: len(d.measures) for k, d in docs.items()}
    assert counts == {"000": 111, "001": 32, "002": 54, "003": 8, "004": 10}
    assert len({m.item_number for m in docs["000"].measures}) == 32


def test_000_every_clause_has_a_lead_unit_and_the_document_validity(docs):
    for m in docs["000"].measures:
        assert m.lead_units, m.text[:40]
        assert m.valid_until is not None and m.valid_until <= dt.date(2020, 12, 31)
    assert docs["000"].valid_until == dt.date(2020, 12, 31)


def test_000_loan_interest_measure(docs):
    loan = [m for m in docs["000"].measures if "贴息支持" in m.text]
    assert len(loan) == 1
    m = loan[0]
    assert m.item_number == "(二)"
    assert m.lead_units == ["区科工商信局"]
    assert m.valid_until == dt.date(2020, 12, 31)
    caps = [a for a in m.amounts if a.unit == "元" and a.qualifier and "最高" in a.qualifier]
    assert caps and caps[0].value == 200000
    assert any(a.unit == "%" and a.value == 50 for a in m.amounts)
    assert "融资贴息" in m.tags["topic"]


def test_000_per_person_subsidy_amount(docs):
    m = next(m for m in docs["000"].measures if "一次性招用工补贴" in m.text)
    per_person = [a for a in m.amounts if a.qualifier == "每人"]
    assert per_person and per_person[0].value == 500
    assert set(m.tags["size"]) == {"中型", "小型", "微型"}  # 中小企业 expanded


def test_000_measure_with_its_own_period(docs):
    m = next(m for m in docs["000"].measures if "到户电价水平的95%" in m.text)
    assert m.valid_until == dt.date(2020, 6, 30)
    assert m.validity_source == "measure"


def test_000_co_units_after_huitong(docs):
    m = next(m for m in docs["000"].measures if "拨付进度不低于70%" in m.text)
    assert m.lead_units == ["区财政局"]
    assert m.responsible_units == ["区各相关产业扶持部门"]


def test_001_tasks_have_no_lead_unit(docs):
    d = docs["001"]
    assert all(not m.lead_units and not m.responsible_units for m in d.measures)
    assert [m.item_number for m in d.measures] == [f"{i}." for i in range(1, 33)]
    assert d.meta["contact"]["unit"] == "区发展改革局"
    assert Counter(m.section_heading for m in d.measures)["实施政务服务提速工程"] == 6


def test_002_units_deadlines_and_pdf_repairs(docs):
    by_no = {m.item_number: m for m in docs["002"].measures}
    five = by_no["5."]
    assert five.lead_units == []
    assert five.responsible_units == ["经发局", "区供电公司"]
    assert five.deadline_text == "2021年6月底"
    assert five.deadline == dt.date(2021, 6, 30)
    one = by_no["1."]
    assert one.lead_units == ["自然资源和规划分局"]
    assert one.responsible_units == ["社发局", "住建局", "拆迁办"]
    # "牵 头单位" / "自然资 源" spacing and mid-sentence line breaks repaired
    for m in docs["002"].measures:
        assert not re.search(r"[\u4e00-\u9fff] [\u4e00-\u9fff]", m.text), m.text[:60]
    assert "从提出正式用电申请到完成装表接电" in five.text
    assert by_no["44."].responsible_units == ["市场监管分局", "社保局"]
    assert by_no["16."].responsible_units[-1] == "综合执法局"  # "综合执法局等"


def test_003_clean_simplified_text(docs):
    d = docs["003"]
    assert [m.item_number for m in d.measures] == ["一、一是", "一、二是", "一、三是", "二、一是", "二、二是",
                                                   "三、一是", "三、二是", "三、三是"]
    for m in d.measures:
        for field in (m.text, m.item_heading):
            assert not re.search(r"\([a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]+\)", field), field[:60]
            assert to_simplified(field) == field, "traditional characters left"
            assert "?" not in field
        assert not m.lead_units
    assert any(LOST_CHAR in m.text for m in d.measures), "lost characters must stay visibly marked"
    assert "复工复产" in d.measures[0].text


def test_004_header_sizes_and_regions(docs):
    d = docs["004"]
    assert d.sizes == ["中型", "小型", "微型"]
    assert {"珠海市", "香洲区", "斗门区", "金湾区", "横琴", "高新区"} <= set(d.regions)
    assert all(m.lead_units for m in d.measures)
    assert docs["004"].measures[0].lead_units == ["市政府办公室", "市发展改革局"]
    assert all(set(m.tags["size"]) == {"中型", "小型", "微型"} for m in d.measures)
    assert d.valid_until is None and d.header["有效期至"] == "文件中未注明"


def _finite_language(pattern: str):
    """Every string a finite regex (literals, groups, alternatives) matches; anything else
    in the pattern raises, so a pattern that stops being a plain word list fails loudly."""
    import sre_constants
    import sre_parse

    def expand(items):
        out = [""]
        for op, av in items:
            if op is sre_constants.LITERAL:
                alts = [chr(av)]
            elif op is sre_constants.SUBPATTERN:
                alts = expand(av[-1])
            elif op is sre_constants.BRANCH:
                alts = [w for branch in av[1] for w in expand(branch)]
            else:
                raise AssertionError(f"not a word list: {op}")
            out = [o + a for o in out for a in alts]
        return out

    return expand(sre_parse.parse(pattern))


def test_every_size_word_the_ingest_tags_is_a_size_the_lexicon_knows():
    """ingest keeps its own pattern of size words (document wording, "小微贷款"); each must
    tag the measure with lexicon sizes, else a measure "for 中小企业" would count as open
    to every size."""
    from bot.ingest import SIZE_MENTION, ParsedMeasure, tag_measure
    from bot.lexicon import load_lexicon

    lex = load_lexicon()
    words = _finite_language(SIZE_MENTION.pattern)
    assert len(words) >= 10
    for word in words:
        m = ParsedMeasure("一", "", "（一）", "", 1, f"对{word}给予支持。", 1)
        tag_measure(m, ["增城区"], [], lex)
        assert m.tags["size"] and set(m.tags["size"]) <= set(lex.sizes), word


@pytest.mark.parametrize("text, limits", [
    ("对参加境外展会的外贸企业给予补助", ["外贸"]),
    ("对未享受上级贴息补贴的省市区农业龙头企业进行贴息补贴", ["农、林、牧、渔业", "农业龙头企业"]),
    ("指导银行机构对受疫情影响较大的住宿餐饮、交通运输、批发零售、文化旅游等企业不盲目抽贷",
     ["交通运输、仓储和邮政业", "住宿和餐饮业", "批发和零售业", "文化旅游"]),
    ("支持疫情防控产品生产企业满负荷生产", ["制造业", "防疫物资"]),
    # passing mentions: the clause is for every enterprise
    ("协助有需求的相关企业开立自由贸易(FT)账户,鼓励金融机构化解企业资金周转困难,增加涉农和小微贷款", []),
    ("工业用地出让一律签订制式监管协议", []),
    ("将用工保障、交通物流保障、原材料保障等服务企业的好措施延续下去", []),
    ("推进工程建设、环保、食品安全、税务等重点公共行业领域的信用分级分类监管", []),
    ("鼓励金融机构积极化解企业尤其是餐饮企业资金周转困难", []),  # stressed, not the only ones
])
def test_an_industry_limits_a_clause_only_when_the_clause_is_for_it(text, limits):
    from bot.ingest import industry_limits
    from bot.lexicon import load_lexicon
    assert sorted(industry_limits(text, load_lexicon())) == sorted(limits)


@pytest.mark.parametrize("text, sizes", [
    ("鼓励金融机构积极化解企业尤其是中小企业资金周转困难", []),
    ("对承租用于线下实体经营的中小微企业减免租金", ["中型", "小型", "微型"]),
    ("增加涉农和小微贷款", ["小型", "微型"]),
])
def test_a_stressed_size_is_no_limit(text, sizes):
    from bot.ingest import size_limits
    from bot.lexicon import load_lexicon
    assert size_limits(text, load_lexicon()) == sizes


def test_a_passing_mention_does_not_tell_an_enterprise_the_clause_is_not_for_it(db_url, monkeypatch):
    """The FT-account clause mentions 涉农 loans in passing: a software company asking about FT
    accounts gets the clause, not "限定农、林、牧、渔业，按原文不适用"."""
    from bot import chat
    monkeypatch.setenv("DATABASE_URL", db_url)
    r = chat.find({"industry": "信息传输、软件和信息技术服务业"}, "我们想开个FT账户，区里能帮忙吗")
    text = r.messages[0]
    assert "自由贸易(FT)账户" in text and "按原文不适用" not in text and r.slots["shown_measures"]


def test_a_sum_the_government_mobilised_is_no_benefit_an_enterprise_gets():
    from bot.ingest import extract_amounts
    kinds = {a.raw: a.kind for a in extract_amounts(
        "发动区内国资物业、园区为企业减免租金2500万元,带动全区商务楼宇、园区减免租金和物业管理费超过1亿元。"
        "为新投产疫情防控重要物资的工业企业给予最高500万元的3年免息借款。")}
    assert kinds == {"2500万元": "fund", "1亿元": "fund", "最高500万元": "benefit"}
