"""Photo upload (field staff and, for complaints, anonymous residents) and area-checked reads.

The views stay thin: `media.services.photo_receive` does the checking and storing,
`media.selectors.photo_for_user` the area rule. Views are sync, so under ASGI they run in a
thread, never in the event loop; and the request path reads only headers and EXIF.
"""

from typing import Literal
from uuid import UUID

from django.http import HttpRequest, StreamingHttpResponse
from ninja import File, Form, Router, Status, UploadedFile

from accounts.models import AuditAction
from accounts.services import audit_record
from common.errors import AppError, NotFound
from media import selectors, services
from media.models import EXTENSIONS, Photo, PhotoKind, PhotoStatus
from media.responses import file_response
from mobile_api.auth import user_auth
from mobile_api.schemas.common import AUTH_ERRORS, ErrorOut
from mobile_api.schemas.photos import PhotoIn, PhotoOut, PublicPhotoIn, PublicPhotoOut

router = Router(tags=["照片"])

UPLOAD_ERRORS = {409: ErrorOut, 413: ErrorOut, 415: ErrorOut, 422: ErrorOut}


@router.post(
    "/photos",
    url_name="photo_upload",
    auth=user_auth,
    response={200: PhotoOut, 201: PhotoOut, **AUTH_ERRORS, **UPLOAD_ERRORS},
)
def photo_upload(request: HttpRequest, file: File[UploadedFile], payload: Form[PhotoIn]):
    """Upload one photo (multipart: `file` plus the fields). JPEG, PNG or HEIC up to the size
    limit. 201 when stored; 200 when the same photo (same id, same bytes) is sent again; 409
    when the id was used for different content."""
    received = services.photo_receive(
        photo_id=payload.id,
        file=file,
        kind=payload.kind,
        user=request.user,
        client=services.ClientFix(
            lat=payload.client_lat,
            lon=payload.client_lon,
            accuracy_m=payload.client_accuracy_m,
            coord_system=payload.client_coord_system,
            taken_at=payload.client_taken_at,
        ),
    )
    return Status(201 if received.created else 200, received.photo)


@router.post(
    "/public/photos",
    url_name="public_photo_upload",
    auth=None,
    response={200: PublicPhotoOut, 201: PublicPhotoOut, 429: ErrorOut, **UPLOAD_ERRORS},
)
def public_photo_upload(
    request: HttpRequest, file: File[UploadedFile], payload: Form[PublicPhotoIn]
):
    """A resident's photo for the public complaint form, without login (grievance only,
    limited per address: `PHOTO_PUBLIC_UPLOADS_PER_HOUR`, counted by
    `media.middleware.PhotoUploadLimitMiddleware` before the body is parsed). Cite the
    returned id when filing the complaint."""
    received = services.photo_receive(photo_id=payload.id, file=file, kind=payload.kind, user=None)
    return Status(201 if received.created else 200, received.photo)


@router.get("/photos/{photo_id}", response={200: PhotoOut, **AUTH_ERRORS}, auth=user_auth)
def photo_detail(request: HttpRequest, photo_id: UUID):
    """What the service knows about a photo: kind, hash, EXIF and phone position, status."""
    return selectors.photo_for_user(user=request.user, photo_id=photo_id)


VARIANT_FIELDS = {"original": "original", "display": "display", "thumbnail": "thumbnail"}


@router.get(
    "/photos/{photo_id}/file",
    response={200: None, 409: ErrorOut, **AUTH_ERRORS},
    auth=user_auth,
)
def photo_file(
    request: HttpRequest,
    photo_id: UUID,
    variant: Literal["original", "display", "thumbnail"] = "display",
):
    """The image itself: the untouched `original`, the `display` copy (≤1600 px, upright, no
    metadata) or the `thumbnail` (≤400 px). Display and thumbnail exist once processed."""
    photo = selectors.photo_for_user(user=request.user, photo_id=photo_id)
    field = getattr(photo, VARIANT_FIELDS[variant])
    if not field:
        if photo.status == PhotoStatus.FAILED:
            raise NotFound("照片无法处理,只有原图", code="variant_unavailable")
        raise AppError(
            "照片尚在处理中,请稍后再试", code="not_ready", status=409, detail={"variant": variant}
        )
    if photo.kind == PhotoKind.PASSBOOK and photo.uploaded_by_id != request.user.pk:
        # Passbook pages show a household's payments: personal data, every view recorded.
        audit_record(
            actor=request.user,
            action=AuditAction.VIEW_PHOTO,
            target_type="media.photo",
            target_id=photo.pk,
            region_code=photo.region_id or "",
            request=request,
            detail={"kind": photo.kind, "variant": variant},
        )
    return _file_response(photo, field.name, variant)


def _file_response(photo: Photo, name: str, variant: str) -> StreamingHttpResponse:
    if variant == "original":
        content_type, ext = photo.content_type, EXTENSIONS.get(photo.content_type, "bin")
    else:
        content_type, ext = "image/jpeg", "jpg"
    response = file_response(
        name,
        content_type=content_type,
        filename=f"photo-{photo.pk}-{variant}.{ext}",
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
