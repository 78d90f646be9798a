"""One error shape for the whole API: {"code", "message", "detail"}, message in the caller's
language (zh-hans unless the request asks for English)."""

import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from backend.errors import AppError

logger = logging.getLogger(__name__)


def error_body(code: str, message: str, detail=None) -> dict:
    return {"code": code, "message": str(message), "detail": detail if detail is not None else {}}


def _field_errors(errors: list[dict]) -> list[dict]:
    out = []
    for err in errors:
        loc = [str(part) for part in err.get("loc", []) if part not in ("body", "payload")]
        out.append({"field": ".".join(loc), "message": err.get("msg", ""), "type": err.get("type")})
    return out


def install_error_handlers(api: NinjaAPI) -> None:
    @api.exception_handler(AppError)
    def app_error(request: HttpRequest, exc: AppError):
        return api.create_response(
            request, error_body(exc.code, exc.message, exc.detail), status=exc.status
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
        codes = {413: "too_large", 429: "throttled", 405: "method_not_allowed"}
        return api.create_response(
            request,
            error_body(codes.get(exc.status_code, "error"), str(exc.message)),
            status=exc.status_code,
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
