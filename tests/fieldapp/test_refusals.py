"""What the server refuses stays on the phone with the reason: a visit outside the reporting
window, and everything while the login has expired (then the app asks to log in again and the
outbox is untouched)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import ApiToken
from media.models import Photo
from tests.browser import set_offline
from tests.fieldapp.conftest import allow_entry_now
from visits.models import Visit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

INCOME = {"wages": "1000", "operating": "0", "property": "0", "transfers": "200"}


def record_visit(phone, household, photo_files) -> None:
    phone.new_visit(household.pk)
    phone.take_photos(photo_files)
    phone.type_income(**INCOME)
    phone.save()


def test_a_visit_refused_for_a_closed_window_stays_with_the_reason(
    phone, field, photo_files, clock
):
    # The server's clock is more than a year ahead of the phone's: whatever today is, the
    # quarter the visit belongs to closed long ago, and no extension covers it.
    phone_now = timezone.now()
    clock.set(phone_now + timedelta(days=400))
    phone.open()
    phone.login(field.helper.username, field.password)
    phone.until(lambda: phone.household_status(field.household.pk) == "todo", what="listed")
    record_visit(phone, field.household, photo_files)

    phone.until(lambda: phone.pill()["refused"] == 1, timeout=60, what="refused")
    assert phone.household_status(field.household.pk) == "refused"
    phone.go("#/outbox")
    item = phone.wait_css('.outbox-item[data-state="refused"]')
    assert "被退回:不在录入时间内" in item.find_element("css selector", ".reason").text
    assert "延期" in item.find_element("css selector", ".remedy").text
    phone.shot("app-10-refused-window-closed")
    assert Visit.objects.count() == 0
    assert Photo.objects.count() == 4  # the photos were accepted, each on its own

    # Opened again: still there, still refused (asked again on opening, refused again).
    first = phone.stored()["outbox"][0]["refusedAt"]
    phone.driver.refresh()
    stored = phone.until(
        lambda: (s := phone.stored())["outbox"][0]["refusedAt"] != first and s,
        what="refused again after opening",
    )
    assert [(r["state"], r["code"]) for r in stored["outbox"]] == [("refused", "window_closed")]
    assert len(stored["photos"]) == 4
    assert all(p["sent"] for p in stored["photos"])

    # The office extends the quarter for this helper; "resubmit" sends the visit alone.
    allow_entry_now(field.office, field.helper, visited_at=phone_now)
    phone.go("#/outbox")
    phone.tap('.outbox-item[data-state="refused"] button.retry')
    phone.until(lambda: phone.css("#outbox-empty"), timeout=60, what="sent after the extension")
    assert Visit.objects.count() == 1
    assert Photo.objects.count() == 4
    assert Visit.objects.get().visit_photos.count() == 4


def test_an_expired_login_asks_to_log_in_and_keeps_the_outbox(
    phone, proxy, open_entry, photo_files
):
    field = open_entry
    phone.open()
    phone.login(field.helper.username, field.password)
    phone.until(lambda: phone.household_status(field.household.pk) == "todo", what="listed")
    phone.wait_offline_ready()
    proxy.cut()
    set_offline(phone.driver, True)
    record_visit(phone, field.household, photo_files)
    assert phone.pill()["waiting"] == 1

    # The token runs out while the phone is away.
    ApiToken.objects.filter(user=field.helper).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    proxy.restore()
    set_offline(phone.driver, False)
    phone.wait_css("#login-form", timeout=60)
    assert "1 条走访待上传" in phone.wait_css("#login-outbox-note").text
    phone.shot("app-11-login-expired")
    stored = phone.stored()
    assert [r["state"] for r in stored["outbox"]] == ["waiting"]
    assert len(stored["photos"]) == 4
    assert not any(p["sent"] for p in stored["photos"])
    assert Photo.objects.count() == 0
    assert Visit.objects.count() == 0

    # Offline use goes on without a login; the visit keeps waiting.
    phone.tap("#continue-offline")
    phone.until(lambda: phone.household_status(field.household.pk) == "waiting", what="list")
    assert phone.pill()["state"] == "login"
    phone.shot("app-12-expired-offline-use")

    # Logged in again: the same visit goes, once.
    phone.go("#/login")
    phone.login(field.helper.username, field.password)
    phone.until(lambda: phone.household_status(field.household.pk) == "visited", timeout=60)
    assert Visit.objects.count() == 1
    assert Photo.objects.count() == 4
    assert phone.stored()["outbox"] == []
