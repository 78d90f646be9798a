"""Office pages: numbers shown, drill-down links, reminders (once a day, no-login counted),
flagged visits with readable numbers and thumbnails, exit candidates; scoping and roles."""

import re

import pytest
from django.test import Client

from accounts.roles import Role
from notifications.models import Notification
from tests.factories import TEST_PASSWORD

Q = "2026Q3"
PAGES = ["coverage:overview", "coverage:pending", "coverage:flagged", "coverage:exit_candidates"]


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def url(name: str) -> str:
    from django.urls import reverse

    return reverse(name)


def field(html: str, name: str) -> str:
    match = re.search(rf'data-field="{name}"[^>]*>([^<]*)<', html)
    assert match, name
    return match.group(1).strip()


def test_overview_shows_the_numbers_and_links_down(data, regions, county_office):
    response = client_for(county_office).get(url("coverage:overview"), {"quarter": Q})
    assert response.status_code == 200
    html = response.content.decode()
    assert field(html, "paired") == "7" and field(html, "visited") == "4"
    assert field(html, "percent") == "57.1"
    # One bar per town, each linking to its drill-down; a trend chart.
    assert html.count("<svg") == 2
    assert f"region={regions.town_a.code}" in html and "掘港镇" in html
    assert f"/ws/coverage/{regions.county.code}/" in html


def test_village_page_lists_households_and_helpers(data, regions, town_a_office):
    response = client_for(town_a_office).get(
        url("coverage:overview"), {"quarter": Q, "region": regions.village_a1.code}
    )
    html = response.content.decode()
    assert 'id="households"' in html and 'id="helpers"' in html
    for number in ("H001", "H002", "H003", "H006"):
        assert number in html
    assert "H004" not in html and "H005" not in html
    assert "乙帮扶" in html


def test_partial_is_only_the_numbers(data, county_office):
    response = client_for(county_office).get(url("coverage:overview"), {"quarter": Q, "partial": 1})
    html = response.content.decode()
    assert "<html" not in html and 'data-field="paired"' in html


@pytest.mark.parametrize("name", PAGES)
def test_outsider_and_wrong_region_404(data, regions, town_a_office, outsider_office, name):
    assert (
        client_for(town_a_office).get(url(name), {"region": regions.county.code}).status_code == 404
    )
    assert (
        client_for(town_a_office).get(url(name), {"region": regions.town_b.code}).status_code == 404
    )
    assert (
        client_for(outsider_office).get(url(name), {"region": regions.village_a1.code}).status_code
        == 404
    )


@pytest.mark.parametrize("name", PAGES)
@pytest.mark.parametrize("role", [Role.HELPER, Role.DEPARTMENT, Role.UNIT])
def test_wrong_role_403(regions, make_user, name, role):
    user = make_user(role, regions.town_a)
    assert client_for(user).get(url(name)).status_code == 403


@pytest.mark.parametrize("name", PAGES)
def test_anonymous_goes_to_login(name):
    response = Client().get(url(name))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_pending_page_lists_the_unvisited(data, regions, county_office):
    html = client_for(county_office).get(url("coverage:pending"), {"quarter": Q}).content.decode()
    assert [n for n in re.findall(r"<td>(H\d{3})</td>", html)] == ["H002", "H008", "H009"]
    assert 'id="pending-total">3<' in html


def test_remind_one_helper_once_a_day(data, regions, county_office):
    client = client_for(county_office)
    post = {"quarter": Q, "region": regions.county.code, "helper": data.x.pk}
    response = client.post(url("coverage:pending"), post, follow=True)
    assert response.status_code == 200
    assert "已提醒 1 位帮扶责任人" in response.content.decode()
    note = Notification.objects.get(recipient=data.x_user)
    assert note.kind == "visit_reminder" and "1 户" in note.body
    assert note.dedupe_key.startswith(f"remind:{Q}:{data.x_user.pk}:")
    again = client.post(url("coverage:pending"), post, follow=True).content.decode()
    assert "已提醒 0 位" in again and "1 位今天已提醒过" in again
    assert Notification.objects.filter(recipient=data.x_user).count() == 1


def test_remind_all_counts_helpers_without_login(data, regions, county_office):
    response = client_for(county_office).post(
        url("coverage:pending"),
        {"quarter": Q, "region": regions.county.code, "all": "1"},
        follow=True,
    )
    html = response.content.decode()
    # Pending helpers: X (has a login), Z and W (no login). Y has nothing pending.
    assert "已提醒 1 位帮扶责任人" in html and "2 位没有登录账号" in html
    assert list(Notification.objects.values_list("recipient_id", flat=True)) == [data.x_user.pk]


