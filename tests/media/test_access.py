"""Who may read a photo: its uploader and staff whose area covers its region; nobody else."""

import datetime as dt
import uuid

import pytest
from django.core.files.storage import default_storage

from accounts.models import AuditAction, AuditEntry
from accounts.roles import Role
from media import responses
from media.images import SHANGHAI
from media.models import Photo
from media.selectors import photos_for_user
from tests.http import body_blocks
from tests.media.helpers import form, make_jpeg

ENDPOINTS = [
    "/photos/{id}",
    "/photos/{id}/file?variant=original",
    "/photos/{id}/file?variant=display",
    "/photos/{id}/file?variant=thumbnail",
]


@pytest.fixture
def passbook(api_client, helper_a_user, django_capture_on_commit_callbacks) -> Photo:
    photo_id = uuid.uuid4()
    data = make_jpeg((320, 240), taken="2025:12:22 10:30:00")
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.as_user(helper_a_user).post(
            "/photos", data=form(data, kind="passbook", photo_id=photo_id)
        )
    assert response.status_code == 201
    return Photo.objects.get(pk=photo_id)


@pytest.mark.parametrize("path", ENDPOINTS)
def test_outsider_is_refused_on_every_endpoint(api_client, passbook, outsider_office, path):
    response = api_client.as_user(outsider_office).get(path.format(id=passbook.pk))
    assert response.status_code == 404
    missing = api_client.get(path.format(id=uuid.uuid4()))
    assert response.json() == missing.json()  # "not yours" looks like "does not exist"


@pytest.mark.parametrize("path", ENDPOINTS)
def test_other_town_office_is_refused(api_client, passbook, town_b_office, path):
    assert api_client.as_user(town_b_office).get(path.format(id=passbook.pk)).status_code == 404


@pytest.mark.parametrize("path", ENDPOINTS)
def test_colleague_helper_in_the_same_town_is_refused(
    api_client, passbook, make_user, regions, path
):
    colleague = make_user(Role.HELPER, regions.town_a)
    assert api_client.as_user(colleague).get(path.format(id=passbook.pk)).status_code == 404


@pytest.mark.parametrize("path", ENDPOINTS)
def test_anonymous_is_refused(db, api_client, passbook, path):
    assert api_client.anonymous().get(path.format(id=passbook.pk)).status_code == 401


@pytest.mark.parametrize("path", ENDPOINTS)
def test_uploader_and_area_staff_may_read(
    api_client, passbook, helper_a_user, town_a_office, county_office, supervisor, path
):
    for user in (helper_a_user, town_a_office, county_office, supervisor):
        response = api_client.as_user(user).get(path.format(id=passbook.pk))
        assert response.status_code == 200, (user.role, response.content)


def test_metadata(api_client, passbook, town_a_office):
    body = api_client.as_user(town_a_office).get(f"/photos/{passbook.pk}").json()
    assert body["kind"] == "passbook"
    assert body["status"] == "processed"
    assert body["sha256"] == passbook.sha256
    assert dt.datetime.fromisoformat(body["taken_at"]) == dt.datetime(
        2025, 12, 22, 10, 30, tzinfo=SHANGHAI
    )
    assert body["exif_lat"] is None
    assert (body["width"], body["height"]) == (320, 240)
    assert body["has_display"]
    assert body["has_thumbnail"]
    assert body["region"] == town_a_office.region_id


def test_file_headers_and_bytes(api_client, passbook, helper_a_user, monkeypatch):
    # Blocks smaller than the test photo, so that it really goes out in several.
    monkeypatch.setattr(responses, "BLOCK_SIZE", 1024)
    response = api_client.as_user(helper_a_user).get(f"/photos/{passbook.pk}/file?variant=original")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "private, no-store"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("inline")
    assert f"photo-{passbook.pk}-original.jpg" in response["Content-Disposition"]
    # Sent block by block through an asynchronous iterator (ASGI then never holds it whole).
    assert response.is_async
    blocks = body_blocks(response)
    with default_storage.open(passbook.original.name, "rb") as fh:
        original = fh.read()
    assert b"".join(blocks) == original
    assert response["Content-Length"] == str(len(original))
    assert all(len(b) <= responses.BLOCK_SIZE for b in blocks)
    assert len(blocks) > 1


def test_passbook_views_by_staff_are_audited(api_client, passbook, helper_a_user, town_a_office):
    api_client.as_user(helper_a_user).get(f"/photos/{passbook.pk}/file")
    assert AuditEntry.objects.count() == 0  # the uploader looking at their own photo
    api_client.as_user(town_a_office).get(f"/photos/{passbook.pk}/file?variant=display")
    entry = AuditEntry.objects.get()
    assert entry.action == AuditAction.VIEW_PHOTO
    assert entry.actor == town_a_office
    assert entry.target_id == str(passbook.pk)
    assert entry.region_code == passbook.region_id


def test_scene_views_are_not_audited(
    api_client, helper_a_user, town_a_office, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        photo_id = (
            api_client.as_user(helper_a_user).post("/photos", data=form(make_jpeg())).json()["id"]
        )
    api_client.as_user(town_a_office).get(f"/photos/{photo_id}/file")
    assert AuditEntry.objects.count() == 0


def test_display_before_processing_is_not_ready(api_client, helper_a_user):
    # Without running the on-commit callbacks the photo stays "received".
    photo_id = (
        api_client.as_user(helper_a_user).post("/photos", data=form(make_jpeg())).json()["id"]
    )
    response = api_client.get(f"/photos/{photo_id}/file?variant=display")
    assert response.status_code == 409
    assert response.json()["code"] == "not_ready"
    assert api_client.get(f"/photos/{photo_id}/file?variant=original").status_code == 200


def test_anonymous_grievance_photo_is_seen_by_nobody_until_its_region_is_set(
    api_client, town_a_office, regions
):
    from media.services import photo_set_region

    photo_id = uuid.uuid4()
    api_client.anonymous().post(
        "/public/photos", data={"file": form(make_jpeg())["file"], "id": str(photo_id)}
    )
    assert api_client.as_user(town_a_office).get(f"/photos/{photo_id}").status_code == 404
    photo_set_region(Photo.objects.get(pk=photo_id), regions.village_a1.code)
    assert api_client.get(f"/photos/{photo_id}").status_code == 200


def test_photos_for_user_is_one_query(passbook, town_a_office, django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        assert [p.pk for p in photos_for_user(town_a_office)] == [passbook.pk]
