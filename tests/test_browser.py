"""End to end in headless Chromium (Debian `chromium` + `chromium-driver`, driven by Selenium)
against a real HTTP server over the demo index: type a query, see highlighted results, narrow by a
channel facet, open page 2, use the suggestions with the keyboard; screenshots go to tmp_path.

Skipped (with the reason) only when no Chromium/chromedriver is installed; Selenium Manager is
not used, since it would try to download a browser.
"""
from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e .[test])")
from selenium.common.exceptions import WebDriverException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
WAIT = 15


def _find_browser() -> tuple[str, str] | None:
    browser = next((p for p in map(shutil.which, BROWSERS) if p), None)
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


@pytest.fixture(scope="module")
def server(demo_index: Path) -> Iterator[str]:
    from werkzeug.serving import make_server

    from search_service.app import create_app

    app = create_app({"INDEX_DIR": str(demo_index), "QUERY_LOG": False})
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()
    thread.join(5)


@pytest.fixture(scope="module")
def browser():
    found = _find_browser()
    if found is None:
        pytest.skip("no Chromium + chromedriver on PATH (Debian: apt-get install chromium chromium-driver)")
    binary, driver_path = found
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,900", "--lang=zh-CN", "--disable-extensions"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        driver = webdriver.Chrome(service=Service(driver_path), options=options)
    except WebDriverException as exc:
        pytest.skip(f"Chromium could not be started by {driver_path}: {exc.msg}")
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def wait(driver):
    return WebDriverWait(driver, WAIT)


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def total(driver) -> int:
    return int(driver.find_element(By.CSS_SELECTOR, "strong.total").text)


def facet_counts(driver, kind: str) -> dict[str, int]:
    out = {}
    for link in driver.find_elements(By.CSS_SELECTOR, f"section.facet-{kind} li a"):
        value = link.find_element(By.CSS_SELECTOR, ".facet-value").get_attribute("textContent")
        out[value] = int(link.find_element(By.CSS_SELECTOR, ".facet-count").get_attribute("textContent"))
    return out


def csp_errors(driver) -> list[str]:
    try:
        logs = driver.get_log("browser")
    except WebDriverException:
        return []
    return [e["message"] for e in logs if "Content Security Policy" in e["message"] or e["level"] == "SEVERE"]


def test_search_facet_and_paging(browser, server, tmp_path: Path):
    d = browser
    d.get(server + "/")
    box = wait(d).until(EC.element_to_be_clickable((By.ID, "q")))
    assert d.switch_to.active_element == box  # autofocus on the start page
    box.send_keys("江城")
    # suggest.js shows the listbox while typing (progressive enhancement)
    wait(d).until(EC.visibility_of_element_located((By.CSS_SELECTOR, "#q-suggest li")))
    assert d.find_element(By.CSS_SELECTOR, "#q-suggest li").text == "江城"
    assert box.get_attribute("aria-expanded") == "true"
    box.send_keys(Keys.ENTER)
    wait(d).until(EC.url_contains("/search?"))
    assert query_of(d.current_url) == {"q": ["江城"]}

    marks = d.find_elements(By.CSS_SELECTOR, "ol.hits mark")
    assert marks and {m.text for m in marks} == {"江城"}
    assert total(d) == 34
    assert len(d.find_elements(By.CSS_SELECTOR, "ol.hits > li")) == 10
    before_years = facet_counts(d, "year")
    assert facet_counts(d, "channel")["体育"] == 5

    # Narrow to 体育: results and the other facets' counts change.
    d.find_element(By.XPATH, '//section[contains(@class,"facet-channel")]//a[.//span[text()="体育"]]').click()
    wait(d).until(EC.url_contains("channel="))
    assert query_of(d.current_url) == {"q": ["江城"], "channel": ["体育"]}
    assert total(d) == 5
    assert {e.text for e in d.find_elements(By.CSS_SELECTOR, "ol.hits .hit-channel")} == {"体育"}
    after_years = facet_counts(d, "year")
    assert after_years != before_years and sum(after_years.values()) == 5
    selected = d.find_element(By.CSS_SELECTOR, 'section.facet-channel a[aria-current="true"]')
    assert selected.find_element(By.CSS_SELECTOR, ".facet-value").text == "体育"
    d.save_screenshot(str(tmp_path / "filtered.png"))

    # Remove the filter again (the chip), then open page 2.
    d.find_element(By.CSS_SELECTOR, "ul.active-filters a").click()
    wait(d).until(lambda drv: "channel=" not in drv.current_url)
    assert total(d) == 34
    first_page = [a.get_attribute("href") for a in d.find_elements(By.CSS_SELECTOR, "ol.hits h2 a")]
    d.find_element(By.CSS_SELECTOR, 'nav.pagination a[aria-label="第 2 页"]').click()
    wait(d).until(EC.url_contains("page=2"))
    assert d.find_element(By.CSS_SELECTOR, "ol.hits").get_attribute("start") == "11"
    assert d.find_element(By.CSS_SELECTOR, 'nav.pagination [aria-current="page"]').text == "2"
    second_page = [a.get_attribute("href") for a in d.find_elements(By.CSS_SELECTOR, "ol.hits h2 a")]
    assert len(second_page) == 10 and not set(first_page) & set(second_page)
    assert d.find_elements(By.CSS_SELECTOR, "ol.hits mark")

    shot = tmp_path / "page2.png"
    assert d.save_screenshot(str(shot)) and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert csp_errors(d) == []


def test_suggestion_by_keyboard_and_phone_width(browser, server, tmp_path: Path):
    d = browser
    d.get(server + "/")
    box = wait(d).until(EC.element_to_be_clickable((By.ID, "q")))
    box.send_keys("zfb")
    wait(d).until(EC.visibility_of_element_located((By.CSS_SELECTOR, "#q-suggest li")))
    box.send_keys(Keys.ARROW_DOWN)
    assert box.get_attribute("aria-activedescendant") == "q-suggest-0"
    box.send_keys(Keys.ENTER)
    wait(d).until(EC.url_contains("/search?"))
    assert unquote(query_of(d.current_url)["q"][0]) == "支付宝"
    assert total(d) == 2

    d.set_window_size(390, 844)  # a phone
    try:
        d.get(server + "/search?q=" + "马拉松")
        width = d.execute_script("return document.documentElement.scrollWidth")
        assert width <= 390  # nothing forces sideways scrolling
        hits = d.find_element(By.CSS_SELECTOR, "ol.hits")
        facets = d.find_element(By.CSS_SELECTOR, "aside.facets")
        assert facets.location["y"] > hits.location["y"]  # one column: facets below the results
        shot = tmp_path / "phone.png"
        assert d.save_screenshot(str(shot)) and shot.stat().st_size > 0
    finally:
        d.set_window_size(1280, 900)
    assert csp_errors(d) == []
