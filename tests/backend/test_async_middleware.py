"""Under ASGI a request crosses into a thread once, for its view: every middleware runs async.

One sync-only middleware makes Django wrap the chain in two more thread hops for every request
(measured in bench/visits.py as a quarter of a bare upload's server CPU).
"""

import uuid

import pytest
from django.conf import settings
from django.test import AsyncClient
from django.utils.module_loading import import_string

from media.middleware import MULTIPART_OVERHEAD
from media.models import Photo
from tests.media.helpers import make_jpeg, upload


def test_every_middleware_can_run_async():
    sync_only = [
        path
        for path in settings.MIDDLEWARE
        if not getattr(import_string(path), "async_capable", False)
    ]
    assert sync_only == []


@pytest.mark.django_db(transaction=True)
async def test_static_files_are_served_from_the_async_chain():
    client = AsyncClient()
    response = await client.get("/static/css/site.css")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
    body = b"".join(response.streaming_content)
    assert b"{" in body
    # Anything else goes on to Django as before.
    assert (await client.get("/static/css/no-such-file.css")).status_code == 404


async def test_oversized_upload_is_refused_from_its_header_in_the_async_chain(settings):
    settings.PHOTO_MAX_BYTES = 2048
    declared = 2048 + MULTIPART_OVERHEAD + 1
    # Garbage, never parsed, and no login: the answer comes before the view and its auth.
    response = await AsyncClient().generic(
        "POST",
        "/api/v1/photos",
        data=b"x" * declared,
        content_type="multipart/form-data; boundary=zzz",
    )
    assert response.status_code == 413
    assert response.json()["detail"]["limit_bytes"] == 2048


@pytest.mark.django_db(transaction=True)
async def test_public_uploads_are_counted_in_the_async_chain(settings):
    settings.PHOTO_PUBLIC_UPLOADS_PER_HOUR = 2
    client = AsyncClient()
    jpeg = make_jpeg(taken="2025:12:22 10:30:00")
    codes = []
    for _ in range(3):
        response = await client.post(
            "/api/v1/public/photos", {"file": upload(jpeg), "id": str(uuid.uuid4())}
        )
        codes.append(response.status_code)
    assert codes == [201, 201, 429]
    assert response.json()["code"] == "throttled"
    assert await Photo.objects.acount() == 2
