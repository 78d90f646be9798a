"""Live updates from a sync view are handed to the server's event loop, not waited for."""

import asyncio
import logging

from asgiref.sync import sync_to_async

from backend import live


class RecordingLayer:
    def __init__(self, gate: asyncio.Event | None = None, error: Exception | None = None):
        self.sent: list[tuple[str, int]] = []
        self.gate, self.error = gate, error

    async def group_send(self, group: str, event: dict) -> None:
        if self.gate is not None:
            await self.gate.wait()
        if self.error is not None:
            raise self.error
        self.sent.append((group, event["n"]))


async def _serve_one_request() -> None:
    async def app(scope, receive, send):
        return None

    await live.bind_server_loop(app)({"type": "http"}, None, None)


async def _eventually(check) -> bool:
    for _ in range(100):
        if check():
            return True
        await asyncio.sleep(0.01)
    return False


async def test_a_request_thread_hands_its_updates_to_the_server_loop(monkeypatch):
    monkeypatch.setattr(live, "_server_loop", None)
    gate = asyncio.Event()
    layer = RecordingLayer(gate=gate)
    monkeypatch.setattr(live, "get_channel_layer", lambda: layer)
    await _serve_one_request()
    # The view's thread goes on while the send still waits on the layer (Redis).
    await sync_to_async(live.send_soon, thread_sensitive=False)([("g", {"type": "x", "n": 1})])
    assert layer.sent == []
    gate.set()
    assert await _eventually(lambda: layer.sent == [("g", 1)])


async def test_a_miss_on_the_server_loop_is_logged(monkeypatch, caplog):
    monkeypatch.setattr(live, "_server_loop", None)
    monkeypatch.setattr(
        live, "get_channel_layer", lambda: RecordingLayer(error=ConnectionError("down"))
    )
    caplog.set_level(logging.WARNING, logger="backend.live")
    await _serve_one_request()
    event = {"type": "coverage.visit", "visit": {"id": "v1"}, "n": 1}
    await sync_to_async(live.send_soon, thread_sensitive=False)([("g", event)])
    assert await _eventually(lambda: "live update missed: group=g" in caplog.text)
    assert "visit=v1" in caplog.text


def test_outside_the_server_the_updates_are_sent_before_returning(monkeypatch):
    monkeypatch.setattr(live, "_server_loop", None)
    layer = RecordingLayer()
    monkeypatch.setattr(live, "get_channel_layer", lambda: layer)
    live.send_soon([("a", {"type": "x", "n": 1}), ("b", {"type": "x", "n": 2})])
    assert sorted(layer.sent) == [("a", 1), ("b", 2)]
