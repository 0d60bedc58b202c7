"""The preview in a real browser (issue 7): headless Chromium driven by Selenium.

Chromium and chromedriver come from Debian (``apt-get install chromium
chromium-driver``; ``.ci/run`` installs them). Selenium is pointed at that driver
explicitly, so it never tries to download one. Screenshots go to tests/output/
(git-ignored) for a human to look at.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest

from newsletter.preview import Preview, make_server, url_of

from .archive_fixtures import write_sample_issues
from .test_preview import make_config

OUTPUT = Path(__file__).resolve().parent / "output"
CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))
                 if p), None)
DRIVER = shutil.which("chromedriver")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or DRIVER is None,
    reason="headless Chromium not found: install Debian's chromium and chromium-driver "
           "(.ci/run does so when it runs as root)")

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--disable-extensions", "--disable-dev-shm-usage"]


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    webdriver = pytest.importorskip(
        "selenium.webdriver", reason="selenium is not installed: pip install -e '.[test]'")
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for f in FLAGS:
        opts.add_argument(f)
    opts.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("site")
    cfg = make_config(folder)
    write_sample_issues(cfg.output_dir, weeks=3)
    server = make_server(Preview(cfg), "127.0.0.1", 0)
    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    t.start()
    try:
        yield url_of(server).rstrip("/")
    finally:
        server.shutdown()
        server.server_close()


def viewport(driver: Any, width: int, height: int = 900, scheme: str = "light") -> None:
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {
        "features": [{"name": "prefers-color-scheme", "value": scheme}]})


def console_errors(driver: Any) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def test_archive_to_issue_and_back(browser: Any, site: str) -> None:
    from selenium.webdriver.common.by import By

    viewport(browser, 1280)
    browser.get_log("browser")  # start clean
    browser.get(f"{site}/archive")
    issues = browser.find_elements(By.CSS_SELECTOR, "ol.issues > li h2 a")
    assert [a.text for a in issues] == ["Privacy Alerts 2026-W48", "Privacy Alerts 2026-W47",
                                        "Privacy Alerts 2026-W46"]
    issues[1].click()
    assert browser.current_url == f"{site}/issues/2026-W47"
    # The hierarchy: alerts, then top stories, then topics, in that order on the page.
    sections = [s.get_attribute("class").split()[0]
                for s in browser.find_elements(By.CSS_SELECTOR, "main > section")]
    sections = [c for c in sections if c != "intro"]  # the editor's note, when there is one
    assert sections[:2] == ["alerts", "top"] and set(sections[2:]) == {"topic"}, \
        browser.page_source[:2000]
    assert len(browser.find_elements(By.CSS_SELECTOR, ".alerts article.story")) == 2
    browser.find_element(By.LINK_TEXT, "Plain-text version").click()
    assert browser.current_url == f"{site}/issues/2026-W47.txt"
    assert "ALERTS" in browser.find_element(By.TAG_NAME, "body").text
    browser.back()
    browser.find_element(By.LINK_TEXT, "Markdown version").click()
    assert "## Alerts" in browser.find_element(By.TAG_NAME, "body").text
    browser.back()
    browser.find_element(By.LINK_TEXT, "All issues").click()
    assert browser.current_url == f"{site}/archive"
    browser.get(f"{site}/")  # the newest issue at the root
    assert browser.find_element(By.TAG_NAME, "h1").text == "Privacy Alerts"
    assert "ISSUE 2026-W48" in browser.find_element(By.CSS_SELECTOR, ".kicker").text.upper()
    assert console_errors(browser) == []


SHOTS = [("issue", "/issues/2026-W48", w, s) for w in (375, 1280) for s in ("light", "dark")] + \
        [("archive", "/archive", w, "light") for w in (375, 1280)]


@pytest.mark.parametrize("name,path,width,scheme", SHOTS,
                         ids=[f"{n}-{w}-{s}" for n, _, w, s in SHOTS])
def test_layout_and_screenshot(browser: Any, site: str, name: str, path: str, width: int,
                               scheme: str) -> None:
    viewport(browser, width, scheme=scheme)
    browser.get_log("browser")
    browser.get(site + path)
    page_width = browser.execute_script("return document.documentElement.scrollWidth")
    inner = browser.execute_script("return window.innerWidth")
    assert inner == width
    assert page_width == width, f"horizontal scrolling at {width}px: page is {page_width}px wide"
    height = browser.execute_script("return document.documentElement.scrollHeight")
    viewport(browser, width, height=min(height, 8000), scheme=scheme)
    OUTPUT.mkdir(exist_ok=True)
    shot = OUTPUT / f"{name}-{width}-{scheme}.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 1000
    assert console_errors(browser) == []


# WCAG 2.x contrast of every element with its own text against the first opaque
# background behind it; large text (24px, or 18.66px bold) needs 3:1, the rest 4.5:1.
CONTRAST_JS = """
function rgb(c) { const m = c.match(/[\\d.]+/g).map(Number); return m.length > 3 ? m : m.concat([1]); }
function lum(c) { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
                  return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]); }
