"""The real server (uvicorn, a subprocess) killed in the middle of a sync and started again,
and the answer to the visit itself lost on the way back: the phone loses nothing and the
server ends up with exactly one visit and its four photos.

PostgreSQL only: the server subprocess must see the test's rows."""

import time

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.utils import timezone

from media.models import Photo
from tests.browser import set_network, set_offline
from tests.fieldapp.conftest import phone_at
from tests.netproxy import PORTS, Proxy, free_port
from tests.phone_photos import camera_jpeg
from tests.servers import Server, needs_postgres
from tests.visits.helpers import HOME
from visits.models import Visit

pytestmark = [needs_postgres, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHOTO_BYTES = 600_000
UPLOAD_KBIT = 1500  # ~3 s a photo: time to stop the server in the middle of one


@pytest.fixture
def server(tmp_path):
    server = Server(tmp_path, port=free_port(reversed(PORTS)))
    yield server.start()
    server.stop()


@pytest.fixture
def camera_files(tmp_path):
    now = timezone.now()
    files = {}
    for seed, kind in enumerate(("location", "scene", "passbook", "handbook")):
        path = tmp_path / f"{kind}.jpg"
        gps = HOME if seed % 2 == 0 else None  # two with EXIF GPS, two stripped
        path.write_bytes(camera_jpeg(size_bytes=PHOTO_BYTES, taken=now, gps=gps, seed=seed))
        files[kind] = path
    return files


def test_the_server_stopped_in_the_middle_of_a_sync(server, open_entry, camera_files):
    field = open_entry
    # The tests' fast password hash is unknown to the server process: store a real one.
    field.helper.password = PBKDF2PasswordHasher().encode(field.password, "serverrestart")
    field.helper.save(update_fields=["password"])
    proxy = Proxy(("127.0.0.1", server.port)).start()
    context, phone = phone_at(proxy.url)
    try:
        phone.open()
        phone.login(field.helper.username, field.password)
        phone.until(lambda: phone.household_status(field.household.pk) == "todo", what="list")
        phone.wait_offline_ready()
        proxy.cut()
        set_offline(phone.driver, True)
        phone.new_visit(field.household.pk)
        phone.take_photos(camera_files)
        phone.type_income(wages="2100", operating="35.5", property="0", transfers="300")
        phone.save()

        # The answer to the visit will be lost: the server makes it, the phone never hears.
        proxy.drop_next_answer(b"POST /api/v1/visits ")
        proxy.restore()
        set_network(phone.driver, latency_ms=100, up_kbit=UPLOAD_KBIT)  # online, slowly
        phone.until(lambda: Photo.objects.count() >= 2, timeout=90, what="two photos stored")
        server.kill()  # in the middle of the third photo
        killed_at = time.monotonic()
        phone.until(lambda: phone.pill()["state"] in ("waiting", "offline"), what="retry later")
        phone.go("#/outbox")
        phone.wait_css('.outbox-item[data-state="waiting"] .last-error')
        phone.shot("app-14-server-stopped")
        stored = phone.stored()
        assert [r["state"] for r in stored["outbox"]] == ["waiting"]
        assert len(stored["photos"]) == 4
        # At least one photo confirmed, not all four (the second may be stored without its
        # answer having reached the phone: it is sent again and replayed).
        assert 1 <= sum(p["sent"] for p in stored["photos"]) < 4
        assert Visit.objects.count() == 0

        time.sleep(max(0.0, 3 - (time.monotonic() - killed_at)))  # down for a while
        server.start()  # the same port: the proxy (the phone's network) finds it again
        phone.until(lambda: phone.css("#outbox-empty"), timeout=180, what="outbox emptied")
        phone.shot("app-15-sent-after-restart")

        assert proxy.dropped == [b"POST /api/v1/visits "]  # the first answer was lost
        visit = Visit.objects.get()
        assert visit.visit_photos.count() == 4
        assert Photo.objects.count() == 4
        assert sorted(p.size_bytes for p in Photo.objects.all()) == sorted(
            f.stat().st_size for f in camera_files.values()
        )
        assert phone.stored() == {"outbox": [], "photos": [], "drafts": []}
    finally:
        context.__exit__(None, None, None)
        proxy.cut()
