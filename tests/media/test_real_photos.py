"""The shared real photos (../shared/photos): every quirk gets a clean answer."""

import csv
import datetime as dt
import io
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from PIL import Image

from media import processing, services
from media.images import SHANGHAI
from media.models import Photo, PhotoStatus
from tests.media.helpers import upload

pytestmark = pytest.mark.realphotos

# Photos that carry EXIF OffsetTimeOriginal.
OFFSETS = {"HMD_Nokia_8.3_5G.jpg": dt.timezone(dt.timedelta(hours=3))}


def manifest(root: Path) -> dict[str, dict[str, str]]:
    with (root / "MANIFEST.tsv").open(newline="") as fh:
        return {row["file"]: row for row in csv.DictReader(fh, delimiter="\t")}


def post(api_client, path: Path, **extra):
    return api_client.post(
        "/photos",
        data={
            "file": upload(path.read_bytes(), path.name),
            "id": str(uuid.uuid4()),
            "kind": "scene",
            **extra,
        },
    )


def files(root: Path, folder: str) -> list[Path]:
    return sorted(p for p in (root / folder).iterdir() if p.is_file())


def test_every_broken_file_gets_a_clean_answer(
    shared_photos, api_client, helper_a_user, django_capture_on_commit_callbacks
):
    api_client.as_user(helper_a_user)
    broken = files(shared_photos, "broken")
    assert len(broken) >= 10
    for path in broken:
        with django_capture_on_commit_callbacks(execute=True):
            response = post(api_client, path)
        assert response.status_code in (201, 413, 415, 422), (path.name, response.content)
        if response.status_code == 201:
            photo = Photo.objects.get(pk=response.json()["id"])
            # Processing ran and ended in a state, whatever the file's EXIF looked like.
            assert photo.status in (PhotoStatus.PROCESSED, PhotoStatus.FAILED), path.name
        else:
            assert response.json()["code"], path.name


def test_broken_exif_reads_as_the_manifest_or_as_missing(shared_photos, api_client, helper_a_user):
    api_client.as_user(helper_a_user)
    rows = manifest(shared_photos)
    for path in files(shared_photos, "broken"):
        response = post(api_client, path)
        assert response.status_code == 201, path.name
        body, row = response.json(), rows[f"broken/{path.name}"]
        if row["gps_lat"]:
            assert body["exif_lat"] == pytest.approx(float(row["gps_lat"]), abs=1e-5), path.name
        else:
            assert body["exif_lat"] is None, path.name


@pytest.mark.parametrize("folder", ["gps", "mobile"])
def test_gps_coordinates_match_the_manifest(shared_photos, api_client, helper_a_user, folder):
    api_client.as_user(helper_a_user)
    rows = manifest(shared_photos)
    for path in files(shared_photos, folder):
        row = rows[f"{folder}/{path.name}"]
        response = post(api_client, path)
        assert response.status_code == 201, path.name
        photo = Photo.objects.get(pk=response.json()["id"])
        if row["gps_lat"]:
            assert abs(photo.exif_lat - Decimal(row["gps_lat"])) <= Decimal("0.00001"), path.name
            assert abs(photo.exif_lon - Decimal(row["gps_lon"])) <= Decimal("0.00001"), path.name
        else:
            assert photo.exif_lat is None and photo.exif_lon is None, path.name
        if row["exif_datetime_original"]:
            # Local time without a zone is China's, unless OffsetTimeOriginal says otherwise.
            zone = OFFSETS.get(path.name, SHANGHAI)
            taken = dt.datetime.strptime(
                row["exif_datetime_original"], "%Y:%m:%d %H:%M:%S"
            ).replace(tzinfo=zone)
            assert photo.taken_at == taken, path.name


def test_no_gps_photos_have_no_position(shared_photos, api_client, helper_a_user):
    api_client.as_user(helper_a_user)
    for path in files(shared_photos, "no_gps"):
        response = post(api_client, path)
        assert response.status_code == 201, path.name
        assert response.json()["exif_lat"] is None and response.json()["exif_lon"] is None


def test_heic_files_are_accepted_and_processed(
    shared_photos, api_client, helper_a_user, django_capture_on_commit_callbacks
):
    api_client.as_user(helper_a_user)
    for path in files(shared_photos, "heic"):
        with django_capture_on_commit_callbacks(execute=True):
            response = post(api_client, path)
        assert response.status_code == 201, (path.name, response.content)
        photo = Photo.objects.get(pk=response.json()["id"])
        assert photo.content_type == "image/heic"
        assert photo.status == PhotoStatus.PROCESSED, photo.processing_error
        with default_storage.open(photo.display.name, "rb") as fh:
            display = Image.open(io.BytesIO(fh.read()))
        assert display.format == "JPEG" and max(display.size) <= 1600
        # Upright already: the display copy keeps the stored photo's proportions.
        assert (display.width > display.height) == (photo.width > photo.height)
    gps = Photo.objects.get(sha256=_sha(shared_photos / "heic/IMG_5195.HEIC"))
    assert float(gps.exif_lat) == pytest.approx(39.051344, abs=1e-5)
    assert float(gps.exif_lon) == pytest.approx(-94.288772, abs=1e-5)
    # OffsetTimeOriginal -05:00
    assert gps.taken_at == dt.datetime(
        2021, 4, 11, 15, 47, 53, tzinfo=dt.timezone(-dt.timedelta(hours=5))
    )


def _sha(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_orientation_photos_are_shown_rotated(
    shared_photos, api_client, helper_a_user, django_capture_on_commit_callbacks
):
    api_client.as_user(helper_a_user)
    for path in files(shared_photos, "orientation"):
        stored = Image.open(path).size
        with django_capture_on_commit_callbacks(execute=True):
            response = post(api_client, path)
        assert response.status_code == 201
        photo = Photo.objects.get(pk=response.json()["id"])
        with default_storage.open(photo.display.name, "rb") as fh:
            display = Image.open(io.BytesIO(fh.read()))
        assert display.size == (stored[1], stored[0]), path.name
        assert (photo.width, photo.height) == display.size


def test_recompressed_real_photo_has_a_near_hash(shared_photos, helper_a_user):
    from django.core.files.base import ContentFile

    data = (shared_photos / "mobile/iphone_hdr_NO.jpg").read_bytes()
    img = Image.open(io.BytesIO(data))
    out = io.BytesIO()
    img.resize((img.width * 3 // 4, img.height * 3 // 4)).save(out, format="JPEG", quality=60)
    hashes = []
    for blob in (data, out.getvalue(), (shared_photos / "mobile/jolla.jpg").read_bytes()):
        photo = services.photo_receive(
            photo_id=uuid.uuid4(),
            file=ContentFile(blob, name="x"),
            kind="scene",
            user=helper_a_user,
        ).photo
        hashes.append(int(processing.photo_process(photo_id=photo.pk).phash, 16))
    assert bin(hashes[0] ^ hashes[1]).count("1") <= 8
    assert bin(hashes[0] ^ hashes[2]).count("1") >= 18
