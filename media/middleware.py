"""Refuse a photo upload whose declared size is over the limit, and an anonymous one over its
address's hourly count, before the body is parsed.

Nothing in Django caps a request's total size (shared NOTES.md, "Uploads in Django"), and a
multipart body over FILE_UPLOAD_MAX_MEMORY_SIZE is written to a temporary file as it is parsed.
Checking Content-Length first answers 413 without parsing or spooling it again. (Under ASGI,
Django has already read the body by the time middleware runs: the front web server's own
limit, e.g. nginx `client_max_body_size`, is what stops the bytes at the door.)
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import NoReverseMatch, reverse

from common.errors import AppError, error_body
from common.ratelimit import hits_in_window
from media.images import reject_too_large

# Room for the multipart framing and the form's small fields around the file itself.
MULTIPART_OVERHEAD = 64 * 1024
UPLOAD_URL_NAMES = ("api:photo_upload", "api:public_photo_upload")
PUBLIC_URL_NAME = "api:public_photo_upload"
PUBLIC_WINDOW_SECONDS = 3600


def _error_response(error: AppError) -> JsonResponse:
    return JsonResponse(
        error_body(error.code, error.message, error.detail),
        status=error.status,
        json_dumps_params={"ensure_ascii": False},
    )


def public_upload_allowed(request: HttpRequest) -> bool:
    """Count one anonymous upload from the caller's address against the hourly limit."""
    count = hits_in_window(
        request, scope="media:public-upload", window_seconds=PUBLIC_WINDOW_SECONDS
    )
    return count <= settings.PHOTO_PUBLIC_UPLOADS_PER_HOUR


def _path(name: str) -> str | None:
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


class PhotoUploadLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        self._paths: frozenset[str] | None = None
        self._public_path: str | None = None

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST":
            if self._paths is None:
                self._paths = frozenset(filter(None, map(_path, UPLOAD_URL_NAMES)))
                self._public_path = _path(PUBLIC_URL_NAME)
            if request.path in self._paths:
                try:
                    declared = int(request.META.get("CONTENT_LENGTH") or 0)
                except ValueError:
                    declared = 0
                if declared > settings.PHOTO_MAX_BYTES + MULTIPART_OVERHEAD:
                    return _error_response(reject_too_large(declared))
                if request.path == self._public_path and not public_upload_allowed(request):
                    return _error_response(
                        AppError(
                            "上传过于频繁,请稍后再试",
                            code="throttled",
                            status=429,
                            detail={"retry_after_seconds": PUBLIC_WINDOW_SECONDS},
                        )
                    )
        return self.get_response(request)
