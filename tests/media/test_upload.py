"""POST /api/v1/photos: what is accepted, what is refused and why, and retries."""

import datetime as dt
import hashlib
import uuid
from decimal import Decimal

import pytest
from django.core.files.storage import default_storage

from common.geo import wgs84_to_gcj02
from media.models import Photo, PhotoStatus
from tests.media.helpers import form, make_gif, make_jpeg, make_png, upload


@pytest.fixture
def helper_client(api_client, helper_a_user):
    return api_client.as_user(helper_a_user)


def test_jpeg_with_exif_is_stored_untouched_and_processed(
    helper_client, helper_a_user, jpeg_with_gps, django_capture_on_commit_callbacks
):
    photo_id = uuid.uuid4()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = helper_client.post("/photos", data=form(jpeg_with_gps, photo_id=photo_id))
    assert len(callbacks) == 1  # the processing task, queued for after the commit
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["id"] == str(photo_id)
    assert body["taken_at"] == "2025-12-22T10:30:00+08:00"
    assert body["exif_lat"] == pytest.approx(32.325)
    assert body["exif_lon"] == pytest.approx(121.1875)

    photo = Photo.objects.get(pk=photo_id)
    assert photo.uploaded_by == helper_a_user
    assert photo.region_id == helper_a_user.region_id
    with default_storage.open(photo.original.name, "rb") as fh:
        assert fh.read() == jpeg_with_gps  # the original, byte for byte
    assert photo.sha256 == hashlib.sha256(jpeg_with_gps).hexdigest()
    assert photo.size_bytes == len(jpeg_with_gps)
    assert photo.original.name.startswith("photos/")
    assert str(photo_id) in photo.original.name
    # The immediate tasks backend ran the processing after the commit.
    assert photo.status == PhotoStatus.PROCESSED
    assert photo.phash
    assert len(photo.phash) == 16
    assert photo.display
    assert photo.thumbnail


def test_png_is_accepted(helper_client):
    response = helper_client.post("/photos", data=form(make_png(), name="a.png"))
    assert response.status_code == 201, response.content
    assert response.json()["content_type"] == "image/png"
    assert response.json()["taken_at"] is None
    assert response.json()["exif_lat"] is None


def test_same_uuid_same_bytes_replays_the_first_answer(helper_client, jpeg_with_gps):
    photo_id = uuid.uuid4()
    first = helper_client.post("/photos", data=form(jpeg_with_gps, photo_id=photo_id))
    second = helper_client.post("/photos", data=form(jpeg_with_gps, photo_id=photo_id))
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert Photo.objects.count() == 1
    # One stored original: the replay wrote nothing.
    _, files = default_storage.listdir(Photo.objects.get().original.name.rsplit("/", 1)[0])
    assert len(files) == 1


def test_same_uuid_different_bytes_is_a_conflict(helper_client, jpeg_with_gps):
    photo_id = uuid.uuid4()
    assert (
        helper_client.post("/photos", data=form(jpeg_with_gps, photo_id=photo_id)).status_code
        == 201
    )
    other = make_jpeg(color=(1, 2, 3))
    response = helper_client.post("/photos", data=form(other, photo_id=photo_id))
    assert response.status_code == 409
    assert response.json()["code"] == "photo_id_conflict"


def test_same_uuid_same_bytes_by_another_user_is_a_conflict(
    api_client, helper_a_user, town_a_office, jpeg_with_gps
):
    photo_id = uuid.uuid4()
    api_client.as_user(helper_a_user)
    assert (
        api_client.post("/photos", data=form(jpeg_with_gps, photo_id=photo_id)).status_code == 201
    )
    api_client.as_user(town_a_office)
    response = api_client.post("/photos", data=form(jpeg_with_gps, photo_id=photo_id))
    assert response.status_code == 409
    assert Photo.objects.get().uploaded_by == helper_a_user


def test_client_position_in_gcj02_is_stored_as_wgs84(helper_client, jpeg_with_gps):
    lat, lon = 32.3, 121.18
    g_lat, g_lon = wgs84_to_gcj02(lat, lon)
    response = helper_client.post(
        "/photos",
        data=form(
            jpeg_with_gps,
            client_lat=f"{g_lat:.8f}",
            client_lon=f"{g_lon:.8f}",
            client_accuracy_m="12.5",
            client_coord_system="gcj02",
            client_taken_at="2025-12-22T10:31:00+08:00",
        ),
    )
    assert response.status_code == 201, response.content
    photo = Photo.objects.get()
    assert abs(photo.client_lat - Decimal(str(lat))) < Decimal("0.00001")
    assert abs(photo.client_lon - Decimal(str(lon))) < Decimal("0.00001")
    assert photo.client_coord_system == "gcj02"
    assert photo.client_accuracy_m == Decimal("12.5")
    assert photo.client_taken_at == dt.datetime(2025, 12, 22, 2, 31, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "extra",
    [
        {"client_lat": "32.1"},  # half a position
        {"client_lat": "32.1", "client_lon": "121.1", "client_coord_system": "utm"},
        {"client_lat": "95", "client_lon": "121.1"},
    ],
)
def test_bad_client_position_is_refused(helper_client, jpeg_with_gps, extra):
    response = helper_client.post("/photos", data=form(jpeg_with_gps, **extra))
    assert response.status_code == 422
    assert Photo.objects.count() == 0


