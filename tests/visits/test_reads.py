"""Who sees which visit, and the helper's household list (few queries, whatever its length)."""

from datetime import datetime

import pytest

from tests import factories as f
from tests.visits.helpers import at, payload, visit_photos
from visits.models import Visit

VISITED = at("2026-12-25 10:00")


@pytest.fixture
def visit(api_client, helper_a_user, household_a, in_window):
    photos = visit_photos(helper_a_user, taken=VISITED)
    response = api_client.as_user(helper_a_user).post(
        "/visits", payload(household_a, photos, visited_at=VISITED)
    )
    assert response.status_code == 201
    return Visit.objects.get(pk=response.json()["id"])


def test_visit_detail_for_owner_and_area_staff_404_for_others(
    api_client,
    visit,
    helper_a_user,
    town_a_office,
    county_office,
    supervisor,
    town_b_office,
    outsider_office,
    regions,
    make_user,
):
    for user in (helper_a_user, town_a_office, county_office, supervisor):
        response = api_client.__class__().as_user(user).get(f"/visits/{visit.pk}")
        assert response.status_code == 200, user.role
        assert response.json()["id"] == str(visit.pk)
    other_helper = make_user(
        "helper", regions.town_a, helper=f.HelperFactory(region=regions.town_a)
    )
    missing = (
        api_client.__class__()
        .as_user(town_a_office)
        .get("/visits/00000000-0000-4000-8000-000000000000")
    )
    for user in (town_b_office, outsider_office, other_helper):
        response = api_client.__class__().as_user(user).get(f"/visits/{visit.pk}")
        assert response.status_code == 404
        assert response.json() == missing.json()
    assert api_client.__class__().anonymous().get(f"/visits/{visit.pk}").status_code == 401


def test_visit_list_for_staff_in_area_with_filters(
    api_client, visit, town_a_office, outsider_office, town_b_office
):
    client = api_client.as_user(town_a_office)
    items = client.get("/visits").json()["items"]
    assert [i["id"] for i in items] == [str(visit.pk)]
    assert client.get("/visits", {"quarter": "2026Q4"}).json()["count"] == 1
    assert client.get("/visits", {"quarter": "2026Q3"}).json()["count"] == 0
    assert client.get("/visits", {"village": visit.village_id}).json()["count"] == 1
    assert client.get("/visits", {"village": "320623100202"}).json()["count"] == 0
    flagged = client.get("/visits", {"flagged": "true"}).json()["count"]
    unflagged = client.get("/visits", {"flagged": "false"}).json()["count"]
    assert flagged + unflagged == 1
    assert client.get("/visits", {"quarter": "junk"}).status_code == 422
    for outsider in (outsider_office, town_b_office):
        assert api_client.__class__().as_user(outsider).get("/visits").json()["count"] == 0


def test_visit_list_query_count_is_fixed(
    api_client,
    town_a_office,
    helper_a_user,
    helper_a,
    regions,
    in_window,
    django_assert_max_num_queries,
):
    for n in range(6):
        household = f.HouseholdFactory(village=regions.village_a1)
        f.PairingFactory(helper=helper_a, household=household)
        photos = visit_photos(helper_a_user, taken=VISITED, seed=100 + n)
        api_client.as_user(helper_a_user).post(
            "/visits", payload(household, photos, visited_at=at(f"2026-12-25 0{n}:00"))
        )
    client = api_client.__class__().as_user(town_a_office)
    with django_assert_max_num_queries(4):
        assert client.get("/visits").json()["count"] == 6


def test_my_households_with_quarter_status(
    api_client,
    helper_a_user,
    helper_a,
    household_a,
    regions,
    in_window,
    django_assert_max_num_queries,
):
    others = []
    for _ in range(5):
        household = f.HouseholdFactory(village=regions.village_a2)
        f.PairingFactory(helper=helper_a, household=household)
        others.append(household)
    ended = f.HouseholdFactory(village=regions.village_a2)
    f.PairingFactory(helper=helper_a, household=ended, end_date="2026-06-01")
    f.HouseholdFactory(village=regions.village_a1)  # someone else's
    client = api_client.as_user(helper_a_user)
    photos = visit_photos(helper_a_user, taken=VISITED)
    posted = client.post("/visits", payload(household_a, photos, visited_at=VISITED)).json()

    with django_assert_max_num_queries(4):
        body = client.get("/me/households").json()
    assert body["count"] == 6
    rows = {row["id"]: row for row in body["items"]}
    assert ended.pk not in rows
    mine = rows[household_a.pk]
    assert mine["visited"] is True
    assert mine["quarter"] == "2026Q4"
    assert mine["quarter_visits"] == 1
    assert mine["last_visit_id"] == posted["id"]
    assert mine["flags"] == posted["flag_count"]
    assert rows[others[0].pk]["visited"] is False
    assert rows[others[0].pk]["last_visit_id"] is None
    # Another quarter has its own status.
    q3 = client.get("/me/households", {"quarter": "2026Q3"}).json()["items"]
    assert all(row["visited"] is False for row in q3)


