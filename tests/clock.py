"""Moments in Asia/Shanghai for tests, and the `clock` fixture's implementation."""

from datetime import datetime
from zoneinfo import ZoneInfo

SH = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    """'2026-12-25 10:00' in Asia/Shanghai."""
    return datetime.fromisoformat(text).replace(tzinfo=SH)
