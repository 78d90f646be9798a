"""Per-address limits for the public endpoints (filing, tracking), counted in the cache.

`cache.add` then `cache.incr` is atomic on Redis (production), so every worker and machine
shares one count; a fixed window is enough to stop guessing keys and flooding the intake.
"""

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from backend.accounts.services import client_ip
from backend.errors import AppError


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
    key = f"grievances:rl:{scope}:{client_ip(request) or 'unknown'}"
    cache.add(key, 0, timeout=window)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        count = 1
    if count > limit_for(scope):
        raise Throttled("操作过于频繁,请稍后再试", detail={"retry_after_seconds": window})
