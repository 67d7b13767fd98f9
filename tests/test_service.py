"""The conversation's building blocks without Rasa: follow-ups, validation, size, handoff."""
from __future__ import annotations

import pytest

from bot import service


@pytest.fixture(autouse=True)
def measures_db(db_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db_url)


def test_followups_resolve_against_the_listed_numbers():
    first = service.find({"district": "增城区", "size": "小微企业", "topic": "融资贴息"}, "贷款贴息")
    shown = first.slots["shown_measures"]
    assert len(shown) == 3 and "1. " in first.messages[0]
    page2 = service.more({"district": "增城区", "size": "小微企业", "topic": "融资贴息"}, "贷款贴息", 3, shown)
    shown2 = page2.slots["shown_measures"]
    assert shown2[:3] == shown and len(shown2) > 3
    assert "第4" in page2.messages[0] and "4. " in page2.messages[0]
    d = service.detail("第四条详细说说", shown2, None)
    assert d.slots["focus_measure"] == shown2[3]
    assert "还没有" in service.detail("第一条", [], None).messages[0]
    assert "第1到第" in service.detail("第9条", shown, None).messages[0]


@pytest.mark.parametrize("text, n", [("第2条详细说说", 2), ("第二个", 2), ("第十二条", 12), ("3号", 3), ("第 1 条", 1),
                                     ("第二十条", 20), ("詳細說說第三條", 3), ("这个", None)])
def test_parse_ordinal(text, n):
    assert service.parse_ordinal(text) == n


def test_validation_maps_colloquial_words_and_rejects_uncovered_districts():
    assert service.validate_district("天河").slots == {"district": "天河区"}
    assert service.validate_district("广州").slots == {"district": "广州市"}
    bad = service.validate_district("越秀区")
    assert bad.slots == {"district": None} and "增城区" in bad.messages[0]
    assert service.validate_district("火星").slots == {"district": None}
    assert service.validate_district("不限").slots == {"district": "不限"}
    assert service.validate_industry("奶茶店").slots == {"industry": "住宿和餐饮业"}
    assert service.validate_industry("饭店").slots == {"industry": "住宿和餐饮业"}
    assert service.validate_industry("xyz").slots == {"industry": None}
    assert service.validate_size("小微").slots == {"size": "小微"}
    assert service.validate_size("个体户").slots == {"size": "个体户"}
    assert service.validate_size("巨大").slots == {"size": None}


def test_size_class_from_employees_and_revenue():
    r = service.size_class("零售", "30个人", "300万")
    assert r.slots == {"size": "小型"} and "300号" in r.messages[0]
    assert "行业" in service.size_class(None, "30人", "300万").messages[0]
    ask = service.size_class("批发和零售业", "30人", "300万")
    assert "批发" in ask.messages[0] and not ask.slots


def test_handoff_summarises_for_the_agent():
    first = service.find({"district": "天河区", "topic": "税费"}, "纳税服务")
    r = service.handoff({"district": "天河区", "topic": "税费"}, "纳税服务", first.slots["shown_measures"])
    assert "12345" in r.messages[0]
    assert "天河区" in r.messages[1] and "纳税服务" in r.messages[1] and "《天河区全面优化营商环境行动方案》" in r.messages[1]
