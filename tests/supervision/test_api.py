"""Supervision over the API: risk list, draws (days, area, seed), outcomes, roles, queries."""

import uuid

import pytest

from accounts.roles import Role
from common.quarters import Quarter
from media.models import Photo
from supervision import services as supervision
from tests import factories as f
from tests.supervision.data import FlagKind, flag, make_visit, paired_household
from tests.visits.helpers import make_photo
from visits.models import SpotCheck, SpotCheckDraw, SpotCheckOutcome


@pytest.fixture
def q3(regions, household_a, household_b):
    """2026Q3 visits: four in town A (two flagged), two in town B, one in the other county;
    and a Q2 visit that a Q3 draw must never pick."""
    visits = {
        "a": make_visit(household_a, year=2026, quarter=3),
        "b": make_visit(household_b, year=2026, quarter=3),
    }
    for n in range(3):
        visits[f"a{n}"] = make_visit(
            paired_household(regions.village_a2), year=2026, quarter=3, when="2026-09-26 10:00"
        )
    visits["b1"] = make_visit(paired_household(regions.village_b2), year=2026, quarter=3)
    visits["other"] = make_visit(paired_household(regions.other_village), year=2026, quarter=3)
    visits["q2"] = make_visit(household_a, year=2026, quarter=2)
    flag(visits["a"], FlagKind.NO_EXIF_GPS)
    flag(visits["a0"], FlagKind.DUPLICATE_PHOTO, FlagKind.PHOTO_FAR_FROM_HOME)
    flag(visits["b"], FlagKind.NO_EXIF_TIME, FlagKind.NO_EXIF_GPS, FlagKind.INCOME_UNCHANGED)
    flag(visits["other"], FlagKind.DUPLICATE_PHOTO)
    flag(visits["q2"], FlagKind.IMPOSSIBLE_TRAVEL)
    return visits


# Queries per request, whatever the page's length: the token, the count, the page, and the
# risk list's flags of the page (one prefetch).
RISK_QUERIES = 4
DRAW_LIST_QUERIES = 3


def draw(api_client, user, size=3, **extra):
    return api_client.as_user(user).post("/supervision/draws", {"size": size, **extra})


# --- Risk list -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_risk_list_orders_by_severity_then_count(api_client, supervisor, q3):
    body = api_client.as_user(supervisor).get("/supervision/risks", {"quarter": "2026Q3"}).json()
    ids = [item["id"] for item in body["items"]]
    # a0: duplicate (5) + far (3) = 8; b: three minor flags = 3; a: one minor = 1.
    assert ids == [str(q3["a0"].pk), str(q3["b"].pk), str(q3["a"].pk)]
    top = body["items"][0]
    assert (top["flag_count"], top["risk_score"]) == (2, 8)
    assert {f["kind"] for f in top["flags"]} == {"duplicate_photo", "photo_far_from_home"}
    assert top["flags"][0]["detail"] == {"test": True}
    assert top["village_name"] == "新光村" and top["spot_check_outcome"] is None


@pytest.mark.django_db
def test_risk_list_by_region_and_refused_outside_the_area(
    api_client, supervisor, outsider_office, regions, q3
):
    client = api_client.as_user(supervisor)
    town_b = client.get("/supervision/risks", {"quarter": "2026Q3", "region": regions.town_b.code})
    assert [i["id"] for i in town_b.json()["items"]] == [str(q3["b"].pk)]
    other = client.get("/supervision/risks", {"region": regions.other_county.code})
    assert other.status_code == 404
    outsider = api_client.as_user(outsider_office).get("/supervision/risks", {"quarter": "2026Q3"})
    assert [i["id"] for i in outsider.json()["items"]] == [str(q3["other"].pk)]
    assert client.get("/supervision/risks", {"quarter": "2026-3"}).status_code == 422


@pytest.mark.django_db
def test_risk_list_refuses_field_roles(api_client, helper_a_user, q3):
    body = api_client.as_user(helper_a_user).get("/supervision/risks", {"quarter": "2026Q3"})
    assert body.json()["items"] == []


