"""The one NinjaAPI, served at /api/v1/ with its OpenAPI document at /api/v1/docs."""

from ninja import NinjaAPI

from mobile_api.errors import install_error_handlers
from mobile_api.renderers import JSONRenderer
from mobile_api.routers import (
    accounts,
    coverage,
    grievances,
    notifications,
    payments,
    photos,
    register,
    visits,
)

api = NinjaAPI(
    title="阳光扶贫+ 走访与诉求接口",
    version="1.0.0",
    description=(
        "帮扶走访、照片、诉求办理与督查的手机与网页接口。错误统一为 {code, message, detail}。"
    ),
    urls_namespace="api",
    docs_url="/docs",
    renderer=JSONRenderer(),
)
install_error_handlers(api)

api.add_router("", accounts.router)
api.add_router("", register.router)
api.add_router("", visits.router)
api.add_router("", photos.router)
api.add_router("", grievances.router)
api.add_router("", coverage.router)
api.add_router("", notifications.router)
api.add_router("", payments.router)
api.add_router("", "mobile_api.routers.supervision.router")
