"""The trainers' review page in headless Chromium: the agents' token is turned away with a sentence
saying which token to use; with the trainers' token a misread message is listed, the trainer marks
an entity in it, picks the intent, adds it, and the line is in the reviewed file and the row gone;
the agents' console turns the trainers' token away the same way.

Needs Debian's chromium + chromium-driver and selenium (skips cleanly without, as
tests/test_assist_browser.py)."""
from __future__ import annotations

import asyncio

import pytest
import yaml

from tests.test_assist_browser import CHROMEDRIVER, CHROMIUM, browser  # noqa: F401  (fixture)
from tests.test_trainer import AGENT, TRAINER, _store_conversation

pytestmark = pytest.mark.browser

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.select import Select  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture
def review_server(db_url, tmp_path):
    from bot.assist.app import create_app
    from tests.servers import aiohttp_in_thread
    tracker = tmp_path / "tracker.db"
    asyncio.run(_store_conversation(tracker, "u1", [("中型", "greet", 0.35, []),
                                                   ("增城区小微企业有什么贷款贴息政策", "ask_measures", 0.97, [])]))
    reviewed = tmp_path / "nlu_reviewed.yml"
    with aiohttp_in_thread(lambda: create_app(database_url=db_url, token=AGENT, trainer_token=TRAINER,
                                              inbox_url=f"sqlite:///{tmp_path / 'inbox.db'}",
                                              tracker_url=f"sqlite:///{tracker}", review_file=str(reviewed))) as url:
        yield url, reviewed


def test_trainer_corrects_a_misread_message(review_server, browser):  # noqa: F811
    url, reviewed = review_server
    wait = WebDriverWait(browser, 20)
    browser.get(url + "/review")
    token = wait.until(EC.visibility_of_element_located((By.ID, "token-input")))
    # an agent's token: refused, and told which one to use
    token.send_keys(AGENT, Keys.ENTER)
    wait.until(lambda d: "训练员令牌" in d.find_element(By.ID, "token-msg").text
               and "坐席令牌" in d.find_element(By.ID, "token-msg").text)
    assert not browser.find_element(By.ID, "review").is_displayed()

    browser.find_element(By.ID, "token-input").send_keys(TRAINER, Keys.ENTER)
    row = wait.until(EC.visibility_of_element_located((By.CSS_SELECTOR, "#r-list li[data-key]")))
    assert "中型" in row.text and "置信度低" in row.text and "greet 35%" in row.text
    assert "贷款贴息" not in browser.find_element(By.ID, "r-list").text
    row.click()
    wait.until(EC.visibility_of_element_located((By.ID, "r-editor")))
    Select(browser.find_element(By.ID, "r-intent")).select_by_value("inform")
    # the trainer selects "中型" in the sentence and marks it as a size
    browser.execute_script("const i = document.getElementById('r-text'); i.focus(); i.setSelectionRange(0, 2);")
    Select(browser.find_element(By.ID, "r-entity-type")).select_by_value("size")
    browser.find_element(By.ID, "r-mark").click()
    assert browser.find_element(By.ID, "r-preview").text == "- [中型](size)"
    browser.find_element(By.ID, "r-add").click()
    wait.until(lambda d: "已写入" in d.find_element(By.ID, "status").text)
    assert "[中型](size)" in browser.find_element(By.ID, "status").text
    wait.until(lambda d: "没有待审核的消息" in d.find_element(By.ID, "r-list").text)
    doc = yaml.safe_load(reviewed.read_text(encoding="utf-8"))
    assert doc["nlu"] == [{"intent": "inform", "examples": "- [中型](size)\n"}]

    # and the agents' console turns the trainers' token away, saying so
    browser.get(url + "/#token=" + TRAINER)
    wait.until(lambda d: "训练员令牌" in d.find_element(By.ID, "token-msg").text)
    assert not browser.find_element(By.ID, "console").is_displayed()
