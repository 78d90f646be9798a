"""Faults: Redis gone (channel layer, cache), the server killed mid-upload, PostgreSQL
connections cut. What must hold: visits and complaints are still accepted and stored, nothing
half-written remains, errors are clean JSON and the service comes back by itself.

The machine's Redis and PostgreSQL are shared with other engineers: they are never stopped.
Redis is "down" for the code under test by pointing it at a closed port; PostgreSQL's outage
is a TCP proxy in front of it that the test closes and reopens, and `pg_terminate_backend`
on the server's own connections.
"""

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from asgiref.sync import sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from accounts.models import ApiToken, hash_token
from grievances.models import Grievance
from media.models import Photo
from tests.grievances.helpers import file_grievance
from tests.visits.helpers import HOME, KINDS, at, make_jpeg, payload, visit_photos
from visits.models import Visit

CLOSED = "redis://127.0.0.1:1/0"  # nothing listens on port 1: connection refused at once
ORIGIN = [(b"origin", b"http://127.0.0.1")]


@pytest.fixture
def in_window(monkeypatch):
    """Christmas 2026, inside the Q4 2026 window."""
    moment = at("2026-12-25 18:00")
    monkeypatch.setattr(timezone, "now", lambda: moment)
    return moment


@pytest.fixture
def channel_layer(settings):
    """Switch the channel layer; channels caches built layers, so forget them each time."""

    def use(config: dict) -> None:
        settings.CHANNEL_LAYERS = {"default": config}
        channel_layers.backends = {}

    yield use
    channel_layers.backends = {}


def redis_layer(url: str) -> dict:
    return {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [url], "prefix": f"faults-{uuid.uuid4().hex[:8]}"},
    }


def working_layer() -> dict:
    """Real Redis when the run has one (REDIS_URL: the tester's own db number), else memory."""
    if django_settings.REDIS_URL:
        return redis_layer(django_settings.REDIS_URL)
    return {"BACKEND": "channels.layers.InMemoryChannelLayer"}


def submit_visit(api_client, user, household, *, seed: int, when: str = "2026-12-25 10:00"):
    photos = visit_photos(user, taken=at(when), seed=seed)
    body = payload(household, photos, visited_at=at(when))
    return api_client.as_user(user).post("/visits", body), body


async def _connect(user, code: str) -> WebsocketCommunicator:
    from backend.asgi import application

    raw = f"ws-{uuid.uuid4()}"
    await ApiToken.objects.acreate(
        user=user,
        key_hash=hash_token(raw),
        device_name="t",
        expires_at=timezone.now() + timedelta(hours=1),
    )
    communicator = WebsocketCommunicator(
        application, f"/ws/coverage/{code}/?token={raw}", headers=ORIGIN
    )
    connected, _ = await communicator.connect()
    assert connected
    return communicator


# --- Redis: the channel layer ------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_channel_layer_down_visits_and_complaints_are_stored_and_live_updates_resume(
    channel_layer,
    caplog,
    api_client,
    regions,
    helper_a_user,
    household_a,
    town_a_office,
    in_window,
):
    channel_layer(redis_layer(CLOSED))
    caplog.set_level(logging.WARNING, logger="common.live")

    response, body = await sync_to_async(submit_visit)(
        api_client, helper_a_user, household_a, seed=1
    )
    assert response.status_code == 201, response.content
    assert await Visit.objects.filter(pk=body["id"]).aexists()
    filed = await sync_to_async(file_grievance)(api_client, regions)
    assert filed.status_code == 201, filed.content
    assert await Grievance.objects.acount() == 1

    missed = [r.getMessage() for r in caplog.records if "live update missed" in r.getMessage()]
    # The log names what was missed: the visit's coverage groups and the complaint's area.
    assert f"group=coverage.{household_a.village_id}" in " ".join(missed)
    assert any(f"type=coverage.visit visit={body['id']}" in m for m in missed)
    case = await Grievance.objects.aget()
    assert any(
        m.startswith("live update missed: group=grievances.area.")
        and m.endswith(f"type=grievance.changed grievance={case.pk}")
        for m in missed
    )

    # Redis is back: the next visit reaches the office's live page.
    channel_layer(working_layer())
    communicator = await _connect(town_a_office, household_a.village_id)
    try:
        response, body = await sync_to_async(submit_visit)(
            api_client, helper_a_user, household_a, seed=2, when="2026-12-25 11:00"
        )
        assert response.status_code == 201, response.content
        message = await communicator.receive_json_from(timeout=5)
        assert message["type"] == "visit"
        assert message["visit"]["id"] == body["id"]
    finally:
        await communicator.disconnect()


