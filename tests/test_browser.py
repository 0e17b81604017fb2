"""End to end in headless Chromium (Debian `chromium` + `chromium-driver`, driven by Selenium)
against a real HTTP server over the demo index: type a query, see highlighted results, narrow by a
channel facet, open page 2, use the suggestions with the keyboard, and the page details (Esc,
suggestion kinds and bold prefix, timeline labels and widths, the month facet, the phone's filter
button), on desktop and phone widths. Chinese must render with a real CJK font (checked through
the DevTools protocol), not as boxes.

Screenshots go to $NEWS_SEARCH_ARTIFACTS (default: a temporary directory) so CI can keep them.
Skipped (with the reason) when no Chromium/chromedriver is installed, except under CI=true, where
that fails (.ci/services/fonts.sh installs them); Selenium Manager is not used, since it would try
to download a browser.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
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


def _missing(reason: str) -> None:
    """Outside CI a missing browser skips; in CI (CI=true) the test must not pass silently."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason} (CI=true: .ci/services/fonts.sh should have installed it)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: $NEWS_SEARCH_ARTIFACTS (kept by CI) or a temporary directory."""
    given = os.environ.get("NEWS_SEARCH_ARTIFACTS")
    path = Path(given) if given else tmp_path_factory.mktemp("browser-artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


def shot(driver, artifacts: Path, name: str) -> Path:
    path = artifacts / f"{name}.png"
    assert driver.save_screenshot(str(path)) and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return path


@pytest.fixture(scope="module")
def browser():
    found = _find_browser()
    if found is None:
        _missing("no Chromium + chromedriver on PATH (Debian: apt-get install chromium chromium-driver)")
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
        _missing(f"Chromium could not be started by {driver_path}: {exc.msg}")
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


def test_search_facet_and_paging(browser, server, artifacts: Path):
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
    shot(d, artifacts, "desktop-filtered")

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

    shot(d, artifacts, "desktop-page2")
    assert csp_errors(d) == []


def test_suggestion_by_keyboard_and_phone_width(browser, server, artifacts: Path):
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
        shot(d, artifacts, "phone-results")
    finally:
        d.set_window_size(1280, 900)
    assert csp_errors(d) == []


# -- Chinese must render with a CJK font ------------------------------------------------------
def _cjk_families() -> set[str]:
    if not shutil.which("fc-list"):
        return set()
    out = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True, check=False).stdout
    return {name.strip() for line in out.splitlines() for name in line.split(",") if name.strip()}