def test_unknown_kind_is_refused(helper_client, jpeg_with_gps):
    response = helper_client.post("/photos", data=form(jpeg_with_gps, kind="selfie"))
    assert response.status_code == 422
    assert response.json()["code"] == "bad_kind"


def test_login_required(db, api_client, jpeg_with_gps):
    response = api_client.anonymous().post("/photos", data=form(jpeg_with_gps))
    assert response.status_code == 401


# --- refusals ----------------------------------------------------------------------------------


def _refused(response, status: int, code: str):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code
    assert body["message"]  # a reason the phone can show
    assert Photo.objects.count() == 0
    return body


def test_text_file_named_jpg_is_not_an_image(helper_client):
    data = form(b"this is not a photo, just text\n" * 20, name="photo.jpg")
    _refused(helper_client.post("/photos", data=data), 415, "not_an_image")


def test_empty_file_is_not_an_image(helper_client):
    _refused(helper_client.post("/photos", data=form(b"")), 415, "not_an_image")


def test_gif_is_an_unsupported_format(helper_client):
    body = _refused(
        helper_client.post("/photos", data=form(make_gif(), name="a.gif")),
        415,
        "unsupported_format",
    )
    assert body["detail"]["format"] == "GIF"


def test_truncated_jpeg_is_refused(helper_client):
    data = make_jpeg((400, 300), taken="2025:12:22 10:30:00")
    _refused(helper_client.post("/photos", data=form(data[: len(data) * 2 // 3])), 422, "truncated")


def test_truncated_png_is_refused(helper_client):
    data = make_png((300, 300), mode="RGB", color=(1, 2, 3))
    _refused(helper_client.post("/photos", data=form(data[:-20], name="a.png")), 422, "truncated")


def test_too_many_pixels_is_refused_without_decoding(helper_client, settings):
    settings.PHOTO_MAX_PIXELS = 1_000_000
    # 8000 x 8000 of one colour compresses to a few kilobytes.
    data = make_png((8000, 8000), mode="L", color=0)
    assert len(data) < 200_000
    body = _refused(
        helper_client.post("/photos", data=form(data, name="big.png")), 422, "too_many_pixels"
    )
    assert body["detail"]["limit_pixels"] == 1_000_000


def test_file_over_the_limit_is_413_with_the_limit(helper_client, settings):
    settings.PHOTO_MAX_BYTES = 2048
    data = make_jpeg((300, 300), pattern=True, quality=100)
    assert len(data) > 2048
    body = _refused(helper_client.post("/photos", data=form(data)), 413, "too_large")
    assert body["detail"]["limit_bytes"] == 2048


def test_declared_body_over_the_limit_is_413_before_parsing(helper_a_user, settings, client):
    settings.PHOTO_MAX_BYTES = 2048
    # A body declared far larger than the limit: answered from the header alone, the
    # (garbage) body is never parsed.
    response = client.generic(
        "POST",
        "/api/v1/photos",
        data=b"x" * 10,
        content_type="multipart/form-data; boundary=zzz",
        CONTENT_LENGTH=str(2048 + 10_000_000),
    )
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert response.json()["detail"]["limit_bytes"] == 2048


def test_missing_file_is_422(helper_client):
    response = helper_client.post(
        "/photos", data={"id": str(uuid.uuid4()), "kind": "scene", "f": upload(b"x")}
    )
    assert response.status_code == 422


# --- anonymous grievance photos ------------------------------------------------------------------


def test_resident_uploads_a_grievance_photo_without_login(db, api_client, jpeg_with_gps):
    photo_id = uuid.uuid4()
    response = api_client.anonymous().post(
        "/public/photos", data={"file": upload(jpeg_with_gps), "id": str(photo_id)}
    )
    assert response.status_code == 201, response.content
    assert set(response.json()) == {"id", "kind", "status"}  # nothing read from the file
    photo = Photo.objects.get(pk=photo_id)
    assert photo.uploaded_by is None
    assert photo.kind == "grievance"
    assert photo.region is None
    again = api_client.post(
        "/public/photos", data={"file": upload(jpeg_with_gps), "id": str(photo_id)}
    )
    assert again.status_code == 200


def test_resident_may_not_upload_visit_photos(db, api_client, jpeg_with_gps):
    response = api_client.anonymous().post(
        "/public/photos",
        data={"file": upload(jpeg_with_gps), "id": str(uuid.uuid4()), "kind": "passbook"},
    )
    assert response.status_code == 422
    assert Photo.objects.count() == 0


def test_public_uploads_are_limited_per_address(db, api_client, settings, jpeg_with_gps):
    settings.PHOTO_PUBLIC_UPLOADS_PER_HOUR = 2
    api_client.anonymous()
    codes = [
        api_client.post(
            "/public/photos", data={"file": upload(jpeg_with_gps), "id": str(uuid.uuid4())}
        ).status_code
        for _ in range(3)
    ]
    assert codes == [201, 201, 429]
    response = api_client.post(
        "/public/photos", data={"file": upload(jpeg_with_gps), "id": str(uuid.uuid4())}
    )
    assert response.json()["code"] == "throttled"
    # Another address is not affected.
    other = api_client.post(
        "/public/photos",
        data={"file": upload(jpeg_with_gps), "id": str(uuid.uuid4())},
        REMOTE_ADDR="10.9.9.9",
    )
    assert other.status_code == 201
