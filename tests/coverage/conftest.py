"""A small known dataset for coverage in 2026Q3 (1 July - 30 September 2026).

Village A1 (town A): h1 visited by X (with a flag); h2 paired with X, unvisited; h3 paired with
X until 15 August then with Y, visited by Y on 25 September (counts once, for Y); h6 paired with
X until 1 August then Y, visited by X on 20 July (counts for X); h4's pairing ended before the
quarter and h5's starts after it (neither counts). Village A2: h7 visited twice by Z; h8
visited only in Q2. Village B1 (town B): h9 paired with W, unvisited. Weak villages: A1 paired,
not visited; B2 paired and visited. The other county: h10 visited.

Expected: A1 4 paired / 3 visited / 1 flagged visit; A2 2 / 1; town A 6 / 4; B1 1 / 0;
town B 1 / 0; county 7 / 4; city 8 / 5.
"""

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal

import pytest

from accounts.roles import Role
from register.models import Household, Pairing, Unit
from tests import factories as f
from tests.clock import at
from visits.models import FlagKind, VillageVisit, Visit, VisitFlag

D = dt.date


def make_visit(household: Household, pairing: Pairing, when: str, user, *, year=2026, q=3):
    return Visit.objects.create(
        id=uuid.uuid4(),
        household=household,
        village=household.village,
        helper=pairing.helper,
        pairing=pairing,
        submitted_by=user,
        year=year,
        quarter=q,
        visited_at=at(when),
        lat=Decimal("32.310000"),
        lon=Decimal("121.180000"),
        raw_lat=Decimal("32.310000"),
        raw_lon=Decimal("121.180000"),
        wages=Decimal("100.00"),
        operating=Decimal("0.00"),
        property=Decimal("0.00"),
        transfers=Decimal("0.00"),
        passbook_checked=True,
        content_hash="x" * 64,
    )


def make_village_visit(weak, unit_pairing, unit: Unit, when: str, user, *, year=2026, q=3):
    return VillageVisit.objects.create(
        id=uuid.uuid4(),
        weak_village=weak,
        village_id=weak.village_id,
        unit=unit,
        unit_pairing=unit_pairing,
        submitted_by=user,
        year=year,
        quarter=q,
        visited_at=at(when),
        lat=Decimal("32.310000"),
        lon=Decimal("121.180000"),
        raw_lat=Decimal("32.310000"),
        raw_lon=Decimal("121.180000"),
        collective_income=Decimal("1000.00"),
        content_hash="y" * 64,
    )


@pytest.fixture(autouse=True)
def _empty_cache():
    """County and city counts are cached (coverage.selectors.village_counts); each test starts
    without another test's entries."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@dataclass
class Data:
    x: object
    y: object
    z: object
    w: object
    x_user: object
    y_user: object
    households: dict
    flagged_visit: Visit


@pytest.fixture
def data(regions, make_user) -> Data:
    r = regions
    x = f.HelperFactory(region=r.town_a, name="甲帮扶")
    y = f.HelperFactory(region=r.town_a, name="乙帮扶")
    z = f.HelperFactory(region=r.town_a, name="丙帮扶")
    w = f.HelperFactory(region=r.town_b, name="丁帮扶")
    o = f.HelperFactory(region=r.other_town, name="外县帮扶")
    x_user = make_user(Role.HELPER, r.town_a, helper=x, phone="13900000001")
    y_user = make_user(Role.HELPER, r.town_a, helper=y, phone="13900000002")
    submitter = x_user

    def hh(name, village):
        return f.HouseholdFactory(village=village, number=f"H{int(name[1:]):03d}")

    h = {name: hh(name, r.village_a1) for name in ("h1", "h2", "h3", "h4", "h5", "h6")}
    h["h7"] = hh("h7", r.village_a2)
    h["h8"] = hh("h8", r.village_a2)
    h["h9"] = hh("h9", r.village_b1)
    h["h10"] = hh("h10", r.other_village)

    p1 = f.PairingFactory(helper=x, household=h["h1"], start_date=D(2020, 1, 1))
    f.PairingFactory(helper=x, household=h["h2"], start_date=D(2020, 1, 1))
    f.PairingFactory(helper=x, household=h["h3"], start_date=D(2020, 1, 1), end_date=D(2026, 8, 15))
    p3y = f.PairingFactory(helper=y, household=h["h3"], start_date=D(2026, 8, 15))
    f.PairingFactory(helper=x, household=h["h4"], start_date=D(2020, 1, 1), end_date=D(2026, 7, 1))
    f.PairingFactory(helper=x, household=h["h5"], start_date=D(2026, 10, 1))
    p6x = f.PairingFactory(
        helper=x, household=h["h6"], start_date=D(2020, 1, 1), end_date=D(2026, 8, 1)
    )
    f.PairingFactory(helper=y, household=h["h6"], start_date=D(2026, 8, 1))
    p7 = f.PairingFactory(helper=z, household=h["h7"], start_date=D(2020, 1, 1))
    p8 = f.PairingFactory(helper=z, household=h["h8"], start_date=D(2020, 1, 1))
    f.PairingFactory(helper=w, household=h["h9"], start_date=D(2020, 1, 1))
    p10 = f.PairingFactory(helper=o, household=h["h10"], start_date=D(2020, 1, 1))

    v1 = make_visit(h["h1"], p1, "2026-09-22 10:00", submitter)
    VisitFlag.objects.create(visit=v1, kind=FlagKind.INCOME_UNCHANGED, detail={"quarter": "2026Q3"})
    VisitFlag.objects.create(
        visit=v1,
        kind=FlagKind.VISIT_FAR_FROM_HOME,
        detail={"distance_m": 1523.4, "max_distance_m": 500},
    )
    make_visit(h["h3"], p3y, "2026-09-25 10:00", y_user)
    make_visit(h["h6"], p6x, "2026-07-20 10:00", submitter)
    make_visit(h["h7"], p7, "2026-09-23 10:00", submitter)
    make_visit(h["h7"], p7, "2026-10-05 10:00", submitter)
    make_visit(h["h8"], p8, "2026-06-25 10:00", submitter, q=2)
    make_visit(h["h10"], p10, "2026-09-25 10:00", submitter)

    unit = f.UnitFactory(region=r.county, name="县农业农村局")
    weak_a1 = f.WeakVillageFactory(village=r.village_a1)
    weak_b2 = f.WeakVillageFactory(village=r.village_b2)
    f.UnitPairingFactory(unit=unit, weak_village=weak_a1)
    up_b2 = f.UnitPairingFactory(unit=unit, weak_village=weak_b2)
    unit_user = make_user(Role.UNIT, r.county, unit=unit)
    make_village_visit(weak_b2, up_b2, unit, "2026-09-24 10:00", unit_user)
    return Data(x, y, z, w, x_user, y_user, h, v1)
