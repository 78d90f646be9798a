"""Quarterly visit reminders (art. 18-20), sent by the scheduled job (`coverage.jobs.run`).

Three reminders, each due from a moment on and sent once per person and quarter:
- the window's opening (from 00:00 on the 21st of the quarter's last month, while it is open):
  to every helper with an open pairing and every pairing-unit user with an open unit pairing;
- three days before it closes (from 00:00 on the 8th of the next month): to helpers and units
  who still have paired households or villages without a visit this quarter, with how many
  remain, also by text message;
- on the first working day of a quarter's first month (after 国庆 that is 8 October, not the
  1st), until the last quarter's window closes: each town and county office gets its area's
  coverage of the last quarter, and helpers still missing visits of it are reminded.

Idempotent: every notification carries a dedupe key naming the reminder and the quarter, and
`notify` stores one per person and key (a unique constraint decides between racing runners).
Recipients who already have the key are filtered out in the query, so the job stays cheap when
cron calls it every few minutes. Only users are reminded: helpers without a login are counted
in the summary, for the offices to chase by phone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Cast, Substr

from accounts.models import User
from accounts.roles import COVERAGE_REPORT_ROLES, Role
from common.quarters import CLOSE_DAY, SHANGHAI, Quarter, Window, quarter_open_at, window_for
from notifications.models import Notification
from notifications.services import Message, notify_each
from register.models import Helper, Household, Pairing, UnitPairing
from visits.models import VillageVisit, Visit
from visits.selectors import quarter_visits
from workdays.calendar import Calendar

# How long before the window closes the "closing soon" reminder starts (the 8th, 00:00).
CLOSING_SOON = timedelta(days=3)

KIND_OPEN = "visit_window_open"
KIND_CLOSING = "visit_window_closing"
KIND_COVERAGE = "visit_coverage"
KIND_MISSING = "visit_missing"


def dedupe_key(kind: str, quarter: Quarter) -> str:
    return f"visits:{kind}:{quarter}"


# --- When each reminder is due -------------------------------------------------------------


def _local(moment: datetime) -> datetime:
    return moment.astimezone(SHANGHAI)


def opening_due(now: datetime) -> Window | None:
    """The window open at `now` (its opening reminder is due all through it)."""
    quarter = quarter_open_at(now)
    return window_for(quarter) if quarter is not None else None


def closing_due(now: datetime) -> Window | None:
    """The window that closes within three days of `now`, if any."""
    window = opening_due(now)
    if window is not None and window.closes_at - CLOSING_SOON <= _local(now):
        return window
    return None


def first_workday_of_month(year: int, month: int) -> date:
    """The first working day of a month (holidays and make-up days included)."""
    start = date(year, month, 1)
    calendar = Calendar(start, start + timedelta(days=27))
    day = start
    while not calendar.day(day).workday:
        day += timedelta(days=1)
    return day


def coverage_due(now: datetime) -> Quarter | None:
    """The last quarter, when `now` lies between the first working day of this quarter's first
    month and the close of the last quarter's window (reminding later helps nobody)."""
    local = _local(now)
    if local.month % 3 != 1 or local.day >= CLOSE_DAY:
        return None
    if local.date() < first_workday_of_month(local.year, local.month):
        return None
    return Quarter.of_date(local.date()).shift(-1)


# --- Who still has to visit (aggregates) ---------------------------------------------------


def _missing_pairings(quarter: Quarter, day: date) -> QuerySet[Pairing]:
    """Pairings of active helpers held on `day` whose household has no visit in `quarter`."""
    return (
        Pairing.objects.held_on(day)
        .filter(helper__active=True)
        .filter(~Exists(quarter_visits(quarter, "household_id")))
        .order_by()
    )


def _missing_unit_pairings(quarter: Quarter, day: date) -> QuerySet[UnitPairing]:
    visited = VillageVisit.objects.filter(
        weak_village_id=OuterRef("weak_village_id"), year=quarter.year, quarter=quarter.q
    )
    return UnitPairing.objects.held_on(day).filter(~Exists(visited)).order_by()


def missing_by_helper(quarter: Quarter, day: date) -> dict[int, int]:
    """Active helpers' households paired on `day` with no visit in `quarter`: helper → count."""
    rows = (
        _missing_pairings(quarter, day)
        .values("helper_id")
        .annotate(n=Count("household_id", distinct=True))
    )
    return {row["helper_id"]: row["n"] for row in rows}


def missing_by_unit(quarter: Quarter, day: date) -> dict[int, int]:
    """Units' weak villages paired on `day` with no village visit in `quarter`: unit → count."""
    rows = (
        _missing_unit_pairings(quarter, day)
        .values("unit_id")
        .annotate(n=Count("weak_village_id", distinct=True))
    )
    return {row["unit_id"]: row["n"] for row in rows}


