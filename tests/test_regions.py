"""Places from the national list of divisions (GB/T 2260, bot/regions.py): a place the
documents do not cover is said to be one, not searched for as a word."""
from __future__ import annotations

import pytest

from bot import chat, regions


@pytest.fixture(autouse=True)
def measures_db(db_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db_url)


def test_the_national_list_is_there():
    assert regions.available()
    assert regions.short_form("顺德区") == "顺德" and regions.short_form("恩施土家族苗族自治州") == "恩施土家族苗族"


@pytest.mark.parametrize("question, place", [("顺德的工厂租金有补贴吗", "顺德"), ("义乌小商品企业有补贴吗", "义乌"),
                                             ("和平区有什么政策", "和平区"), ("普陀的企业租金减免", "普陀")])
def test_a_division_we_do_not_cover_is_said_to_be_one(question, place):
    r = chat.find({}, question)
    text = r.messages[0]
    assert f"目前还没有收录{place}的政策文件" in text and "12345" in text
    assert not r.slots.get("shown_measures")  # no measure of another region offered as the answer


@pytest.mark.parametrize("question", ["东方市场管理有什么政策", "增城区小微企业贷款贴息", "珠海香洲区企业有什么政策"])
def test_words_and_covered_regions_are_not_read_as_other_places(question):
    r = chat.find({}, question)
    assert "目前还没有收录" not in r.messages[0] and r.slots.get("shown_measures")
