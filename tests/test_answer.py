"""What the enterprise reads: numbered, honest about validity and units, within WeChat's limits."""
from __future__ import annotations

import re

from bot.answer import answer_text, measure_detail
from bot.channels.base import WECHAT_MAX_BYTES, split_for_wechat
from bot.query import Profile, find_measures
from tests.conftest import AS_OF


def answer(session, limit=3, **slots):
    qr = find_measures(session, Profile.from_slots(**slots), text=slots.get("topic") or "", as_of=AS_OF, limit=limit)
    return qr, answer_text(qr, page_size=limit)


def test_answer_is_numbered_with_amount_validity_citation_and_unit(session):
    qr, text = answer(session, district="增城区", size="小微企业", topic="贴息")
    assert text.count("\n1. ") + text.startswith("1. ") >= 1 and "\n2. " in text
    assert "可获得：" in text and "20万元" in text
    assert "有效期至2020年12月31日" in text and "已过期" in text
    # one document: its title once, then the article of each item
    assert text.count("《增城区坚决打赢") == 1 and "增府规〔2020〕1号" in text
    assert "出处：第（二）条第3项" in text
    assert "牵头单位：区科工商信局" in text
    assert "暂无该单位电话记录" in text and "12345" in text
    assert f"找到{qr.total}条" in text


def test_no_lead_unit_is_said_plainly_with_the_documents_contact(session):
    _, text = answer(session, district="天河区", topic="开办")
    assert "原文未写明牵头单位" in text
    assert "文件指明的联系部门：区发展改革局" in text
    assert "文件未注明有效期" in text and "发布于2020年4月1日" in text
    _, haizhu = answer(session, district="海珠区")
    assert "原文未写明牵头单位" in haizhu and "文件指明的联系部门" not in haizhu and "12345" in haizhu


def test_responsible_units_only_and_deadline(session):
    _, text = answer(session, limit=10, district="葛店", topic="水电气")
    assert "原文未列牵头单位；责任单位：经发局、区供电公司" in text
    assert "完成时限：2021年6月底（已过）" in text


def test_too_broad_question_says_how_many_and_how_to_narrow(session):
    qr, text = answer(session, district="增城区")
    assert qr.total == 111
    assert "共111条" in text and "先列前3条" in text and "更多" in text


def test_nothing_applies_is_said_plainly(session):
    qr, text = answer(session, district="珠海", size="大型")
    assert qr.total == 0 and "没有找到适用的措施" in text


def test_uncovered_district_lists_covered_ones(session):
    _, text = answer(session, district="越秀区")
    assert "没有收录越秀区" in text and "增城区" in text and "葛店开发区" in text


def test_detail_states_applicability_and_sources(session):
    qr = find_measures(session, Profile.from_slots(district="增城区"), text="工会经费", as_of=AS_OF, limit=1)
    text = measure_detail(qr.results[0], AS_OF)
    assert "适用规模：小型、微型" in text
    assert "有效期至2020年12月31日（本条自身规定的期限）" in text
    assert "区总工会" in text
    assert "原文：http://www.gz.gov.cn/" in text  # the only document that prints its URL


def test_every_answer_fits_wechat(session):
    for district in ("增城区", "天河区", "葛店开发区", "海珠区", "珠海市"):
        _, text = answer(session, district=district, limit=10)
        pieces = split_for_wechat(text)
        assert all(len(p.encode("utf-8")) <= WECHAT_MAX_BYTES for p in pieces)
        assert "".join(pieces).replace("\n", "") == text.replace("\n", "")
    assert split_for_wechat("字" * 5000) and all(len(p.encode()) <= WECHAT_MAX_BYTES for p in split_for_wechat("字" * 5000))


def test_qualification_is_shown_with_the_measure(session):
    _, text = answer(session, district="增城区", topic="贴息", limit=10)
    blocks = re.split(r"\n(?=\d+\. )", text)
    farm = next(b for b in blocks if "农业龙头企业进行贴息" in b)
    assert "原文提及的企业类别：农业龙头企业" in farm
    loan = next(b for b in blocks if "总额最高20万元" in b)
    assert "原文提及" not in loan  # "“四上”及“四下”" is not a restriction to 四上企业


def test_nothing_for_the_enterprise_still_names_the_clause_it_is_ruled_out_of(session):
    # the only clause about the thing asked is for small firms: a large one is told, with the article
    from sqlalchemy import select

    from bot import db
    from bot.query import QueryResult, get_measure
    mid = session.execute(select(db.Tag.measure_id).where(db.Tag.kind == "size", db.Tag.value == "小型")).scalars().first()
    limited = get_measure(session, mid, as_of=AS_OF)
    qr = QueryResult(profile=Profile.from_slots(size="大型"), as_of=AS_OF, total=0, offset=0, results=[],
                     found=False, question_words=["某事"], not_applying=[limited])
    text = answer_text(qr)
    assert text.startswith("已收录的文件中关于“某事”的措施，按原文不适用于您的企业")  # not "没有关于…"
    assert "没有关于" not in text
    assert limited.citation in text and "不适用于大型" in text and "12345" in text