# --- Redis: the cache (throttle counters, coverage roll-ups) -----------------------------------


@pytest.mark.django_db
def test_cache_down_requests_still_answer(
    settings, caplog, api_client, regions, helper_a_user, household_a, county_office, in_window
):
    settings.CACHES = {
        "default": {
            "BACKEND": "common.cache.ResilientRedisCache",
            "LOCATION": CLOSED,
        }
    }
    if django_settings.REDIS_URL:  # the deployment's cache is this resilient one
        assert django_settings.CACHES["default"]["BACKEND"] == "common.cache.ResilientRedisCache"
    caplog.set_level(logging.WARNING, logger="common.cache")
    # Throttled public filing (cache counters): accepted, not a 500.
    filed = file_grievance(api_client, regions)
    assert filed.status_code == 201, filed.content
    # Throttled anonymous photo upload (counted in middleware).
    from django.core.files.uploadedfile import SimpleUploadedFile

    photo_id = uuid.uuid4()
    upload = api_client.anonymous().post(
        "/public/photos",
        data={
            "file": SimpleUploadedFile("p.jpg", make_jpeg(seed=3), content_type="image/jpeg"),
            "id": str(photo_id),
        },
    )
    assert upload.status_code == 201, upload.content
    assert Photo.objects.filter(pk=photo_id).exists()
    # A visit, and the county's coverage (cached roll-ups): computed without the cache.
    response, _ = submit_visit(api_client, helper_a_user, household_a, seed=4)
    assert response.status_code == 201, response.content
    coverage = api_client.as_user(county_office).get(
        "/coverage", {"quarter": "2026Q4", "region": regions.county.code}
    )
    assert coverage.status_code == 200, coverage.content
    assert any("cache unavailable" in r.getMessage() for r in caplog.records)


# --- A real server, killed and restarted (PostgreSQL: it must share the test database) ---------

ROOT = Path(__file__).resolve().parent.parent.parent
PORT = 8107  # this suite's port; another free one when a parallel run holds it
needs_postgres = pytest.mark.skipif(
    not django_settings.IS_POSTGRES,
    reason="a server subprocess must see the test's rows: needs PostgreSQL (SQLite's test "
    "database lives in this process)",
)


def free_port() -> int:
    for port in (PORT, 0):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return probe.getsockname()[1]
    raise RuntimeError("no free port")


class Server:
    """`uvicorn backend.asgi:application` in a subprocess, against the test database."""

    def __init__(self, var_dir: Path, *, database_url: str | None = None, **env: str):
        self.port = free_port()
        db = connection.settings_dict
        self.env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("REDIS_URL", "DATABASE_URL", "TASKS_BACKEND", "PRODUCTION")
        }
        self.env.update(
            DATABASE_URL=database_url
            or f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/"
            f"{db['NAME']}",
            VAR_DIR=str(var_dir),
            LOG_LEVEL="WARNING",
            AXES_ENABLED="0",
            PYTHONUNBUFFERED="1",
            **env,
        )
        self.log = var_dir / "server.log"
        self.proc: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v1"

    def start(self) -> "Server":
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "backend.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                "1",
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()
            try:
                httpx.get(f"{self.base}/visits/window", timeout=2)
                return self
            except httpx.HTTPError:
                time.sleep(0.2)
        raise AssertionError(f"server did not start: {self.log.read_text()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no finishing of requests in flight."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def server_factory(tmp_path):
    servers: list[Server] = []

    def make(**kwargs) -> Server:
        server = Server(tmp_path, **kwargs)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


def bearer(user) -> dict[str, str]:
    raw = ApiToken.new_key()
    ApiToken.objects.create(
        user=user,
        key_hash=hash_token(raw),
        device_name="faults",
        expires_at=timezone.now() + timedelta(days=1),
    )
    return {"Authorization": f"Bearer {raw}"}


def multipart(fields: dict[str, str], file: bytes, boundary: str = "faultsBoundary7") -> bytes:
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="p.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n".encode()
        + file
        + b"\r\n"
    )
    return b"".join(parts) + f"--{boundary}--\r\n".encode()


