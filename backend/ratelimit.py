"""One fixed-window counter per client address, for the public endpoints.

`cache.add` then `cache.incr` is atomic on Redis (production), so every worker and machine
shares one count; django-ninja's throttles get-then-set and, with the local-memory cache,
count per process (NOTES.md). A fixed window is enough to stop key guessing and floods.
"""

from django.core.cache import cache
from django.http import HttpRequest

from backend.accounts.services import client_ip


def hits_in_window(request: HttpRequest, *, scope: str, window_seconds: int) -> int:
    """Count one request from the caller's address in `scope`; return the window's count."""
    key = f"ratelimit:{scope}:{client_ip(request) or 'unknown'}"
    cache.add(key, 0, timeout=window_seconds)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window_seconds)
        return 1
