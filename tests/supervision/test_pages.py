"""Supervisors' web pages: risk list, draws, recording an outcome with a photo; who may see."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from media.models import Photo
from tests.supervision.data import FlagKind, flag, make_visit
from tests.visits.helpers import make_jpeg
from visits.models import SpotCheckDraw, SpotCheckOutcome


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def flagged(household_a, household_b):
    a = make_visit(household_a, year=2026, quarter=3)
    flag(a, FlagKind.DUPLICATE_PHOTO)
    b = make_visit(household_b, year=2026, quarter=3)
    return a, b


@pytest.mark.django_db
def test_risk_page_lists_flagged_visits(supervisor, flagged):
    page = logged_in(supervisor).get(reverse("supervision:risks"), {"quarter": "2026Q3"})
    assert page.status_code == 200
    text = page.content.decode()
    assert flagged[0].household.number in text
    assert "照片与其他走访重复" in text
    assert flagged[1].household.number not in text  # not flagged


@pytest.mark.django_db
def test_pages_refuse_other_roles_and_regions(helper_a_user, county_office, supervisor, flagged):
    assert logged_in(helper_a_user).get(reverse("supervision:risks")).status_code == 403
    assert logged_in(county_office).get(reverse("supervision:spot_checks")).status_code == 403
    outside = logged_in(supervisor).get(reverse("supervision:risks"), {"region": "320682000000"})
    assert outside.status_code == 404
    assert Client().get(reverse("supervision:spot_checks")).status_code == 302  # to the login


@pytest.mark.django_db
def test_draw_page_refuses_outside_the_days(supervisor, clock, flagged):
    clock.set("2026-11-02 10:00")
    client = logged_in(supervisor)
    page = client.get(reverse("supervision:spot_checks")).content.decode()
    assert "抽查只能在每季度首月20日至30日进行" in page
    assert 'name="size"' not in page
    followed = client.post(reverse("supervision:spot_checks"), {"size": "2"}, follow=True)
    assert "抽查只能在每季度首月20日至30日进行" in followed.content.decode()
    assert SpotCheckDraw.objects.count() == 0


@pytest.mark.django_db
def test_draw_and_record_an_outcome_with_a_photo(supervisor, draw_days, flagged, regions):
    client = logged_in(supervisor)
    response = client.post(reverse("supervision:spot_checks"), {"size": "2"})
    draw = SpotCheckDraw.objects.get()
    assert response.url == reverse("supervision:spot_check_draw", args=[draw.pk])
    detail = client.get(response.url, {"verify": "1"}).content.decode()
    assert str(draw.seed) in detail
    assert "结果相同" in detail
    check = draw.checks.get(visit=flagged[0])
    photo = SimpleUploadedFile("c.jpg", make_jpeg(seed=7), content_type="image/jpeg")
    done = client.post(
        reverse("supervision:spot_check_record", args=[check.pk]),
        {"outcome": "problem_found", "notes": "照片为他户场景", "photos": photo},
        follow=True,
    )
    assert "第" in done.content.decode()
    assert "核查结果已记录" in done.content.decode()
    check.refresh_from_db()
    assert check.outcome == SpotCheckOutcome.PROBLEM_FOUND
    assert check.notes == "照片为他户场景"
    stored = check.photos.get().photo
    assert stored.kind == "spot_check"
    assert stored.region_id == flagged[0].village_id
    listing = client.get(reverse("supervision:spot_checks")).content.decode()
    assert f'href="{reverse("supervision:spot_check_draw", args=[draw.pk])}"' in listing


@pytest.mark.django_db(transaction=True)
def test_a_refused_record_keeps_none_of_its_photos(supervisor, draw_days, flagged, regions):
    client = logged_in(supervisor)
    client.post(reverse("supervision:spot_checks"), {"size": "2"})
    check = SpotCheckDraw.objects.get().checks.get(visit=flagged[0])
    photo = SimpleUploadedFile("c.jpg", make_jpeg(seed=8), content_type="image/jpeg")
    done = client.post(
        reverse("supervision:spot_check_record", args=[check.pk]),
        {"outcome": "problem_found", "notes": "", "photos": photo},  # a finding needs notes
        follow=True,
    )
    assert "发现问题时须填写核查说明" in done.content.decode()
    check.refresh_from_db()
    assert check.outcome == SpotCheckOutcome.PENDING
    assert not Photo.objects.filter(kind="spot_check").exists()


@pytest.mark.django_db
def test_outsider_supervisor_cannot_open_or_record(
    supervisor, draw_days, flagged, regions, make_user
):
    from accounts.roles import Role

    logged_in(supervisor).post(reverse("supervision:spot_checks"), {"size": "1"})
    draw = SpotCheckDraw.objects.get()
    other = logged_in(make_user(Role.SUPERVISOR, regions.other_county, is_staff=True))
    assert other.get(reverse("supervision:spot_check_draw", args=[draw.pk])).status_code == 404
    check = draw.checks.get()
    url = reverse("supervision:spot_check_record", args=[check.pk])
    assert other.post(url, {"outcome": "confirmed"}).status_code == 404
    check.refresh_from_db()
    assert check.outcome == SpotCheckOutcome.PENDING
