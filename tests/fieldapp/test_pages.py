"""The app's three server answers: the page (the shell), its service worker and its manifest;
every file the worker keeps is served; the login and home pages lead to the app."""

import json
import re

import pytest
from django.test import Client

from fieldapp import shell

pytestmark = pytest.mark.django_db


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_the_page_needs_no_login_and_runs_only_its_own_files(client: Client):
    response = client.get("/app/")
    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-version="{shell.version()}"' in html
    assert '<script type="module" src="/static/fieldapp/js/main.js"></script>' in html
    assert '<link rel="manifest" href="/app/manifest.webmanifest">' in html
    assert response["Cache-Control"] == "no-cache"
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "connect-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "<script>" not in html  # no inline script


def test_the_service_worker_is_served_from_the_app_scope_uncached(client: Client):
    response = client.get("/app/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/javascript; charset=utf-8"
    assert response["Cache-Control"] == "no-cache"
    script = response.content.decode()
    assert f'const VERSION = "{shell.version()}";' in script
    precache = json.loads(re.search(r"const PRECACHE = (\[.*?\]);", script).group(1))
    assert precache[0] == "/app/"
    assert set(precache[1:]) == set(shell.asset_urls())
    assert "/static/fieldapp/js/main.js" in precache
    # Every file the worker keeps exists: one missing would fail the whole install.
    for url in precache:
        assert client.get(url).status_code == 200, url


def test_the_manifest_makes_the_app_installable(client: Client):
    response = client.get("/app/manifest.webmanifest")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    manifest = json.loads(body(response))
    assert manifest["start_url"] == manifest["scope"] == "/app/"
    assert manifest["display"] == "standalone"
    assert manifest["lang"] == "zh-CN"
    sizes = {(icon["sizes"], icon.get("purpose", "any")) for icon in manifest["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes
    for icon in manifest["icons"]:
        assert client.get(icon["src"]).status_code == 200


def test_the_version_names_the_shell_files():
    assert re.fullmatch(r"[0-9a-f]{12}", shell.version())
    names = {url.rsplit("/static/fieldapp/", 1)[1] for url in shell.asset_urls()}
    assert {"app.css", "js/main.js", "js/sync.js", "icons/icon-192.png"} <= names


def test_the_login_and_home_pages_lead_to_the_app(client: Client, helper_a_user):
    assert 'href="/app/"' in client.get("/login/").content.decode()
    client.force_login(helper_a_user)
    assert 'href="/app/"' in client.get("/").content.decode()
