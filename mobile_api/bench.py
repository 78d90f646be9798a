"""The benchmark's bare upload, mounted (by backend/urls.py) only when BENCH_BARE_UPLOAD is on.

`bench/visits.py` compares a real photo upload with this floor: the same request through the
same server, token check and multipart parsing, whose handler only writes the bytes to disk.
It is a NinjaAPI of its own at /api/v1/bench/, outside the API's document.
"""

import uuid
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest
from ninja import File, NinjaAPI
from ninja.files import UploadedFile

from accounts.roles import is_field_worker
from common.errors import NotFound
from mobile_api.auth import token_auth
from mobile_api.errors import install_error_handlers
from mobile_api.renderers import JSONRenderer

bench_api = NinjaAPI(
    title="bench",
    urls_namespace="bench",
    docs_url=None,
    openapi_url=None,
    renderer=JSONRenderer(),
    auth=token_auth,
)
install_error_handlers(bench_api)


@bench_api.post("/bare-upload", response=dict)
def bench_bare_upload(request: HttpRequest, file: File[UploadedFile]):
    """Write the upload to var/bench-bare/ and answer its size; for helpers and units."""
    if not is_field_worker(request.user):
        raise NotFound("对象不存在")
    folder = Path(settings.VAR_DIR) / "bench-bare"
    folder.mkdir(parents=True, exist_ok=True)
    size = 0
    with open(folder / f"{uuid.uuid4()}.bin", "wb") as out:
        for chunk in file.chunks():
            out.write(chunk)
            size += len(chunk)
    return {"bytes": size}
