"""The phone app in headless Chromium: a visit saved with no network survives a reload and the
browser closed and opened again, and reaches the server exactly once, with its four photos,
when the network comes back."""

from datetime import timedelta

import pytest
from django.utils import timezone

from common.quarters import quarters_for_visit
from media.models import Photo
from tests import factories as f
from tests.browser import set_offline
from tests.fieldapp.conftest import phone_at
from tests.visits.helpers import HOME, make_jpeg
from visits.models import VillageVisit, Visit, VisitFlag
from visits.services import extension_grant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

INCOME = {"wages": "3200", "operating": "-150.5", "property": "0", "transfers": "480.00"}


def test_a_visit_saved_offline_is_kept_and_sent_once(
    proxy, open_entry, photo_files, browser_profile
):
    context, phone = phone_at(proxy.url, browser_profile)
    try:
        _saved_offline(phone, proxy, open_entry, photo_files)
    finally:
        context.__exit__(None, None, None)  # the browser closed

    # The browser opened again, still with no network: the visit still waits.
    context, phone = phone_at(proxy.url, browser_profile)
    try:
        set_offline(phone.driver, True)
        phone.open()
        household = open_entry.household
        phone.until(lambda: phone.household_status(household.pk) == "waiting", what="reopened")
        assert [r["state"] for r in phone.stored()["outbox"]] == ["waiting"]
        _back_online_and_sent(phone, proxy, open_entry, photo_files)
    finally:
        context.__exit__(None, None, None)


def _saved_offline(phone, proxy, open_entry, photo_files) -> None:
    household = open_entry.household
    phone.open()
    phone.wait_css("#login-form")
    phone.shot("app-01-login")
    phone.login(open_entry.helper.username, open_entry.password)
    phone.until(lambda: phone.household_status(household.pk) == "todo", what="household listed")
    phone.wait_offline_ready()
    phone.shot("app-02-home")

    # In the village: no signal at all.
    proxy.cut()
    set_offline(phone.driver, True)
    phone.go(f"#/place/h:{household.pk}")
    phone.wait_css("#start-visit")
    phone.shot("app-03-household")
    phone.new_visit(household.pk)
    phone.take_photos(photo_files)
    phone.type_income(**INCOME)
    phone.js("document.querySelector('input[name=passbook]').click()")
    phone.shot("app-04-visit-form", full_page=True)
    # The page killed while the camera was open (phones do): the form comes back as it was.
    phone.until(lambda: phone.stored()["drafts"] and _draft_typed(phone), what="draft kept")
    phone.driver.refresh()
    phone.until(lambda: len(phone.css('.slot[data-taken="yes"]')) == 4, what="photos back")
    assert phone.wait_css('input[name="operating"]').get_attribute("value") == "-150.5"
    assert phone.js("return document.querySelector('input[name=passbook]').checked")
    phone.save()
    assert phone.household_status(household.pk) == "waiting"
    assert phone.pill()["waiting"] == 1
    phone.shot("app-05-saved-offline")

    # Closed and opened again, still with no network: the app and the list open, the visit waits.
    phone.driver.refresh()
    phone.until(lambda: phone.household_status(household.pk) == "waiting", what="list offline")
    stored = phone.stored()
    assert [r["state"] for r in stored["outbox"]] == ["waiting"]
    assert len(stored["photos"]) == 4
    assert not any(p["sent"] for p in stored["photos"])
    assert all(p["fix"] and p["fix"]["accuracy"] == 8 for p in stored["photos"])
    phone.shot("app-06-reopened-offline")
    phone.go("#/outbox")
    phone.wait_css('.outbox-item[data-state="waiting"]')
    phone.shot("app-07-outbox-waiting")
    assert Visit.objects.count() == 0
    assert Photo.objects.count() == 0