function bg(el) { for (let e = el; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor);
                  if (c[3] > 0.99) return c; } return [255, 255, 255, 1]; }
const bad = [];
for (const el of document.querySelectorAll('body *')) {
  const own = Array.from(el.childNodes).some(n => n.nodeType === 3 && n.textContent.trim());
  if (!own || el.closest('.nl-preview-bar')) continue;
  const cs = getComputedStyle(el); if (cs.visibility === 'hidden' || cs.display === 'none') continue;
  const a = lum(rgb(cs.color)), b = lum(bg(el));
  const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  const size = parseFloat(cs.fontSize), bold = parseInt(cs.fontWeight) >= 700;
  const need = (size >= 24 || (bold && size >= 18.66)) ? 3 : 4.5;
  if (ratio < need) bad.push(el.tagName + '.' + el.className + ' ' + ratio.toFixed(2) + ' "' + el.textContent.trim().slice(0, 30) + '"');
}
return bad;
"""

HEADINGS_JS = "return Array.from(document.querySelectorAll('h1,h2,h3,h4,h5,h6')).map(h => +h.tagName[1]);"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_accessibility_basics(browser: Any, site: str, scheme: str) -> None:
    from selenium.webdriver.common.by import By

    viewport(browser, 1280, scheme=scheme)
    for path in ("/issues/2026-W48", "/archive"):
        browser.get(site + path)
        assert browser.execute_script(CONTRAST_JS) == [], f"contrast below AA on {path}"
        levels = browser.execute_script(HEADINGS_JS)
        assert levels[0] == 1 and levels.count(1) == 1
        assert all(b - a <= 1 for a, b in zip(levels, levels[1:])), f"heading levels skip: {levels}"
        for a in browser.find_elements(By.CSS_SELECTOR, "a"):
            text = a.text.strip().lower()
            assert text and text not in ("here", "click here", "more", "read more", "link"), \
                f"link text that means nothing alone: {a.get_attribute('href')}"
    browser.get(site + "/issues/2026-W48")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    langs = [a.get_attribute("lang") for a in browser.find_elements(By.CSS_SELECTOR, "article")]
    assert langs and all(langs) and "de" in langs and "en" in langs


def test_printable(browser: Any, site: str) -> None:
    """Print media: black on white, no contents bar, every story still there.

    The file as written (what the static archive links to); the email drops its
    print rules, mail clients print their own way.
    """
    from selenium.webdriver.common.by import By

    viewport(browser, 1280)
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        browser.get(site + "/issues/2026-W48.html")
        assert not browser.find_element(By.CSS_SELECTOR, "nav.toc").is_displayed()
        body = browser.find_element(By.TAG_NAME, "body")
        assert body.value_of_css_property("color") in ("rgba(0, 0, 0, 1)", "rgb(0, 0, 0)")
        assert len(browser.find_elements(By.CSS_SELECTOR, "article.story")) == 8
        pdf = browser.execute_cdp_cmd("Page.printToPDF", {"printBackground": False})
        assert len(pdf["data"]) > 1000
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
