"""Reading a response's body in tests, whatever kind it is: plain, streamed from a
synchronous iterator (XLSX exports) or from an asynchronous one (photo files)."""

from asgiref.sync import async_to_sync


async def _collect(stream) -> list[bytes]:
    return [block async for block in stream]


def body_blocks(response) -> list[bytes]:
    if not response.streaming:
        return [response.content]
    if response.is_async:
        return async_to_sync(_collect)(response.streaming_content)
    return list(response.streaming_content)


def body(response) -> bytes:
    return b"".join(body_blocks(response))