@dataclass(frozen=True)
class Coverage:
    visited: int
    total: int

    @property
    def percent(self) -> str:
        return f"{100 * self.visited / self.total:.1f}%" if self.total else "—"


def coverage_by_prefix(quarter: Quarter) -> dict[str, Coverage]:
    """Households with a pairing during `quarter` and those visited in it, per town (9-digit
    code prefix) and per county (6-digit), from one grouped query. A household lies in one
    town, so a county's numbers are the sum of its towns'."""
    start, end = quarter.first_day, quarter.shift(1).first_day
    paired = Pairing.objects.filter(household_id=OuterRef("pk")).overlapping(start, end)
    visited = Visit.objects.filter(household_id=OuterRef("pk"), year=quarter.year).filter(
        quarter=quarter.q
    )
    rows = (
        Household.objects.filter(Exists(paired))
        .annotate(town=Substr("village_id", 1, 9), done=Exists(visited))
        .order_by()
        .values("town")
        .annotate(total=Count("pk"), visited=Sum(Cast("done", IntegerField())))
    )
    out: dict[str, Coverage] = {}
    for row in rows:
        town = Coverage(row["visited"] or 0, row["total"])
        out[row["town"]] = town
        county = out.get(row["town"][:6], Coverage(0, 0))
        out[row["town"][:6]] = Coverage(county.visited + town.visited, county.total + town.total)
    return out


# --- Recipients ----------------------------------------------------------------------------


def _not_yet(users: QuerySet[User], key: str) -> QuerySet[User]:
    """Users without this reminder yet (the unique (recipient, dedupe_key) index serves it);
    in id order, so racing runners insert in the same order and never deadlock."""
    already = Notification.objects.filter(recipient_id=OuterRef("pk"), dedupe_key=key)
    return users.filter(is_active=True).filter(~Exists(already)).order_by("pk")


def helper_users(helper_ids) -> QuerySet[User]:
    """Logins of the helpers `helper_ids` names (a subquery: no long IN lists)."""
    return User.objects.filter(role=Role.HELPER, helper_id__in=helper_ids).select_related("helper")


def unit_users(unit_ids) -> QuerySet[User]:
    return User.objects.filter(role=Role.UNIT, unit_id__in=unit_ids).select_related("helper")


def _without_login(helper_ids) -> int:
    """How many of the helpers `helper_ids` (a subquery) have no login to remind."""
    return Helper.objects.filter(pk__in=helper_ids, user__isnull=True).count()


def text_to(user: User) -> User:
    # A helper's phone is in the register; the login may have none. Text the register's.
    if not user.phone and user.helper_id is not None:
        user.phone = user.helper.phone
    return user


# --- The reminders -------------------------------------------------------------------------


def send_opening(window: Window, day: date) -> dict:
    quarter = window.quarter
    key = dedupe_key("open", quarter)
    title = f"{quarter.label}走访录入已开放,截止{window.last_day:%Y-%m-%d}"
    body = (
        f"{window.label}。请在截止日前走访每一户结对对象,上传定位、场景、一折通、手册照片"
        "和本季度收入。"
    )
    helpers = Pairing.objects.held_on(day).filter(helper__active=True).values("helper_id")
    units = UnitPairing.objects.held_on(day).values("unit_id")
    users = User.objects.filter(
        Q(role=Role.HELPER, helper_id__in=helpers) | Q(role=Role.UNIT, unit_id__in=units)
    )
    sent = notify_each(
        (
            Message(
                user,
                title,
                body,
                "/me/households" if user.role == Role.HELPER else "/me/villages",
                {"quarter": str(quarter)},
            )
            for user in _not_yet(users, key)
        ),
        kind=KIND_OPEN,
        dedupe_key=key,
    )
    return {"open_sent": sent, "open_helpers_without_login": _without_login(helpers)}


def _remaining_messages(
    quarter: Quarter,
    window: Window,
    helpers: list[User],
    units: list[User],
    by_helper: dict[int, int],
    by_unit: dict[int, int],
    *,
    title: Callable[[int, str], str],
) -> list[Message]:
    """One message per helper and pairing unit saying how much of `quarter` is left;
    `title(n, "户" or "个薄弱村")` heads it."""
    kinds = (
        (helpers, by_helper, "helper_id", "户", "户结对户", "/me/households"),
        (units, by_unit, "unit_id", "个薄弱村", "个挂钩薄弱村", "/me/villages"),
    )
    return [
        Message(
            text_to(user),
            title(n, short),
            _remaining_text(quarter, n, what, window.last_day),
            link,
            {"quarter": str(quarter), "remaining": n},
        )
        for users, counts, key, short, what, link in kinds
        for user in users
        for n in [counts[getattr(user, key)]]
    ]


