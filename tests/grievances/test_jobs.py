"""The scheduled work: warnings, overdue marking, escalation; run twice, sent once."""

import datetime as dt
from io import StringIO

from django.core.management import call_command

from grievances import jobs, workflow
from notifications.jobs import run_due_jobs
from notifications.models import Notification
from tests.grievances.conftest import at


def _assigned(file_case, town_a_office, dept_a, when):
    case = file_case(now=when).grievance
    case = workflow.transition(case, "accept", town_a_office, "", when)
    return workflow.transition(case, "assign", town_a_office, "", when, department=dept_a)


def test_warning_one_working_day_before(file_case, town_a_office, dept_a, handler_a):
    case = _assigned(file_case, town_a_office, dept_a, at(2026, 9, 30, 9))
    assert case.reply_due == dt.date(2026, 10, 13)
    # Friday 9 Oct: the next working day is Saturday 10 Oct (make-up), not yet the deadline.
    assert jobs.run(now=at(2026, 10, 9, 8))["warned"] == 0
    # Monday 12 Oct: the next working day is the deadline itself.
    summary = jobs.run(now=at(2026, 10, 12, 8))
    assert summary["warned"] == 1
    assert summary["overdue"] == 0
    note = handler_a.notifications.get(kind="grievance_due_soon")
    assert "2026-10-13" in note.body
    assert jobs.run(now=at(2026, 10, 12, 9))["warned"] == 0  # warned once
    assert handler_a.notifications.filter(kind="grievance_due_soon").count() == 1


def test_run_due_jobs_twice_sends_once(
    file_case, town_a_office, county_office, supervisor, outsider_office, dept_a, handler_a
):
    case = _assigned(file_case, town_a_office, dept_a, at(2026, 9, 30, 9))
    late = at(2026, 10, 14, 0, 5)  # five minutes past 24:00 of the reply deadline
    first = run_due_jobs(now=late)["grievances.jobs.run"]
    assert first["overdue"] == 1
    case.refresh_from_db()
    assert case.overdue
    assert case.overdue_since == late
    assert case.events.filter(action="mark_overdue").count() == 1
    notified = set(
        Notification.objects.filter(kind="grievance_overdue").values_list("recipient_id", flat=True)
    )
    assert {town_a_office.pk, county_office.pk, supervisor.pk, handler_a.pk} <= notified
    assert outsider_office.pk not in notified
    count = Notification.objects.count()

    out = StringIO()
    call_command("run_due_jobs", now=late.isoformat(), stdout=out)
    assert "'overdue': 0" in out.getvalue()
    assert Notification.objects.count() == count
    assert case.events.filter(action="mark_overdue").count() == 1

    # Replying late starts the result deadline: a new, separate escalation later.
    case = workflow.transition(case, "reply", handler_a, "已受理", at(2026, 10, 14, 9))
    assert not case.overdue
    assert case.next_due == dt.date(2026, 10, 20)
    assert jobs.run(now=at(2026, 10, 21, 0, 1))["overdue"] == 1
    assert jobs.run(now=at(2026, 10, 21, 0, 2))["overdue"] == 0


def test_unaccepted_case_escalates(file_case, town_a_office, supervisor):
    case = file_case(now=at(2026, 9, 14, 9)).grievance
    assert case.next_due == dt.date(2026, 9, 15)
    assert case.next_due_kind == "accept"
    assert jobs.run(now=at(2026, 9, 15, 8))["warned"] == 1
    assert town_a_office.notifications.filter(kind="grievance_due_soon").exists()
    assert jobs.run(now=at(2026, 9, 16, 8))["overdue"] == 1
    assert supervisor.notifications.filter(kind="grievance_overdue").exists()
    case.refresh_from_db()
    # The office may still accept it; the overdue flag goes with the deadline it was about.
    case = workflow.transition(case, "accept", town_a_office, "", at(2026, 9, 16, 9))
    assert not case.overdue
    assert case.next_due is None


def test_finished_cases_are_not_scanned(file_case, drive):
    case = drive(file_case(now=at(2026, 9, 14)).grievance, "closed", now=at(2026, 9, 14))
    assert case.next_due is None
    assert jobs.run(now=at(2027, 3, 1)) == {"recomputed": 0, "overdue": 0, "warned": 0}
