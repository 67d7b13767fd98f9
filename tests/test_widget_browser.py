"""The web widget in headless Chromium (Debian's chromium + chromedriver, driven by Selenium).

Open the demo page served by the project, ask a real question, see a real
answer with its citation, reload and see the history, and see a clear message
when the server cannot be reached. A phone-width screenshot is kept in
tests/artifacts/.
"""
from __future__ import annotations

import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

import pytest

from tests.servers import free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture(scope="module")
def site(db_url):
    """The assist app (which serves /widget/) on a real port, in a thread."""
    import asyncio

    from aiohttp import web

    from bot.assist.app import create_app
    port = free_port()
    loop = asyncio.new_event_loop()
    runner_box = {}

    def serve():
        asyncio.set_event_loop(loop)
        runner = web.AppRunner(create_app(database_url=db_url, token="browser-test"))
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        runner_box["r"] = runner
        loop.run_forever()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    loop.call_soon_threadsafe(loop.stop)


@pytest.fixture()
def browser():
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("Debian chromium/chromium-driver not installed (scripts/test.sh installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="chromium-")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=390,844"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(30)
    # a phone screen (headless windows do not go below 500 px wide)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": False})
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def bot_texts(driver):
    return [e.text for e in driver.find_elements("css selector", ".pa-bot .pa-bubble")]


def lists_measures(driver):
    """The latest answer lists measures: one card each (bot/cards.py)."""
    bubbles = driver.find_elements("css selector", ".pa-bot .pa-bubble")
    return bool(bubbles) and bool(bubbles[-1].find_elements("css selector", ".pa-card"))


def wait_for(predicate, seconds=60.0, driver=None):
    deadline = time.time() + seconds
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    seen = bot_texts(driver) if driver else []
    raise AssertionError(f"timed out; the widget shows: {seen[-3:]}")


def ask(driver, text):
    box = driver.find_element("css selector", ".pa-input")
    box.send_keys(text)
    driver.find_element("css selector", ".pa-send").click()


def open_fresh_widget(driver, site, port):
    """The demo page with no stored conversation, chat window open."""
    driver.get(f"{site}/widget/demo.html?server=http://127.0.0.1:{port}")
    driver.execute_script("localStorage.clear()")
    driver.refresh()
    driver.find_element("css selector", ".pa-launcher").click()


def test_question_answer_reload_and_phone_screenshot(browser, site, assistant):
    browser.get(f"{site}/widget/demo.html?server=http://127.0.0.1:{assistant.port}")
    browser.find_element("css selector", ".pa-launcher").click()
    before = len(bot_texts(browser))
    started = time.perf_counter()
    ask(browser, "增城区小微企业有什么贷款贴息")
    wait_for(lambda: len(bot_texts(browser)) > before, driver=browser)
    if not any("增府规" in t for t in bot_texts(browser)):  # the form asked for the industry: skip it
        ask(browser, "跳过")
    answer = wait_for(lambda: next((t for t in bot_texts(browser) if "增府规〔2020〕1号" in t), None), driver=browser)
    elapsed = time.perf_counter() - started
    print(f"widget: question to rendered answer {elapsed * 1000:.0f} ms")
    assert "区科工商信局" in answer and "已过期" in answer
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "widget_phone_390.png"))
    width = browser.execute_script("return document.querySelector('.pa-panel').getBoundingClientRect().width")
    assert width == browser.execute_script("return window.innerWidth")  # full width on a phone

    browser.refresh()
    history = wait_for(lambda: [t for t in bot_texts(browser) if "增府规〔2020〕1号" in t], driver=browser)
    assert history, "the conversation survives a reload"
    assert browser.find_element("css selector", ".pa-panel").is_displayed()
    ask(browser, "第1条找谁")
    wait_for(lambda: any("牵头单位" in t and "区科工商信局" in t for t in bot_texts(browser)[-2:]), driver=browser)


def test_district_quick_reply_buttons(browser, site, assistant):
    open_fresh_widget(browser, site, assistant.port)
    # answered at once; the measures come from several districts, so those districts are offered
    ask(browser, "融资担保有什么支持")
    wait_for(lambda: lists_measures(browser))
    button = wait_for(lambda: next((b for b in browser.find_elements("css selector", ".pa-quick:not([disabled])")
                                    if b.text == "葛店开发区"), None))
    button.click()
    wait_for(lambda: any("按葛店开发区" in t for t in bot_texts(browser)[-1:]) and lists_measures(browser))


def test_unreachable_server_is_said_clearly(browser, site):
    dead = free_port()
    browser.get(f"{site}/widget/demo.html?server=http://127.0.0.1:{dead}")
    browser.find_element("css selector", ".pa-launcher").click()
    ask(browser, "天河区有什么政策")
    status = wait_for(lambda: (lambda el: el.is_displayed() and el.text)(browser.find_element("css selector", ".pa-status")), 20)
    assert "连不上服务器" in status
    assert browser.find_elements("css selector", ".pa-user.pa-pending")


def test_widget_uses_a_signed_session_and_shows_a_refusal_instead_of_retrying(browser, site, assistant):
    open_fresh_widget(browser, site, assistant.port)
    ask(browser, "你好")
    session = wait_for(lambda: browser.execute_script("return window.PolicyAssistant.session()"), driver=browser)
    assert session.startswith("w1.") and len(session.split(".")) == 3  # issued by the server, not made up
    before = len(bot_texts(browser))
    browser.execute_script("window.PolicyAssistant.send('增'.repeat(2001))")  # past the textarea's maxlength
    refusal = wait_for(lambda: next((t for t in bot_texts(browser)[before:] if "2000" in t), None), driver=browser)
    assert "分几次发送" in refusal
    assert not browser.find_elements("css selector", ".pa-user.pa-pending"), "not left waiting or retrying"
    assert not browser.find_element("css selector", ".pa-status").is_displayed()
