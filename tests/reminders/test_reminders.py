"""Quarterly visit reminders from the scheduled job: timing, recipients, numbers, idempotence."""

import datetime as dt
import threading

import pytest
from django.core.management import call_command
from django.db import connection

from accounts.roles import Role
from coverage import jobs, reminders
from notifications.jobs import due_jobs
from notifications.models import Notification
from notifications.sms import MemorySmsSender
from tests import factories as f
from tests.supervision.data import at, make_visit, paired_household


@pytest.fixture
def memory_sms(settings):
    settings.SMS_BACKEND = "notifications.sms.MemorySmsSender"
    MemorySmsSender.outbox.clear()
    return MemorySmsSender.outbox


@pytest.fixture
def field(regions, helper_a, helper_a_user, household_a, make_user):
    """helper_a (with a login) has two households in town A; a second helper has none of his
    own login; a pairing unit with a login has a weak village; a retired helper has a login."""
    second_household = paired_household(regions.village_a2, helper=helper_a)
    no_login = f.HelperFactory(region=regions.town_a)
    orphan_household = paired_household(regions.village_a1, helper=no_login)
    retired = f.HelperFactory(region=regions.town_a, active=False)
    paired_household(regions.village_a1, helper=retired)
    retired_user = make_user(Role.HELPER, regions.town_a, helper=retired)
    ended = f.HelperFactory(region=regions.town_a)
    ended_user = make_user(Role.HELPER, regions.town_a, helper=ended)
    f.PairingFactory(
        helper=ended,
        household=f.HouseholdFactory(village=regions.village_a2),
        start_date=dt.date(2020, 1, 1),
        end_date=dt.date(2025, 1, 1),
    )
    unit = f.UnitFactory(region=regions.county)
    unit_user = make_user(Role.UNIT, regions.county, unit=unit)
    weak = f.WeakVillageFactory(village=regions.village_b1)
    f.UnitPairingFactory(unit=unit, weak_village=weak)
    return {
        "helper_user": helper_a_user,
        "households": [household_a, second_household],
        "orphan_household": orphan_household,
        "retired_user": retired_user,
        "ended_user": ended_user,
        "unit_user": unit_user,
    }


def titles(user, kind=None) -> list[str]:
    qs = Notification.objects.filter(recipient=user)
    if kind:
        qs = qs.filter(kind=kind)
    return list(qs.order_by("pk").values_list("title", flat=True))


# --- Opening -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_opening_is_sent_from_the_21st_to_paired_helpers_and_units(field, town_a_office):
    assert jobs.run(now=at("2026-12-20 23:59")) == {}
    assert Notification.objects.count() == 0

    summary = jobs.run(now=at("2026-12-21 00:00"))
    expected = "2026年第4季度走访录入已开放,截止2027-01-10"
    assert titles(field["helper_user"]) == [expected]
    assert titles(field["unit_user"]) == [expected]
    # Retired helpers, ended pairings and offices get nothing.
    for user in (field["retired_user"], field["ended_user"], town_a_office):
        assert titles(user) == []
    assert summary["open_sent"] == 2
    assert summary["open_helpers_without_login"] == 1


@pytest.mark.django_db
def test_opening_is_sent_once_however_often_the_job_runs(field):
    first = jobs.run(now=at("2026-12-21 00:05"))
    second = jobs.run(now=at("2026-12-21 00:10"))
    third = jobs.run(now=at("2026-12-28 09:00"))
    assert first["open_sent"] == 2
    assert second["open_sent"] == third["open_sent"] == 0
    assert Notification.objects.filter(kind=reminders.KIND_OPEN).count() == 2


@pytest.mark.django_db
def test_each_quarter_opens_once(field):
    jobs.run(now=at("2026-09-21 08:00"))
    jobs.run(now=at("2026-12-21 08:00"))
    assert titles(field["helper_user"]) == [
        "2026年第3季度走访录入已开放,截止2026-10-10",
        "2026年第4季度走访录入已开放,截止2027-01-10",
    ]


# --- Three days before the close -----------------------------------------------------------


