"""Live updates over channels, sent after the transaction commits and never fatal.

A visit or a complaint must never fail because a live update could not be sent: with Redis
down channels_redis raises ConnectionError at once, which is logged (with what was missed)
and swallowed.
"""

import asyncio
import logging
from collections.abc import Iterable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


def send_now(groups: str | Iterable[str], event: dict) -> bool:
    """Send one event to one or several groups; False (and a log line per group missed) when
    the layer is unreachable. Several groups go out concurrently in one trip through
    async_to_sync: a visit's four coverage groups one by one cost 4 thread hops and 4 round
    trips to Redis (measured at ~6 ms each in bench/visits.py)."""
    names = [groups] if isinstance(groups, str) else list(groups)
    return send_each([(name, event) for name in names]) == len(names)


_CONCURRENT_SENDS = 32


def send_each(messages: Iterable[tuple[str, dict]]) -> int:
    """Send each (group, event) pair, concurrently, in one trip through async_to_sync; return
    how many went out. A miss is logged with what was missed, never raised."""
    layer = get_channel_layer()
    messages = list(messages)
    if layer is None or not messages:
        return 0

    # channels_redis takes a connection from a pool of 100 per send and fails at once when
    # it is empty: a thousand sends started together delivered 100.
    limit = asyncio.Semaphore(_CONCURRENT_SENDS)

    async def send_one(group: str, event: dict) -> None:
        async with limit:
            await layer.group_send(group, event)

    async def send_all() -> list:
        return await asyncio.gather(
            *(send_one(group, event) for group, event in messages), return_exceptions=True
        )

    try:
        results = async_to_sync(send_all)()
    except Exception as exc:  # noqa: BLE001 (the loop itself failed: every message missed)
        results = [exc] * len(messages)
    sent = 0
    for (group, event), result in zip(messages, results, strict=True):
        if isinstance(result, Exception):
            logger.warning(
                "live update missed: group=%s type=%s%s",
                group,
                event.get("type"),
                _subject(event),
                exc_info=result,
            )
        else:
            sent += 1
    return sent


def _subject(event: dict) -> str:
    """' visit=<id>': which object's update was lost, so a page can be told to reload it."""
    for key, value in event.items():
        if isinstance(value, dict) and "id" in value:
            return f" {key}={value['id']}"
    return ""


def send_on_commit(groups: str | Iterable[str], event: dict) -> None:
    """Send to the group(s) after the surrounding transaction commits (at once outside a
    transaction)."""
    names = [groups] if isinstance(groups, str) else list(groups)
    transaction.on_commit(lambda: send_each([(name, event) for name in names]))


def group_name(*parts: object) -> str:
    """A valid channels group name (ASCII letters, digits, hyphens, underscores, periods)."""
    return ".".join(str(p) for p in parts)
