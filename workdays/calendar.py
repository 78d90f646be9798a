"""Working days: `is_workday`, `add_workdays`, `workdays_between`.

Each answer says whether it is provisional: it touched a day of a year whose schedule has not
been published (loaded) yet, where only weekends are known to be rest days. Each call reads
the calendar for the span it needs in two queries; `Calendar` can also be loaded once for a
span and asked many times (the overdue scan does).
"""

from dataclasses import dataclass
from datetime import date, timedelta

from workdays.models import CalendarYear, DayKind, SpecialDay


@dataclass(frozen=True)
class DayAnswer:
    workday: bool
    provisional: bool


@dataclass(frozen=True)
class DueDate:
    day: date
    provisional: bool


@dataclass(frozen=True)
class WorkdayCount:
    days: int
    provisional: bool


class Calendar:
    """A snapshot of the calendar between two dates, answering without further queries."""

    def __init__(self, start: date, end: date):
        self.start, self.end = start, end
        self.special = dict(
            SpecialDay.objects.filter(date__gte=start, date__lte=end).values_list("date", "kind")
        )
        self.published = set(
            CalendarYear.objects.filter(
                year__gte=start.year, year__lte=end.year, published=True
            ).values_list("year", flat=True)
        )

    def covers(self, day: date) -> bool:
        return self.start <= day <= self.end

    def day(self, day: date) -> DayAnswer:
        if not self.covers(day):
            raise ValueError(f"{day} lies outside this calendar snapshot")
        provisional = day.year not in self.published
        kind = self.special.get(day)
        if kind == DayKind.HOLIDAY:
            return DayAnswer(False, provisional)
        if kind == DayKind.WORKDAY:
            return DayAnswer(True, provisional)
        return DayAnswer(day.weekday() < 5, provisional)

    def add_workdays(self, start: date, count: int) -> DueDate | None:
        """The `count`-th working day after `start` (start itself does not count).

        None when the snapshot ends first.
        """
        if count < 1:
            raise ValueError("count must be at least 1")
        day, found, provisional = start, 0, False
        while found < count:
            day += timedelta(days=1)
            if not self.covers(day):
                return None
            answer = self.day(day)
            provisional = provisional or answer.provisional
            found += answer.workday
        return DueDate(day, provisional)

    def workdays_between(self, start: date, end: date) -> WorkdayCount:
        """Working days after `start` up to and including `end` (0 when end <= start)."""
        days, provisional, day = 0, False, start
        while day < end:
            day += timedelta(days=1)
            answer = self.day(day)
            days += answer.workday
            provisional = provisional or answer.provisional
        return WorkdayCount(days, provisional)


def _span_for(count: int) -> timedelta:
    # Long holidays add at most ~9 rest days to a fortnight; double the count plus a margin.
    return timedelta(days=2 * count + 30)


def is_workday(day: date) -> DayAnswer:
    return Calendar(day, day).day(day)


def add_workdays(start: date, count: int) -> DueDate:
    span = _span_for(count)
    while True:
        due = Calendar(start, start + span).add_workdays(start, count)
        if due is not None:
            return due
        span *= 2


def workdays_between(start: date, end: date) -> WorkdayCount:
    if end <= start:
        return WorkdayCount(0, False)
    return Calendar(start, end).workdays_between(start, end)
