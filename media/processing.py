"""Background processing of a received photo: display copy, thumbnail, perceptual hashes.

Run by the `media.tasks.process_photo` task. When a photo is ready, the apps that use photos
hear of it through `processed_hooks`, which they fill in their `AppConfig.ready()` (visits
checks the new hash against other visits' photos): media never imports them.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from common.errors import AppError
from common.hooks import Hooks, dotted_name
from media import images
from media.models import Photo, PhotoStatus

logger = logging.getLogger(__name__)

# Each is called with the photo's id (str) once its derivatives and hashes are saved.
processed_hooks: Hooks[Callable[[str], object]] = Hooks("photo processed")


def _failure_reason(exc: BaseException) -> str:
    if isinstance(exc, AppError):
        return f"{exc.code}: {exc.message}"
    text = str(exc) or type(exc).__name__
    if "truncated" in text:
        return f"truncated: {text}"
    return f"{type(exc).__name__}: {text}"[:1000]


def photo_process(*, photo_id: uuid.UUID | str) -> Photo | None:
    """Make the display copy, thumbnail and perceptual hashes, mark the photo processed and
    call the `processed_hooks`. A photo that cannot be decoded is marked failed with the
    reason; this never raises for a bad image. Idempotent for a processed photo."""
    photo = Photo.objects.filter(pk=photo_id).first()
    if photo is None:
        logger.warning("photo %s to process does not exist", photo_id)
        return None
    if photo.status == PhotoStatus.PROCESSED:
        return photo
    try:
        with default_storage.open(photo.original.name, "rb") as fh:
            made = images.make_derivatives(fh)
    except Exception as exc:  # noqa: BLE001 (any decoder failure is the photo's, not the worker's)
        reason = _failure_reason(exc)
        logger.info("photo %s failed processing: %s", photo.pk, reason)
        Photo.objects.filter(pk=photo.pk).update(status=PhotoStatus.FAILED, processing_error=reason)
        photo.status, photo.processing_error = PhotoStatus.FAILED, reason
        return photo

    photo.display.save(f"{photo.pk}.jpg", ContentFile(made.display), save=False)
    photo.thumbnail.save(f"{photo.pk}.jpg", ContentFile(made.thumbnail), save=False)
    photo.width, photo.height = made.width, made.height
    photo.phash, photo.phash_rotated = made.phash, made.phash_mirrored
    photo.status, photo.processing_error = PhotoStatus.PROCESSED, ""
    photo.save(
        update_fields=[
            "display",
            "thumbnail",
            "width",
            "height",
            "phash",
            "phash_rotated",
            "status",
            "processing_error",
        ]
    )
    _run_hooks(photo.pk)
    return photo


def _run_hooks(photo_id: uuid.UUID) -> None:
    for hook in processed_hooks:
        try:
            hook(str(photo_id))
        except Exception:  # one app's hook must not undo the processing (logged)
            logger.exception("photo processed hook %s failed for %s", dotted_name(hook), photo_id)
