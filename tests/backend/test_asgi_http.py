"""The HTTP side of `backend.asgi`: Django's middleware runs sync, entered with one thread hop."""

import pytest
from asgiref.sync import SyncToAsync, iscoroutinefunction
from asgiref.testing import ApplicationCommunicator


async def _get(path: str) -> tuple[int, bytes]:
    """GET through the whole server app, a streamed body included."""
    from backend.asgi import application

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    app = ApplicationCommunicator(application, scope)
    await app.send_input({"type": "http.request", "body": b""})
    start = await app.receive_output(10)
    body = b""
    while True:
        message = await app.receive_output(10)
        body += message.get("body", b"")
        if not message.get("more_body"):
            return start["status"], body


def test_the_middleware_chain_is_loaded_sync():
    from backend.asgi import django_asgi_app

    assert not iscoroutinefunction(django_asgi_app._middleware_chain)


@pytest.mark.django_db(transaction=True)
async def test_a_request_crosses_into_a_thread_once_for_the_whole_chain(monkeypatch):
    hops: list[str] = []
    original = SyncToAsync.__call__

    async def counting(self, *args, **kwargs):
        hops.append(getattr(self.func, "__qualname__", repr(self.func)))
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(SyncToAsync, "__call__", counting)
    status, body = await _get("/api/v1/visits/window")
    assert status == 401  # through every middleware and the API's auth
    assert b'"unauthorized"' in body
    # The chain once; Django's request signals and the response's close around it. Django's
    # own async chain made about fifteen (two per middleware) before the view's own.
    assert [h for h in hops if "get_response" in h] == ["BaseHandler.get_response"]
    assert len(hops) <= 3, hops


@pytest.mark.django_db(transaction=True)
async def test_static_files_are_served_through_the_server_app():
    status, body = await _get("/static/css/site.css")
    assert status == 200
    assert b"{" in body
    assert (await _get("/static/css/no-such-file.css"))[0] == 404
