"""The background processing: derivatives from one decode, orientation, hashes, hooks, failures."""

import io
import uuid

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image

from accounts.roles import Role
from common.errors import Unprocessable
from media import processing, services
from media.images import read_exif
from media.models import Photo, PhotoStatus
from tests.media.helpers import make_jpeg, make_png

hook_calls: list[str] = []


def record_hook(photo_id: str) -> None:
    hook_calls.append(photo_id)


def failing_hook(photo_id: str) -> None:
    raise RuntimeError("a hook that fails must not undo the processing")


def receive(data: bytes, user, *, kind="scene", photo_id=None) -> Photo:
    return services.photo_receive(
        photo_id=photo_id or uuid.uuid4(), file=ContentFile(data, name="x"), kind=kind, user=user
    ).photo


def open_image(name: str) -> Image.Image:
    with default_storage.open(name, "rb") as fh:
        img = Image.open(io.BytesIO(fh.read()))
        img.load()
        return img


def test_derivatives_sizes_and_no_metadata(helper_a_user):
    data = make_jpeg(
        (3200, 2400), taken="2025:12:22 10:30:00", gps=((32, 1, 2), "N", (121, 1, 2), "E")
    )
    photo = receive(data, helper_a_user)
    processing.photo_process(photo_id=photo.pk)
    photo.refresh_from_db()
    assert photo.status == PhotoStatus.PROCESSED and photo.processing_error == ""
    display, thumb = open_image(photo.display.name), open_image(photo.thumbnail.name)
    assert display.size == (1600, 1200)
    assert max(thumb.size) == 400
    assert display.format == thumb.format == "JPEG"
    assert "exif" not in display.info and not display.getexif()
    with default_storage.open(photo.display.name, "rb") as fh:
        assert read_exif(fh, content_type="image/jpeg").taken_at is None
    assert (photo.width, photo.height) == (3200, 2400)
    assert len(photo.phash) == 16 and len(photo.phash_rotated) == 16
    int(photo.phash, 16)


def test_small_images_are_not_enlarged(helper_a_user):
    photo = processing.photo_process(photo_id=receive(make_jpeg((120, 90)), helper_a_user).pk)
    assert open_image(photo.display.name).size == (120, 90)


def test_transparent_png_gets_a_white_background(helper_a_user):
    photo = receive(make_png((50, 40), color=(0, 0, 0, 0)), helper_a_user)
    photo = processing.photo_process(photo_id=photo.pk)
    assert open_image(photo.display.name).getpixel((10, 10)) == (255, 255, 255)


@pytest.mark.parametrize("orientation", [6, 8])
def test_orientation_is_applied(helper_a_user, orientation):
    photo = receive(make_jpeg((400, 200), orientation=orientation), helper_a_user)
    assert (photo.width, photo.height) == (200, 400)  # known from the header already
    photo = processing.photo_process(photo_id=photo.pk)
    assert open_image(photo.display.name).size == (200, 400)
    assert (photo.width, photo.height) == (200, 400)


def test_hooks_run_after_processing_and_a_failing_hook_is_contained(helper_a_user, monkeypatch):
    hook_calls.clear()
    monkeypatch.setattr(processing.processed_hooks, "fns", [failing_hook, record_hook])
    photo = receive(make_jpeg(), helper_a_user)
    processing.photo_process(photo_id=photo.pk)
    assert hook_calls == [str(photo.pk)]
    photo.refresh_from_db()
    assert photo.status == PhotoStatus.PROCESSED
    processing.photo_process(photo_id=photo.pk)  # already processed: nothing again
    assert hook_calls == [str(photo.pk)]


def test_undecodable_photo_is_marked_failed_not_raised(helper_a_user, monkeypatch):
    hook_calls.clear()
    monkeypatch.setattr(processing.processed_hooks, "fns", [record_hook])
    photo = receive(make_jpeg((200, 200)), helper_a_user)
    # Damage the stored copy's scan data after intake (as a bad disk or a decoder bug would).
    with default_storage.open(photo.original.name, "rb") as fh:
        data = bytearray(fh.read())
    default_storage.delete(photo.original.name)
    default_storage.save(photo.original.name, ContentFile(bytes(data[:400]) + b"\xff\xd9"))
    result = processing.photo_process(photo_id=photo.pk)
    photo.refresh_from_db()
    assert result.status == photo.status == PhotoStatus.FAILED
    assert photo.processing_error
    assert not photo.display and not photo.thumbnail
    assert hook_calls == []


def test_processing_a_missing_photo_does_nothing(db):
    assert processing.photo_process(photo_id=uuid.uuid4()) is None


def test_claim_checks_ownership_only(helper_a_user, make_user, regions):
    mine = receive(make_jpeg(), helper_a_user)
    other_helper = make_user(Role.HELPER, regions.town_a)
    theirs = receive(make_jpeg(color=(9, 9, 9)), other_helper)
    assert services.photo_claim(photo=mine.pk, user=helper_a_user) == mine
    assert services.photo_claim(photo=mine, user=helper_a_user) == mine
    for photo in (theirs.pk, uuid.uuid4(), "not-a-uuid"):
        with pytest.raises(Unprocessable) as exc:
            services.photo_claim(photo=photo, user=helper_a_user)
        assert exc.value.code == "photo_not_yours"
    assert services.photos_claim(photo_ids=[str(mine.pk)], user=helper_a_user) == [mine]
    with pytest.raises(Unprocessable):
        services.photos_claim(photo_ids=[mine.pk, theirs.pk], user=helper_a_user)


def test_anonymous_grievance_photo_is_claimed_by_nobody_in_particular(db):
    photo = receive(make_jpeg(), None, kind="grievance")
    assert services.photo_claim(photo=photo.pk, user=None) == photo


def test_photo_set_region(helper_a_user, regions):
    photo = receive(make_jpeg(), helper_a_user)
    services.photo_set_region(photo, regions.village_a1.code)
    photo.refresh_from_db()
    assert photo.region_id == regions.village_a1.code
