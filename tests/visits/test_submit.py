import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from common.quarters import Quarter
from register.models import Pairing
from tests import factories as f
from tests.visits.helpers import at, make_photo, payload, visit_photos
from visits.models import QuarterIncome, Visit, VisitPhoto
from visits.services import extension_grant

VISITED = at("2026-12-25 10:00")


@pytest.fixture
def helper_client(api_client, helper_a_user, in_window):
    return api_client.as_user(helper_a_user)


@pytest.fixture
def photos(helper_a_user):
    return visit_photos(helper_a_user, taken=VISITED)


def test_accepted_visit_is_stored_in_wgs84_with_income(
    helper_client, household_a, helper_a, photos
):
    body = payload(
        household_a,
        photos,
        visited_at=VISITED,
        position={"lat": "32.312", "lon": "121.185", "coord_system": "gcj02", "accuracy_m": "5"},
    )
    response = helper_client.post("/visits", body)
    assert response.status_code == 201, response.json()
    out = response.json()
    assert out["quarter"] == "2026Q4" and out["household_id"] == household_a.pk
    assert sorted(p["kind"] for p in out["photos"]) == sorted(
        ["location", "scene", "passbook", "handbook"]
    )
    visit = Visit.objects.get(pk=body["id"])
    assert visit.helper == helper_a and visit.pairing.helper == helper_a
    assert visit.coord_system == "gcj02"
    # GCJ-02 input is shifted a few hundred metres back to WGS-84.
    assert abs(float(visit.lat) - 32.312) > 0.001 or abs(float(visit.lon) - 121.185) > 0.003
    income = QuarterIncome.objects.get(household=household_a, year=2026, quarter=4, current=True)
    assert str(income.operating) == "-200.50" and income.visit == visit
    # Its photos now belong to the household's village (who may read the household may read them).
    assert {p.region_id for p in (vp.photo for vp in visit.visit_photos.all())} == {
        household_a.village_id
    }


