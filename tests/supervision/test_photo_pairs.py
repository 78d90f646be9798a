"""The photo-pair page: a reused photo beside the one it repeats, with both visits' helpers,
places and dates; who may see which side."""

import pytest
from django.test import Client
from django.urls import reverse

from media.selectors import photo_url
from tests.browser import PHONE, chromium, screenshot
from tests.clock import at
from tests.factories import TEST_PASSWORD
from tests.visits import forms
from tests.visits.helpers import picture, submitted_visit
from visits.models import FlagKind, VisitFlag


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def pair(household_a, household_b):
    """Town B's visit took a scene photo; town A's visit, later, used a forwarded copy of it."""
    original = picture(21)
    b = submitted_visit(household_b, seed=1, scene=original)
    copy = forms.forwarded_in_chat(original)
    a = submitted_visit(household_a, seed=2, visited_at=at("2026-12-26 15:30"), scene=copy)
    flag = VisitFlag.objects.get(visit=a, kind=FlagKind.NEAR_DUPLICATE_PHOTO)
    return a, b, flag


def page(user, flag):
    return logged_in(user).get(reverse("supervision:photo_pair", args=[flag.pk]))


@pytest.mark.django_db
def test_a_supervisor_sees_both_photos_helpers_places_and_dates(supervisor, pair):
    a, b, flag = pair
    response = page(supervisor, flag)
    assert response.status_code == 200
    text = response.content.decode()
    for visit in (a, b):
        assert photo_url(visit.photos["scene"].pk, "display") in text
        assert visit.helper.name in text
        assert visit.household.number in text
    assert "如东县 掘港镇 东凌村" in text
    assert "如东县 马塘镇 马塘村" in text
    assert "2026-12-25 10:00" in text
    assert "2026-12-26 15:30" in text
    assert f"相差 <strong>{flag.detail['hamming_distance']}</strong> 位" in text
    client = logged_in(supervisor)
    for visit in (a, b):  # both photos are served to the supervisor
        assert client.get(photo_url(visit.photos["scene"].pk, "display")).status_code == 200


@pytest.mark.django_db
def test_the_other_visit_outside_the_readers_area_shows_only_place_and_date(town_a_office, pair):
    a, b, flag = pair
    response = page(town_a_office, flag)
    assert response.status_code == 200
    text = response.content.decode()
    assert photo_url(a.photos["scene"].pk, "display") in text
    assert a.helper.name in text
    assert photo_url(b.photos["scene"].pk, "display") not in text
    assert b.helper.name not in text
    assert b.household.number not in text
    assert "不在您的辖区" in text
    assert "如东县 马塘镇 马塘村" in text
    other = logged_in(town_a_office).get(photo_url(b.photos["scene"].pk, "display"))
    assert other.status_code == 404  # and the photo itself is refused


@pytest.mark.django_db
def test_outsiders_and_lower_roles_are_refused(
    helper_a_user, pair, town_b_office, outsider_office, supervisor
):
    a, _, flag = pair
    assert page(town_b_office, flag).status_code == 404  # the flagged visit is in town A
    assert page(outsider_office, flag).status_code == 404  # another county
    assert page(helper_a_user, flag).status_code == 403  # a helper reads no area
    assert Client().get(reverse("supervision:photo_pair", args=[flag.pk])).status_code == 302
    other_kind = VisitFlag.objects.create(visit=a, kind=FlagKind.IMPOSSIBLE_TRAVEL, detail={})
    assert page(supervisor, other_kind).status_code == 404  # not a photo pair
    assert page(supervisor, VisitFlag(pk=987_654)).status_code == 404


@pytest.mark.django_db
def test_the_risk_list_links_each_pair(supervisor, pair):
    _, _, flag = pair
    risks = logged_in(supervisor).get(reverse("supervision:risks"), {"quarter": "2026Q4"})
    assert reverse("supervision:photo_pair", args=[flag.pk]) in risks.content.decode()


@pytest.mark.django_db
def test_the_same_bytes_read_as_such(supervisor, household_a, household_b):
    original = picture(22)
    submitted_visit(household_b, seed=1, scene=original)
    a = submitted_visit(household_a, seed=2, scene=original)
    flag = VisitFlag.objects.get(visit=a, kind=FlagKind.DUPLICATE_PHOTO)
    assert "文件完全相同" in page(supervisor, flag).content.decode()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_pair_side_by_side_on_a_phone(live_server, supervisor, pair):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    _, _, flag = pair
    target = reverse("supervision:photo_pair", args=[flag.pk])
    with chromium(size=PHONE) as driver:
        driver.get(f"{live_server.url}/login/?next={target}")
        driver.find_element(By.NAME, "username").send_keys(supervisor.username)
        driver.find_element(By.NAME, "password").send_keys(TEST_PASSWORD)
        driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        WebDriverWait(driver, 20).until(ec.presence_of_element_located((By.CSS_SELECTOR, ".pair")))
        images = driver.find_elements(By.CSS_SELECTOR, ".pair img")
        WebDriverWait(driver, 20).until(
            lambda d: all(d.execute_script("return arguments[0].complete", i) for i in images)
        )
        # Both photos loaded, next to each other within the phone's width.
        boxes = [i.rect for i in images]
        assert len(boxes) == 2
        assert all(i.get_property("naturalWidth") > 0 for i in images)
        assert boxes[0]["y"] == boxes[1]["y"]
        assert boxes[0]["x"] < boxes[1]["x"]
        assert boxes[1]["x"] + boxes[1]["width"] <= PHONE[0]
        heading = driver.find_element(By.TAG_NAME, "h1")
        driver.execute_script("arguments[0].scrollIntoView()", heading)
        screenshot(driver, "supervision-photo-pair-phone")
