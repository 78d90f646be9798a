"""The phone app's browser tests: a helper with one household in town A, entry allowed now (an
office's extension of the current quarter, whatever today's date), the app in headless
Chromium at phone size with the device's position at the household's home, reaching the
server through a proxy the test can cut."""

from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.utils import timezone

from common.quarters import quarters_for_visit
from tests.browser import PHONE, chromium, grant, set_position
from tests.factories import TEST_PASSWORD
from tests.fieldapp.phone import PhoneApp
from tests.netproxy import Proxy
from tests.visits.helpers import HOME, make_jpeg
from visits.services import extension_grant


def allow_entry_now(office, helper_user, *, visited_at: datetime | None = None) -> None:
    """An extension of the quarter a visit made at `visited_at` (default: now) counts for,
    running until two days from now: entry is open now, whatever today's date."""
    now = timezone.now()
    extension_grant(
        user=office,
        quarter=quarters_for_visit(visited_at or now)[0],
        until=now + timedelta(days=2),
        reason="测试:当天可录入",
        helper=helper_user.helper,
    )


@pytest.fixture
def field(helper_a_user, household_a, town_a_office):
    return SimpleNamespace(
        helper=helper_a_user,
        household=household_a,
        office=town_a_office,
        password=TEST_PASSWORD,
    )


@pytest.fixture
def open_entry(field):
    allow_entry_now(field.office, field.helper)
    return field


@pytest.fixture
def proxy(live_server):
    thread = live_server.thread
    proxy = Proxy((thread.host, thread.port)).start()
    yield proxy
    proxy.cut()


def phone_at(base_url: str, profile: Path | None = None):
    """A phone whose GPS says it stands at the household's home (8 m accuracy); the same
    `profile` folder again is the same phone's browser opened again."""
    context = chromium(size=PHONE, profile=profile)
    driver = context.__enter__()
    grant(driver, base_url, ["geolocation"])
    set_position(driver, lat=float(HOME[0]), lng=float(HOME[1]), accuracy=8)
    return context, PhoneApp(driver, base_url)


@pytest.fixture
def browser_profile(tmp_path) -> Path:
    return tmp_path / "chromium-profile"


@pytest.fixture
def phone(proxy, browser_profile):
    context, app = phone_at(proxy.url, browser_profile)
    try:
        yield app
    finally:
        context.__exit__(None, None, None)


@pytest.fixture
def photo_files(tmp_path) -> dict[str, Path]:
    """Four JPEGs made now, as a phone camera writes them: two with EXIF GPS at the home, two
    whose GPS the photo picker stripped (EXIF time kept)."""
    now = timezone.now()
    files = {}
    for seed, kind in enumerate(("location", "scene", "passbook", "handbook")):
        gps = HOME if kind in ("location", "scene") else None
        path = tmp_path / f"{kind}.jpg"
        path.write_bytes(make_jpeg(taken=now, gps=gps, seed=700 + seed, size=(480, 360)))
        files[kind] = path
    return files
