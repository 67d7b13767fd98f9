"""The handoff in headless Chromium, as the two people see it: an enterprise in the web widget
asks, votes and says "转人工"; a 12345 agent in the console sees the ticket arrive without a
reload, claims it and replies; the reply appears in the enterprise's widget. Also the answer's
next-step buttons and scroll position, and the offline banner's hotline."""
from __future__ import annotations

import re
import time

import pytest

from bot.inbox import Inbox
from tests.servers import aiohttp_in_thread, free_port
from tests.test_widget_browser import (ask, bot_texts, browser, lists_measures, open_fresh_widget,  # noqa: F401
                                       wait_for)  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TOKEN = "handoff-browser-token"


@pytest.fixture(scope="module")
def console(db_url, assistant):
    """The assist console (which also serves /widget/) on the assistant's inbox, on a real port."""
    from bot.assist.app import create_app

    with aiohttp_in_thread(lambda: create_app(database_url=db_url, token=TOKEN, inbox_url=assistant.inbox_url),
                           shutdown_timeout=2) as url:
        yield url


def click_ticket(browser, number):
    """Click the inbox row of ticket ``number``; its text, or None while it is not there. The
    list is re-rendered on every live event, so a row found a moment ago may be gone: retried."""
    from selenium.common.exceptions import StaleElementReferenceException
    try:
        li = next((li for li in browser.find_elements("css selector", "#tickets li") if number in li.text), None)
        if li is None:
            return None
        text = li.text
        li.click()
        return text
    except StaleElementReferenceException:
        return None


def js(driver, script, *args):
    return driver.execute_script(script, *args)


def test_handoff_from_the_widget_reaches_an_agent_and_the_reply_comes_back(browser, console, assistant):  # noqa: F811
    # the agent's console, open before the enterprise asks for a person
    browser.get(f"{console}/#token={TOKEN}")
    agent_tab = browser.current_window_handle
    wait_for(lambda: browser.find_element("id", "inbox-live").text == "实时更新中", 20)
    browser.find_element("id", "agent").send_keys("王坐席")

    browser.switch_to.new_window("tab")
    widget_tab = browser.current_window_handle
    open_fresh_widget(browser, console, assistant.port)
    ask(browser, "增城区小微企业有什么贷款贴息")
    wait_for(lambda: lists_measures(browser), driver=browser)
    answer = browser.find_elements("css selector", ".pa-bot")[-1]  # the answer's last message: its controls
    # the next steps are offered, the start of the answer is in view, and the answer can be voted on
    titles = [b.text for b in answer.find_elements("css selector", ".pa-quick")]
    assert titles[-4:] == ["更多", "第1条详细说说", "这个找谁", "转人工"]
    start = next(li for li in browser.find_elements("css selector", ".pa-bot") if li.find_elements("css selector", ".pa-card"))
    in_view = js(browser, "var li = arguments[0], log = li.parentNode;"
                          "return li.offsetTop >= log.scrollTop - 1 && li.offsetTop < log.scrollTop + log.clientHeight;",
                 start)
    assert in_view, "the start of the new answer is scrolled into view"
    assert not browser.find_elements("css selector", ".pa-typing")
    answer.find_element("css selector", ".pa-vote-btn").click()  # 有用
    sender = "widget:" + js(browser, "return window.PolicyAssistant.session()").split(".")[1]
    votes = wait_for(lambda: Inbox(assistant.inbox_url).votes(sender), 10)
    assert votes[0]["vote"] == "up" and "\n1. " in votes[0]["answer"] and "贷款贴息" in votes[0]["question"]

    # "转人工" by its button: a plain sentence, not the agent's summary
    next(b for b in answer.find_elements("css selector", ".pa-quick") if b.text == "转人工").click()
    said = wait_for(lambda: next((t for t in bot_texts(browser) if "已转给人工坐席" in t), None), 120, browser)
    assert "12345" in said and "摘要" not in said
    number = re.search(r"工单号(\d{8}-\d{4})", said).group(1)

    # the ticket appears in the console without a reload (found by its number: other tests of this
    # module's assistant may have left tickets with the same question in the inbox)
    browser.switch_to.window(agent_tab)
    item_text = wait_for(lambda: click_ticket(browser, number), 45)
    assert "待接单" in item_text and "贷款贴息" in item_text
    wait_for(lambda: "增城区" in browser.find_element("id", "t-summary").text, 10)
    assert "转人工" in browser.find_element("id", "t-conv").text
    assert "《" in browser.find_element("id", "t-measures").text
    browser.find_element("id", "t-claim").click()
    wait_for(lambda: browser.find_element("id", "t-send").is_enabled(), 10)
    browser.find_element("id", "t-reply").send_keys("您好，我是12345坐席，贴息申请材料我稍后发您。")
    browser.find_element("id", "t-send").click()
    wait_for(lambda: "已发送" in browser.find_element("id", "t-msg").text, 10)

    # the reply reaches the enterprise in the same widget conversation
    browser.switch_to.window(widget_tab)
    reply = wait_for(lambda: next((e.text for e in browser.find_elements("css selector", ".pa-agent .pa-bubble")), None),
                     45, browser)
    assert reply == "您好，我是12345坐席，贴息申请材料我稍后发您。"
    assert "人工坐席" in browser.find_element("css selector", ".pa-agent .pa-who").text

    # while the ticket is open, what the enterprise writes goes to the agent
    ask(browser, "好的，我的电话是020-12345678")
    wait_for(lambda: any("已转给人工坐席（工单" in t for t in bot_texts(browser)[-1:]), 45, browser)
    browser.switch_to.window(agent_tab)
    wait_for(lambda: "020-12345678" in browser.find_element("id", "t-conv").text, 45)

    # closing: the outcome is recorded, the enterprise is told, the bot answers again
    browser.find_element("id", "t-close").click()
    wait_for(lambda: "已结束" in browser.find_element("id", "t-title").text, 10)
    [t] = [t for t in Inbox(assistant.inbox_url).tickets("all") if t["sender"] == sender]
    assert t["status"] == "closed" and t["outcome"] == "已解答"
    browser.switch_to.window(widget_tab)
    wait_for(lambda: any("结束本次服务" in x for x in bot_texts(browser)), 45, browser)


