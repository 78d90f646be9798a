"""One application error type, mapped by the API to one error shape.

`{"code": "window_closed", "message": "<in the caller's language>", "detail": {...}}`
Services raise `AppError` (or a subclass) with a stable machine code and a message a phone can
show as it is; the API layer turns it into the response.
"""

from typing import Any

from django.utils.translation import gettext


class AppError(Exception):
    status = 400
    code = "invalid"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        detail: Any = None,
    ):
        super().__init__(str(message))
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.detail = detail if detail is not None else {}


class NotFound(AppError):
    """Also the answer for "exists, but not yours": the two must be indistinguishable."""

    status = 404
    code = "not_found"


class Forbidden(AppError):
    status = 403
    code = "forbidden"


class Conflict(AppError):
    status = 409
    code = "conflict"


class Unprocessable(AppError):
    status = 422
    code = "unprocessable"


def error_body(code: str, message: str, detail=None) -> dict:
    """The one error shape of the API. Messages are written in Chinese, which is also their
    message id: `gettext` gives the English text (locale/en) when the caller asked for it."""
    return {
        "code": code,
        "message": gettext(str(message)),
        "detail": detail if detail is not None else {},
    }