def send_partial(server: Server, path: str, headers: dict, body: bytes, content_type: str):
    """Open a raw connection, send the headers (declaring the whole body) and half the body;
    the caller kills the server while the rest never comes."""
    sock = socket.create_connection(("127.0.0.1", server.port))
    head = [
        f"POST /api/v1{path} HTTP/1.1",
        f"Host: 127.0.0.1:{server.port}",
        f"Content-Type: {content_type}",
        f"Content-Length: {len(body)}",
        *[f"{k}: {v}" for k, v in headers.items()],
    ]
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body[: len(body) // 2])
    return sock


def stored_files(var_dir: Path) -> list[Path]:
    media = var_dir / "media"
    return sorted(p for p in media.rglob("*") if p.is_file()) if media.exists() else []


@needs_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_server_killed_mid_upload_and_mid_visit_leaves_no_half_record(
    server_factory, tmp_path, helper_a_user, household_a
):
    server = server_factory().start()
    auth = bearer(helper_a_user)
    # A visit must be inside a window: the server runs on today's clock (2026-11-23, between
    # windows), so an office grants the helper's town an extension, the real rule path.
    extend_window(helper_a_user)

    # 1. Killed while a photo's body is still arriving.
    photo_id = uuid.uuid4()
    taken = timezone.now() - timedelta(hours=1)
    jpeg = make_jpeg(taken=taken, gps=HOME, seed=11, size=(1600, 1200))
    body = multipart({"id": str(photo_id), "kind": "location"}, jpeg)
    sock = send_partial(
        server, "/photos", auth, body, "multipart/form-data; boundary=faultsBoundary7"
    )
    time.sleep(0.5)
    server.kill()
    sock.close()
    assert not Photo.objects.filter(pk=photo_id).exists()
    assert stored_files(tmp_path) == []

    # Restarted, the phone's retry of the same upload goes through.
    server.start()
    photo_ids = []
    with httpx.Client(base_url=server.base, headers=auth, timeout=30) as http:
        for i, kind in enumerate(KINDS):
            pid = photo_id if i == 0 else uuid.uuid4()
            data = jpeg if i == 0 else make_jpeg(taken=taken, gps=HOME, seed=20 + i)
            r = http.post(
                "/photos",
                data={"id": str(pid), "kind": kind},
                files={"file": ("p.jpg", data, "image/jpeg")},
            )
            assert r.status_code == 201, r.text
            photo_ids.append(str(pid))
    assert Photo.objects.filter(pk__in=photo_ids).count() == 4

    # 2. Killed while a visit's body is still arriving.
    visit = {
        "id": str(uuid.uuid4()),
        "household_id": household_a.pk,
        "visited_at": taken.isoformat(),
        "position": {"lat": "32.310100", "lon": "121.180100", "accuracy_m": "8.0"},
        "photo_ids": photo_ids,
        "income": {"wages": "3000.00", "operating": "0.00", "property": "0.00", "transfers": "0"},
        "passbook_checked": True,
        "notes": "入户走访" * 250,  # long enough that half of it is a real partial body
    }
    raw = json.dumps(visit).encode()
    sock = send_partial(server, "/visits", auth, raw, "application/json")
    time.sleep(0.5)
    server.kill()
    sock.close()
    assert not Visit.objects.exists()
    assert Photo.objects.filter(pk__in=photo_ids, visit_use__isnull=False).count() == 0

    server.start()
    r = httpx.post(f"{server.base}/visits", json=visit, headers=auth, timeout=30)
    assert r.status_code == 201, r.text
    assert Visit.objects.get().visit_photos.count() == 4


def extend_window(user) -> None:
    from accounts.roles import Role
    from common.quarters import Quarter
    from tests import factories as f
    from visits.services import extension_grant

    office = f.UserFactory(role=Role.COUNTY_OFFICE, region=user.region.parent, is_staff=True)
    extension_grant(
        user=office,
        quarter=Quarter(2026, 4),
        until=timezone.now() + timedelta(days=2),
        reason="故障测试",
        area=user.region,
    )


@needs_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_cleanup_orphans_removes_old_unreferenced_files_only(
    server_factory, tmp_path, helper_a_user
):
    """Files left by a process that died between storing and recording are removed after the
    grace period; young files (uploads in flight) and files a record points to stay."""
    server = server_factory().start()
    auth = bearer(helper_a_user)
    photo_id = uuid.uuid4()
    r = httpx.post(
        f"{server.base}/photos",
        data={"id": str(photo_id), "kind": "scene"},
        files={"file": ("p.jpg", make_jpeg(seed=5), "image/jpeg")},
        headers=auth,
        timeout=30,
    )
    assert r.status_code == 201, r.text
    server.stop()
    referenced = tmp_path / "media" / Photo.objects.get(pk=photo_id).original.name
    assert referenced.is_file()
    folder = referenced.parent
    old_orphan = folder / f"{uuid.uuid4()}.jpg"
    young_orphan = folder / f"{uuid.uuid4()}.jpg"
    for path in (old_orphan, young_orphan):
        path.write_bytes(make_jpeg(seed=6))
    two_days_ago = time.time() - 2 * 86400
    for path in (old_orphan, referenced):
        os.utime(path, (two_days_ago, two_days_ago))

    result = subprocess.run(
        [sys.executable, "manage.py", "cleanup_orphans", "--grace-hours", "24"],
        cwd=ROOT,
        env=server.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert not old_orphan.exists()
    assert young_orphan.exists() and referenced.exists()
    assert "deleted 1 orphan file(s)" in result.stdout


# --- PostgreSQL: connections cut, and the database unreachable --------------------------------


class TcpProxy:
    """127.0.0.1:<port> → PostgreSQL. `stop()` is the outage: the listener and every open
    connection close; `start()` brings the database back on the same port."""

    def __init__(self, upstream: tuple[str, int]):
        self.upstream = upstream
        self.port = free_port()
        self.listener: socket.socket | None = None
        self.sockets: list[socket.socket] = []

    def start(self) -> None:
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", self.port))
        self.listener.listen(64)
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        if self.listener:
            # shutdown() first: close() alone leaves a thread blocked in accept() accepting.
            with contextlib.suppress(OSError):
                self.listener.shutdown(socket.SHUT_RDWR)
            self.listener.close()
        for s in self.sockets:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()
        self.sockets = []


def timed_get(url: str, headers: dict) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = httpx.get(url, headers=headers, timeout=30)
    return response, time.monotonic() - started


@needs_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_database_connections_killed_the_server_reconnects_by_itself(server_factory, helper_a_user):
    # Persistent connections (as production runs): the case where a stale one could stick.
    server = server_factory(DB_CONN_MAX_AGE="60").start()
    auth = bearer(helper_a_user)
    url = f"{server.base}/visits/window"
    for _ in range(3):
        assert httpx.get(url, headers=auth, timeout=10).status_code == 200
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        assert cursor.fetchone()[0] >= 1  # the server's connection(s)
    answers = [timed_get(url, auth) for _ in range(5)]
    for response, seconds in answers:
        assert seconds < 10
        assert response.status_code in (200, 503), response.text
        if response.status_code == 503:
            assert response.json()["code"] == "service_unavailable"
    # Health checks find the dead connection before use: no request fails at all.
    assert [r.status_code for r, _ in answers] == [200] * 5


@needs_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_database_unreachable_answers_503_json_and_recovers(server_factory, helper_a_user):
    db = connection.settings_dict
    proxy = TcpProxy((db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)))
    proxy.start()
    try:
        server = server_factory(
            DB_CONN_MAX_AGE="60",
            database_url=f"postgres://{db['USER']}@127.0.0.1:{proxy.port}/{db['NAME']}",
        ).start()
        auth = bearer(helper_a_user)
        url = f"{server.base}/visits/window"
        assert httpx.get(url, headers=auth, timeout=10).status_code == 200

        proxy.stop()  # PostgreSQL goes away (a restart, a network cut)
        for _ in range(3):
            response, seconds = timed_get(url, auth)
            assert seconds < 10, "a request hung on the dead database"
            assert response.status_code == 503, response.text
            assert response.json()["code"] == "service_unavailable"
            assert response.headers["Retry-After"]

        proxy.start()  # back: no restart of the server needed
        response, _ = timed_get(url, auth)
        assert response.status_code == 200, response.text
    finally:
        proxy.stop()


# --- A scheduled job that fails ---------------------------------------------------------------


def broken_job(*, now):
    raise RuntimeError("gateway down")


@pytest.mark.django_db
def test_a_failing_job_does_not_stop_the_others_and_the_command_fails(monkeypatch, caplog):
    from django.core.management import CommandError, call_command

    from coverage import jobs
    from notifications.jobs import due_jobs, run_due_jobs
    from notifications.models import JobLock

    monkeypatch.setattr(due_jobs, "fns", [broken_job, jobs.run])
    results = run_due_jobs(now=at("2026-11-23 10:00"))
    assert results["tests.hardening.test_faults.broken_job"] == {
        "error": "RuntimeError: gateway down"
    }
    assert "error" not in results["coverage.jobs.run"]
    assert JobLock.objects.get(name="coverage.jobs.run").last_finished_at is not None
    assert "scheduled job tests.hardening.test_faults.broken_job failed" in caplog.text
    with pytest.raises(CommandError, match="broken_job"):
        call_command("run_due_jobs", "--now", "2026-11-23T10:00:00+08:00")
