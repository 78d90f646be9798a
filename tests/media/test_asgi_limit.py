"""The ASGI wrapper refuses an oversized upload before reading its body."""

from media.asgi import photo_upload_limit


async def test_oversized_upload_is_refused_without_reading_the_body(settings):
    settings.PHOTO_MAX_BYTES = 2048
    called = []

    async def app(scope, receive, send):
        called.append(scope["path"])

    async def receive():
        raise AssertionError("the body must not be read")

    sent = []

    async def send(message):
        sent.append(message)

    wrapped = photo_upload_limit(app)
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/v1/photos",
        "headers": [(b"content-length", b"50000000")],
    }
    await wrapped(scope, receive, send)
    assert sent[0]["status"] == 413
    assert not called
    assert b"too_large" in sent[1]["body"]

    await wrapped({**scope, "headers": [(b"content-length", b"1000")]}, receive, send)
    await wrapped({**scope, "path": "/api/v1/visits"}, receive, send)
    assert called == ["/api/v1/photos", "/api/v1/visits"]
