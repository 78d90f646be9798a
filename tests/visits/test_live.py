"""Accepted visits reach the live coverage page of every area above the household."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from accounts.models import ApiToken, hash_token
from tests.visits.helpers import at, visit_photos
from visits.services import Income, Position, VisitInput, coverage_groups, visit_submit

ORIGIN = [(b"origin", b"http://127.0.0.1")]


async def _connect(user, code: str) -> tuple[WebsocketCommunicator, bool]:
    from backend.asgi import application

    raw = f"ws-{uuid.uuid4()}"
    await ApiToken.objects.acreate(
        user=user,
        key_hash=hash_token(raw),
        device_name="t",
        expires_at=timezone.now() + timedelta(hours=1),
    )
    communicator = WebsocketCommunicator(
        application, f"/ws/coverage/{code}/?token={raw}", headers=ORIGIN
    )
    connected, _ = await communicator.connect()
    return communicator, connected


def test_coverage_groups_are_every_ancestor_prefix():
    assert coverage_groups("320623100201") == [
        "coverage.3206",
        "coverage.320623",
        "coverage.320623100",
        "coverage.320623100201",
    ]


@pytest.mark.django_db(transaction=True)
async def test_office_of_the_area_sees_a_visit_live(
    county_office, town_a_office, helper_a_user, household_a, regions, in_window
):
    county, ok_county = await _connect(county_office, regions.county.code)
    village, ok_village = await _connect(town_a_office, regions.village_a1.code)
    other_village, ok_other = await _connect(town_a_office, regions.village_a2.code)
    try:
        assert ok_county
        assert ok_village
        assert ok_other
        photos = await sync_to_async(visit_photos)(helper_a_user, taken=at("2026-12-25 10:00"))
        data = VisitInput(
            id=uuid.uuid4(),
            household_id=household_a.pk,
            visited_at=at("2026-12-25 10:00"),
            position=Position(lat=Decimal("32.3101"), lon=Decimal("121.1801")),
            photo_ids=tuple(p.pk for p in photos),
            income=Income(
                wages=Decimal("1"),
                operating=Decimal("0"),
                property=Decimal("0"),
                transfers=Decimal("0"),
            ),
            passbook_checked=True,
        )
        await sync_to_async(visit_submit)(user=helper_a_user, data=data)
        for communicator in (county, village):
            message = await communicator.receive_json_from(timeout=3)
            assert message["type"] == "visit"
            assert message["visit"]["id"] == str(data.id)
            assert message["visit"]["village"] == household_a.village_id
        assert await other_village.receive_nothing(timeout=0.3)
    finally:
        for communicator in (county, village, other_village):
            await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_outside_the_area_is_refused(
    town_b_office, outsider_office, helper_a_user, regions, in_window
):
    for user, code in (
        (town_b_office, regions.town_a.code),
        (outsider_office, regions.county.code),
        (helper_a_user, regions.village_a1.code),  # helpers do not follow coverage
    ):
        communicator, connected = await _connect(user, code)
        assert not connected, (user.role, code)
        await communicator.disconnect()
    from backend.asgi import application

    anonymous = WebsocketCommunicator(
        application, f"/ws/coverage/{regions.county.code}/", headers=ORIGIN
    )
    connected, _ = await anonymous.connect()
    assert not connected
    await anonymous.disconnect()