@pytest.mark.django_db
def test_risk_list_query_count_is_pinned(
    api_client, supervisor, regions, q3, django_assert_max_num_queries
):
    client = api_client.as_user(supervisor)
    client.get("/supervision/risks")  # token lookup warm-up
    with django_assert_max_num_queries(RISK_QUERIES):
        client.get("/supervision/risks", {"quarter": "2026Q3"})
    for _ in range(12):
        visit = make_visit(paired_household(regions.village_a1), year=2026, quarter=3)
        flag(visit, FlagKind.CAPTURE_TIME_GAP, FlagKind.NO_EXIF_TIME)
    with django_assert_max_num_queries(RISK_QUERIES):
        body = client.get("/supervision/risks", {"quarter": "2026Q3"}).json()
    assert body["count"] == 15


# --- Drawing -------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "moment", ["2026-10-19 23:59", "2026-10-31 00:00", "2026-11-25 10:00", "2026-12-20 10:00"]
)
def test_draw_refused_outside_days_20_to_30(api_client, supervisor, clock, q3, moment):
    clock.set(moment)
    response = draw(api_client, supervisor)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "spot_check_closed"
    assert "每季度首月20日至30日" in body["message"]
    assert SpotCheckDraw.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("moment", ["2026-10-20 00:00", "2026-10-30 23:59", "2027-01-25 09:00"])
def test_draw_allowed_on_days_20_to_30(api_client, supervisor, clock, q3, moment):
    clock.set(moment)
    assert draw(api_client, supervisor, size=1).status_code in (201, 422)
    # 2027-01 samples 2026Q4, which has no visits here: refused for that reason, not the day.
    if moment.startswith("2027"):
        assert draw(api_client, supervisor).json()["code"] == "nothing_to_draw"


@pytest.mark.django_db
def test_admin_setting_lifts_the_day_rule(api_client, supervisor, clock, settings, q3):
    clock.set("2026-11-25 10:00")
    settings.SPOT_CHECK_ANY_DAY = True
    body = draw(api_client, supervisor, size=2).json()
    assert body["quarter"] == "2026Q3"  # the quarter before the current one


@pytest.mark.django_db
def test_draw_samples_last_quarter_in_the_area_and_records_its_seed(
    api_client, supervisor, draw_days, q3
):
    response = draw(api_client, supervisor, size=4)
    assert response.status_code == 201
    body = response.json()
    in_area_q3 = {str(q3[k].pk) for k in ("a", "b", "a0", "a1", "a2", "b1")}
    drawn = [c["visit_id"] for c in body["checks"]]
    assert len(drawn) == len(set(drawn)) == 4 and set(drawn) <= in_area_q3
    assert body["quarter"] == "2026Q3" and body["region"] == supervisor.region_id
    assert (body["population"], body["flagged_population"]) == (6, 3)
    assert [c["rank"] for c in body["checks"]] == [1, 2, 3, 4]
    assert all(c["outcome"] == "pending" for c in body["checks"])
    weights = {c["visit_id"]: c["weight"] for c in body["checks"]}
    if str(q3["b"].pk) in weights:
        assert weights[str(q3["b"].pk)] == 1 + 4 * 3

    # The same seed over the same data gives the same sample.
    record = SpotCheckDraw.objects.get(pk=body["id"])
    assert str(record.seed) == body["seed"]
    candidates = supervision.draw_candidates(region=record.region, quarter=Quarter(2026, 3))
    again = supervision.weighted_sample(candidates, size=4, seed=record.seed, k=4.0)
    assert [str(c.visit_id) for c in again] == drawn
    verify = api_client.as_user(supervisor).get(f"/supervision/draws/{body['id']}/verify")
    assert verify.json() == {"same_data": True, "same_sample": True, "visit_ids": drawn}
    # New flags change the data: the verification says so.
    flag(q3["a1"], FlagKind.CAPTURE_TIME_GAP)
    assert supervision.spot_check_verify(draw=record).same_data is False


@pytest.mark.django_db
def test_draw_of_a_town_and_sizes(api_client, supervisor, draw_days, regions, q3, settings):
    body = draw(api_client, supervisor, size=10, region=regions.town_b.code).json()
    assert body["sample_size"] == 2 and body["population"] == 2
    assert draw(api_client, supervisor, size=0).status_code == 422
    settings.SPOT_CHECK_MAX_SAMPLE = 5
    assert draw(api_client, supervisor, size=6).json()["code"] == "bad_sample_size"
    assert draw(api_client, supervisor, region=regions.other_town.code).status_code == 404


