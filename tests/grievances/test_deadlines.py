"""Deadlines from the working-day calendar, provisional ones, and their recomputation."""

import datetime as dt

from grievances import services, workflow
from grievances.deadlines import ends_at
from tests.grievances.conftest import at
from workdays.models import CalendarYear, DayKind, SpecialDay


def test_national_day_deadlines(file_case, drive, town_a_office, dept_a):
    case = drive(file_case(now=at(2026, 9, 29)).grievance, "accepted", now=at(2026, 9, 29))
    case = workflow.transition(
        case, "assign", town_a_office, "", at(2026, 9, 30, 16, 30), department=dept_a
    )
    assert case.reply_due == dt.date(2026, 10, 13)
    assert case.result_due == dt.date(2026, 10, 20)
    assert not (case.reply_due_provisional or case.result_due_provisional)
    assert case.next_due == dt.date(2026, 10, 13) and case.next_due_kind == "reply"
    # The deadline ends at 24:00 Asia/Shanghai of its day.
    assert ends_at(case.reply_due).isoformat() == "2026-10-14T00:00:00+08:00"


def test_accept_due_is_one_working_day(file_case):
    filed = file_case(now=at(2026, 9, 30, 18))
    assert filed.grievance.accept_due == dt.date(2026, 10, 8)


def test_december_case_is_provisional_until_2027_is_loaded(file_case, drive, town_a_office, dept_a):
    assert not CalendarYear.objects.filter(year=2027, published=True).exists()
    case = drive(file_case(now=at(2026, 12, 24)).grievance, "accepted", now=at(2026, 12, 24))
    case = workflow.transition(
        case, "assign", town_a_office, "", at(2026, 12, 28, 9), department=dept_a
    )
    # Only weekends are known for 2027: 29, 30, 31 Dec, then Fri 1 Jan, Mon 4 Jan.
    assert case.reply_due == dt.date(2027, 1, 4) and case.reply_due_provisional
    assert case.result_due_provisional and case.due_provisional

    # Nothing changes while 2027 is not loaded: no timeline entry either.
    events = case.events.count()
    assert services.recompute_provisional_deadlines(now=at(2026, 12, 29)) == 0
    assert case.events.count() == events

    # The State Council publishes 2027: 1-3 January off (a hypothetical schedule here).
    CalendarYear.objects.create(year=2027, published=True, source="test")
    SpecialDay.objects.bulk_create(
        [SpecialDay(date=dt.date(2027, 1, d), kind=DayKind.HOLIDAY, name="元旦") for d in (1, 2, 3)]
    )
    assert services.recompute_provisional_deadlines(years=[2027], now=at(2026, 12, 30)) == 1
    case.refresh_from_db()
    assert case.reply_due == dt.date(2027, 1, 5) and not case.reply_due_provisional
    assert case.result_due == dt.date(2027, 1, 12) and not case.result_due_provisional
    assert not case.due_provisional and case.next_due == dt.date(2027, 1, 5)
    event = case.events.order_by("-id").first()
    assert event.action == "recompute" and event.actor_role == "system"
    assert event.data["changes"]["reply_due"] == {
        "from": "2027-01-04",
        "to": "2027-01-05",
        "provisional": False,
    }
    current = case.assignments.get(current=True)
    assert (current.reply_due, current.reply_due_provisional) == (dt.date(2027, 1, 5), False)
    # Running it again changes nothing and records nothing.
    assert services.recompute_provisional_deadlines(years=[2027]) == 0


def test_calendar_load_hook_recomputes(file_case, drive, town_a_office, dept_a, settings):
    from workdays.services import calendar_loaded, run_loaded_hooks

    assert "grievances.services.recompute_provisional_deadlines" in calendar_loaded.names()
    case = drive(file_case(now=at(2026, 12, 28)).grievance, "accepted", now=at(2026, 12, 28))
    case = workflow.transition(
        case, "assign", town_a_office, "", at(2026, 12, 28), department=dept_a
    )
    CalendarYear.objects.create(year=2027, published=True, source="test")
    run_loaded_hooks(years=[2027])
    case.refresh_from_db()
    # No 2027 holidays in this (empty) schedule: same day, no longer provisional.
    assert case.reply_due == dt.date(2027, 1, 4) and not case.reply_due_provisional
    assert case.events.filter(action="recompute").count() == 1


def test_reply_and_resolve_record_working_days(file_case, drive, handler_a, town_a_office, dept_a):
    case = drive(file_case(now=at(2026, 9, 29)).grievance, "accepted", now=at(2026, 9, 29))
    case = workflow.transition(
        case, "assign", town_a_office, "", at(2026, 9, 30), department=dept_a
    )
    case = workflow.transition(case, "reply", handler_a, "已受理", at(2026, 10, 9, 15))
    case = workflow.transition(case, "resolve", handler_a, "已查实并整改", at(2026, 10, 21, 9))
    assignment = case.assignments.get()
    assert (assignment.reply_workdays, assignment.resolve_workdays) == (2, 11)
    replied, resolved = case.events.filter(action__in=["reply", "resolve"]).order_by("id")
    assert replied.data["on_time"] is True and resolved.data["on_time"] is False
