"""Ten identical submissions at once make one visit (PostgreSQL: real concurrent writers)."""

import threading
import uuid
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection

from common.errors import AppError
from tests.visits.helpers import at, visit_photos
from visits.models import QuarterIncome, Visit, VisitPhoto
from visits.services import Income, Position, VisitInput, visit_submit

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not settings.IS_POSTGRES, reason="needs PostgreSQL for real concurrency"),
]

NOW = at("2026-12-28 20:00")


def _run_at_once(n: int, work) -> list:
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:  # noqa: BLE001 - the test reports what each thread got
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def _data(household, photos, visit_id=None) -> VisitInput:
    return VisitInput(
        id=visit_id or uuid.uuid4(),
        household_id=household.pk,
        visited_at=at("2026-12-25 10:00"),
        position=Position(lat=Decimal("32.3101"), lon=Decimal("121.1801")),
        photo_ids=tuple(p.pk for p in photos),
        income=Income(
            wages=Decimal("3000"),
            operating=Decimal("0"),
            property=Decimal("0"),
            transfers=Decimal("0"),
        ),
        passbook_checked=True,
    )


@pytest.mark.django_db(transaction=True)
def test_ten_identical_posts_at_once_make_one_visit(helper_a_user, household_a):
    photos = visit_photos(helper_a_user, taken=at("2026-12-25 10:00"))
    data = _data(household_a, photos)
    results = _run_at_once(10, lambda i: visit_submit(user=helper_a_user, data=data, now=NOW))
    assert all(isinstance(r, tuple) for r in results), results
    assert sorted(created for _, created in results) == [False] * 9 + [True]
    assert {visit.pk for visit, _ in results} == {data.id}
    assert Visit.objects.count() == 1
    assert VisitPhoto.objects.count() == 4
    assert QuarterIncome.objects.filter(current=True).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_visits_racing_for_one_photo(helper_a_user, household_a):
    photos = visit_photos(helper_a_user, taken=at("2026-12-25 10:00"))
    results = _run_at_once(
        5, lambda i: visit_submit(user=helper_a_user, data=_data(household_a, photos), now=NOW)
    )
    won = [r for r in results if isinstance(r, tuple)]
    lost = [r for r in results if isinstance(r, AppError)]
    assert len(won) == 1, results
    assert len(lost) == 4, results
    assert {e.code for e in lost} == {"photo_used"}
    assert {e.status for e in lost} == {409}
    assert Visit.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_ten_identical_http_posts_at_once(helper_a_user, household_a, monkeypatch):
    from datetime import timedelta

    from django.test import Client
    from django.utils import timezone

    from accounts.models import ApiToken, hash_token
    from tests.visits.helpers import payload

    monkeypatch.setattr(timezone, "now", lambda: NOW)
    raw = "concurrency-token"
    ApiToken.objects.create(
        user=helper_a_user,
        key_hash=hash_token(raw),
        device_name="t",
        expires_at=NOW + timedelta(days=1),
    )
    photos = visit_photos(helper_a_user, taken=at("2026-12-25 10:00"))
    body = payload(household_a, photos, visited_at=at("2026-12-25 10:00"))
    results = _run_at_once(
        10,
        lambda i: (
            Client()
            .post(
                "/api/v1/visits",
                body,
                content_type="application/json",
                headers={"Authorization": f"Bearer {raw}"},
            )
            .status_code
        ),
    )
    assert sorted(results) == [200] * 9 + [201], results
    assert Visit.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_submission_locks_its_household_not_its_village(helper_a_user, household_a):
    import psycopg

    from regions.models import Region

    photos = visit_photos(helper_a_user, taken=at("2026-12-25 10:00"))
    # Another transaction holds the village's row as one does that has just written a row
    # referring to it (another visit of the village, a photo given its region): key share.
    with psycopg.connect(**connection.get_connection_params()) as holder:
        holder.execute(
            f'SELECT 1 FROM "{Region._meta.db_table}" WHERE code = %s FOR KEY SHARE',
            [household_a.village_id],
        )
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '2s'")
        try:
            visit, created = visit_submit(
                user=helper_a_user, data=_data(household_a, photos), now=NOW
            )
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET lock_timeout")
    assert created
    assert visit.village_id == household_a.village_id
