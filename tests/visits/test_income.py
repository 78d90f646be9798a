"""Annual income per person over the last four quarters, and exit candidates per office."""

import uuid
from decimal import Decimal

import pytest

from common.quarters import Quarter
from register.models import Household, IncomeThreshold
from tests import factories as f
from tests.visits.helpers import HOME, at
from visits.models import QuarterIncome, Visit
from visits.selectors import with_annual_income


def record(household, year, quarter, wages, operating="0", current=True):
    pairing = household.pairings.first()
    visit = Visit.objects.create(
        id=uuid.uuid4(),
        household=household,
        village=household.village,
        helper=pairing.helper,
        pairing=pairing,
        submitted_by=f.UserFactory(role="helper", region=household.village),
        year=year,
        quarter=quarter,
        visited_at=at(f"{year}-{3 * quarter:02d}-25 10:00"),
        lat=HOME[0],
        lon=HOME[1],
        raw_lat=HOME[0],
        raw_lon=HOME[1],
        passbook_checked=True,
        content_hash="x",
        wages=Decimal(wages),
        operating=Decimal(operating),
        property=Decimal("0"),
        transfers=Decimal("0"),
    )
    return QuarterIncome.objects.create(
        household=household,
        year=year,
        quarter=quarter,
        visit=visit,
        current=current,
        wages=Decimal(wages),
        operating=Decimal(operating),
        property=Decimal("0"),
        transfers=Decimal("0"),
    )


@pytest.fixture
def rich(regions, helper_a):
    """Three members, 2026Q1-Q4 summing to 22,500: 7,500 per person."""
    household = f.HouseholdFactory(village=regions.village_a1, members=3)
    f.PairingFactory(helper=helper_a, household=household)
    record(household, 2025, 4, "90000")  # outside the four quarters
    record(household, 2026, 1, "5000")
    record(household, 2026, 2, "6000", operating="-500")
    record(household, 2026, 3, "1000", current=False)  # replaced by the next one
    record(household, 2026, 3, "6000")
    record(household, 2026, 4, "6000")
    return household


@pytest.fixture
def poor(regions, helper_a):
    household = f.HouseholdFactory(village=regions.village_a2, members=2)
    f.PairingFactory(helper=helper_a, household=household)
    record(household, 2026, 3, "3000")
    record(household, 2026, 4, "3000")
    return household


def test_annual_income_per_person_is_computed_in_the_database(
    rich, poor, django_assert_num_queries
):
    with django_assert_num_queries(1):
        rows = {
            h.pk: h for h in with_annual_income(Household.objects.all(), quarter=Quarter(2026, 4))
        }
    assert rows[rich.pk].annual_income == Decimal("22500.00")
    assert rows[rich.pk].quarters_reported == 4
    assert rows[rich.pk].income_per_person == Decimal("7500.00")
    assert rows[poor.pk].income_per_person == Decimal("3000.00")
    # Ending at 2026Q3, the window covers 2025Q4-2026Q3.
    q3 = with_annual_income(Household.objects.filter(pk=rich.pk), quarter=Quarter(2026, 3)).get()
    assert q3.annual_income == Decimal("106500.00")


def test_exit_candidates_for_the_office_of_their_area(
    api_client, rich, poor, town_a_office, county_office, town_b_office, outsider_office, clock
):
    clock.set("2027-01-05 10:00")  # the Q4 window: 2026Q4 is the quarter offices read
    body = api_client.as_user(town_a_office).get("/exit-candidates").json()
    assert [row["household_id"] for row in body["items"]] == [rich.pk]
    row = body["items"][0]
    assert row["quarter"] == "2026Q4" and Decimal(row["threshold"]) == Decimal("7000")
    assert Decimal(row["income_per_person"]) == Decimal("7500")
    assert (
        api_client.__class__().as_user(county_office).get("/exit-candidates").json()["count"] == 1
    )
    for user in (town_b_office, outsider_office):
        assert api_client.__class__().as_user(user).get("/exit-candidates").json()["count"] == 0


def test_threshold_is_per_year(api_client, rich, town_a_office, clock, settings):
    clock.set("2027-01-05 10:00")
    IncomeThreshold.objects.create(year=2026, per_person_yuan=Decimal("8000"))
    assert api_client.as_user(town_a_office).get("/exit-candidates").json()["count"] == 0
    settings.INCOME_THRESHOLD_DEFAULT = Decimal("100")
    # The setting only applies to years without a row.
    body = api_client.as_user(town_a_office).get("/exit-candidates", {"quarter": "2027Q1"})
    assert body.json()["count"] == 1


def test_helpers_see_no_exit_candidates(api_client, rich, helper_a_user, clock):
    clock.set("2027-01-05 10:00")
    assert api_client.as_user(helper_a_user).get("/exit-candidates").json()["count"] == 0
