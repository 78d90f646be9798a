"""Writes for photos: receive an upload (light, in the request) and queue its processing
(heavy, `media.processing` in the background task), set its region, and the ownership check
other apps call before using one.

Nothing here imports visits or grievances: they call in, and learn that a photo's hash is
ready through `media.processing.processed_hooks`.
"""

import datetime as dt
import hashlib
import io
import logging
import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, cast

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from common.bulk import BulkWriter, insert_instances
from common.errors import AppError, Conflict, NotFound, Unprocessable
from common.geo import CoordSystem, as_decimal, to_wgs84
from media import images
from media.models import ContentType, Photo, PhotoKind, PhotoStatus, original_path
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
        # original.save() above named the file; the stubs allow a FieldFile without a name.
        default_storage.delete(cast(str, photo.original.name))
        existing = Photo.objects.filter(pk=photo_id).first()
        if existing is None:
            raise
        return _replay(existing, user=user, sha256=sha256, kind=kind)
    except BaseException:
        default_storage.delete(cast(str, photo.original.name))
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


# --- Bulk: photos already made, with their derivatives (seed data) -----------------------------


@dataclass(frozen=True)
class Processed:
    """What `media.processing.photo_process` would make of a photo, already made and stored:
    the stored names of its display copy and thumbnail (several photos may share them), the
    upright size and the perceptual hashes."""

    display: str
    thumbnail: str
    width: int
    height: int
    phash: str
    phash_mirrored: str


@dataclass(frozen=True)
class BulkPhoto:
    """One photo for `photos_bulk_receive`: its client id, bytes, kind, uploader, the region it
    is read in, when it arrived, and its processing's output. `facts`: what its EXIF says, when
    the caller wrote that EXIF itself (None: read from the bytes, as `photo_receive` does)."""

    id: uuid.UUID
    data: bytes
    kind: str
    user_id: int | None
    region_id: str | None
    created_at: dt.datetime
    processed: Processed
    facts: images.ExifFacts | None = None


def _bulk_photo(row: BulkPhoto) -> Photo:
    """The Photo `photo_receive` then `photo_process` would store for these bytes (unsaved)."""
    if row.kind not in PhotoKind.values:
        raise Unprocessable("照片类别无效", code="bad_kind", detail={"kind": row.kind})
    if row.user_id is None and row.kind != PhotoKind.GRIEVANCE:
        raise Unprocessable("匿名只能上传诉求照片", code="bad_kind", detail={"kind": row.kind})
    size = len(row.data)
    if size > settings.PHOTO_MAX_BYTES:
        raise images.reject_too_large(size)
    fp = io.BytesIO(row.data)
    header = images.read_header(fp, size=size)
    facts = (
        row.facts
        if row.facts is not None
        else images.read_exif(fp, content_type=header.content_type)
    )
    made = row.processed
    photo = Photo(
        id=row.id,
        uploaded_by_id=row.user_id,
        kind=row.kind,
        region_id=row.region_id,
        sha256=hashlib.sha256(row.data).hexdigest(),
        size_bytes=size,
        content_type=header.content_type,
        width=made.width,
        height=made.height,
        taken_at=facts.taken_at,
        exif_lat=facts.lat,
        exif_lon=facts.lon,
        phash=made.phash,
        phash_rotated=made.phash_mirrored,
        display=made.display,
        thumbnail=made.thumbnail,
        status=PhotoStatus.PROCESSED,
        created_at=row.created_at,
    )
    try:
        # photo_receive's field checks; a bulk photo arrives already processed.
        photo.clean_fields(exclude=["original", "uploaded_by", "region"])
    except ValidationError as exc:
        raise AppError(
            "照片数据校验未通过",
            code="validation",
            status=422,
            detail={"photo_id": str(row.id), **exc.message_dict},
        ) from exc
    return photo


def photos_bulk_receive(
    *, rows: Iterable[BulkPhoto], writer: BulkWriter | None = None
) -> list[Photo]:
    """Store many photos that are already processed (seed data): `photo_receive` and
    `photo_process` in one pass, written in batches through `writer` (one is made and finished
    here when not given). Returns the photos, in the order given.

    Checks what `photo_receive` checks of each photo (kind, anonymous only for grievances,
    size, the image header, the field checks) before anything is written: one bad row and
    nothing is stored. Ids must be new (the insert refuses a taken one: no replay here).

    Deliberately not done: no derivatives are made (the caller hands over `processed`, so many
    photos may share one display copy), the EXIF is not read again when the caller says what
    it wrote (`facts`), no processing is queued and no `processed_hooks` run (the callers of
    this path, seed_demo, run the flag checks they need themselves).
    """
    rows = list(rows)
    photos = [_bulk_photo(row) for row in rows]
    stored: list[str] = []
    try:
        for photo, row in zip(photos, rows, strict=True):
            photo.original.name = store_new(original_path(photo, ""), row.data)
            stored.append(photo.original.name)
        with transaction.atomic():
            insert_instances(writer or BulkWriter(), photos)
    except BaseException:
        for name in stored:
            default_storage.delete(name)
        raise
    return photos


_made_dirs: set[Path] = set()


def store_new(name: str, data: bytes) -> str:
    """Store a new file under `name` (or a free name next to it); returns the name used.

    On the local file storage, written directly: `Storage.save` costs a few milliseconds a
    file (existence checks, temporary names), which tens of thousands of photos feel."""
    path_of = getattr(default_storage, "path", None)
    if path_of is None:
        return default_storage.save(name, ContentFile(data))
    path = Path(path_of(name))
    if path.parent not in _made_dirs:
        path.parent.mkdir(parents=True, exist_ok=True)
        _made_dirs.add(path.parent)
    try:
        with open(path, "xb") as fh:
            fh.write(data)
    except FileExistsError:
        return default_storage.save(name, ContentFile(data))
    mode = getattr(default_storage, "file_permissions_mode", None)
    if mode is not None:
        os.chmod(path, mode)
    return name
