"""One error shape for the whole API: {"code", "message", "detail"}, message in the caller's
language (zh-hans unless the request asks for English)."""

import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DataError, InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponseNotFound, JsonResponse
from django.template import TemplateDoesNotExist
from django.views.defaults import page_not_found
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from common.errors import AppError, error_body
from mobile_api.schemas.common import ErrorOut

logger = logging.getLogger(__name__)


def _field_errors(errors: list[dict]) -> list[dict]:
    out = []
    for err in errors:
        loc = [str(part) for part in err.get("loc", []) if part not in ("body", "payload")]
        out.append({"field": ".".join(loc), "message": err.get("msg", ""), "type": err.get("type")})
    return out


def install_error_handlers(api: NinjaAPI) -> None:
    install_error_docs(api)

    @api.exception_handler(AppError)
    def app_error(request: HttpRequest, exc: AppError):
        # AppError's default 400 is "bad input": the API answers bad input with 422 only, the
        # status its OpenAPI document promises.
        status = 422 if exc.status == 400 else exc.status
        return api.create_response(
            request, error_body(exc.code, exc.message, exc.detail), status=status
        )

    @api.exception_handler(NinjaValidationError)
    def validation_error(request: HttpRequest, exc: NinjaValidationError):
        return api.create_response(
            request,
            error_body("invalid_request", "请求参数有误", {"errors": _field_errors(exc.errors)}),
            status=422,
        )

    @api.exception_handler(ValidationError)
    def django_validation_error(request: HttpRequest, exc: ValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        return api.create_response(
            request, error_body("validation", "数据校验未通过", detail), status=422
        )

    @api.exception_handler(AuthenticationError)
    def auth_error(request: HttpRequest, exc: AuthenticationError):
        return api.create_response(
            request, error_body("unauthorized", "未登录或登录已过期"), status=401
        )

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404):
        return api.create_response(request, error_body("not_found", "对象不存在"), status=404)

    @api.exception_handler(PermissionDenied)
    def forbidden(request: HttpRequest, exc: PermissionDenied):
        return api.create_response(request, error_body("forbidden", "无权访问"), status=403)

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError):
        if exc.status_code == 400:
            # django-ninja's "Cannot parse request body" (not JSON, wrong encoding): the same
            # 422 and shape as every other bad input, with a reason the app can show.
            return api.create_response(
                request,
                error_body("bad_body", "请求内容无法解析,应为有效的 JSON"),
                status=422,
            )
        if exc.status_code == 403:
            # The session (web pages) without a valid CSRF token; a bearer token never gets here.
            return api.create_response(
                request,
                error_body("csrf_failed", "页面已过期或请求来源无效,请刷新页面后重试"),
                status=403,
            )
        codes = {413: "too_large", 429: "throttled", 405: "method_not_allowed"}
        return api.create_response(
            request,
            error_body(codes.get(exc.status_code, "error"), str(exc.message)),
            status=exc.status_code,
        )

    @api.exception_handler(OverflowError)
    @api.exception_handler(DataError)
    def out_of_range(request: HttpRequest, exc: Exception):
        # An id or number beyond what the database column holds (SQLite raises OverflowError
        # before the query, PostgreSQL a DataError): bad input, not a server fault.
        return api.create_response(
            request, error_body("out_of_range", "数值超出允许范围"), status=422
        )

    @api.exception_handler(OperationalError)
    @api.exception_handler(InterfaceError)
    def database_unavailable(request: HttpRequest, exc: Exception):
        # PostgreSQL restarting or unreachable: a retryable 503 (the phone app keeps the visit
        # and sends it again), not a 500. Django reconnects by itself on a later request.
        logger.error("database unavailable on %s %s: %s", request.method, request.path, exc)
        response = api.create_response(
            request,
            error_body("service_unavailable", "服务暂时不可用,请稍后重试"),
            status=503,
        )
        response["Retry-After"] = "30"
        return response

    @api.exception_handler(Exception)
    def unexpected(request: HttpRequest, exc: Exception):
        logger.exception("unhandled error on %s %s", request.method, request.path)
        return api.create_response(
            request, error_body("server_error", "服务器内部错误,请稍后重试"), status=500
        )


# --- The OpenAPI document ------------------------------------------------------------------

_ERROR_DESCRIPTIONS = {
    401: "未登录或登录已过期",
    403: "无权进行此操作",
    404: "对象不存在(或不在本人区域内)",
    409: "与当前状态冲突",
    422: "请求参数有误",
}


def document_errors(schema: dict) -> dict:
    """Add to every operation the error answers the shared handlers can give it, all in the one
    shape (`ErrorOut`): 404 and 422 everywhere (unknown object, bad input), 401 and 403 where a
    login is required, 409 on writes. Routers still name their own extra codes (413, 415, 429)."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    if "ErrorOut" not in components:
        components["ErrorOut"] = ErrorOut.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
    content = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
    for operations in schema.get("paths", {}).values():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            codes = {404, 422}
            if operation.get("security"):
                codes |= {401, 403}
            if method.lower() in ("post", "put", "patch", "delete"):
                codes.add(409)
            responses = operation["responses"]
            for code in sorted(codes):
                if code not in responses and str(code) not in responses:
                    responses[code] = {"description": _ERROR_DESCRIPTIONS[code], "content": content}
    return schema


def install_error_docs(api: NinjaAPI) -> None:
    """Make `api.get_openapi_schema` (the served document and /docs) pass through
    `document_errors`."""
    build = api.get_openapi_schema

    def get_openapi_schema(*args, **kwargs):
        return document_errors(build(*args, **kwargs))

    api.get_openapi_schema = get_openapi_schema  # type: ignore[method-assign]


def not_found_view(request: HttpRequest, exception: Exception | None = None):
    """The site's 404 (`handler404`): under /api/ the API's JSON shape, so an id that does not
    fit the path's converter (`{int:…}`, `{uuid:…}`) answers like any unknown object."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("not_found", "对象不存在"), status=404)
    try:
        return page_not_found(request, exception)
    except TemplateDoesNotExist:  # a missing 404 template must not turn a 404 into a 500
        return HttpResponseNotFound("Not Found")
