"""The disclosure page on a phone and the offices' pages in real headless Chromium: what a
resident and an office see (screenshots under var/artifacts/screenshots/payments-*.png)."""

from urllib.parse import quote

import pytest

from tests import factories as f
from tests.browser import DESKTOP, PHONE, chromium, screenshot
from tests.clock import at
from tests.factories import TEST_PASSWORD
from tests.payments.helpers import load, row

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def listed(regions, dibao, gengdi):
    names = ["张小明", "李建国", "欧阳春花", "王五", "陈桂兰", "周德福"]
    heads = [f.HouseholdFactory(village=regions.village_a1, head_name=n) for n in names]
    rows = [row(h, paid_on=f"2026-03-{10 + i}") for i, h in enumerate(heads)]
    rows.append(row(heads[1], amount="405.00", period="2026-02", paid_on="2026-02-10",
                    batch="B2026-02"))  # fmt: skip
    rows += [row(h, item="GD", period="2026", amount="126.50", batch="B-GD") for h in heads[:3]]
    load(rows, now=at("2026-04-10 09:00"))
    return heads


def test_a_resident_reads_the_village_disclosure_on_a_phone(live_server, listed, regions):
    from selenium.webdriver.common.by import By

    with chromium(size=PHONE) as browser:
        browser.get(f"{live_server.url}/payments/public/{regions.village_a1.code}/")
        table = browser.find_element(By.ID, "recipients")
        names = [td.text for td in table.find_elements(By.CSS_SELECTOR, "tbody td:nth-child(2)")]
        assert names == ["张*明", "李*国", "欧**花", "王*", "陈*兰", "周*福"]
        page = browser.find_element(By.TAG_NAME, "body").text
        assert "共 6 笔,合计 3600.00 元" in page
        for head in listed:
            assert head.head_name not in browser.page_source
            assert head.id_number not in browser.page_source
        # Nothing runs off the side of a phone's screen.
        assert browser.execute_script(
            "return document.documentElement.scrollWidth <= window.innerWidth + 1"
        )
        screenshot(browser, "payments-disclosure-phone")
        browser.find_element(By.LINK_TEXT, "反映问题").click()
        assert "/grievances/" in browser.current_url
        screenshot(browser, "payments-complaint-from-disclosure")


def test_an_office_reads_the_overview_and_the_warnings(live_server, listed, county_office):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    with chromium(size=DESKTOP, mobile=False) as browser:
        wait = WebDriverWait(browser, 20)
        browser.get(f"{live_server.url}/login/?next={quote('/payments/?year=2026')}")
        browser.find_element(By.NAME, "username").send_keys(county_office.username)
        browser.find_element(By.NAME, "password").send_keys(TEST_PASSWORD)
        browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        wait.until(ec.presence_of_element_located((By.ID, "overview")))
        first = browser.find_element(By.CSS_SELECTOR, "#overview tbody tr td:nth-child(2)")
        assert first.text == "10"  # town A: 6 + 1 + 3 payments
        screenshot(browser, "payments-overview-county")
        browser.get(f"{live_server.url}/payments/warnings/")
        wait.until(ec.presence_of_element_located((By.ID, "warnings")))
        assert "金额与标准不符" in browser.find_element(By.ID, "warnings").text
        screenshot(browser, "payments-warnings")
