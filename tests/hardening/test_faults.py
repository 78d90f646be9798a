"""Faults: Redis gone (channel layer, cache), the server killed mid-upload, PostgreSQL
connections cut. What must hold: visits and complaints are still accepted and stored, nothing
half-written remains, errors are clean JSON and the service comes back by itself.

The machine's Redis and PostgreSQL are shared with other engineers: they are never stopped.
Redis is "down" for the code under test by pointing it at a closed port; PostgreSQL's outage
is a TCP proxy in front of it that the test closes and reopens, and `pg_terminate_backend`
on the server's own connections.
"""

import logging
import uuid
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.utils import timezone

from backend.accounts.models import ApiToken, hash_token
from grievances.models import Grievance
from media.models import Photo
from tests.visits.helpers import at, make_jpeg, payload, visit_photos
from visits.models import Visit

CLOSED = "redis://127.0.0.1:1/0"  # nothing listens on port 1: connection refused at once
ORIGIN = [(b"origin", b"http://127.0.0.1")]


@pytest.fixture
def in_window(monkeypatch):
    """Christmas 2026, inside the Q4 2026 window."""
    moment = at("2026-12-25 18:00")
    monkeypatch.setattr(timezone, "now", lambda: moment)
    return moment


@pytest.fixture
def channel_layer(settings):
    """Switch the channel layer; channels caches built layers, so forget them each time."""

    def use(config: dict) -> None:
        settings.CHANNEL_LAYERS = {"default": config}
        channel_layers.backends = {}

    yield use
    channel_layers.backends = {}


def redis_layer(url: str) -> dict:
    return {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [url], "prefix": f"faults-{uuid.uuid4().hex[:8]}"},
    }


def working_layer() -> dict:
    """Real Redis when the run has one (REDIS_URL: the tester's own db number), else memory."""
    if django_settings.REDIS_URL:
        return redis_layer(django_settings.REDIS_URL)
    return {"BACKEND": "channels.layers.InMemoryChannelLayer"}


def file_grievance(api_client, regions, text="低保金被村干部截留,请调查。"):
    body = {
        "kind": "complaint",
        "category": "funds",
        "region": regions.village_a1.code,
        "text": text,
        "name": "王建国",
        "phone": "13911112222",
    }
    return api_client.anonymous().post("/grievances", body)


def submit_visit(api_client, user, household, *, seed: int, when: str = "2026-12-25 10:00"):
    photos = visit_photos(user, taken=at(when), seed=seed)
    body = payload(household, photos, visited_at=at(when))
    return api_client.as_user(user).post("/visits", body), body


async def _connect(user, code: str) -> WebsocketCommunicator:
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
    assert connected
    return communicator


# --- Redis: the channel layer ------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_channel_layer_down_visits_and_complaints_are_stored_and_live_updates_resume(
    channel_layer,
    caplog,
    api_client,
    regions,
    helper_a_user,
    household_a,
    town_a_office,
    in_window,
):
    channel_layer(redis_layer(CLOSED))
    caplog.set_level(logging.WARNING, logger="backend.live")

    response, body = await sync_to_async(submit_visit)(
        api_client, helper_a_user, household_a, seed=1
    )
    assert response.status_code == 201, response.content
    assert await Visit.objects.filter(pk=body["id"]).aexists()
    filed = await sync_to_async(file_grievance)(api_client, regions)
    assert filed.status_code == 201, filed.content
    assert await Grievance.objects.acount() == 1

    missed = [r.getMessage() for r in caplog.records if "live update missed" in r.getMessage()]
    # The log names what was missed: the visit's coverage groups and the complaint's area.
    assert f"group=coverage.{household_a.village_id}" in " ".join(missed)
    assert any(f"type=coverage.visit visit={body['id']}" in m for m in missed)
    case = await Grievance.objects.aget()
    assert any(
        m.startswith("live update missed: group=grievances.area.")
        and m.endswith(f"type=grievance.changed grievance={case.pk}")
        for m in missed
    )

    # Redis is back: the next visit reaches the office's live page.
    channel_layer(working_layer())
    communicator = await _connect(town_a_office, household_a.village_id)
    try:
        response, body = await sync_to_async(submit_visit)(
            api_client, helper_a_user, household_a, seed=2, when="2026-12-25 11:00"
        )
        assert response.status_code == 201, response.content
        message = await communicator.receive_json_from(timeout=5)
        assert message["type"] == "visit"
        assert message["visit"]["id"] == body["id"]
    finally:
        await communicator.disconnect()


# --- Redis: the cache (throttle counters, coverage roll-ups) -----------------------------------


@pytest.mark.django_db
def test_cache_down_requests_still_answer(
    settings, caplog, api_client, regions, helper_a_user, household_a, county_office, in_window
):
    settings.CACHES = {
        "default": {
            "BACKEND": "backend.cache.ResilientRedisCache",
            "LOCATION": CLOSED,
        }
    }
    caplog.set_level(logging.WARNING, logger="backend.cache")
    # Throttled public filing (cache counters): accepted, not a 500.
    filed = file_grievance(api_client, regions)
    assert filed.status_code == 201, filed.content
    # Throttled anonymous photo upload (counted in middleware).
    from django.core.files.uploadedfile import SimpleUploadedFile

    photo_id = uuid.uuid4()
    upload = api_client.anonymous().post(
        "/public/photos",
        data={
            "file": SimpleUploadedFile("p.jpg", make_jpeg(seed=3), content_type="image/jpeg"),
            "id": str(photo_id),
        },
    )
    assert upload.status_code == 201, upload.content
    assert Photo.objects.filter(pk=photo_id).exists()
    # A visit, and the county's coverage (cached roll-ups): computed without the cache.
    response, _ = submit_visit(api_client, helper_a_user, household_a, seed=4)
    assert response.status_code == 201, response.content
    coverage = api_client.as_user(county_office).get(
        "/coverage", {"quarter": "2026Q4", "region": regions.county.code}
    )
    assert coverage.status_code == 200, coverage.content
    assert any("cache unavailable" in r.getMessage() for r in caplog.records)
