"""The address a request came from, for rate limits, lockouts and the audit trail."""

from __future__ import annotations

from django.http import HttpRequest


def client_ip(request: HttpRequest | None) -> str | None:
    """The peer's address as the server saw it (None outside a request)."""
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None