def test_retry_with_same_content_replays_and_other_content_conflicts(
    helper_client, household_a, photos
):
    body = payload(household_a, photos, visited_at=VISITED)
    first = helper_client.post("/visits", body)
    again = helper_client.post("/visits", body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    # Same meaning, other spelling (photo order, time zone, trailing zeros): still a replay.
    respelled = {
        **body,
        "photo_ids": list(reversed(body["photo_ids"])),
        "visited_at": "2026-12-25T02:00:00+00:00",
        "income": {**body["income"], "wages": "3000"},
    }
    assert helper_client.post("/visits", respelled).status_code == 200
    changed = {**body, "income": {**body["income"], "wages": "3100.00"}}
    conflict = helper_client.post("/visits", changed)
    assert conflict.status_code == 409 and conflict.json()["code"] == "idempotency_conflict"
    assert Visit.objects.count() == 1


def test_retry_after_the_window_closed_or_the_pairing_ended_still_replays(
    helper_client, helper_a_user, household_a, photos, clock
):
    # The phone lost the first answer and sends again later: the visit made is its answer.
    body = payload(household_a, photos, visited_at=VISITED)
    assert helper_client.post("/visits", body).status_code == 201
    Pairing.objects.filter(household=household_a).update(end_date=at("2026-12-26 00:00").date())
    clock.set("2027-01-12 09:00")  # the Q4 window closed on the 11th
    again = helper_client.as_user(helper_a_user).post("/visits", body)  # a fresh login
    assert again.status_code == 200, again.json()
    assert Visit.objects.count() == 1


def test_outside_the_window_is_refused_saying_which(api_client, helper_a_user, household_a, clock):
    clock.set("2026-11-23 12:00")
    photos = visit_photos(helper_a_user, taken=at("2026-11-15 10:00"))
    response = api_client.as_user(helper_a_user).post(
        "/visits", payload(household_a, photos, visited_at=at("2026-11-15 10:00"))
    )
    assert response.status_code == 422
    out = response.json()
    assert out["code"] == "window_closed"
    assert "2026年第4季度走访录入时间为2026-12-21至2027-01-10" in out["message"]
    assert out["detail"]["quarter"] == "2026Q4"


def test_extension_lets_an_early_visit_in(
    api_client, helper_a_user, household_a, town_a_office, clock
):
    clock.set("2026-11-23 12:00")
    ext = extension_grant(
        user=town_a_office,
        quarter=Quarter(2026, 4),
        until=at("2026-12-01 00:00"),
        reason="试点",
        helper=helper_a_user.helper,
    )
    photos = visit_photos(helper_a_user, taken=at("2026-11-15 10:00"))
    response = api_client.as_user(helper_a_user).post(
        "/visits", payload(household_a, photos, visited_at=at("2026-11-15 10:00"))
    )
    assert response.status_code == 201, response.json()
    assert response.json()["extension_id"] == ext.pk and response.json()["quarter"] == "2026Q4"


def test_a_january_visit_in_the_window_is_q4(api_client, helper_a_user, household_a, clock):
    clock.set("2027-01-06 09:00")
    photos = visit_photos(helper_a_user, taken=at("2027-01-05 10:00"))
    response = api_client.as_user(helper_a_user).post(
        "/visits", payload(household_a, photos, visited_at=at("2027-01-05 10:00"))
    )
    assert response.status_code == 201 and response.json()["quarter"] == "2026Q4"


def test_entry_closed_after_the_window_even_for_a_visit_inside_it(
    api_client, helper_a_user, household_a, clock
):
    clock.set("2027-01-11 00:00")
    photos = visit_photos(helper_a_user, taken=VISITED)
    response = api_client.as_user(helper_a_user).post(
        "/visits", payload(household_a, photos, visited_at=VISITED)
    )
    assert response.status_code == 422 and response.json()["code"] == "window_closed"


def test_visit_in_the_future_is_refused(helper_client, household_a, photos):
    response = helper_client.post(
        "/visits", payload(household_a, photos, visited_at=at("2026-12-26 10:00"))
    )
    assert response.status_code == 422 and response.json()["code"] == "visited_in_future"


def test_household_not_paired_on_that_date(
    helper_client, household_a, household_b, photos, helper_a
):
    # Another helper's household, and an unknown one, read alike.
    for household_id in (household_b.pk, 999_999):
        body = payload(household_a, photos, visited_at=VISITED, household_id=household_id)
        response = helper_client.post("/visits", body)
        assert response.status_code == 422 and response.json()["code"] == "not_paired"
    # Paired now, but the pairing started after the visit's date.
    Pairing.objects.filter(household=household_a).update(start_date="2026-12-26")
    response = helper_client.post("/visits", payload(household_a, photos, visited_at=VISITED))
    assert response.status_code == 422 and response.json()["code"] == "not_paired"
    assert "2026-12-25" in response.json()["message"]


def test_photo_refusals(helper_client, household_a, photos, helper_a_user, regions, make_user):
    # Someone else's photo and an unknown one.
    stranger = make_user("helper", regions.town_a, helper=f.HelperFactory(region=regions.town_a))
    theirs = make_photo(stranger, "scene", taken=VISITED, seed=99)
    for extra in (theirs.pk, uuid.uuid4()):
        body = payload(household_a, [*photos, type("P", (), {"pk": extra})], visited_at=VISITED)
        response = helper_client.post("/visits", body)
        assert response.status_code == 422 and response.json()["code"] == "photo_unknown"
    # A missing kind.
    response = helper_client.post(
        "/visits", payload(household_a, [*photos[:3], photos[0]], visited_at=VISITED)
    )
    assert response.status_code == 422
    assert response.json()["code"] == "photo_kind_missing"
    assert "手册" in response.json()["message"] or "handbook" in str(response.json()["detail"])
    # A photo of a kind that is not a visit's.
    grievance = make_photo(helper_a_user, "grievance", taken=VISITED, seed=77)
    response = helper_client.post(
        "/visits", payload(household_a, [*photos, grievance], visited_at=VISITED)
    )
    assert response.status_code == 422 and response.json()["code"] == "photo_wrong_kind"
    assert Visit.objects.count() == 0


def test_photo_already_used_by_another_visit(helper_client, household_a, photos, helper_a_user):
    assert (
        helper_client.post("/visits", payload(household_a, photos, visited_at=VISITED)).status_code
        == 201
    )
    fresh = visit_photos(helper_a_user, taken=VISITED, seed=5)
    reused = [*fresh[:3], photos[3]]
    response = helper_client.post("/visits", payload(household_a, reused, visited_at=VISITED))
    assert response.status_code == 409 and response.json()["code"] == "photo_used"
    assert VisitPhoto.objects.count() == 4


@pytest.mark.parametrize(
    ("income", "field"),
    [
        ({"wages": "-1.00"}, "wages"),
        ({"transfers": "-0.01"}, "transfers"),
        ({"property": "10000000.01"}, "property"),
        ({"operating": "-10000000.01"}, "operating"),
        ({"wages": "1.001"}, "wages"),
        ({"wages": "abc"}, "wages"),
    ],
)
def test_bad_income_is_a_clear_422(helper_client, household_a, photos, income, field):
    base = {"wages": "1.00", "operating": "-5.00", "property": "0", "transfers": "0"}
    body = payload(household_a, photos, visited_at=VISITED, income={**base, **income})
    response = helper_client.post("/visits", body)
    assert response.status_code == 422
    assert any(field in e["field"] for e in response.json()["detail"]["errors"])


def test_naive_time_and_bad_coordinate_system_are_refused(helper_client, household_a, photos):
    body = payload(household_a, photos, visited_at=VISITED)
    assert (
        helper_client.post("/visits", {**body, "visited_at": "2026-12-25T10:00:00"}).status_code
        == 422
    )
    body["position"] = {"lat": "32.31", "lon": "121.18", "coord_system": "utm"}
    assert helper_client.post("/visits", body).status_code == 422


def test_staff_cannot_submit(api_client, town_a_office, household_a, photos, in_window):
    body = payload(household_a, photos, visited_at=VISITED)
    response = api_client.as_user(town_a_office).post("/visits", body)
    assert response.status_code == 403 and response.json()["code"] == "not_helper"


def test_later_visit_replaces_income_keeping_history(
    helper_client, household_a, photos, helper_a_user
):
    helper_client.post("/visits", payload(household_a, photos, visited_at=VISITED))
    more = visit_photos(helper_a_user, taken=at("2026-12-25 16:00"), seed=3)
    income = {"wages": "3500.00", "operating": "0.00", "property": "0.00", "transfers": "450.00"}
    response = helper_client.post(
        "/visits", payload(household_a, more, visited_at=at("2026-12-25 16:00"), income=income)
    )
    assert response.status_code == 201
    records = QuarterIncome.objects.filter(household=household_a, year=2026, quarter=4)
    assert records.count() == 2
    current = records.get(current=True)
    assert str(current.wages) == "3500.00" and current.replaces.wages == 3000
    assert current.replaces.replaced_by == current


def test_submit_query_count_is_bounded(
    helper_client, household_a, photos, django_assert_max_num_queries
):
    body = payload(household_a, photos, visited_at=VISITED)
    # 28 today: auth, checks, inserts, flags, and the answer read back.
    with django_assert_max_num_queries(30):
        assert helper_client.post("/visits", body).status_code == 201


def _extended_for(helper_user, office, clock, *, granted: str, until: str) -> None:
    """The office extends Q4 2026 entry for the helper at `granted`, until `until`."""
    clock.set(granted)
    extension_grant(
        user=office,
        quarter=Quarter(2026, 4),
        until=at(until),
        reason="补走访",
        helper=helper_user.helper,
    )


def _post_visit(api_client, helper_user, household, *, visited: str):
    photos = visit_photos(helper_user, taken=at(visited))
    return api_client.as_user(helper_user).post(
        "/visits", payload(household, photos, visited_at=at(visited))
    )


def test_late_visit_under_an_extension_counts_for_the_extended_quarter(
    api_client, helper_a_user, household_a, town_a_office, clock
):
    _extended_for(
        helper_a_user, town_a_office, clock, granted="2027-01-09 09:00", until="2027-01-20 00:00"
    )
    clock.set("2027-01-13 18:00")
    response = _post_visit(api_client, helper_a_user, household_a, visited="2027-01-13 10:00")
    assert response.status_code == 201, response.json()
    assert response.json()["quarter"] == "2026Q4"


def test_entry_under_an_extension_reads_the_extensions_once(
    api_client, helper_a_user, household_a, town_a_office, clock
):
    # Between windows the rule asks about two quarters, at the visit's time and now: one read.
    _extended_for(
        helper_a_user, town_a_office, clock, granted="2026-11-23 09:00", until="2026-11-30 00:00"
    )
    clock.set("2026-11-23 18:00")
    with CaptureQueriesContext(connection) as queries:
        response = _post_visit(api_client, helper_a_user, household_a, visited="2026-11-23 10:00")
    assert response.status_code == 201, response.json()
    assert response.json()["quarter"] == "2026Q4" and response.json()["extension_id"]
    reads = [q for q in queries.captured_queries if "visits_windowextension" in q["sql"]]
    assert len(reads) == 1
