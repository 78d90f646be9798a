"""ASGI entry point: HTTP through Django, websockets through channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
# Build the Django app before importing anything that touches models (channels' advice).
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

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
