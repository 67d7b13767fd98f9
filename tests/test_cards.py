"""The widget's measure cards restate the results the text answer lists, and the text (what
REST and WeChat show) is unchanged by them; the article page a card links to when its
document has no URL."""
from __future__ import annotations

import pytest

from bot import chat
from bot.channels.webwidget import _measure_html


@pytest.fixture(autouse=True)
def _db(db_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db_url)


def test_cards_follow_the_listed_items():
    r = chat.find({"district": "增城区", "size": "小微企业"}, "增城区小微企业有什么贷款贴息")
    items = r.cards["items"]
    assert [c["number"] for c in items] == [1, 2, 3] and [c["id"] for c in items] == r.slots["shown_measures"]
    for c in items:
        line = next(x for x in r.messages[0].split("\n") if x.startswith(f"{c['number']}. "))
        assert c["sentence"][:30] in line  # the card's sentence is the item's
        assert c["validity"]["text"] in r.messages[0]
        assert c["citation"].startswith(c["document"]) and c["citation"].endswith(c["article"])
    assert items[0]["validity"]["badge"] == "已过期" and items[0]["lead_unit"] == "区科工商信局"
    assert items[0]["source"] == {"label": "查看原文", "external": True,
                                  "url": "http://www.gz.gov.cn/gfxwj/qjgfxwj/zcq/qf/content/post_5765008.html"}


def test_no_cards_when_nothing_is_listed_or_only_near_misses():
    assert chat.find({"district": "增城区"}, "增城区有什么火星移民补贴").cards is None
    assert chat.find({"district": "海淀区"}, "有什么补贴").cards is None


def test_more_pages_number_their_cards_on():
    first = chat.find({}, "融资担保有什么支持")
    assert "更多" in first.messages[0]  # more than one page
    more = chat.more({}, "融资担保有什么支持", 3, first.slots["shown_measures"])
    assert [c["number"] for c in more.cards["items"]][:1] == [4]
    assert more.cards["items"][0]["id"] == more.slots["shown_measures"][3]


def test_article_page_escapes_and_says_the_text_is_ours():
    page = _measure_html(chat.find({"district": "天河区"}, "开办企业").cards["items"][0]["id"])
    assert "原文未附网址" in page and "<blockquote>" in page and "<script" not in page
    assert _measure_html(10**9) is None
