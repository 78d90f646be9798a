"""The same upload sent many times at once (a phone retrying on a flaky network)."""

import threading
import uuid

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection
from django.test import Client
from django.utils import timezone

from accounts.models import ApiToken, hash_token
from media.models import Photo
from tests.media.helpers import make_jpeg, upload

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def token(helper_a_user) -> str:
    raw = ApiToken.new_key()
    ApiToken.objects.create(
        user=helper_a_user,
        key_hash=hash_token(raw),
        device_name="race",
        expires_at=timezone.now() + settings.API_TOKEN_TTL,
    )
    return raw


def test_ten_identical_uploads_at_once_make_one_photo_and_one_file(token):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (SQLite serialises writers, so there is no race to test)")
    data = make_jpeg((640, 480), taken="2025:12:22 10:30:00")
    photo_id = str(uuid.uuid4())
    barrier = threading.Barrier(10)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def send() -> None:
        try:
            client = Client()
            barrier.wait()
            response = client.post(
                "/api/v1/photos",
                data={"file": upload(data), "id": photo_id, "kind": "scene"},
                headers={"Authorization": f"Bearer {token}"},
            )
            statuses.append(response.status_code)
        except BaseException as exc:  # noqa: BLE001 (reported by the assertion below)
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    assert sorted(statuses) == [200] * 9 + [201]
    photo = Photo.objects.get()
    assert str(photo.pk) == photo_id
    folder = photo.original.name.rsplit("/", 1)[0]
    _, stored = default_storage.listdir(folder)
    assert stored == [photo.original.name.rsplit("/", 1)[1]]  # no orphan from a losing racer
