"""The entry rule (art. 18-20): may this helper or unit enter a visit now, and for which quarter.

The windows' dates are calendar facts (`common.quarters.window_for`: the 21st of a quarter's
last month to the 10th of the next, Asia/Shanghai). Offices may extend entry for a helper, a
unit or an area (`WindowExtension`). `entry_decision` is the one decision: the API's
`GET /visits/window` shows it and the visit services enforce it; `entry_allowed` answers the
narrower question for one quarter at one moment.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from common.quarters import (
    SHANGHAI,
    Quarter,
    Window,
    as_shanghai,
    quarters_for_visit,
    window_for,
)
from visits.models import WindowExtension

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
        self.since = as_shanghai(since)  # the earliest moment asked about: older ones are not read
        self._rows: list[WindowExtension] | None = None

    def latest(self, quarter: Quarter, moment: datetime) -> WindowExtension | None:
        """The extension of `quarter` that runs longest past `moment`, if any runs past it."""
        moment = as_shanghai(moment)
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
    moment = as_shanghai(moment)
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


def entry_decision(
    actor,
    *,
    now: datetime,
    visited_at: datetime | None = None,
    place: str | None = None,
) -> Decision:
    """May `actor` (a Helper, a Unit, or its User) enter, at `now`, a visit made at
    `visited_at` (default: now) in `place` (a village code), and which quarter does it count for?

    The candidates are the quarters a visit at that time can count for (`quarters_for_visit`):
    inside a window its quarter; between windows the calendar quarter and then the one that
    just closed, each only under an extension. The first candidate allowed at the visit's time
    must still be allowed at `now`; if it is allowed now only by an extension, that later
    decision (with its extension) is the one recorded. When nothing is allowed, the refusal
    names the first candidate's window. One query reads every extension involved.
    """
    visited_at = now if visited_at is None else visited_at
    quarters = quarters_for_visit(visited_at)
    extensions = Extensions(actor, quarters, since=min(visited_at, now), place=place)
    decisions = [
        entry_allowed(actor, q, visited_at, place=place, extensions=extensions) for q in quarters
    ]
    decision = next((d for d in decisions if d.allowed), decisions[0])
    if decision.allowed and visited_at != now:
        later = entry_allowed(
            actor, decision.window.quarter, now, place=place, extensions=extensions
        )
        if not later.allowed or (decision.extension is None and later.extension is not None):
            decision = later
    return decision