@pytest.mark.django_db
def test_closing_soon_from_the_8th_to_those_still_missing_with_sms(
    field, memory_sms, django_capture_on_commit_callbacks
):
    household_a = field["households"][0]
    make_visit(household_a, year=2026, quarter=4, when="2026-12-26 10:00")
    jobs.run(now=at("2027-01-07 23:59"))
    assert Notification.objects.filter(kind=reminders.KIND_CLOSING).count() == 0

    with django_capture_on_commit_callbacks(execute=True):
        summary = jobs.run(now=at("2027-01-08 00:00"))
    notes = Notification.objects.filter(kind=reminders.KIND_CLOSING)
    mine = notes.get(recipient=field["helper_user"])
    assert mine.title == "2026年第4季度走访录入1月10日截止,还有1户未走访"
    assert "还有1户结对户未走访" in mine.body and mine.payload["remaining"] == 1
    unit_note = notes.get(recipient=field["unit_user"])
    assert "还有1个挂钩薄弱村未走访" in unit_note.body
    assert notes.count() == 2
    # The helper's login has no phone: the text goes to the phone in the register.
    helper_phone = field["helper_user"].helper.phone
    assert (helper_phone, mine.title) in memory_sms
    # helper_a, the helper without a login (counted, not reminded): both still missing.
    assert summary["closing_helpers_missing"] == 2
    assert summary["closing_helpers_without_login"] == 1
    with django_capture_on_commit_callbacks(execute=True):
        jobs.run(now=at("2027-01-09 12:00"))
    assert notes.count() == 2 and len(memory_sms) == 1  # the unit's login has no phone


@pytest.mark.django_db
def test_no_closing_reminder_for_whoever_visited_everyone(field, memory_sms):
    for household in field["households"]:
        make_visit(household, year=2026, quarter=4)
    jobs.run(now=at("2027-01-08 09:00"))
    assert titles(field["helper_user"], reminders.KIND_CLOSING) == []
    # After the close nothing more is said about that quarter.
    jobs.run(now=at("2027-01-11 00:00"))
    assert Notification.objects.filter(kind=reminders.KIND_CLOSING).count() == 1  # the unit


# --- First working day of the quarter's first month ----------------------------------------


def test_first_workday_after_national_day(db):
    assert reminders.first_workday_of_month(2026, 10) == dt.date(2026, 10, 8)
    assert reminders.first_workday_of_month(2026, 7) == dt.date(2026, 7, 1)
    assert reminders.first_workday_of_month(2027, 1) in (dt.date(2027, 1, 4), dt.date(2027, 1, 1))


@pytest.mark.django_db
def test_coverage_reminder_on_the_first_workday_after_national_day(
    field, regions, town_a_office, town_b_office, county_office, supervisor
):
    household_a = field["households"][0]
    make_visit(household_a, year=2026, quarter=3, when="2026-09-25 10:00")
    paired_household(regions.village_b2)  # town B: one household, not visited
    for day in range(1, 8):
        jobs.run(now=at(f"2026-10-{day:02d} 09:00"))
    assert Notification.objects.filter(kind=reminders.KIND_COVERAGE).count() == 0
    assert Notification.objects.filter(kind=reminders.KIND_MISSING).count() == 0

    summary = jobs.run(now=at("2026-10-08 00:01"))
    # Town A: household_a visited; the second one, the no-login helper's and the retired
    # helper's (still paired: the household counts whoever its helper is) not.
    assert titles(town_a_office, reminders.KIND_COVERAGE) == [
        "2026年第3季度走访覆盖率25.0%(已走访1/应走访4户)"
    ]
    assert titles(town_b_office, reminders.KIND_COVERAGE) == [
        "2026年第3季度走访覆盖率0.0%(已走访0/应走访1户)"
    ]
    assert titles(county_office, reminders.KIND_COVERAGE) == [
        "2026年第3季度走访覆盖率20.0%(已走访1/应走访5户)"
    ]
    assert titles(supervisor) == []  # offices only
    helper_note = Notification.objects.get(
        recipient=field["helper_user"], kind=reminders.KIND_MISSING
    )
    assert "还有1户结对户未走访" in helper_note.body
    assert Notification.objects.filter(
        recipient=field["unit_user"], kind=reminders.KIND_MISSING
    ).exists()
    assert summary["coverage_offices_sent"] == 3
    assert summary["missing_helpers_without_login"] == 2  # the no-login helper, town B's

    again = jobs.run(now=at("2026-10-09 10:00"))
    assert again["coverage_offices_sent"] == 0 and again["missing_sent"] == 0
    assert Notification.objects.filter(kind=reminders.KIND_COVERAGE).count() == 3