def _back_online_and_sent(phone, proxy, open_entry, photo_files) -> None:
    household = open_entry.household
    phone.go("#/outbox")
    phone.wait_css('.outbox-item[data-state="waiting"]')

    # Back in signal: the app sends the photos, then the visit, and forgets them.
    proxy.restore()
    set_offline(phone.driver, False)
    phone.until(lambda: phone.css("#outbox-empty"), timeout=60, what="outbox emptied")
    phone.go("#/")
    phone.until(lambda: phone.household_status(household.pk) == "visited", what="visited")
    phone.shot("app-08-sent")

    visit = Visit.objects.get()
    assert visit.household_id == household.pk
    assert visit.submitted_by == open_entry.helper
    assert (str(visit.wages), str(visit.operating), str(visit.transfers)) == (
        "3200.00",
        "-150.50",
        "480.00",
    )
    assert visit.passbook_checked is True
    photos = {p.kind: p for p in Photo.objects.all()}
    assert sorted(photos) == sorted(photo_files)
    assert visit.visit_photos.count() == 4
    for kind, photo in photos.items():
        assert photo.size_bytes == photo_files[kind].stat().st_size  # the bytes, untouched
        assert photo.client_lat is not None
        assert photo.client_accuracy_m == 8
        assert photo.client_taken_at is not None
        assert (photo.exif_lat is not None) == (kind in ("location", "scene"))
    # Stripped GPS with a good device position raises no position flag.
    assert not VisitFlag.objects.filter(
        kind__in=["no_position", "no_exif_gps", "device_position_inaccurate", "position_mismatch"]
    ).exists()
    stored = phone.stored()
    assert stored == {"outbox": [], "photos": [], "drafts": []}

    phone.go("#/visits")
    phone.wait_css(f'.visit[data-id="{visit.pk}"]')
    phone.shot("app-09-my-visits")


def _draft_typed(phone) -> bool:
    """The draft's typed fields are written (a short pause after the last key)."""
    return phone.driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "const r = indexedDB.open('relief-fieldapp');"
        "r.onsuccess = () => { const q = r.result.transaction('drafts').objectStore('drafts')"
        ".getAll(); q.onsuccess = () => { const d = q.result[0]; r.result.close();"
        "done(Boolean(d && d.fields.transfers === '480.00' && d.fields.passbook)); }; };"
    )


def test_a_pairing_units_village_visit_offline(
    proxy, field, regions, make_user, county_office, tmp_path
):
    """A pairing unit's account sees its weak village and records the village visit (two
    photos, the collective income, which may be negative) the same way."""
    unit = f.UnitFactory(region=regions.county)
    user = make_user("unit", regions.county, unit=unit)
    weak = f.WeakVillageFactory(village=regions.village_a2)
    f.UnitPairingFactory(unit=unit, weak_village=weak)
    now = timezone.now()
    extension_grant(
        user=county_office,  # the unit belongs to the county
        quarter=quarters_for_visit(now)[0],
        until=now + timedelta(days=2),
        reason="测试:当天可录入",
        unit=unit,
    )
    files = {}
    for seed, kind in enumerate(("location", "scene")):
        files[kind] = tmp_path / f"v-{kind}.jpg"
        files[kind].write_bytes(make_jpeg(taken=now, gps=HOME, seed=900 + seed, size=(320, 240)))

    context, phone = phone_at(proxy.url)
    try:
        phone.open()
        phone.login(user.username, field.password)
        key = f"v:{weak.pk}"
        phone.until(lambda: phone.css(f'a.place[data-key="{key}"][data-status="todo"]'))
        phone.wait_offline_ready()
        proxy.cut()
        set_offline(phone.driver, True)
        phone.go(f"#/place/{key}")
        phone.tap("#start-visit")
        phone.take_photos(files)
        assert not phone.css('input[name="wages"]')  # a village: one income, no passbook
        phone.type_income(collective_income="-12500.5")
        phone.shot("app-16-village-visit-form", full_page=True)
        phone.save()
        assert phone.pill()["waiting"] == 1
        proxy.restore()
        set_offline(phone.driver, False)
        phone.until(
            lambda: phone.css(f'a.place[data-key="{key}"][data-status="visited"]'), timeout=60
        )
        visit = VillageVisit.objects.get()
        assert visit.unit == unit
        assert str(visit.collective_income) == "-12500.50"
        assert visit.visit_photos.count() == 2
        assert phone.stored()["outbox"] == []
    finally:
        context.__exit__(None, None, None)