def test_my_households_is_empty_for_staff(api_client, town_a_office, household_a, in_window):
    assert api_client.as_user(town_a_office).get("/me/households").json()["count"] == 0


def _visit_in(client, user, household, when: str, income: dict, seed: int) -> dict:
    photos = visit_photos(user, taken=at(when), seed=seed)
    response = client.post(
        "/visits", payload(household, photos, visited_at=at(when), income=income)
    )
    assert response.status_code == 201, response.content
    return response.json()


def _income(wages: str) -> dict:
    return {"wages": wages, "operating": "-10.00", "property": "0.00", "transfers": "100.00"}


def test_my_households_show_the_home_and_the_income_to_compare_with(
    api_client, helper_a_user, household_a, clock, django_assert_max_num_queries
):
    for n, day in enumerate(("2026-03-25", "2026-06-25", "2026-09-25"), start=1):
        clock.set(f"{day} 18:00")
        client = api_client.__class__().as_user(helper_a_user)  # a token of that day
        _visit_in(client, helper_a_user, household_a, f"{day} 10:00", _income(f"{n}000.00"), n)
    clock.set("2026-12-25 18:00")
    client = api_client.__class__().as_user(helper_a_user)
    client.get("/me")  # the token's first use is recorded; the list below reads only
    with django_assert_max_num_queries(4):
        row = client.get("/me/households").json()["items"][0]
    assert row["address"] == household_a.address
    assert (row["home_lat"], row["home_lon"]) == ("32.310000", "121.180000")
    assert datetime.fromisoformat(row["last_visited_at"]) == at("2026-09-25 10:00")
    assert row["previous_quarter"] == "2026Q3"
    assert row["previous_income"] == {
        "wages": "3000.00",
        "operating": "-10.00",
        "property": "0.00",
        "transfers": "100.00",
        "total": "3090.00",
    }
    assert row["earlier_income"]["quarters"] == ["2026Q1", "2026Q2", "2026Q3"]
    assert row["earlier_income"]["income"]["wages"] == "6000.00"
    assert row["earlier_income"]["income"]["total"] == "6270.00"
    # In Q1 the year has no earlier quarter; last year's Q4 is the reference.
    q1 = client.get("/me/households", {"quarter": "2027Q1"}).json()["items"][0]
    assert q1["previous_quarter"] == "2026Q4"
    assert q1["previous_income"] is None
    assert q1["earlier_income"] is None


def test_my_visits_of_the_quarter_with_their_flags(
    api_client,
    helper_a_user,
    helper_a,
    household_a,
    regions,
    make_user,
    town_a_office,
    in_window,
    django_assert_max_num_queries,
):
    client = api_client.as_user(helper_a_user)
    mine = []
    for n in range(3):
        household = f.HouseholdFactory(village=regions.village_a1)
        f.PairingFactory(helper=helper_a, household=household)
        mine.append(
            _visit_in(client, helper_a_user, household, f"2026-12-25 0{n}:00", _income("1.00"), n)
        )
    # A photo without EXIF GPS and without the phone's position: flagged.
    photos = visit_photos(helper_a_user, taken=VISITED, gps=None, seed=9)
    flagged = client.post("/visits", payload(household_a, photos, visited_at=VISITED)).json()
    with django_assert_max_num_queries(5):
        body = client.get("/me/visits").json()
    assert body["count"] == 4
    assert [v["id"] for v in body["items"]] == [flagged["id"]] + [v["id"] for v in mine[::-1]]
    first = body["items"][0]
    assert {f["kind"] for f in first["flags"]} == {"no_position"}
    assert len(first["photos"]) == 4
    assert first["quarter"] == "2026Q4"
    assert client.get("/me/visits", {"quarter": "2026Q3"}).json()["count"] == 0
    assert client.get("/me/visits", {"quarter": "junk"}).status_code == 422
    # Another helper of the same town, an office of the area: none of these are theirs.
    other = make_user("helper", regions.town_a, helper=f.HelperFactory(region=regions.town_a))
    for user in (other, town_a_office):
        assert api_client.__class__().as_user(user).get("/me/visits").json()["count"] == 0
    assert api_client.__class__().anonymous().get("/me/visits").status_code == 401