def _remaining_text(quarter: Quarter, n: int, what: str, last_day: date) -> str:
    return f"{quarter.label}还有{n}{what}未走访,录入{last_day:%Y-%m-%d}截止(当日24时止)。"


def send_closing(window: Window, day: date) -> dict:
    """Three days before the close, to helpers and units with visits still missing (and SMS)."""
    quarter = window.quarter
    key = dedupe_key("closing", quarter)
    missing = _missing_pairings(quarter, day).values("helper_id")
    helpers = list(_not_yet(helper_users(missing), key))
    units = list(_not_yet(unit_users(_missing_unit_pairings(quarter, day).values("unit_id")), key))
    if not helpers and not units:
        # Everyone was reminded by an earlier run: skip the counting (cron calls us often).
        return {"closing_sent": 0}
    by_helper = missing_by_helper(quarter, day)
    by_unit = missing_by_unit(quarter, day)
    # The text message carries only the title: it says what is left and by when.
    closes = f"{window.last_day.month}月{window.last_day.day}日"
    messages = _remaining_messages(
        quarter,
        window,
        helpers,
        units,
        by_helper,
        by_unit,
        title=lambda n, what: f"{quarter.label}走访录入{closes}截止,还有{n}{what}未走访",
    )
    sent = notify_each(messages, kind=KIND_CLOSING, dedupe_key=key, sms=True)
    return {
        "closing_sent": sent,
        "closing_helpers_missing": len(by_helper),
        "closing_helpers_without_login": _without_login(missing),
    }


def _office_link(quarter: Quarter) -> str:
    from django.urls import NoReverseMatch, reverse

    try:
        return f"{reverse('coverage:overview')}?quarter={quarter}"
    except NoReverseMatch:
        return ""


def send_coverage(quarter: Quarter, day: date) -> dict:
    """The last quarter's coverage to town and county offices, and a reminder to helpers (and
    units) still missing visits of it."""
    window = window_for(quarter)
    office_key = dedupe_key("coverage", quarter)
    offices = list(
        _not_yet(
            User.objects.filter(role__in=list(COVERAGE_REPORT_ROLES), region__isnull=False),
            office_key,
        )
    )
    # Counted only when some office still waits for it (cron calls us often).
    coverage = coverage_by_prefix(quarter) if offices else {}
    link = _office_link(quarter)
    office_messages = []
    for user in offices:
        prefix = user.region_id[:9] if user.role == Role.TOWN_OFFICE else user.region_id[:6]
        numbers = coverage.get(prefix, Coverage(0, 0))
        office_messages.append(
            Message(
                user,
                f"{quarter.label}走访覆盖率{numbers.percent}"
                f"(已走访{numbers.visited}/应走访{numbers.total}户)",
                f"{quarter.label}录入{window.last_day:%Y-%m-%d}截止,"
                f"尚有{numbers.total - numbers.visited}户未走访,请督促帮扶责任人尽快走访。",
                link,
                {"quarter": str(quarter), "visited": numbers.visited, "total": numbers.total},
            )
        )
    sent_offices = notify_each(office_messages, kind=KIND_COVERAGE, dedupe_key=office_key)

    missing_key = dedupe_key("missing", quarter)
    missing = _missing_pairings(quarter, day).values("helper_id")
    helpers = list(_not_yet(helper_users(missing), missing_key))
    unit_ids = _missing_unit_pairings(quarter, day).values("unit_id")
    units = list(_not_yet(unit_users(unit_ids), missing_key))
    if not helpers and not units:
        return {"coverage_offices_sent": sent_offices, "missing_sent": 0}
    by_helper = missing_by_helper(quarter, day)
    by_unit = missing_by_unit(quarter, day)
    title = f"{quarter.label}仍有结对对象未走访"
    messages = _remaining_messages(
        quarter, window, helpers, units, by_helper, by_unit, title=lambda n, what: title
    )
    sent_field = notify_each(messages, kind=KIND_MISSING, dedupe_key=missing_key)
    return {
        "coverage_offices_sent": sent_offices,
        "missing_sent": sent_field,
        "missing_helpers_without_login": _without_login(missing),
    }


def run(*, now: datetime) -> dict:
    """Send every reminder due at `now`; safe to call as often as cron likes."""
    day = _local(now).date()
    summary: dict = {}
    window = opening_due(now)
    if window is not None:
        summary.update(send_opening(window, day))
    closing = closing_due(now)
    if closing is not None:
        summary.update(send_closing(closing, day))
    last = coverage_due(now)
    if last is not None:
        summary.update(send_coverage(last, day))
    return summary