def test_remind_refuses_helper_outside_area_or_not_pending(data, regions, town_b_office):
    client = client_for(town_b_office)
    # X's pending household is in town A: not visible to town B.
    response = client.post(
        url("coverage:pending"), {"quarter": Q, "region": regions.town_b.code, "helper": data.x.pk}
    )
    assert response.status_code == 404
    assert not Notification.objects.exists()


def test_remind_needs_csrf(data, regions, county_office):
    client = Client(enforce_csrf_checks=True)
    client.force_login(county_office)
    response = client.post(url("coverage:pending"), {"quarter": Q, "all": "1"})
    assert response.status_code == 403
    assert not Notification.objects.exists()


def test_supervisor_reads_pending_but_cannot_remind(data, supervisor):
    client = client_for(supervisor)
    assert client.get(url("coverage:pending"), {"quarter": Q}).status_code == 200
    assert client.post(url("coverage:pending"), {"quarter": Q, "all": "1"}).status_code == 403


@pytest.fixture
def flagged_photos(data, regions, settings, tmp_path):
    """Two real photos (Pillow, at test time) on the flagged visit, stored and processed by
    media's own intake, and made readable in the household's area as a visit makes them."""
    from media.processing import photo_process
    from media.services import photo_set_region
    from tests.visits.helpers import make_photo
    from visits.models import VisitPhoto

    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "media"},
        },
    }
    photos = [make_photo(data.x_user, kind, seed=i) for i, kind in enumerate(("scene", "location"))]
    for photo in photos:
        # Processing runs after commit, which a test transaction never reaches: run it here.
        photo_process(photo_id=photo.pk)
        VisitPhoto.objects.create(photo=photo, visit=data.flagged_visit, kind=photo.kind)
        photo_set_region(photo, regions.village_a1.code)
    return photos


def test_flagged_page_shows_numbers_and_thumbnails(data, regions, county_office, flagged_photos):
    client = client_for(county_office)
    html = client.get(url("coverage:flagged"), {"quarter": Q}).content.decode()
    assert "共 1 次走访有疑点" in html
    # Each flag with its numbers, labelled in Chinese.
    assert "走访位置距住址过远" in html and "距离(米)" in html and "1523.4" in html
    assert "允许距离(米)" in html and "收入与上季度完全相同" in html
    # Thumbnails through the authorized file endpoint; the session may fetch them.
    thumbs = re.findall(r'<img src="([^"]+)"', html)
    assert len(thumbs) == 2
    assert all("variant=thumbnail" in t and t.startswith("/api/v1/photos/") for t in thumbs)
    image = client.get(thumbs[0].replace("&amp;", "&"))
    assert image.status_code == 200 and image["Content-Type"] == "image/jpeg"
    # An outsider's session is refused the same file.
    assert client_for_outsider(regions).get(thumbs[0].replace("&amp;", "&")).status_code == 404


def client_for_outsider(regions):
    from tests import factories as f

    return client_for(f.UserFactory(role=Role.COUNTY_OFFICE, region=regions.other_county))


def test_flag_detail_is_readable():
    from coverage.views import detail_rows

    rows = dict(
        detail_rows(
            {
                "max_speed_kmh": 120,
                "legs": [{"distance_m": 30500.0, "minutes": 5.0, "speed_kmh": 366.0}],
                "income": {"wages": "100.00", "operating": "0.00"},
            }
        )
    )
    assert rows["速度上限(公里/小时)"] == "120"
    assert rows["行程"] == "距离(米):30500.0;间隔(分钟):5.0;速度(公里/小时):366.0"
    assert rows["收入(元)"] == "工资性:100.00;经营性:0.00"


def test_flagged_query_count_is_fixed(data, regions, county_office, django_assert_max_num_queries):
    client = client_for(county_office)
    with django_assert_max_num_queries(12):
        assert client.get(url("coverage:flagged"), {"quarter": Q}).status_code == 200


def test_exit_candidates_page(data, regions, county_office):
    response = client_for(county_office).get(url("coverage:exit_candidates"), {"quarter": Q})
    assert response.status_code == 200
    assert "脱贫候选户" in response.content.decode()


def test_login_page_then_coverage(data, county_office):
    client = Client()
    response = client.post(
        "/login/", {"username": county_office.username, "password": TEST_PASSWORD}
    )
    assert response.status_code == 302
    assert client.get(url("coverage:overview")).status_code == 200
