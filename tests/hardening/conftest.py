"""A small two-town world for the fuzzer and the authorization matrix.

Every kind of object the API hands out by id exists twice: once in town A (`world.a`) and once
in town B (`world.b`), plus a few in the other county. The callers are one user of each role
whose area covers town A (or, for field roles, who works there), the town B office and the other
county's office. Objects are written straight to the database where submission rules (window,
days 20-30, …) would only get in the way: those rules have their own tests.
"""

import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from accounts.models import ApiToken, User, hash_token
from accounts.roles import Role
from grievances import services as grievance_services
from grievances import workflow
from grievances.models import Category, Grievance, Kind
from media.models import Photo
from notifications.models import Notification
from payments.models import PaymentWarning, WarningKind
from regions.models import Region
from register.models import Pairing, UnitKind
from tests import factories as f
from tests.clock import at
from tests.visits.helpers import make_photo
from visits.models import (
    SpotCheck,
    SpotCheckDraw,
    VillageVisit,
    Visit,
    VisitFlag,
    WindowExtension,
)

ROLES = ("helper", "unit", "town_office", "county_office", "supervisor", "department")


@pytest.fixture(autouse=True)
def _hardening_settings(settings, tmp_path):
    """Files in the test's own directory; rate limits out of the fuzzer's way (they are tested
    on their own, and a throttled 429 would hide what comes after it)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "media"},
        },
    }
    settings.GRIEVANCE_SUBMIT_LIMIT = 1_000_000
    settings.GRIEVANCE_TRACK_LIMIT = 1_000_000
    if hasattr(django_settings, "PHOTO_PUBLIC_UPLOADS_PER_HOUR"):
        settings.PHOTO_PUBLIC_UPLOADS_PER_HOUR = 1_000_000


@dataclass
class Side:
    """The objects of one town."""

    household: object = None
    helper: object = None
    pairing: object = None
    visit: object = None
    village_visit: object = None
    photo: object = None
    grievance: object = None
    draw: object = None
    check: object = None
    extension: object = None
    notification: object = None
    extra: dict = field(default_factory=dict)


@dataclass
class World:
    regions: object
    users: dict[str, User]  # role name → a caller whose area covers town A
    town_b_office: User
    outsider_office: User
    department_unit: object
    a: Side
    b: Side
    tokens: dict[str, str] = field(default_factory=dict)

    def token(self, user: User) -> str:
        """A fresh bearer token for `user` (cached per user)."""
        key = str(user.pk)
        if key not in self.tokens:
            raw = ApiToken.new_key()
            ApiToken.objects.create(
                user=user,
                key_hash=hash_token(raw),
                device_name="hardening",
                expires_at=timezone.now() + django_settings.API_TOKEN_TTL,
            )
            self.tokens[key] = raw
        return self.tokens[key]

    def headers(self, user: User | None) -> dict[str, str]:
        return {} if user is None else {"Authorization": f"Bearer {self.token(user)}"}


def _visit(household, helper, pairing, submitter, *, year=2026, quarter=3, when=None) -> Visit:
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


def _village_visit(weak_village, unit, unit_pairing, submitter) -> VillageVisit:
    return VillageVisit.objects.create(
        id=uuid.uuid4(),
        weak_village=weak_village,
        village=weak_village.village,
        unit=unit,
        unit_pairing=unit_pairing,
        submitted_by=submitter,
        year=2026,
        quarter=3,
        visited_at=at("2026-09-25 10:00"),
        lat=Decimal("32.310100"),
        lon=Decimal("121.180100"),
        raw_lat=Decimal("32.310100"),
        raw_lon=Decimal("121.180100"),
        collective_income=Decimal("120000.00"),
        content_hash="0" * 64,
    )


def _draw(supervisor, region, visit) -> tuple[SpotCheckDraw, SpotCheck]:
    draw = SpotCheckDraw.objects.create(
        supervisor=supervisor,
        region=region,
        year=visit.year,
        quarter=visit.quarter,
        seed=12345,
        sample_size=1,
        flag_weight=Decimal("2.000"),
        population=1,
        flagged_population=1,
        candidates_digest="0" * 64,
    )
    check = SpotCheck.objects.create(draw=draw, visit=visit, rank=1, flag_count=1, weight=3.0)
    return draw, check


def _grievance(village: Region, office: User, department_unit) -> Grievance:
    """A case filed in `village`, accepted and assigned to the county department."""
    filed = grievance_services.grievance_submit(
        kind=Kind.COMPLAINT,
        category=Category.FUNDS,
        region_code=village.code,
        text="村里的扶贫资金发放不公开,请调查。",
        anonymous=False,
        name="张秀英",
        phone="13812345678",
    )
    case = filed.grievance
    for action in ("accept", "assign"):
        case = workflow.transition(
            case, action, office, "说明理由", None, department=department_unit
        )
    return case


def _side(
    *,
    regions,
    town: Region,
    village: Region,
    weak_village_region: Region,
    office: User,
    supervisor: User,
    department_unit,
    helper_user: User | None = None,
    unit_user: User | None = None,
) -> Side:
    side = Side()
    side.helper = helper_user.helper if helper_user else f.HelperFactory(region=town)
    helper_user = helper_user or f.UserFactory(role=Role.HELPER, region=town, helper=side.helper)
    side.household = f.HouseholdFactory(village=village)
    side.pairing = f.PairingFactory(
        helper=side.helper, household=side.household, start_date=date(2020, 1, 1)
    )
    side.visit = _visit(side.household, side.helper, side.pairing, helper_user)
    VisitFlag.objects.create(visit=side.visit, kind="no_exif", detail={"test": True})

    unit = unit_user.unit if unit_user else f.UnitFactory(region=town, kind=UnitKind.DEPARTMENT)
    unit_user = unit_user or f.UserFactory(role=Role.UNIT, region=town, unit=unit)
    weak = f.WeakVillageFactory(village=weak_village_region)
    unit_pairing = f.UnitPairingFactory(unit=unit, weak_village=weak)
    side.village_visit = _village_visit(weak, unit, unit_pairing, unit_user)

    side.photo = make_photo(
        helper_user, "scene", taken=at("2026-09-25 10:00"), seed=int(town.pk[6:9])
    )
    side.grievance = _grievance(village, office, department_unit)
    side.draw, side.check = _draw(supervisor, town, side.visit)
    side.extension = WindowExtension.objects.create(
        year=2026,
        quarter=3,
        helper=side.helper,
        region=town,
        until=at("2026-10-20 00:00"),
        reason="暴雨,道路中断",
        granted_by=office,
    )
    side.notification = Notification.objects.create(
        recipient=helper_user, kind="test", title="提醒", dedupe_key=f"hardening-{town.pk}"
    )
    side.extra = {
        "helper_user": helper_user,
        "unit_user": unit_user,
        "unit": unit,
        "warning": PaymentWarning.objects.create(
            kind=WarningKind.AMOUNT_OFF,
            key=f"hardening-{town.pk}",
            region=village,
            detail={"amount": "550.00", "standard": "600.00"},
        ),
    }
    return side


def build_world(regions) -> World:
    county_dept = f.UnitFactory(
        name="如东县民政局",
        kind=UnitKind.DEPARTMENT,
        region=regions.county,
        handles_grievances=True,
    )
    helper_a = f.HelperFactory(region=regions.town_a)
    unit_a = f.UnitFactory(region=regions.town_a, kind=UnitKind.DEPARTMENT)
    users = {
        "helper": f.UserFactory(role=Role.HELPER, region=regions.town_a, helper=helper_a),
        "unit": f.UserFactory(role=Role.UNIT, region=regions.town_a, unit=unit_a),
        "town_office": f.UserFactory(role=Role.TOWN_OFFICE, region=regions.town_a, is_staff=True),
        "county_office": f.UserFactory(
            role=Role.COUNTY_OFFICE, region=regions.county, is_staff=True
        ),
        "supervisor": f.UserFactory(role=Role.SUPERVISOR, region=regions.county, is_staff=True),
        "department": f.UserFactory(
            role=Role.DEPARTMENT, region=regions.county, unit=county_dept, phone="13900000001"
        ),
    }
    town_b_office = f.UserFactory(role=Role.TOWN_OFFICE, region=regions.town_b, is_staff=True)
    outsider = f.UserFactory(role=Role.COUNTY_OFFICE, region=regions.other_county, is_staff=True)
    common = {
        "regions": regions,
        "supervisor": users["supervisor"],
        "department_unit": county_dept,
    }
    a = _side(
        town=regions.town_a,
        village=regions.village_a1,
        weak_village_region=regions.village_a2,
        office=users["town_office"],
        helper_user=users["helper"],
        unit_user=users["unit"],
        **common,
    )
    b = _side(
        town=regions.town_b,
        village=regions.village_b1,
        weak_village_region=regions.village_b2,
        office=town_b_office,
        **common,
    )
    return World(
        regions=regions,
        users=users,
        town_b_office=town_b_office,
        outsider_office=outsider,
        department_unit=county_dept,
        a=a,
        b=b,
    )


@pytest.fixture
def world(regions) -> World:
    return build_world(regions)


__all__ = ["ROLES", "Pairing", "Photo", "World", "at", "build_world"]
