"""ASGI entry point: HTTP through Django, websockets through channels."""

import gc
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
# Build the Django app before importing anything that touches models (channels' advice). As
# `get_asgi_application()` does, with a handler that runs the sync middleware chain in one
# thread hop (backend/asgi_http.py).
django.setup(set_prefix=False)

from backend.asgi_http import SyncChainASGIHandler  # noqa: E402

django_asgi_app = SyncChainASGIHandler()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import get_resolver  # noqa: E402

from backend.routing import websocket_urlpatterns  # noqa: E402
from backend.ws_auth import TokenAuthMiddleware  # noqa: E402
from media.asgi import photo_upload_limit  # noqa: E402

application = ProtocolTypeRouter(
    {
        # An oversized photo is refused from its headers, before Django reads the body.
        "http": photo_upload_limit(django_asgi_app),
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(TokenAuthMiddleware(URLRouter(websocket_urlpatterns)))
        ),
    }
)

# Load every URL module (the API and its schemas, the pages) now rather than on the first
# request, then move what startup made out of the garbage collector's sight: a full
# collection walked those ~170,000 objects in 120-190 ms on this machine, and landed on every
# fourth request of a village's coverage page (bench/coverage.py). Python's own advice for
# long-lived servers (gc.freeze); only what requests create is collected from here on.
get_resolver().url_patterns  # noqa: B018 (imports the URL modules)
gc.collect()
gc.freeze()
