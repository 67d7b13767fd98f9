"""The assist console in headless Chromium: type a question, see measures, change the district, see them change.

Needs Debian's chromium + chromium-driver (``apt-get install -y chromium chromium-driver``) and selenium
in the venv; skips cleanly without either. Saves a phone-width screenshot under tests/artifacts/.
"""
from __future__ import annotations

import base64
import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
TOKEN = "browser-test-token-5Kq"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=390,844", "--lang=zh-CN"]
PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True}

if not Path(CHROMIUM).exists() or not Path(CHROMEDRIVER).exists():
    pytest.skip("chromium / chromium-driver not installed (apt-get install -y chromium chromium-driver)",
                allow_module_level=True)
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed in the venv")
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.select import Select  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture
def live_server(db_url):
    """The console on a real port, in its own thread and event loop (selenium calls block)."""
    from bot.assist.app import create_app
    from tests.servers import aiohttp_in_thread

    with aiohttp_in_thread(lambda: create_app(database_url=db_url, token=TOKEN)) as url:
        yield url


@pytest.fixture
def browser(tmp_path):
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in FLAGS:
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    driver = webdriver.Chrome(options=opts, service=Service(executable_path=CHROMEDRIVER))
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    try:
        yield driver
    finally:
        driver.quit()


def citations(driver):
    # read in one script: the list is re-rendered while the agent edits
    return driver.execute_script(
        "return [...document.querySelectorAll('#results .citation span')].map(e => e.textContent)")


def test_question_measures_and_district_change(live_server, browser):
    wait = WebDriverWait(browser, 20)
    browser.get(live_server + "/")

    # the token is asked for once and kept for the tab
    token_input = wait.until(EC.visibility_of_element_located((By.ID, "token-input")))
    token_input.send_keys(TOKEN, Keys.ENTER)
    wait.until(lambda d: len(Select(d.find_element(By.ID, "slot-district")).options) > 5)
    assert browser.switch_to.active_element.get_attribute("id") == "text"

    browser.find_element(By.ID, "text").send_keys("我在增城开了家小微企业，想问贷款贴息")
    wait.until(lambda d: citations(d) and all("增城区" in c for c in citations(d)))
    assert Select(browser.find_element(By.ID, "slot-district")).first_selected_option.get_attribute("value") == "增城区"
    first = browser.find_element(By.CSS_SELECTOR, "#results .card")
    assert "增府规〔2020〕1号" in first.find_element(By.CSS_SELECTOR, ".citation").text
    assert first.find_element(By.CSS_SELECTOR, ".badge").text == "已过期"
    assert "区科工商信局" in first.find_element(By.CSS_SELECTOR, ".units").text
    script = browser.find_element(By.ID, "script").get_attribute("value")
    assert "区科工商信局" in script and "已过期" in script

    # the agent corrects the district: results follow
    Select(browser.find_element(By.ID, "slot-district")).select_by_value("天河区")
    wait.until(lambda d: citations(d) and all("天河区" in c for c in citations(d)))
    assert "12345" in browser.find_element(By.ID, "script").get_attribute("value")
    assert "坐席设置" in browser.find_element(By.ID, "note-district").text

    # nothing overflows the phone width
    assert browser.execute_script("return document.documentElement.scrollWidth") <= PHONE["width"]

    ARTIFACTS.mkdir(exist_ok=True)
    size = browser.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    shot = browser.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": PHONE["width"], "height": min(size["height"], 6000), "scale": 1}})
    (ARTIFACTS / "assist-phone.png").write_bytes(base64.b64decode(shot["data"]))

    # a reload keeps the token (sessionStorage): no second prompt
    browser.refresh()
    wait.until(lambda d: len(Select(d.find_element(By.ID, "slot-district")).options) > 5)
    assert not browser.find_element(By.ID, "token-panel").is_displayed()
