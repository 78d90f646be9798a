"""Per-address limits for the public endpoints (filing, tracking)."""

from django.conf import settings
from django.http import HttpRequest

from common.errors import AppError
from common.ratelimit import hits_in_window


class Throttled(AppError):
    status = 429
    code = "throttled"


SUBMIT = ("submit", 3600)
TRACK = ("track", 600)


def limit_for(scope: str) -> int:
    return settings.GRIEVANCE_SUBMIT_LIMIT if scope == "submit" else settings.GRIEVANCE_TRACK_LIMIT


def hit(request: HttpRequest, bucket: tuple[str, int]) -> None:
    """Count one request from the caller's address; raise 429 once over the limit."""
    scope, window = bucket
    count = hits_in_window(request, scope=f"grievances:{scope}", window_seconds=window)
    if count > limit_for(scope):
        raise Throttled("操作过于频繁,请稍后再试", detail={"retry_after_seconds": window})
