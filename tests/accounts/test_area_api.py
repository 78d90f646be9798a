"""An office user of town A cannot list, read or change town B's register over the API."""

import datetime as dt

import pytest

from accounts.models import AuditAction, AuditEntry
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_office_lists_only_its_towns_households(
    api_client, town_a_office, household_a, household_b
):
    response = api_client.as_user(town_a_office).get("/households")
    assert response.status_code == 200
    numbers = [item["number"] for item in response.json()["items"]]
    assert numbers == [household_a.number]


def test_county_office_sees_both_towns(api_client, county_office, household_a, household_b):
    response = api_client.as_user(county_office).get("/households")
    assert {item["number"] for item in response.json()["items"]} == {
        household_a.number,
        household_b.number,
    }


@pytest.mark.parametrize("path", ["/households/{h}", "/helpers/{helper}", "/pairings/{p}"])
def test_other_towns_objects_are_not_found(api_client, town_a_office, household_b, path):
    pairing = household_b.pairings.get()
    url = path.format(h=household_b.pk, helper=pairing.helper_id, p=pairing.pk)
    assert api_client.as_user(town_a_office).get(url).status_code == 404


def test_outsider_gets_the_same_answer_as_for_a_missing_object(
    api_client, outsider_office, household_a
):
    client = api_client.as_user(outsider_office)
    refused = client.get(f"/households/{household_a.pk}")
    missing = client.get("/households/999999")
    assert refused.status_code == missing.status_code == 404
    assert refused.json() == missing.json()


def test_office_cannot_change_other_towns_household(api_client, town_a_office, household_b):
    response = api_client.as_user(town_a_office).patch(
        f"/households/{household_b.pk}", {"phone": "13900000000"}
    )
    assert response.status_code == 404
    household_b.refresh_from_db()
    assert household_b.phone != "13900000000"


def test_office_changes_own_household(api_client, town_a_office, household_a):
    response = api_client.as_user(town_a_office).patch(
        f"/households/{household_a.pk}", {"phone": "13900000000", "members": 4}
    )
    assert response.status_code == 200, response.content
    household_a.refresh_from_db()
    assert (household_a.phone, household_a.members) == ("13900000000", 4)


def test_office_cannot_pair_other_towns_household(api_client, town_a_office, household_b, helper_a):
    response = api_client.as_user(town_a_office).post(
        "/pairings",
        {"household_id": household_b.pk, "helper_id": helper_a.pk, "start_date": "2026-11-01"},
    )
    assert response.status_code == 404
    assert household_b.pairings.count() == 1


def test_repairing_ends_the_old_pairing_and_keeps_history(
    api_client, town_a_office, household_a, regions
):
    new_helper = f.HelperFactory(region=regions.town_a)
    response = api_client.as_user(town_a_office).post(
        "/pairings",
        {"household_id": household_a.pk, "helper_id": new_helper.pk, "start_date": "2026-11-01"},
    )
    assert response.status_code == 201, response.content
    old, new = household_a.pairings.order_by("start_date")
    assert old.end_date == dt.date(2026, 11, 1)
    assert new.helper == new_helper
    assert new.end_date is None


def test_full_id_number_only_for_office_of_the_area_and_audited(
    api_client, town_a_office, county_office, supervisor, helper_a_user, household_a
):
    full = household_a.id_number
    for user in (town_a_office, county_office):
        body = api_client.as_user(user).get(f"/households/{household_a.pk}").json()
        assert body["id_number"] == full
    assert (
        AuditEntry.objects.filter(
            action=AuditAction.VIEW_ID_NUMBER, target_id=str(household_a.pk)
        ).count()
        == 2
    )
    for user in (supervisor, helper_a_user):
        body = api_client.as_user(user).get(f"/households/{household_a.pk}").json()
        assert body["id_number"] != full
        assert "*" in body["id_number"]
    assert AuditEntry.objects.count() == 2


def test_list_masks_id_numbers(api_client, town_a_office, household_a):
    item = api_client.as_user(town_a_office).get("/households").json()["items"][0]
    assert item["id_number"] != household_a.id_number


def test_helper_sees_only_paired_households(api_client, helper_a_user, household_a, regions):
    f.HouseholdFactory(village=regions.village_a1)  # same village, not paired with this helper
    numbers = [
        i["number"] for i in api_client.as_user(helper_a_user).get("/households").json()["items"]
    ]
    assert numbers == [household_a.number]


def test_list_pages_read_only_the_page(
    api_client, town_a_office, regions, django_assert_max_num_queries
):
    for _ in range(60):
        household = f.HouseholdFactory(village=regions.village_a1)
        f.PairingFactory(helper=f.HelperFactory(region=regions.town_a), household=household)
    client = api_client.as_user(town_a_office)
    client.get("/me")  # token's last-used stamp written once, outside the measured calls
    for path in ("/households", "/pairings", "/helpers"):
        with django_assert_max_num_queries(4):
            response = client.get(path, {"page_size": 20})
        assert response.status_code == 200
        assert len(response.json()["items"]) == 20