def platform_fonts(driver, selector: str) -> list[dict]:
    """The fonts Chromium really drew a node's text with (DevTools CSS.getPlatformFontsForNode)."""
    driver.execute_cdp_cmd("DOM.enable", {})
    driver.execute_cdp_cmd("CSS.enable", {})
    root = driver.execute_cdp_cmd("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
    node = driver.execute_cdp_cmd("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    return driver.execute_cdp_cmd("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]


WIDTH_PER_EM = """
const el = document.querySelector(arguments[0]);
const range = document.createRange(); range.selectNodeContents(el);
const size = parseFloat(getComputedStyle(el).fontSize);
return range.getBoundingClientRect().width / (el.textContent.trim().length * size);
"""


def test_chinese_renders_with_a_cjk_font(browser, server, artifacts: Path):
    d = browser
    d.get(server + "/")
    wait(d).until(EC.visibility_of_element_located((By.CSS_SELECTOR, "h1.start-title")))
    shot(d, artifacts, "desktop-start")
    families = _cjk_families()
    if not families:
        _missing("no CJK font installed (Debian: fonts-noto-cjk; .ci/services/fonts.sh)")
    fonts = platform_fonts(d, "h1.start-title")
    # Every glyph of 新闻搜索 comes from a font that has Chinese, none from a fallback drawing boxes.
    assert fonts and all(f["familyName"] in families for f in fonts), fonts
    assert sum(f["glyphCount"] for f in fonts) == len("新闻搜索")
    # Chinese glyphs are one em wide; boxes from a Latin fallback font are narrower.
    assert 0.95 <= d.execute_script(WIDTH_PER_EM, "h1.start-title") <= 1.05


# -- page details, desktop and phone ----------------------------------------------------------
SIZES = {"desktop": (1280, 900), "phone": (390, 844)}


@pytest.fixture(params=sorted(SIZES))
def sized(request, browser):
    browser.set_window_size(*SIZES[request.param])
    yield browser, request.param
    browser.set_window_size(*SIZES["desktop"])


def open_suggestions(d, server: str, text: str) -> list:
    d.get(server + "/")
    box = wait(d).until(EC.element_to_be_clickable((By.ID, "q")))
    box.send_keys(text)
    wait(d).until(EC.visibility_of_element_located((By.CSS_SELECTOR, "#q-suggest li")))
    return d.find_elements(By.CSS_SELECTOR, "#q-suggest li")


def test_escape_closes_the_list_and_keeps_the_text(sized, server, artifacts: Path):
    d, size = sized
    open_suggestions(d, server, "江城")
    box = d.find_element(By.ID, "q")
    box.send_keys(Keys.ESCAPE)
    wait(d).until(EC.invisibility_of_element_located((By.CSS_SELECTOR, "#q-suggest")))
    assert box.get_attribute("value") == "江城"
    assert box.get_attribute("aria-expanded") == "false"
    shot(d, artifacts, f"{size}-escape")


def test_suggestions_bold_the_typed_part_and_set_headlines_apart(sized, server, artifacts: Path):
    d, size = sized
    options = open_suggestions(d, server, "江城")
    kinds = [o.get_attribute("class").split()[0] for o in options]
    assert kinds[0] == "suggest-word" and "suggest-title" in kinds
    assert kinds == sorted(kinds, key=["suggest-query", "suggest-word", "suggest-title"].index)  # terms first
    assert [o.find_element(By.TAG_NAME, "strong").text for o in options] == ["江城"] * len(options)
    first_title = d.find_element(By.CSS_SELECTOR, "#q-suggest li.suggest-first-title")
    assert first_title.value_of_css_property("border-top-style") == "solid"
    shot(d, artifacts, f"{size}-suggest-kinds")
    # The archive's spelling, not the folded form; the typed part in bold.
    options = open_suggestions(d, server, "5g")
    assert options[0].text == "5G" and options[0].find_element(By.TAG_NAME, "strong").text == "5G"
    # Several words: the last one is completed, the others kept.
    options = open_suggestions(d, server, "江城 马")
    assert "江城 马拉松" in [o.text for o in options]
    shot(d, artifacts, f"{size}-suggest-words")


def label_boxes(d) -> list[tuple[str, float, float]]:
    out = []
    for el in d.find_elements(By.CSS_SELECTOR, ".tl-label"):
        text = el.get_attribute("textContent").strip()
        if text:
            rect = d.execute_script("const r = arguments[0].getBoundingClientRect(); return [r.left, r.right];", el)
            out.append((text, rect[0], rect[1]))
    return out


def test_month_timeline_has_month_labels_and_the_month_facet_follows_the_year(sized, server, artifacts: Path):
    d, size = sized
    d.get(server + "/search?q=江城&from=2024-01-01&to=2024-12-31")
    wait(d).until(EC.visibility_of_element_located((By.CSS_SELECTOR, "ol.timeline-month")))
    labels = label_boxes(d)
    assert [t for t, _, _ in labels][:2] == ["2024年1月", "3月"]
    assert all(re.fullmatch(r"(\d{4}年)?\d{1,2}月", t) for t, _, _ in labels)
    assert all(a[2] <= b[1] for a, b in zip(labels, labels[1:])), labels  # no label overlaps the next
    months = list(facet_counts(d, "month"))
    assert months and all(m.startswith("2024-") for m in months)
    assert d.execute_script("return document.documentElement.scrollWidth") <= SIZES[size][0]
    shot(d, artifacts, f"{size}-months")


def test_year_timeline_uses_the_width(sized, server, artifacts: Path):
    d, size = sized
    d.get(server + "/search?q=江城")
    bars = wait(d).until(EC.visibility_of_element_located((By.CSS_SELECTOR, "ol.timeline-year")))
    used = d.execute_script(
        "const b = arguments[0].querySelectorAll('.tl-bar'); const l = b[0].getBoundingClientRect().left;"
        "return (b[b.length - 1].getBoundingClientRect().right - l) / arguments[0].getBoundingClientRect().width;",
        bars)
    assert used > 0.95
    shot(d, artifacts, f"{size}-years")


def test_phone_reaches_the_facets_without_scrolling_past_the_results(browser, server, artifacts: Path):
    d = browser
    d.set_window_size(*SIZES["phone"])
    try:
        d.get(server + "/search?q=江城")
        button = wait(d).until(EC.visibility_of_element_located((By.CSS_SELECTOR, "a.filter-button")))
        assert button.location["y"] < d.find_element(By.CSS_SELECTOR, "ol.hits").location["y"]
        assert button.location["y"] < SIZES["phone"][1]  # on the first screen
        button.click()
        wait(d).until(EC.url_contains("#facets"))
        top = d.execute_script("return document.getElementById('facets').getBoundingClientRect().top")
        assert 0 <= top < SIZES["phone"][1] / 2
        shot(d, artifacts, "phone-facets")
        d.set_window_size(*SIZES["desktop"])
        d.get(server + "/search?q=江城")
        assert not d.find_element(By.CSS_SELECTOR, "a.filter-button").is_displayed()  # desktop: facets beside
    finally:
        d.set_window_size(*SIZES["desktop"])


def test_the_font_check_sees_boxes_when_no_cjk_font_is_there(tmp_path: Path):
    """The check above can fail: a Chromium limited to a Latin font (fontconfig pointed at one
    directory) draws 新闻搜索 as boxes, and both measures say so."""
    found = _find_browser()
    if found is None:
        _missing("no Chromium + chromedriver on PATH")
    latin = next((p for p in ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/truetype/liberation")
                  if Path(p).is_dir()), None)
    if latin is None:
        pytest.skip("no Latin-only font directory to compare with")
    conf = tmp_path / "fonts.conf"
    conf.write_text(f'<?xml version="1.0"?><fontconfig><dir>{latin}</dir>'
                    f'<cachedir>{tmp_path / "cache"}</cachedir></fontconfig>', encoding="utf-8")
    options = webdriver.ChromeOptions()
    options.binary_location = found[0]
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(found[1], env=dict(os.environ, FONTCONFIG_FILE=str(conf))),
                              options=options)
    try:
        driver.get("data:text/html;charset=utf-8,<h1 class=start-title>新闻搜索</h1>")
        fonts = platform_fonts(driver, "h1.start-title")
        assert not any(f["familyName"] in _cjk_families() for f in fonts), fonts
        assert driver.execute_script(WIDTH_PER_EM, "h1.start-title") < 0.95
    finally:
        driver.quit()
