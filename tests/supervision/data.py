"""Visits written straight to the database for reminder and supervision tests: these tests are
about who is reminded and what is drawn, not about submission (tests/visits covers that)."""

import uuid
from decimal import Decimal

from accounts.roles import Role
from register.models import Pairing
from tests import factories as f
from tests.clock import SH, at  # noqa: F401 (at: imported from here by the tests)
from visits.models import FlagKind, Visit, VisitFlag


def make_visit(household, *, year: int, quarter: int, when: str | None = None, helper=None):
    """A visit of `household` in `year`Q`quarter` by its current (or the given) helper."""
    pairing = Pairing.objects.filter(household=household).order_by("-start_date").first()
    helper = helper or pairing.helper
    submitter = getattr(helper, "user", None) or f.UserFactory(
        role=Role.HELPER, region=helper.region
    )
    return Visit.objects.create(
        id=uuid.uuid4(),
        household=household,
        village=household.village,
        helper=helper,
        pairing=pairing,
        submitted_by=submitter,
        year=year,
        quarter=quarter,
        visited_at=at(when or f"{year}-{3 * quarter:02d}-25 10:00"),
        lat=Decimal("32.310100"),
        lon=Decimal("121.180100"),
        raw_lat=Decimal("32.310100"),
        raw_lon=Decimal("121.180100"),
        wages=Decimal("3000.00"),
        operating=Decimal("0.00"),
        property=Decimal("0.00"),
        transfers=Decimal("450.00"),
        passbook_checked=True,
        content_hash="0" * 64,
    )


def flag(visit, *kinds: str) -> None:
    for kind in kinds:
        VisitFlag.objects.create(visit=visit, kind=kind, detail={"test": True})


def paired_household(village, helper=None, **extra):
    household = f.HouseholdFactory(village=village, **extra)
    f.PairingFactory(helper=helper or f.HelperFactory(region=village.parent), household=household)
    return household


__all__ = ["FlagKind", "at", "flag", "make_visit", "paired_household"]
