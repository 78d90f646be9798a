"""Who sees which visit, and the helper's household list (few queries, whatever its length)."""

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