@pytest.mark.django_db
def test_coverage_reminder_is_not_sent_after_the_window_closed(field, town_a_office):
    jobs.run(now=at("2026-10-11 09:00"))
    jobs.run(now=at("2026-10-20 09:00"))
    assert titles(town_a_office) == []


@pytest.mark.django_db
def test_coverage_counts_a_pairing_that_ended_during_the_quarter(regions, town_a_office):
    household = paired_household(regions.village_a1)
    household.pairings.update(end_date=dt.date(2026, 8, 1))
    make_visit(household, year=2026, quarter=3, when="2026-07-20 10:00")
    gone = paired_household(regions.village_a1)
    gone.pairings.update(end_date=dt.date(2026, 6, 1))  # ended before Q3: not counted
    numbers = reminders.coverage_by_prefix(reminders.Quarter(2026, 3))
    assert numbers["320623100"] == reminders.Coverage(1, 1)
    assert numbers["320623"] == reminders.Coverage(1, 1)


@pytest.mark.django_db
def test_run_due_jobs_command_sends_once(monkeypatch, field, capsys):
    monkeypatch.setattr(due_jobs, "fns", [jobs.run])
    call_command("run_due_jobs", "--now", "2026-12-21T08:00:00+08:00")
    call_command("run_due_jobs", "--now", "2026-12-21T08:05:00+08:00")
    out = capsys.readouterr().out
    assert "'open_sent': 2" in out and "'open_sent': 0" in out
    assert Notification.objects.filter(kind=reminders.KIND_OPEN).count() == 2


@pytest.mark.django_db
def test_reminder_queries_do_not_grow_with_recipients(
    regions, make_user, django_assert_max_num_queries
):
    def helpers_with_logins(n):
        for _ in range(n):
            helper = f.HelperFactory(region=regions.town_a)
            make_user(Role.HELPER, regions.town_a, helper=helper)
            paired_household(regions.village_a1, helper=helper)

    helpers_with_logins(3)
    jobs.run(now=at("2026-12-21 08:00"))
    # Every recipient already has it: a later run costs a fixed handful of queries.
    helpers_with_logins(20)
    jobs.run(now=at("2026-12-21 08:05"))
    with django_assert_max_num_queries(4):
        assert jobs.run(now=at("2026-12-21 08:10"))["open_sent"] == 0


# --- Two runners at once (PostgreSQL) ------------------------------------------------------


@pytest.fixture
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (row locks and concurrent inserts); running on SQLite")


def _race(target, n=2):
    barrier = threading.Barrier(n)
    results, errors = [], []

    def worker():
        from django.db import connections

        try:
            barrier.wait()
            results.append(target())
        except Exception as exc:  # noqa: BLE001 (reported below, with the thread's error)
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_job_runs_at_once_remind_each_person_once(postgres_only, field, memory_sms):
    make_visit(field["households"][0], year=2026, quarter=4)
    # The job function itself, twice at once (no job lock): the dedupe keys must hold.
    results = _race(lambda: jobs.run(now=at("2027-01-08 09:00")))
    assert sum(r["open_sent"] for r in results) == 2
    assert sum(r["closing_sent"] for r in results) == 2
    # 8 January is also past January's first working day: the Q4 "still missing" reminder.
    assert sum(r["missing_sent"] for r in results) == 2
    per_person = list(Notification.objects.values_list("recipient_id", "dedupe_key"))
    assert len(per_person) == len(set(per_person)) == 6
    assert len(memory_sms) == 1  # one text to the helper (the unit's login has no phone)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_command_runs_at_once_do_nothing_twice(postgres_only, monkeypatch, field):
    from notifications.jobs import run_due_jobs

    monkeypatch.setattr(due_jobs, "fns", [jobs.run])
    results = _race(lambda: run_due_jobs(now=at("2026-12-22 09:00"))["coverage.jobs.run"])
    sent = [r.get("open_sent", 0) for r in results]
    assert sum(sent) == 2
    assert Notification.objects.filter(kind=reminders.KIND_OPEN).count() == 2


@pytest.mark.django_db
def test_reminder_reaches_the_helpers_inbox(api_client, field):
    jobs.run(now=at("2026-12-21 08:00"))
    items = api_client.as_user(field["helper_user"]).get("/me/notifications").json()["items"]
    assert [(i["kind"], i["read"]) for i in items] == [(reminders.KIND_OPEN, False)]
    assert items[0]["payload"] == {"quarter": "2026Q4"}
