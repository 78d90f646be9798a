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
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import NoReverseMatch, reverse

from backend.accounts.services import client_ip
from backend.errors import AppError
from media.images import reject_too_large

# Room for the multipart framing and the form's small fields around the file itself.
MULTIPART_OVERHEAD = 64 * 1024
UPLOAD_URL_NAMES = ("api:photo_upload", "api:public_photo_upload")
PUBLIC_URL_NAME = "api:public_photo_upload"
PUBLIC_WINDOW_SECONDS = 3600


def _error_response(error: AppError) -> JsonResponse:
    return JsonResponse(
        {"code": error.code, "message": str(error.message), "detail": error.detail},
        status=error.status,
        json_dumps_params={"ensure_ascii": False},
    )


def public_upload_allowed(request: HttpRequest) -> bool:
    """Count one anonymous upload from the caller's address. `cache.add` then `cache.incr` is
    atomic on Redis (production), so all workers share one count; django-ninja's throttles
    get-then-set and, with the local-memory cache, count per process."""
    key = f"media:public-upload:{client_ip(request) or 'unknown'}"
    cache.add(key, 0, timeout=PUBLIC_WINDOW_SECONDS)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=PUBLIC_WINDOW_SECONDS)
        count = 1
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
