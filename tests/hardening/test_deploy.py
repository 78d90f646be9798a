"""Deployment check: production settings pass `check --deploy`, responses carry the security
headers, no stored photo is reachable without an authorized request, and a production start
without a SECRET_KEY stops loudly."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.storage import default_storage

from tests.http import body
from tests.visits.helpers import make_photo

ROOT = Path(__file__).resolve().parent.parent.parent


def production_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY")}
    env.update(
        PRODUCTION="1",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="relief.example.cn",
        LOG_LEVEL="WARNING",
    )
    env.update(extra)
    return env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_production_settings_pass_check_deploy_without_warnings():
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_without_secret_key_fails_at_start_up():
    env = production_env()
    del env["SECRET_KEY"]
    result = run(["manage.py", "check"], env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set in production" in result.stderr


HEADERS_SCRIPT = r"""
import json, django
django.setup()
from django.test import Client
client = Client(HTTP_HOST="relief.example.cn", HTTP_X_FORWARDED_PROTO="https")
out = {}
for path in ("/api/v1/visits/window", "/api/v1/openapi.json"):
    response = client.get(path)
    out[path] = {"status": response.status_code, "headers": dict(response.headers)}
plain = Client(HTTP_HOST="relief.example.cn").get("/api/v1/visits/window")
out["plain-http"] = {"status": plain.status_code, "location": plain.headers.get("Location")}
print("HEADERS-JSON" + json.dumps(out))
"""


def test_security_headers_in_production():
    env = production_env(DJANGO_SETTINGS_MODULE="backend.settings")
    result = run(["-c", HEADERS_SCRIPT], env)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.split("HEADERS-JSON", 1)[1])
    # (Pages need `collectstatic` first in production: the manifest storage names the files.)
    for path in ("/api/v1/visits/window", "/api/v1/openapi.json"):
        headers = {k.lower(): v for k, v in out[path]["headers"].items()}
        assert out[path]["status"] in (200, 401), (path, out[path])
        assert headers["strict-transport-security"].startswith("max-age=31536000")
        assert "includeSubDomains" in headers["strict-transport-security"]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "same-origin"
    # Plain HTTP (not through the TLS proxy) is redirected to HTTPS.
    assert out["plain-http"]["status"] == 301
    assert out["plain-http"]["location"].startswith("https://relief.example.cn/")


@pytest.mark.django_db
def test_headers_outside_production_too(client):
    response = client.get("/api/v1/visits/window")
    assert response.status_code == 401
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"


@pytest.mark.django_db
def test_no_stored_photo_is_reachable_by_url(
    client, api_client, helper_a_user, town_a_office, outsider_office, settings
):
    photo = make_photo(helper_a_user, "passbook", seed=7)
    name = photo.original.name
    data = default_storage.open(name, "rb").read()
    assert data  # the file is really stored
    base = Path(name).name
    guesses = [
        f"{settings.MEDIA_URL}{name}",
        f"/media/{name}",
        f"/media/{base}",
        f"/{name}",
        f"/static/{name}",
        f"/static/../var/media/{name}",
        f"/var/media/{name}",
        f"/api/v1/{name}",
    ]
    for url in guesses:
        response = client.get(url)
        assert response.status_code == 404, url
        assert data not in body(response), url
        # Logged in as the area's own office does not open a URL route either.
        client.force_login(town_a_office)
        assert client.get(url).status_code == 404, url
        client.logout()

    file_url = f"/photos/{photo.pk}/file?variant=original"
    anonymous = api_client.anonymous().get(file_url)
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "unauthorized"
    outsider = api_client.as_user(outsider_office).get(file_url)
    missing = api_client.as_user(outsider_office).get(
        "/photos/00000000-0000-4000-8000-000000000000/file?variant=original"
    )
    assert outsider.status_code == missing.status_code == 404
    assert outsider.json() == missing.json()
    allowed = api_client.as_user(town_a_office).get(file_url)
    assert allowed.status_code == 200
    assert body(allowed) == data
