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

# The event loop the ASGI server runs this process's requests in (see `bind_server_loop`).
_server_loop: asyncio.AbstractEventLoop | None = None


def bind_server_loop(app):
    """Wrap the ASGI app to remember the server's event loop, so that live updates made in a
    sync view's thread are handed to it (`send_soon`) rather than waited for."""

    async def wrapper(scope, receive, send):
        global _server_loop
        _server_loop = asyncio.get_running_loop()
        await app(scope, receive, send)

    return wrapper


async def asend_each(messages: list[tuple[str, dict]]) -> int:
    """Send each (group, event) pair concurrently; return how many went out. A miss is logged
    with what was missed, never raised."""
    layer = get_channel_layer()
    if layer is None or not messages:
        return 0
    # channels_redis takes a connection from a pool of 100 per send and fails at once when
    # it is empty: a thousand sends started together delivered 100.
    limit = asyncio.Semaphore(_CONCURRENT_SENDS)

    async def send_one(group: str, event: dict) -> None:
        async with limit:
            await layer.group_send(group, event)

    results = await asyncio.gather(
        *(send_one(group, event) for group, event in messages), return_exceptions=True
    )
    return _count_sent(messages, results)


def send_each(messages: Iterable[tuple[str, dict]]) -> int:
    """`asend_each` from sync code, waiting for it: one trip through async_to_sync."""
    messages = list(messages)
    if not messages:
        return 0
    try:
        return async_to_sync(asend_each)(messages)
    except Exception as exc:  # noqa: BLE001 (the loop itself failed: every message missed)
        return _count_sent(messages, [exc] * len(messages))


def send_soon(messages: Iterable[tuple[str, dict]]) -> None:
    """Send without waiting when this thread serves a request of the ASGI server: the sends
    run on the server's event loop while the view's thread goes on. Under uvicorn a sync view
    has one thread per process, and waiting for Redis there held every other request of the
    process for it (a ninth of that thread's time in bench/visits.py). Elsewhere (commands,
    task workers, the test client) the messages are sent before this returns."""
    messages = list(messages)
    loop = _server_loop
    if messages and loop is not None and loop.is_running() and not _on_a_loop():
        future = asyncio.run_coroutine_threadsafe(asend_each(messages), loop)
        future.add_done_callback(_log_failure)  # a miss per message is logged in asend_each
        return
    send_each(messages)


def _log_failure(future) -> None:
    if not future.cancelled() and future.exception() is not None:
        logger.warning("live updates missed", exc_info=future.exception())


def _on_a_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _count_sent(messages: list[tuple[str, dict]], results: list) -> int:
    sent = 0
    for (group, event), result in zip(messages, results, strict=True):
        if isinstance(result, BaseException):
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
    transaction.on_commit(lambda: send_soon([(name, event) for name in names]))


def group_name(*parts: object) -> str:
    """A valid channels group name (ASCII letters, digits, hyphens, underscores, periods)."""
    return ".".join(str(p) for p in parts)
