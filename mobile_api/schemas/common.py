import unicodedata

from django.utils.translation import gettext
from ninja import Schema
from pydantic import field_validator

# Tab and line breaks are text; every other control character (NUL included, which PostgreSQL
# refuses outright) is never typed, and broke XLSX exports and page layouts when pasted in.
_ALLOWED_CONTROLS = frozenset("\t\n\r")


def has_control_characters(text: str) -> bool:
    return any(unicodedata.category(c) == "Cc" and c not in _ALLOWED_CONTROLS for c in text)


class InputSchema(Schema):
    """The base of every request body: no field's text may carry control characters."""

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value):
        if isinstance(value, str) and has_control_characters(value):
            raise ValueError(gettext("不能包含控制字符"))
        return value


class ErrorOut(Schema):
    code: str
    message: str
    detail: dict | list = {}


class RegionOut(Schema):
    code: str
    name: str
    level: str


# Responses every authenticated endpoint may give, for the OpenAPI document.
AUTH_ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