@pytest.mark.django_db
def test_only_supervisors_and_admins_draw(
    api_client, county_office, helper_a_user, regions, make_user, draw_days, q3
):
    assert draw(api_client, county_office).status_code == 404
    assert draw(api_client, helper_a_user).status_code == 404
    admin = make_user(Role.ADMIN, regions.county)
    assert draw(api_client, admin, size=1).status_code == 201


@pytest.mark.django_db
def test_draw_list_query_count_is_pinned(
    api_client, supervisor, draw_days, q3, django_assert_max_num_queries
):
    client = api_client.as_user(supervisor)
    draw(api_client, supervisor, size=2)
    with django_assert_max_num_queries(DRAW_LIST_QUERIES):
        client.get("/supervision/draws")
    for _ in range(5):
        draw(api_client, supervisor, size=3)
    with django_assert_max_num_queries(DRAW_LIST_QUERIES):
        body = client.get("/supervision/draws").json()
    assert body["count"] == 6 and body["items"][0]["checked"] == 0
    with django_assert_max_num_queries(4):  # token, draw, its checks, their photos
        assert len(client.get(f"/supervision/draws/{body['items'][0]['id']}").json()["checks"]) == 3


# --- Outcomes ------------------------------------------------------------------------------


@pytest.fixture
def sample(api_client, supervisor, draw_days, q3):
    body = draw(api_client, supervisor, size=6).json()
    return SpotCheckDraw.objects.get(pk=body["id"])


def spot_photo(user, seed=0):
    return make_photo(user, "spot_check", seed=seed)


@pytest.mark.django_db
def test_outcome_recorded_with_notes_and_photos(api_client, supervisor, sample, q3):
    check = sample.checks.get(visit=q3["a"])
    photo = spot_photo(supervisor)
    payload = {
        "outcome": "problem_found",
        "notes": "户主称本季度未见帮扶人",
        "photo_ids": [str(photo.pk)],
    }
    client = api_client.as_user(supervisor)
    response = client.post(f"/supervision/checks/{check.pk}", payload)
    assert response.status_code == 201
    body = response.json()
    assert body["outcome"] == "problem_found" and body["outcome_label"] == "发现问题"
    assert body["photo_ids"] == [str(photo.pk)] and body["checked_by"]
    # The photo now belongs to the household's village (readable by its area's staff).
    assert Photo.objects.get(pk=photo.pk).region_id == q3["a"].village_id
    # Retry: same record → 200, unchanged; a different record → 409.
    assert client.post(f"/supervision/checks/{check.pk}", payload).status_code == 200
    changed = client.post(f"/supervision/checks/{check.pk}", {"outcome": "confirmed"})
    assert changed.status_code == 409 and changed.json()["code"] == "already_recorded"
    # Shown on the visit.
    shown = client.get(f"/visits/{q3['a'].pk}/spot-checks").json()
    assert [(c["draw_id"], c["outcome"]) for c in shown] == [(sample.pk, "problem_found")]
    risks = client.get("/supervision/risks", {"quarter": "2026Q3"}).json()["items"]
    assert {i["id"]: i["spot_check_outcome"] for i in risks}[str(q3["a"].pk)] == "problem_found"


@pytest.mark.django_db
def test_outcome_input_is_checked(api_client, supervisor, county_office, sample, q3):
    check = sample.checks.get(visit=q3["b"])
    client = api_client.as_user(supervisor)
    url = f"/supervision/checks/{check.pk}"
    assert client.post(url, {"outcome": "problem_found"}).json()["code"] == "notes_required"
    assert client.post(url, {"outcome": "pending"}).status_code == 422
    wrong_kind = make_photo(supervisor, "scene", seed=3)
    response = client.post(url, {"outcome": "confirmed", "photo_ids": [str(wrong_kind.pk)]})
    assert response.json()["code"] == "bad_photo_kind"
    someone_elses = spot_photo(county_office, seed=4)
    response = client.post(url, {"outcome": "confirmed", "photo_ids": [str(someone_elses.pk)]})
    assert response.json()["code"] == "photo_not_yours"
    check.refresh_from_db()
    assert check.outcome == SpotCheckOutcome.PENDING and check.photos.count() == 0
    ok = client.post(url, {"outcome": "confirmed", "notes": "已电话核实"})
    assert ok.status_code == 201 and ok.json()["notes"] == "已电话核实"


