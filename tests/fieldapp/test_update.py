"""A new version of the app (a deploy changes its files, so its service worker) takes over on
the phone without touching the visits waiting there, and opens offline from its own cache."""

import pytest

from fieldapp import shell
from tests.browser import block_urls, set_offline
from visits.models import Visit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CACHES = """
const done = arguments[arguments.length - 1];
caches.keys().then(done, (e) => done(String(e)));
"""


def test_a_new_service_worker_keeps_the_outbox(phone, proxy, open_entry, photo_files, monkeypatch):
    field = open_entry
    phone.open()
    phone.login(field.helper.username, field.password)
    phone.until(lambda: phone.household_status(field.household.pk) == "todo", what="listed")
    phone.wait_offline_ready()
    old = phone.version()
    assert phone.driver.execute_async_script(CACHES) == [f"fieldapp-{old}"]

    # A visit waits on the phone: the API cannot be reached, the app's own pages can.
    block_urls(phone.driver, ["*/api/v1/*"])
    phone.new_visit(field.household.pk)
    phone.take_photos(photo_files)
    phone.type_income(wages="800", operating="0", property="0", transfers="0")
    phone.save()
    phone.until(lambda: phone.pill()["waiting"] == 1, what="waiting")

    # A deploy: the worker the phone fetches is a new one. Opening the app installs it; it
    # takes over and says so.
    monkeypatch.setattr(shell, "version", lambda: "new-version-2")
    phone.driver.refresh()
    phone.wait_css('[data-banner="update"]', timeout=60)
    phone.shot("app-13-new-version")
    stored = phone.stored()
    assert [r["state"] for r in stored["outbox"]] == ["waiting"]
    assert len(stored["photos"]) == 4
    phone.driver.refresh()
    phone.until(lambda: phone.version() == "new-version-2", what="the new version running")
    assert phone.driver.execute_async_script(CACHES) == ["fieldapp-new-version-2"]

    # The new version opens with no network at all, the visit still waiting.
    proxy.cut()
    set_offline(phone.driver, True)
    phone.driver.refresh()
    phone.until(lambda: phone.household_status(field.household.pk) == "waiting", what="offline")
    assert phone.version() == "new-version-2"
    assert [r["state"] for r in phone.stored()["outbox"]] == ["waiting"]

    # Back online: the visit goes, once.
    proxy.restore()
    block_urls(phone.driver, [])
    set_offline(phone.driver, False)
    phone.until(lambda: phone.household_status(field.household.pk) == "visited", timeout=60)
    assert Visit.objects.count() == 1
    assert Visit.objects.get().visit_photos.count() == 4
    assert phone.stored()["outbox"] == []
