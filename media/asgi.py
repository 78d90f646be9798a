"""An ASGI wrapper that answers 413 to an oversized photo upload from its headers alone.

Django's ASGI handler reads the whole request body before any middleware runs, so
`PhotoUploadLimitMiddleware` saves the parsing but not the reading. Wrapping the HTTP app with
`photo_upload_limit(app)` in `backend/asgi.py` refuses a body whose Content-Length is over the
limit before a byte of it is read. (The front web server's own cap remains the first line.)
"""

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from django.conf import settings

from common.errors import error_body
from media.images import reject_too_large
from media.middleware import MULTIPART_OVERHEAD, UPLOAD_URL_NAMES, _path

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable, Callable], Awaitable[None]]


def photo_upload_limit(app: ASGIApp) -> ASGIApp:
    paths: frozenset[str] | None = None

    async def wrapper(scope: Scope, receive: Callable, send: Callable) -> None:
        nonlocal paths
        if scope["type"] == "http" and scope.get("method") == "POST":
            if paths is None:
                paths = frozenset(filter(None, map(_path, UPLOAD_URL_NAMES)))
            if scope.get("path") in paths:
                declared = _content_length(scope)
                if declared > settings.PHOTO_MAX_BYTES + MULTIPART_OVERHEAD:
                    await _send_413(send, declared)
                    return
        await app(scope, receive, send)

    return wrapper


def _content_length(scope: Scope) -> int:
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0


async def _send_413(send: Callable, declared: int) -> None:
    error = reject_too_large(declared)
    body = json.dumps(
        error_body(error.code, error.message, error.detail), ensure_ascii=False
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
