from ninja import Schema


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
