"""Writes for photos: receive an upload (light, in the request) and queue its processing
(heavy, `media.processing` in the background task), set its region, and the ownership check
other apps call before using one.

Nothing here imports visits or grievances: they call in, and learn that a photo's hash is
ready through `media.processing.processed_hooks`.
"""

import datetime as dt
import hashlib
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import IO

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from common.errors import Conflict, NotFound, Unprocessable
from common.geo import CoordSystem, as_decimal, to_wgs84
from media import images
from media.models import ContentType, Photo, PhotoKind, PhotoStatus
from media.tasks import process_photo
from regions.models import Region

logger = logging.getLogger(__name__)

_CHUNK = 256 * 1024


@dataclass(frozen=True)
class Received:
    photo: Photo
    created: bool  # False: the same upload was sent again and the first answer is replayed


@dataclass(frozen=True)
class ClientFix:
    """What the phone itself said about the photo, as sent."""

    lat: Decimal | float | None = None
    lon: Decimal | float | None = None
    accuracy_m: Decimal | float | None = None
    coord_system: str = CoordSystem.WGS84
    taken_at: dt.datetime | None = None


def _sha256(fp: IO[bytes]) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    fp.seek(0)
    while chunk := fp.read(_CHUNK):
        digest.update(chunk)
        size += len(chunk)
    fp.seek(0)
    return digest.hexdigest(), size


def _replay(existing: Photo, *, user, sha256: str, kind: str) -> Received:
    """The same client UUID again: the same uploader, kind and bytes get the first answer;
    anything else is a different upload that reused the id."""
    same_uploader = existing.uploaded_by_id == (user.pk if user is not None else None)
    if same_uploader and existing.sha256 == sha256 and existing.kind == kind:
        return Received(photo=existing, created=False)
    raise Conflict(
        "该照片编号已用于另一张照片,请重新生成编号后上传",
        code="photo_id_conflict",
        detail={"id": str(existing.pk)},
    )


def _client_fields(fix: ClientFix | None) -> dict:
    if fix is None:
        return {}
    fields: dict = {}
    if (fix.lat is None) != (fix.lon is None):
        raise Unprocessable("手机定位需同时提供纬度和经度", code="bad_position")
    if fix.lat is not None and fix.lon is not None:
        try:
            system = CoordSystem(fix.coord_system or CoordSystem.WGS84)
            lat, lon = to_wgs84(fix.lat, fix.lon, system)
        except (ValueError, InvalidOperation):
            raise Unprocessable(
                "手机定位坐标无效(坐标系只能是 wgs84、gcj02 或 bd09)", code="bad_position"
            ) from None
        fields.update(
            client_lat=as_decimal(lat), client_lon=as_decimal(lon), client_coord_system=system
        )
    if fix.accuracy_m is not None:
        try:
            accuracy = Decimal(str(fix.accuracy_m)).quantize(Decimal("0.1"))
        except InvalidOperation:
            accuracy = Decimal(-1)
        if not Decimal(0) <= accuracy < Decimal(10_000_000):
            raise Unprocessable("定位精度无效", code="bad_position")
        fields["client_accuracy_m"] = accuracy
    if fix.taken_at is not None:
        taken_at = fix.taken_at
        if timezone.is_naive(taken_at):
            # A phone that sends local time without a zone is in China.
            taken_at = timezone.make_aware(taken_at, images.SHANGHAI)
        fields["client_taken_at"] = taken_at
    return fields