def test_offline_banner_gives_the_hotline_after_a_few_retries(browser, console):  # noqa: F811
    dead = free_port()
    browser.get(f"{console}/widget/demo.html?server=http://127.0.0.1:{dead}")
    browser.execute_script("localStorage.clear()")
    browser.refresh()
    browser.find_element("css selector", ".pa-launcher").click()
    ask(browser, "天河区有什么政策")
    status = browser.find_element("css selector", ".pa-status")
    wait_for(lambda: "连不上服务器" in status.text, 10)
    first = status.text
    assert "12345" not in first  # the first failures only say it is retrying
    started = time.time()
    wait_for(lambda: "12345" in status.text, 30)
    assert "12345政务服务便民热线" in status.text and time.time() - started < 30
    assert browser.find_elements("css selector", ".pa-user.pa-pending")  # the message is kept, not lost


def test_one_card_per_measure_with_badge_amount_lead_unit_and_source(browser, console, assistant):  # noqa: F811
    open_fresh_widget(browser, console, assistant.port)
    ask(browser, "增城区小微企业有什么贷款贴息")
    wait_for(lambda: browser.find_elements("css selector", ".pa-card"), driver=browser)
    bubble = browser.find_elements("css selector", ".pa-bot .pa-bubble")[-1]
    cards = bubble.find_elements("css selector", ".pa-card")
    numbers = [c.find_element("css selector", ".pa-card-num").text for c in cards]
    assert numbers == ["1", "2", "3"]
    first = cards[0]
    assert first.find_element("css selector", ".pa-badge").text == "已过期"
    assert "总额最高20万元" in first.find_element("css selector", ".pa-card-amount").text
    assert "区科工商信局" in first.find_element("css selector", ".pa-card-units").text
    assert "20万元的贴息支持" in first.find_element("css selector", ".pa-card-sentence").text
    link = first.find_element("css selector", "a.pa-card-source")
    assert link.get_attribute("href").startswith("http://www.gz.gov.cn/") and "第（二）条第3项" in link.text
    # the long document title once for the answer, not on every card
    assert bubble.text.count("增城区坚决打赢新冠肺炎疫情防控阻击战") == 1
    # the text around the items stays (the hints), and no item line is shown twice
    assert "找到" in bubble.text and "看全文" in bubble.text  # the head and the follow-up hint
    assert bubble.text.count("可获得：50%") == 1


def test_a_document_without_a_url_links_to_the_articles_full_text(browser, console, assistant):  # noqa: F811
    open_fresh_widget(browser, console, assistant.port)
    ask(browser, "天河区开办企业有什么便利")
    link = wait_for(lambda: next(iter(browser.find_elements("css selector", ".pa-card a.pa-card-source")), None),
                    driver=browser)
    assert link.get_attribute("href").startswith(f"http://127.0.0.1:{assistant.port}/webhooks/widget/measure/")
    assert browser.find_element("css selector", ".pa-badge").text == "有效期未注明"
    browser.get(link.get_attribute("href"))
    assert "天河区全面优化营商环境行动方案" in browser.find_element("tag name", "h1").text
    assert "原文未附网址" in browser.page_source and "开办企业" in browser.find_element("tag name", "blockquote").text
