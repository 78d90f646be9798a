"""The helpers' phone app, served under /app/: one page (the shell), its service worker and its
web app manifest. The page holds no data and needs no login: the app logs in to the API with a
token, and keeps what it needs (and its outbox of visits) in the phone's IndexedDB.
"""

import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from fieldapp import shell

# The page runs only its own files: no inline script, nothing from another origin. Photos are
# shown from blob: URLs (the phone's own copies) and thumbnails fetched through the API.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob: data:",
        "connect-src 'self'",
        "worker-src 'self'",
        "manifest-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)


def _no_cache(response: HttpResponse) -> HttpResponse:
    # Always asked again when online; offline the service worker answers from its cache.
    response["Cache-Control"] = "no-cache"
    return response


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    response = render(
        request, "fieldapp/index.html", {"version": shell.version(), "files": shell.url("")}
    )
    response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return _no_cache(response)


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """Served from /app/ so that its scope covers the app, never cached by HTTP: the browser
    compares it byte for byte to find a new version."""
    response = render(
        request,
        "fieldapp/sw.js",
        {
            "version": shell.version(),
            "precache": json.dumps([shell.PAGE_URL, *shell.asset_urls()]),
        },
        content_type="text/javascript; charset=utf-8",
    )
    return _no_cache(response)


@require_GET
def manifest(request: HttpRequest) -> JsonResponse:
    icons = [
        {"src": shell.url(f"icons/icon-{size}.png"), "sizes": f"{size}x{size}"}
        for size in (192, 512)
    ]
    icons.append(
        {"src": shell.url("icons/maskable-512.png"), "sizes": "512x512", "purpose": "maskable"}
    )
    body = {
        "name": "阳光扶贫+ 走访",
        "short_name": "扶贫走访",
        "description": "帮扶责任人、帮扶单位季度走访录入,无网络时保存在手机上,联网后自动上传。",
        "lang": "zh-CN",
        "id": shell.PAGE_URL,
        "start_url": shell.PAGE_URL,
        "scope": shell.PAGE_URL,
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#f6f4ef",
        "theme_color": "#b3261e",
        "icons": [{**icon, "type": "image/png"} for icon in icons],
    }
    response = JsonResponse(body, json_dumps_params={"ensure_ascii": False})
    response["Content-Type"] = "application/manifest+json"
    return _no_cache(response)
