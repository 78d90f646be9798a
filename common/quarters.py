"""Quarters and their reporting windows: the calendar facts every app shares.

One `Quarter` type parses '2026Q3', labels itself ('2026年第3季度') and knows its dates. Quarter
Q's reporting window (art. 18-20) runs from 00:00 on the 21st of Q's last month to 00:00 on the
11th of the next month, Asia/Shanghai; the Q4 window crosses into January and still belongs to
Q4. Offices read `default_quarter()` when no quarter is asked for: the latest whose window has
opened. Whether someone may enter a visit (extensions included) is not decided here but in
`visits.windows.entry_decision`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from datetime import time as clock
from zoneinfo import ZoneInfo

from django.utils import timezone

SHANGHAI = ZoneInfo("Asia/Shanghai")
OPEN_DAY = 21  # of the quarter's last month
CLOSE_DAY = 11  # of the next month, at 00:00: entry for the 10th is the last day

_QUARTER_RE = re.compile(r"^\s*(\d{4})\s*[Qq]\s*([1-4])\s*$")


FIRST_INPUT_YEAR = 2004


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    q: int

    def __post_init__(self) -> None:
        if not 1 <= self.q <= 4 or not 2000 <= self.year <= 2100:
            raise ValueError(f"no such quarter: {self.year}Q{self.q}")

    @classmethod
    def parse(cls, text: str) -> Quarter:
        """'2026Q3' (or '2026q3') → Quarter(2026, 3); ValueError otherwise."""
        match = _QUARTER_RE.match(text or "")
        if not match:
            raise ValueError(f"not a quarter: {text!r} (expected e.g. 2026Q3)")
        year = int(match.group(1))
        # Input starts at 2004, the working-day calendar's first year: pages look back up to
        # a few years from the chosen quarter, and that must stay inside the 2000-2100 range.
        if not FIRST_INPUT_YEAR <= year <= 2100:
            raise ValueError(f"no such quarter: {text!r}")
        return cls(year, int(match.group(2)))

    @classmethod
    def from_parts(cls, year: int, q: int) -> Quarter:
        """Quarter(year, q) from request numbers; ValueError outside 2000-2100 and 1-4."""
        return cls(int(year), int(q))

    @classmethod
    def of_date(cls, day: date) -> Quarter:
        """The calendar quarter a day falls in."""
        return cls(day.year, (day.month - 1) // 3 + 1)

    def __str__(self) -> str:
        return f"{self.year}Q{self.q}"

    @property
    def label(self) -> str:
        return f"{self.year}年第{self.q}季度"

    @property
    def index(self) -> int:
        """Quarters counted from year 0: consecutive quarters differ by one."""
        return self.year * 4 + self.q - 1

    @classmethod
    def from_index(cls, index: int) -> Quarter:
        return cls(index // 4, index % 4 + 1)

    def shift(self, n: int) -> Quarter:
        return Quarter.from_index(self.index + n)

    @property
    def first_day(self) -> date:
        return date(self.year, 3 * self.q - 2, 1)

    @property
    def last_month(self) -> int:
        return 3 * self.q

    @property
    def end_day(self) -> date:
        """The first day after the quarter."""
        return self.shift(1).first_day

    def starts_at(self) -> datetime:
        """00:00 of the quarter's first day, Asia/Shanghai."""
        return datetime(self.year, 3 * self.q - 2, 1, tzinfo=SHANGHAI)


@dataclass(frozen=True)
class Window:
    quarter: Quarter
    opens_at: datetime  # inclusive
    closes_at: datetime  # exclusive

    def contains(self, moment: datetime) -> bool:
        return self.opens_at <= moment < self.closes_at

    @property
    def last_day(self) -> date:
        return self.closes_at.date().replace(day=CLOSE_DAY - 1)

    @property
    def label(self) -> str:
        """What a phone shows: '2026年第4季度走访录入时间为2026-12-21至2027-01-10'."""
        return (
            f"{self.quarter.label}走访录入时间为"
            f"{self.opens_at.date():%Y-%m-%d}至{self.last_day:%Y-%m-%d}"
        )


def as_shanghai(moment: datetime) -> datetime:
    if timezone.is_naive(moment):
        raise ValueError("naive datetime: windows need an aware moment")
    return moment.astimezone(SHANGHAI)


def window_for(quarter: Quarter) -> Window:
    """The reporting window of a quarter."""
    opens = datetime(quarter.year, quarter.last_month, OPEN_DAY, tzinfo=SHANGHAI)
    if quarter.q == 4:
        closes = datetime(quarter.year + 1, 1, CLOSE_DAY, tzinfo=SHANGHAI)
    else:
        closes = datetime(quarter.year, quarter.last_month + 1, CLOSE_DAY, tzinfo=SHANGHAI)
    return Window(quarter, opens, closes)


def quarter_open_at(moment: datetime) -> Quarter | None:
    """The quarter whose window contains `moment`, or None between windows."""
    local = as_shanghai(moment)
    current = Quarter.of_date(local.date())
    for quarter in (current, current.shift(-1)):
        if window_for(quarter).contains(local):
            return quarter
    return None


def next_window(moment: datetime) -> Window:
    """The window open at `moment`, else the next one to open."""
    local = as_shanghai(moment)
    open_quarter = quarter_open_at(local)
    if open_quarter is not None:
        return window_for(open_quarter)
    # Between windows the calendar quarter's own window is always still ahead: after the 10th
    # of a quarter's first month, the next window opens on the 21st of its last month.
    return window_for(Quarter.of_date(local.date()))


def last_opened_quarter(moment: datetime) -> Quarter:
    """The latest quarter whose window has opened by `moment` (the one offices read)."""
    upcoming = next_window(moment)
    return upcoming.quarter if upcoming.contains(moment) else upcoming.quarter.shift(-1)


def quarters_for_visit(visited_at: datetime) -> list[Quarter]:
    """The quarters a visit at `visited_at` could be entered for, most likely first.

    Inside a window: that window's quarter only. Between windows: the calendar quarter (entry
    ahead of the window needs an extension) and then the previous quarter (late entry under an
    extension of the quarter that just closed).
    """
    open_quarter = quarter_open_at(visited_at)
    if open_quarter is not None:
        return [open_quarter]
    current = Quarter.of_date(as_shanghai(visited_at).date())
    return [current, current.shift(-1)]


def default_quarter(moment: datetime | date | None = None) -> Quarter:
    """The quarter offices and supervisors read unless they ask for another: the latest whose
    window has opened by `moment` (now; a date counts at noon). From the 21st of a quarter's
    last month that is the quarter being reported, whose coverage is filling up."""
    if moment is None:
        moment = timezone.now()
    elif not isinstance(moment, datetime):
        moment = datetime.combine(moment, clock(12), tzinfo=SHANGHAI)
    return last_opened_quarter(moment)


def quarter_or_default(text: str | None, *, default: Quarter | None = None) -> Quarter:
    """'2026Q3' → that quarter; empty → `default` (else `default_quarter()`). ValueError on
    text that is not a quarter."""
    if not text or not text.strip():
        return default if default is not None else default_quarter()
    return Quarter.parse(text)


def quarter_for_page(text: str | None) -> Quarter:
    """A page's `?quarter=`: as `quarter_or_default`, but text that is not a quarter shows the
    default quarter instead of an error (the API answers 422 instead)."""
    try:
        return quarter_or_default(text)
    except ValueError:
        return default_quarter()
