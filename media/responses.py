"""A stored file sent in blocks, never whole in memory.

Django's FileResponse reads its file through a synchronous iterator, and under ASGI Django
consumes such an iterator whole (`sync_to_async(list)`) before sending a byte: a 20 MB
original held in memory per download. An asynchronous iterator is sent block by block, each
block read off the event loop. The file is opened by the iterator itself, so a response that
is never sent holds no open file.
"""

from collections.abc import AsyncIterator

from asgiref.sync import sync_to_async
from django.core.files.storage import Storage, default_storage
from django.http import StreamingHttpResponse
from django.utils.http import content_disposition_header

BLOCK_SIZE = 256 * 1024


async def _blocks(storage: Storage, name: str) -> AsyncIterator[bytes]:
    fh = await sync_to_async(storage.open)(name, "rb")
    try:
        while block := await sync_to_async(fh.read)(BLOCK_SIZE):
            yield block
    finally:
        await sync_to_async(fh.close)()


def file_response(
    name: str, *, content_type: str, filename: str, storage: Storage = default_storage
) -> StreamingHttpResponse:
    """Stream the stored file `name` inline under `filename`."""
    response = StreamingHttpResponse(_blocks(storage, name), content_type=content_type)
    response["Content-Length"] = str(storage.size(name))
    response["Content-Disposition"] = content_disposition_header(False, filename)
    return response
