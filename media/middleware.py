"""Refuse a photo upload whose declared size is over the limit before its body is parsed.

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

from media.images import reject_too_large

# Room for the multipart framing and the form's small fields around the file itself.
MULTIPART_OVERHEAD = 64 * 1024
UPLOAD_URL_NAMES = ("api:photo_upload", "api:public_photo_upload")


def _upload_paths() -> frozenset[str]:
    paths = set()
    for name in UPLOAD_URL_NAMES:
        try:
            paths.add(reverse(name))
        except NoReverseMatch:
            continue
    return frozenset(paths)


class PhotoUploadLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        self._paths: frozenset[str] | None = None

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST":
            if self._paths is None:
                self._paths = _upload_paths()
            if request.path in self._paths:
                try:
                    declared = int(request.META.get("CONTENT_LENGTH") or 0)
                except ValueError:
                    declared = 0
                if declared > settings.PHOTO_MAX_BYTES + MULTIPART_OVERHEAD:
                    error = reject_too_large(declared)
                    return JsonResponse(
                        {"code": error.code, "message": error.message, "detail": error.detail},
                        status=413,
                        json_dumps_params={"ensure_ascii": False},
                    )
        return self.get_response(request)
