"""Live updates over channels, sent after the transaction commits and never fatal.

A visit or a complaint must never fail because a live update could not be sent: with Redis
down channels_redis raises ConnectionError at once, which is logged (with what was missed)
and swallowed.
"""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


def send_now(group: str, event: dict) -> bool:
    """Send one event to a group; False (and a log line) when the layer is unreachable."""
    layer = get_channel_layer()
    if layer is None:
        return False
    try:
        async_to_sync(layer.group_send)(group, event)
    except Exception:
        logger.warning(
            "live update missed: group=%s type=%s%s",
            group,
            event.get("type"),
            _subject(event),
            exc_info=True,
        )
        return False
    return True


def _subject(event: dict) -> str:
    """' visit=<id>': which object's update was lost, so a page can be told to reload it."""
    for key, value in event.items():
        if isinstance(value, dict) and "id" in value:
            return f" {key}={value['id']}"
    return ""


def send_on_commit(group: str, event: dict) -> None:
    """Send after the surrounding transaction commits (at once outside a transaction)."""
    transaction.on_commit(lambda: send_now(group, event))


def group_name(*parts: object) -> str:
    """A valid channels group name (ASCII letters, digits, hyphens, underscores, periods)."""
    return ".".join(str(p) for p in parts)
