"""Reporting windows (art. 18-20): the one place that says when a quarter's entry is open.

Quarter Q's window runs from 00:00 on the 21st of Q's last month to 00:00 on the 11th of the
next month, Asia/Shanghai. The Q4 window crosses into January and still belongs to Q4. Offices
may extend entry for a helper, a unit or an area (`WindowExtension`); `entry_allowed` is the
single check the API, the services and the tests use.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.db.models import Q
from django.utils import timezone

from visits.models import WindowExtension

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


def _aware(moment: datetime) -> datetime:
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
    local = _aware(moment)
    current = Quarter.of_date(local.date())
    for quarter in (current, current.shift(-1)):
        if window_for(quarter).contains(local):
            return quarter
    return None


def next_window(moment: datetime) -> Window:
    """The window open at `moment`, else the next one to open."""
    local = _aware(moment)
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
    current = Quarter.of_date(_aware(visited_at).date())
    return [current, current.shift(-1)]


# --- The entry rule -------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str  # what the phone shows; empty when allowed inside the window
    window: Window
    extension: WindowExtension | None = None
    code: str = "ok"


def _actor_parts(actor) -> tuple[int | None, int | None, str | None]:
    """(helper id, unit id, region code) of a Helper, a Unit, or a User standing for one."""
    from register.models import Helper, Unit

    if isinstance(actor, Helper):
        return actor.pk, actor.unit_id, actor.region_id
    if isinstance(actor, Unit):
        return None, actor.pk, actor.region_id
    # A user: a helper acts as its helper record, a unit account as its unit.
    helper = getattr(actor, "helper", None) if getattr(actor, "helper_id", None) else None
    if helper is not None:
        return helper.pk, None, helper.region_id
    return None, getattr(actor, "unit_id", None), getattr(actor, "region_id", None)


def extensions_for(actor, quarters: Iterable[Quarter], *, place: str | None = None):
    """The extensions of the quarters that apply to an actor (helper, unit or their user).

    An area extension applies when the actor's registered region, or the place visited (a
    village code), lies in the area.
    """
    helper_id, unit_id, region_code = _actor_parts(actor)
    target = Q(pk__in=[])
    if helper_id is not None:
        target |= Q(helper_id=helper_id)
    if unit_id is not None and helper_id is None:
        target |= Q(unit_id=unit_id)
    codes = [c for c in (region_code, place) if c]
    # Every ancestor prefix of the codes, padded back to a 12-digit region code.
    ancestors = {(code[:digits]).ljust(12, "0") for code in codes for digits in (2, 4, 6, 9, 12)}
    if ancestors:
        target |= Q(area_id__in=sorted(ancestors))
    of_quarters = Q(pk__in=[])
    for quarter in set(quarters):
        of_quarters |= Q(year=quarter.year, quarter=quarter.q)
    return WindowExtension.objects.filter(target, of_quarters)


class Extensions:
    """The extensions of some quarters that apply to one actor and place: read in one query
    the first time a decision needs one, then asked for any of those quarters at any moment.
    A submission decides at the visit's time and at the moment of entry; one read serves both.
    """

    def __init__(
        self,
        actor,
        quarters: Iterable[Quarter],
        *,
        since: datetime,
        place: str | None = None,
    ):
        self.actor, self.quarters, self.place = actor, frozenset(quarters), place
        self.since = _aware(since)  # the earliest moment asked about: older ones are not read
        self._rows: list[WindowExtension] | None = None

    def latest(self, quarter: Quarter, moment: datetime) -> WindowExtension | None:
        """The extension of `quarter` that runs longest past `moment`, if any runs past it."""
        moment = _aware(moment)
        if quarter not in self.quarters or moment < self.since:
            raise ValueError(f"{quarter} at {moment} was not read")
        if self._rows is None:
            self._rows = list(
                extensions_for(self.actor, self.quarters, place=self.place)
                .filter(until__gt=self.since)
                .order_by("-until", "-pk")
            )
        return next(
            (
                e
                for e in self._rows
                if (e.year, e.quarter) == (quarter.year, quarter.q) and e.until > moment
            ),
            None,
        )


def entry_allowed(
    actor,
    quarter: Quarter,
    moment: datetime,
    *,
    place: str | None = None,
    extensions: Extensions | None = None,
) -> Decision:
    """May `actor` (a Helper, a Unit, or its User) enter a visit for `quarter` at `moment`?

    Inside the quarter's window: yes. Otherwise only under an office's extension of that
    quarter for the actor (or its area, or the visited place's area), from the quarter's first
    day until the extension's end. Pass `extensions` (read for this actor and place) when
    deciding several moments or quarters, so they share one query.
    """
    window = window_for(quarter)
    moment = _aware(moment)
    if window.contains(moment):
        return Decision(True, "", window)
    if quarter.starts_at() <= moment:
        if extensions is None:
            extensions = Extensions(actor, [quarter], since=moment, place=place)
        extension = extensions.latest(quarter, moment)
        if extension is not None:
            until = timezone.localtime(extension.until, SHANGHAI)
            return Decision(
                True,
                f"{quarter.label}录入已延期至{until:%Y-%m-%d %H:%M}",
                window,
                extension,
                code="extended",
            )
    return Decision(False, window.label, window, code="window_closed")
