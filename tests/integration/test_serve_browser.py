"""The search page in a real headless Chromium (Debian's ``chromium`` + ``chromium-driver``, driven by Selenium).

Type a query and press Enter, see results, open a passage, click "find similar", see the timeline,
fetch the CSV link; readable at 1280 px and 400 px wide. A screenshot of the results page is saved in
the test's tmp folder (and to ``$CLAIMS_SERVE_SCREENSHOT`` when set: ``docs/serve.png`` is made so).
Skipped, with the reason, where Chromium or its driver is absent (``.ci/run`` installs them).
"""

from __future__ import annotations

import os
import shutil
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
needs_chromium = pytest.mark.skipif(
    not (CHROMIUM and DRIVER),
    reason="needs Chromium and its driver: `apt-get install -y chromium chromium-driver` (.ci/run does)",
)


@pytest.fixture
def browser():
    pytest.importorskip("selenium", reason="needs selenium (the dev extra: pip install -e '.[dev]')")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    driver.set_page_load_timeout(120)
    yield driver
    driver.quit()


@needs_chromium
def test_search_passage_similar_timeline_csv(sample_index, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    from search.serve import create_app
    from search.serve.background import BackgroundServer

    wait = WebDriverWait(browser, 60)
    with BackgroundServer(create_app(sample_index)) as srv:
        browser.get(srv.url + "/")
        box = browser.find_element(By.ID, "q")
        assert browser.find_element(By.CSS_SELECTOR, "label[for=q]").text == "Query"
        box.send_keys("hypersonic missiles", Keys.ENTER)  # the keyboard alone submits
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "li.hit")))
        hits = browser.find_elements(By.CSS_SELECTOR, "li.hit")
        assert len(hits) >= 3
        marks = [m.text.lower() for m in browser.find_elements(By.CSS_SELECTOR, "li.hit mark")]
        assert marks and all(m.startswith(("hypersonic", "missile")) for m in marks)
        why = hits[0].find_element(By.CSS_SELECTOR, "details.why")
        why.find_element(By.TAG_NAME, "summary").click()
        assert "keyword" in why.text and "semantic" in why.text
        shot = tmp_path / "results.png"
        browser.save_screenshot(str(shot))
        assert shot.stat().st_size > 10_000
        if os.environ.get("CLAIMS_SERVE_SCREENSHOT"):
            shutil.copyfile(shot, os.environ["CLAIMS_SERVE_SCREENSHOT"])

        csv_url = browser.find_element(By.ID, "link-csv").get_attribute("href")
        with urllib.request.urlopen(csv_url, timeout=60) as r:
            body = r.read().decode("utf-8")
            assert r.status == 200 and r.headers["content-type"].startswith("text/csv")
        lines = body.splitlines()
        assert lines[0].startswith("rank,score,") and len(lines) - 1 == len(hits)
        api = browser.find_element(By.ID, "api-url").text
        assert api.startswith("/api/search?") and "q=hypersonic+missiles" in api

        title = hits[0].find_element(By.CSS_SELECTOR, "a.title").text
        hits[0].find_element(By.CSS_SELECTOR, "a.title").click()
        wait.until(ec.presence_of_element_located((By.ID, "passage-text")))
        assert browser.find_element(By.TAG_NAME, "h1").text == title

        browser.find_element(By.ID, "find-similar").click()
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "svg#timeline")))
        svg = browser.find_element(By.CSS_SELECTOR, "svg#timeline")
        assert len(svg.find_elements(By.CSS_SELECTOR, "rect.first")) == 1  # first seen, marked once
        assert "first seen" in browser.find_element(By.CSS_SELECTOR, ".timeline .legend").text
        assert browser.find_elements(By.CSS_SELECTOR, "li.hit")
        browser.save_screenshot(str(tmp_path / "similar.png"))

        browser.set_window_size(400, 900)  # readable on a phone: nothing wider than the window
        browser.get(srv.url + "/?q=hypersonic+missiles")
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "li.hit")))
        width = browser.execute_script("return document.documentElement.scrollWidth")
        inner = browser.execute_script("return window.innerWidth")
        assert width <= inner
        browser.save_screenshot(str(tmp_path / "results-400.png"))
    assert Path(shot).exists()
