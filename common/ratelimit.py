"""One fixed-window counter per client address, for the public endpoints.

`cache.add` then `cache.incr` is atomic on Redis (production), so every worker and machine
shares one count; django-ninja's throttles get-then-set and, with the local-memory cache,
count per process (NOTES.md). A fixed window is enough to stop key guessing and floods.
"""

from django.core.cache import cache
from django.http import HttpRequest

from common.client_ip import client_ip


def count(key: str, *, timeout: int | None) -> int:
    """Add one to the cache counter `key` (started at 0, living `timeout` seconds, None for
    ever) and return it; atomic on Redis."""
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key)
    except ValueError:  # expired or evicted between add and incr
        cache.set(key, 1, timeout=timeout)
        return 1


def hits_in_window(request: HttpRequest, *, scope: str, window_seconds: int) -> int:
    """Count one request from the caller's address in `scope`; return the window's count."""
    return count(f"ratelimit:{scope}:{client_ip(request) or 'unknown'}", timeout=window_seconds)
