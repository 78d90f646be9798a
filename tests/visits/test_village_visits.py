import uuid

import pytest

from tests import factories as f
from tests.visits.helpers import at, make_photo
from visits.models import VillageVisit

VISITED = at("2026-12-25 10:00")


@pytest.fixture
def weak_village(regions):
    return f.WeakVillageFactory(village=regions.village_a2)


@pytest.fixture
def unit(regions):
    return f.UnitFactory(region=regions.county)


@pytest.fixture
def unit_user(unit, make_user, regions):
    return make_user("unit", regions.county, unit=unit)


@pytest.fixture
def paired(unit, weak_village):
    return f.UnitPairingFactory(unit=unit, weak_village=weak_village)


def body(village, photos, **extra):
    return {
        "id": str(uuid.uuid4()),
        "village": village.pk,
        "visited_at": VISITED.isoformat(),
        "position": {"lat": "32.31", "lon": "121.18"},
        "photo_ids": [str(p.pk) for p in photos],
        "collective_income": "125000.50",
        **extra,
    }


def photos_for(user, seed=0):
    return [
        make_photo(user, kind, taken=VISITED, seed=seed + i)
        for i, kind in enumerate(("location", "scene"))
    ]


def test_unit_visits_its_weak_village(
    api_client, unit_user, weak_village, paired, in_window, town_a_office, outsider_office
):
    client = api_client.as_user(unit_user)
    data = body(weak_village, photos_for(unit_user))
    first = client.post("/village-visits", data)
    assert first.status_code == 201, first.json()
    assert first.json()["quarter"] == "2026Q4"
    assert first.json()["collective_income"] == "125000.50"
    assert client.post("/village-visits", data).status_code == 200
    changed = client.post("/village-visits", {**data, "collective_income": "1.00"})
    assert changed.status_code == 409
    assert VillageVisit.objects.count() == 1
    visit_id = first.json()["id"]
    assert (
        api_client.__class__().as_user(town_a_office).get(f"/village-visits/{visit_id}").status_code
        == 200
    )
    assert (
        api_client.__class__()
        .as_user(outsider_office)
        .get(f"/village-visits/{visit_id}")
        .status_code
        == 404
    )

    mine = client.get("/me/villages").json()
    assert mine["count"] == 1
    row = mine["items"][0]
    assert row["village"] == weak_village.pk
    assert row["visited"] is True
    assert row["quarter_income"] == "125000.50"


def test_same_window_and_pairing_rules(api_client, unit_user, weak_village, paired, clock, regions):
    clock.set("2026-11-23 12:00")
    client = api_client.as_user(unit_user)
    data = body(weak_village, photos_for(unit_user), visited_at=at("2026-11-20 10:00").isoformat())
    response = client.post("/village-visits", data)
    assert response.status_code == 422
    assert response.json()["code"] == "window_closed"
    clock.set("2026-12-25 12:00")
    client = api_client.__class__().as_user(unit_user)
    other = f.WeakVillageFactory(village=regions.village_b1)
    response = client.post("/village-visits", body(other, photos_for(unit_user, seed=5)))
    assert response.status_code == 422
    assert response.json()["code"] == "not_paired"
    # Passbook and handbook photos are not asked of a village; location and scene are.
    only_scene = [make_photo(unit_user, "scene", taken=VISITED, seed=9)] * 2
    response = client.post("/village-visits", body(weak_village, only_scene))
    assert response.status_code == 422
    assert response.json()["code"] == "photo_kind_missing"


def test_helpers_cannot_submit_village_visits(
    api_client, helper_a_user, weak_village, paired, in_window
):
    response = api_client.as_user(helper_a_user).post(
        "/village-visits", body(weak_village, photos_for(helper_a_user))
    )
    assert response.status_code == 403


def test_my_village_visits_of_the_quarter(
    api_client, unit_user, weak_village, paired, in_window, town_a_office, make_user, regions
):
    client = api_client.as_user(unit_user)
    posted = client.post("/village-visits", body(weak_village, photos_for(unit_user))).json()
    body_ = client.get("/me/village-visits").json()
    assert [v["id"] for v in body_["items"]] == [posted["id"]]
    assert body_["items"][0]["quarter"] == "2026Q4"
    assert client.get("/me/village-visits", {"quarter": "2026Q3"}).json()["count"] == 0
    # Another unit, an office of the area: not theirs.
    other = make_user("unit", regions.county, unit=f.UnitFactory(region=regions.county))
    for user in (other, town_a_office):
        assert api_client.__class__().as_user(user).get("/me/village-visits").json()["count"] == 0
