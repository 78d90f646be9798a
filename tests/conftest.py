"""Standing fixtures: a small region tree and users who own, share or lie outside an area.

Rudong county (320623) has towns A (320623100) and B (320623101); each has two villages.
A second county (Rugao, 320682) is outside everything Rudong's users may see.
"""

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from accounts.roles import Role
from regions.models import Level, Region
from tests import factories as f

SHARED_PHOTOS = Path(__file__).resolve().parent.parent.parent / "shared" / "photos"


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # argon2 costs ~150 ms a hash: correct in production, needless in tests.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_neardup_index():
    """Each test starts with no near-duplicate index in this process, as a new worker does: a
    test's rolled-back rows must not linger in it, and SQLite hands their ids out again."""
    from visits.neardup import INDEX

    INDEX.forget()
    yield
    INDEX.forget()


@pytest.fixture(autouse=True)
def _test_storage(settings, tmp_path):
    """Each test's stored files go to its own temporary folder, never into var/media. Returns
    the folder (None when the storage is not the local file system)."""
    if settings.STORAGES["default"]["BACKEND"] != "django.core.files.storage.FileSystemStorage":
        return None
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "media"},
        },
    }
    return tmp_path / "media"


@pytest.fixture
def clock(monkeypatch):
    """Set the service's "now" (django.utils.timezone.now) to a moment in Asia/Shanghai."""
    from django.utils import timezone

    from tests.clock import at

    class Clock:
        def set(self, moment: datetime | str) -> datetime:
            moment = at(moment) if isinstance(moment, str) else moment
            monkeypatch.setattr(timezone, "now", lambda: moment)
            return moment

    return Clock()


@dataclass
class Regions:
    city: Region
    county: Region
    town_a: Region
    town_b: Region
    village_a1: Region
    village_a2: Region
    village_b1: Region
    village_b2: Region
    other_county: Region
    other_town: Region
    other_village: Region


def _region(code: str, name: str, level: Level, parent: Region | None) -> Region:
    return Region.objects.create(code=code, name=name, level=level, parent=parent)


@pytest.fixture
def regions(db) -> Regions:
    province = _region("320000000000", "江苏省", Level.PROVINCE, None)
    city = _region("320600000000", "南通市", Level.CITY, province)
    county = _region("320623000000", "如东县", Level.COUNTY, city)
    town_a = _region("320623100000", "掘港镇", Level.TOWN, county)
    town_b = _region("320623101000", "马塘镇", Level.TOWN, county)
    other_county = _region("320682000000", "如皋市", Level.COUNTY, city)
    other_town = _region("320682100000", "如城街道", Level.TOWN, other_county)
    return Regions(
        city=city,
        county=county,
        town_a=town_a,
        town_b=town_b,
        village_a1=_region("320623100201", "东凌村", Level.VILLAGE, town_a),
        village_a2=_region("320623100202", "新光村", Level.VILLAGE, town_a),
        village_b1=_region("320623101201", "马塘村", Level.VILLAGE, town_b),
        village_b2=_region("320623101202", "邱陞村", Level.VILLAGE, town_b),
        other_county=other_county,
        other_town=other_town,
        other_village=_region("320682100201", "平园池村", Level.VILLAGE, other_town),
    )


@pytest.fixture
def make_user(db):
    def make(role: Role, region: Region, **extra):
        return f.UserFactory(role=role, region=region, **extra)

    return make


@pytest.fixture
def town_a_office(regions, make_user):
    return make_user(Role.TOWN_OFFICE, regions.town_a, is_staff=True)


@pytest.fixture
def town_a_colleague(regions, make_user):
    return make_user(Role.TOWN_OFFICE, regions.town_a, is_staff=True)


@pytest.fixture
def town_b_office(regions, make_user):
    return make_user(Role.TOWN_OFFICE, regions.town_b, is_staff=True)


@pytest.fixture
def county_office(regions, make_user):
    return make_user(Role.COUNTY_OFFICE, regions.county, is_staff=True)


@pytest.fixture
def outsider_office(regions, make_user):
    """An office in another county: sees none of Rudong."""
    return make_user(Role.COUNTY_OFFICE, regions.other_county, is_staff=True)


@pytest.fixture
def supervisor(regions, make_user):
    return make_user(Role.SUPERVISOR, regions.county, is_staff=True)


@pytest.fixture
def helper_a(regions):
    return f.HelperFactory(region=regions.town_a)


@pytest.fixture
def helper_a_user(helper_a, make_user, regions):
    return make_user(Role.HELPER, regions.town_a, helper=helper_a)


@pytest.fixture
def household_a(regions, helper_a):
    household = f.HouseholdFactory(village=regions.village_a1)
    f.PairingFactory(helper=helper_a, household=household)
    return household


@pytest.fixture
def household_b(regions):
    household = f.HouseholdFactory(village=regions.village_b1)
    f.PairingFactory(helper=f.HelperFactory(region=regions.town_b), household=household)
    return household


@pytest.fixture
def api_client():
    """A Django test client that speaks to /api/v1 as a given user (bearer token)."""
    from django.test import Client

    from accounts.models import ApiToken, hash_token

    class ApiClient:
        def __init__(self):
            self.client = Client()
            self.headers: dict[str, str] = {}

        def as_user(self, user):
            from django.conf import settings
            from django.utils import timezone

            raw = ApiToken.new_key()
            ApiToken.objects.create(
                user=user,
                key_hash=hash_token(raw),
                device_name="test",
                expires_at=timezone.now() + settings.API_TOKEN_TTL,
            )
            self.headers = {"Authorization": f"Bearer {raw}"}
            return self

        def anonymous(self):
            self.headers = {}
            return self

        def _call(self, method, path, data=None, **kwargs):
            headers = {**self.headers, **kwargs.pop("headers", {})}
            fn = getattr(self.client, method)
            if (
                method in ("post", "put", "patch")
                and "content_type" not in kwargs
                and not (isinstance(data, dict) and any(hasattr(v, "read") for v in data.values()))
            ):
                kwargs["content_type"] = "application/json"
            return fn(f"/api/v1{path}", data=data, headers=headers, **kwargs)

        def get(self, path, data=None, **kw):
            return self._call("get", path, data, **kw)

        def post(self, path, data=None, **kw):
            return self._call("post", path, data, **kw)

        def patch(self, path, data=None, **kw):
            return self._call("patch", path, data, **kw)

        def put(self, path, data=None, **kw):
            return self._call("put", path, data, **kw)

        def delete(self, path, data=None, **kw):
            return self._call("delete", path, data, **kw)

    return ApiClient()


@pytest.fixture
def shared_photos() -> Path:
    if not SHARED_PHOTOS.is_dir():
        pytest.skip(
            f"real photos not found at {SHARED_PHOTOS} (CI has them; a fresh clone may not)"
        )
    return SHARED_PHOTOS