def photo_receive(
    *,
    photo_id: uuid.UUID,
    file: File,
    kind: str,
    user=None,
    client: ClientFix | None = None,
) -> Received:
    """Accept an uploaded photo: check it is a JPEG, PNG or HEIC within the limits from its
    header alone, store the original bytes untouched, record its SHA-256 and what its EXIF
    says, and queue the heavy processing for after the commit.

    Retry-safe on `photo_id` (the client's UUID): the same uploader sending the same bytes
    again gets the same photo back (`created=False`); a different upload under that id is a
    409. `user=None` is a resident's anonymous upload, allowed for grievance photos only.
    Raises `images.PhotoRejected` (413/415/422 with a stable code) for files refused.
    """
    if kind not in PhotoKind.values:
        raise Unprocessable("照片类别无效", code="bad_kind", detail={"kind": kind})
    if user is None and kind != PhotoKind.GRIEVANCE:
        raise Unprocessable("匿名只能上传诉求照片", code="bad_kind", detail={"kind": kind})

    declared = getattr(file, "size", None)
    if declared is not None and declared > settings.PHOTO_MAX_BYTES:
        raise images.reject_too_large(declared)
    sha256, size = _sha256(file)
    if size > settings.PHOTO_MAX_BYTES:
        raise images.reject_too_large(size)

    # No look-up of the id first: a retry is rare, and the insert below finds it anyway (the
    # primary key decides), at the price of one file written and deleted for that retry.
    header = images.read_header(file, size=size)
    exif = images.read_exif(file, content_type=header.content_type)
    # pillow-heif reports HEIF sizes already turned upright; JPEG sizes are as stored.
    orientation = None if header.content_type == ContentType.HEIC else exif.orientation
    width, height = images.upright_size(header.width, header.height, orientation)

    photo = Photo(
        id=photo_id,
        uploaded_by=user,
        kind=kind,
        region_id=getattr(user, "region_id", None),
        sha256=sha256,
        size_bytes=size,
        content_type=header.content_type,
        width=width,
        height=height,
        taken_at=exif.taken_at,
        exif_lat=exif.lat,
        exif_lon=exif.lon,
        status=PhotoStatus.RECEIVED,
        **_client_fields(client),
    )
    # Field checks here. The check constraints and foreign keys are the database's (Django
    # validates each with a query: measured at 65 of 134 ms of this function), and the id's
    # uniqueness is the insert's below.
    photo.full_clean(
        exclude=["original", "uploaded_by", "region"],
        validate_unique=False,
        validate_constraints=False,
    )

    # The storage never overwrites (it picks a fresh name if one is taken), so racing uploads
    # of one id each write their own file and the loser deletes its copy below.
    photo.original.save("original", file, save=False)  # upload_to names it
    try:
        with transaction.atomic():
            photo.save(force_insert=True)
    except IntegrityError:
        # The id exists: a retry, or a concurrent upload that committed first.
        logger.info("photo %s: the id is taken; replaying the first upload", photo_id)
        default_storage.delete(photo.original.name)
        existing = Photo.objects.filter(pk=photo_id).first()
        if existing is None:
            raise
        return _replay(existing, user=user, sha256=sha256, kind=kind)
    except BaseException:
        default_storage.delete(photo.original.name)
        raise

    photo_enqueue_processing(photo_id=photo.pk)
    return Received(photo=photo, created=True)


def photo_enqueue_processing(*, photo_id: uuid.UUID) -> None:
    """Queue the background processing once the current transaction commits."""
    transaction.on_commit(lambda: process_photo.enqueue(str(photo_id)))


def photo_set_region(photo: Photo, region_code: str) -> Photo:
    """Narrow the area a photo belongs to (a visit sets its household's village, a grievance
    its region), which decides who may read it."""
    if not Region.objects.filter(code=region_code).exists():
        raise NotFound("区划不存在", detail={"region": region_code})
    photo.region_id = region_code
    Photo.objects.filter(pk=photo.pk).update(region_id=region_code)
    return photo


def photos_set_region(photos: list[Photo], region_code: str) -> None:
    """`photo_set_region` for several photos in one statement; `region_code` must be a region
    the caller already holds (a visit's village)."""
    Photo.objects.filter(pk__in=[p.pk for p in photos]).update(region_id=region_code)
    for photo in photos:
        photo.region_id = region_code


def _claimable(photo: Photo, user) -> bool:
    if user is None:
        return photo.uploaded_by_id is None and photo.kind == PhotoKind.GRIEVANCE
    return photo.uploaded_by_id == user.pk


def _not_yours(photo_id: object) -> Unprocessable:
    return Unprocessable(
        "照片不存在或不是您上传的", code="photo_not_yours", detail={"photo_id": str(photo_id)}
    )


def photo_claim(*, photo: Photo | uuid.UUID | str, user) -> Photo:
    """The photo if `user` uploaded it (`user=None`: an anonymous grievance photo), else a 422
    `photo_not_yours` that does not tell whether it exists. Whether it is already used is the
    caller's own table's business (a one-to-one to Photo)."""
    if not isinstance(photo, Photo):
        found = Photo.objects.filter(pk=photo).first() if _is_uuid(photo) else None
        if found is None:
            raise _not_yours(photo)
        photo = found
    if not _claimable(photo, user):
        raise _not_yours(photo.pk)
    return photo


def photos_claim(*, photo_ids: Iterable[uuid.UUID | str], user) -> list[Photo]:
    """`photo_claim` for several ids in one query, in the order given."""
    ids = list(photo_ids)
    for photo_id in ids:
        if not _is_uuid(photo_id):
            raise _not_yours(photo_id)
    found = {p.pk: p for p in Photo.objects.filter(pk__in=ids)}
    out = []
    for photo_id in ids:
        photo = found.get(uuid.UUID(str(photo_id)))
        if photo is None or not _claimable(photo, user):
            raise _not_yours(photo_id)
        out.append(photo)
    return out


def _is_uuid(value: object) -> bool:
    if isinstance(value, uuid.UUID):
        return True
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True
