"""End to end in real headless Chromium: log in through /login/, open the coverage page,
drill down through a bar of the chart, and check every number shown against the API's JSON
(fetched by the same browser session).

Needs Debian's `chromium` and `chromedriver` (`.ci/run` installs them when missing); without
them the test is skipped and says so.
"""

from urllib.parse import quote

import pytest

from tests.browser import DESKTOP, chromium, screenshot
from tests.factories import TEST_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FIELDS = ("paired", "visited", "pending", "percent", "flagged_visits")
Q = "2026Q3"


@pytest.fixture
def browser():
    with chromium(size=DESKTOP, mobile=False) as driver:
        yield driver


def shown(driver, scope_css: str) -> dict:
    from selenium.webdriver.common.by import By

    scope = driver.find_element(By.CSS_SELECTOR, scope_css)
    texts = {
        name: scope.find_element(By.CSS_SELECTOR, f'[data-field="{name}"]').text.strip()
        for name in FIELDS
    }
    # The page writes 57.1 / 0.0 / — ; JSON through the browser gives 57.1 / 0 / null.
    return {name: None if text == "—" else float(text) for name, text in texts.items()}


def as_numbers(row: dict) -> dict:
    return {name: None if row[name] is None else float(row[name]) for name in FIELDS}


def api_json(driver, path: str) -> dict:
    """The API's answer, fetched by the page itself with the browser's session."""
    return driver.execute_async_script(
        "var done = arguments[arguments.length - 1];"
        "fetch(arguments[0], {credentials: 'same-origin', headers: {Accept: 'application/json'}})"
        ".then(function (r) { return r.json(); }).then(done)"
        ".catch(function (e) { done({error: String(e)}); });",
        path,
    )


def check_page_against_api(driver, region: str) -> dict:
    from selenium.webdriver.common.by import By

    api = api_json(driver, f"/api/v1/coverage?quarter={Q}&region={region}")
    assert "error" not in api, api
    assert shown(driver, "#summary") == as_numbers(api["region"])
    rows = driver.find_elements(By.CSS_SELECTOR, "#children tbody tr[data-code]")
    assert [r.get_attribute("data-code") for r in rows] == [c["code"] for c in api["children"]]
    for child in api["children"]:
        assert shown(driver, f'#children tr[data-code="{child["code"]}"]') == as_numbers(child)
    return api


def test_coverage_page_matches_the_api(browser, live_server, data, regions, county_office):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 20)
    target = f"/coverage/?quarter={Q}"
    browser.get(f"{live_server.url}/login/?next={quote(target)}")
    browser.find_element(By.NAME, "username").send_keys(county_office.username)
    browser.find_element(By.NAME, "password").send_keys(TEST_PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait.until(ec.presence_of_element_located((By.ID, "summary")))
    assert "/coverage/" in browser.current_url
    assert "走访覆盖率" in browser.title

    api = check_page_against_api(browser, regions.county.code)
    # And the API agrees with the known dataset (tests/coverage/conftest.py).
    assert (api["region"]["paired"], api["region"]["visited"]) == (7, 4)
    assert browser.find_elements(By.CSS_SELECTOR, "svg.chart")  # bars and trend drawn

    # Drill down by clicking the town's bar label in the SVG chart.
    link = browser.find_element(
        By.CSS_SELECTOR, f'svg.chart a[href*="region={regions.town_a.code}"]'
    )
    browser.execute_script(
        "arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}))", link
    )
    wait.until(ec.url_contains(f"region={regions.town_a.code}"))
    wait.until(ec.presence_of_element_located((By.ID, "summary")))
    town = check_page_against_api(browser, regions.town_a.code)
    screenshot(browser, "coverage-town")
    assert (town["region"]["paired"], town["region"]["visited"]) == (6, 4)