@pytest.mark.django_db
def test_a_photo_serves_one_check_only(api_client, supervisor, sample, q3):
    photo = spot_photo(supervisor)
    first, second = sample.checks.order_by("rank")[:2]
    client = api_client.as_user(supervisor)
    body = {"outcome": "confirmed", "photo_ids": [str(photo.pk)]}
    assert client.post(f"/supervision/checks/{first.pk}", body).status_code == 201
    assert client.post(f"/supervision/checks/{second.pk}", body).json()["code"] == "photo_used"


@pytest.mark.django_db
def test_offices_read_recorded_outcomes_of_their_area_only(
    api_client, supervisor, town_a_office, town_b_office, sample, q3
):
    check = sample.checks.get(visit=q3["a"])
    url = f"/visits/{q3['a'].pk}/spot-checks"
    office = api_client.as_user(town_a_office)
    assert office.get(url).json() == []  # pending checks are not announced
    assert office.get("/supervision/checks").json()["items"] == []
    api_client.as_user(supervisor).post(f"/supervision/checks/{check.pk}", {"outcome": "confirmed"})
    office = api_client.as_user(town_a_office)
    assert [c["outcome"] for c in office.get(url).json()] == ["confirmed"]
    assert [c["id"] for c in office.get("/supervision/checks").json()["items"]] == [check.pk]
    assert api_client.as_user(town_b_office).get(url).status_code == 404
    assert api_client.as_user(town_b_office).get("/supervision/checks").json()["items"] == []
    # Offices neither see draws nor record outcomes.
    office = api_client.as_user(town_a_office)
    assert office.get(f"/supervision/draws/{sample.pk}").status_code == 404
    assert (
        office.post(f"/supervision/checks/{check.pk}", {"outcome": "confirmed"}).status_code == 404
    )


# --- Outsiders on every object endpoint ----------------------------------------------------


@pytest.mark.django_db
def test_outsider_is_refused_on_every_object_endpoint(
    api_client, regions, make_user, helper_a_user, sample, q3
):
    other_supervisor = make_user(Role.SUPERVISOR, regions.other_county, is_staff=True)
    check = sample.checks.first()
    visit_id = check.visit_id
    missing = {
        "draw": "/supervision/draws/999999",
        "verify": "/supervision/draws/999999/verify",
        "visit": f"/visits/{uuid.uuid4()}/spot-checks",
    }
    for user in (other_supervisor, helper_a_user):
        client = api_client.as_user(user)
        responses = [
            client.get(f"/supervision/draws/{sample.pk}"),
            client.get(f"/supervision/draws/{sample.pk}/verify"),
            client.post(f"/supervision/checks/{check.pk}", {"outcome": "confirmed"}),
            client.get(f"/visits/{visit_id}/spot-checks"),
        ]
        assert [r.status_code for r in responses] == [404] * 4
        # "Not yours" answers exactly like "does not exist".
        nowhere = client.get(missing["draw"]).json()
        assert responses[0].json() == nowhere
        assert client.get(missing["visit"]).status_code == 404
        assert client.get("/supervision/draws").json()["items"] == []
    assert SpotCheck.objects.get(pk=check.pk).outcome == SpotCheckOutcome.PENDING


@pytest.mark.django_db
def test_superuser_without_region_names_one(api_client, draw_days, regions, q3):
    from django.test import Client
    from django.urls import reverse

    root = f.UserFactory(role=Role.ADMIN, is_superuser=True, is_staff=True, region=None)
    assert draw(api_client, root).json()["code"] == "region_required"
    assert draw(api_client, root, size=1, region=regions.town_b.code).status_code == 201
    risks = api_client.as_user(root).get("/supervision/risks", {"quarter": "2026Q3"}).json()
    assert risks["count"] == 4  # every flagged Q3 visit, the other county's included
    client = Client()
    client.force_login(root)
    assert client.get(reverse("supervision:risks"), {"quarter": "2026Q3"}).status_code == 200
