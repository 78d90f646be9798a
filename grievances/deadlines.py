"""Deadlines from the working-day calendar, in one place.

From the day the department receives a case, the reply is due 5 and the result 10 working
days later; the day of receipt does not count and a deadline ends at 24:00 Asia/Shanghai of its
day, so a case is overdue from 00:00 of the next day. The office accepts within 1 working day
of submission. A due date that touches an unpublished calendar year is provisional.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.utils import timezone

from workdays.calendar import Calendar, DueDate, add_workdays, workdays_between


@dataclass(frozen=True)
class Deadlines:
    reply: DueDate
    result: DueDate


def local_date(moment: datetime) -> date:
    return timezone.localtime(moment).date()


def due_after(start: date, count: int, calendar: Calendar | None = None) -> DueDate:
    if calendar is not None:
        found = calendar.add_workdays(start, count)
        if found is not None:
            return found
    return add_workdays(start, count)


def snapshot_for(start: date, end: date | None = None) -> Calendar:
    """A calendar snapshot long enough for every deadline counted from `start`..`end`."""
    return Calendar(
        start, (end or start) + timedelta(days=3 * settings.GRIEVANCE_RESULT_WORKDAYS + 40)
    )


def accept_due(submitted: date, calendar: Calendar | None = None) -> DueDate:
    return due_after(submitted, settings.GRIEVANCE_ACCEPT_WORKDAYS, calendar)


def department_deadlines(received: date, calendar: Calendar | None = None) -> Deadlines:
    calendar = calendar or snapshot_for(received)
    return Deadlines(
        reply=due_after(received, settings.GRIEVANCE_REPLY_WORKDAYS, calendar),
        result=due_after(received, settings.GRIEVANCE_RESULT_WORKDAYS, calendar),
    )


def ends_at(day: date) -> datetime:
    """24:00 Asia/Shanghai of `day` (= 00:00 of the next day), as an aware datetime."""
    return timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


def is_past(day: date | None, now: datetime) -> bool:
    return day is not None and local_date(now) > day


def workdays_taken(received_at: datetime, done_at: datetime) -> int:
    return workdays_between(local_date(received_at), local_date(done_at)).days
