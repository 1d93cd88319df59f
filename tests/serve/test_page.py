"""The search page (src/dshgan/serve/static/) in a real browser: Debian's chromium, driven by
Selenium through the system chromedriver (nothing downloaded). Upload an image, see k results
with the query itself first at distance 0, "more like this", the URL's state, back."""

from __future__ import annotations

import json
import os
import shutil
import urllib.request

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver") or (
    "/usr/bin/chromedriver" if os.path.exists("/usr/bin/chromedriver") else None)
K = 5


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM and CHROMEDRIVER):
        if os.environ.get("CI"):
            pytest.fail("chromium and chromium-driver are missing: .ci/run installs them")
        pytest.skip("needs Debian's chromium and chromium-driver (apt-get install -y chromium "
                    "chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1100,900"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def waiting(browser, seconds: float = 30):
    """A wait that retries when the page re-renders the element it was reading: the results
    list is replaced on each search, and a slow machine can read an element just before."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, seconds, ignored_exceptions=(StaleElementReferenceException,))


def item_id(base: str, path: str) -> int:
    for id in range(24):
        with urllib.request.urlopen(f"{base}/api/items/{id}") as r:
            if json.load(r)["path"] == path:
                return id
    raise KeyError(path)


def test_upload_more_like_this_and_url_state(browser, live_server, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    base, index_path = live_server
    wait = waiting(browser)
    browser.get(f"{base}/?k={K}")
    wait.until(lambda d: "24 images" in d.find_element(By.ID, "index-info").text)

    query = index_path.parent / "images" / "dog" / "03.png"
    browser.find_element(By.ID, "file").send_keys(str(query))
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#results li.result")) == K)
    results = browser.find_elements(By.CSS_SELECTOR, "#results li.result")
    own = item_id(base, "dog/03.png")
    assert int(results[0].get_attribute("data-id")) == own
    assert results[0].find_element(By.CLASS_NAME, "distance").text == "distance 0"
    assert results[0].find_element(By.CLASS_NAME, "label").text == "dog"
    assert f"similar={own}" in browser.current_url and f"k={K}" in browser.current_url
    assert browser.find_element(By.ID, "query-code").text.endswith("(48 bits)")
    assert "precision" in browser.find_element(By.ID, "summary").text
    for img in browser.find_elements(By.CSS_SELECTOR, "#results img, #query img"):
        assert img.get_attribute("alt").strip()
    wait.until(lambda d: all(d.execute_script("return arguments[0].complete && "
                                              "arguments[0].naturalWidth > 0", img)
                             for img in d.find_elements(By.CSS_SELECTOR, "#results img")))
    browser.save_screenshot(str(tmp_path / "serve.png"))
    assert (tmp_path / "serve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    second = int(results[1].get_attribute("data-id"))
    button = results[1].find_element(By.CSS_SELECTOR, "button.more")
    assert button.get_attribute("aria-label").startswith("More like this")
    button.send_keys(Keys.ENTER)  # from the keyboard, as a button must allow
    wait.until(lambda d: f"similar={second}" in d.current_url)
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#results li.result")
               .get_attribute("data-id") == str(second))
    assert f"k={K}" in browser.current_url
    assert browser.switch_to.active_element.get_attribute("id") == "results-heading"

    browser.back()  # the URL is the state: going back shows the first search again
    wait.until(lambda d: f"similar={own}" in d.current_url)
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#results li.result")
               .get_attribute("data-id") == str(own))

    browser.get(f"{base}/?similar={second}&k=3")  # a shared link opens the same search
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#results li.result")) == 3)
    assert browser.find_element(By.CSS_SELECTOR, "#results li.result") \
        .get_attribute("data-id") == str(second)
    assert browser.find_element(By.ID, "k").get_attribute("value") == "3"


def test_errors_are_shown_not_thrown(browser, live_server, tmp_path):
    from selenium.webdriver.common.by import By

    base, _ = live_server
    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    browser.get(f"{base}/")
    waiting(browser).until(
        lambda d: "images" in d.find_element(By.ID, "index-info").text)
    browser.find_element(By.ID, "file").send_keys(str(bad))
    message = waiting(browser).until(
        lambda d: d.find_element(By.ID, "message").text.startswith("Search failed")
        and d.find_element(By.ID, "message").text)
    assert message.startswith("Search failed: 415") and "not an image" in message
    assert browser.find_element(By.ID, "message").get_attribute("role") == "alert"
