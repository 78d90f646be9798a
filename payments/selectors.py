"""Reads of subsidy payments, always through the area rule or the helper's own households.

What a helper checks at a visit ("the payments since the last visit") is decided here, in
`due_payments`, for the list the app shows, for the checks it records and for the visit's
passbook summary alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db.models import Count, F, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Substr, TruncDate
from django.utils import timezone

from accounts.models import User
from accounts.roles import checks_passbooks, reads_payments
from accounts.scoping import code_in_area, in_area
from common.errors import NotFound
from common.quarters import SHANGHAI
from grievances.models import OPEN_STATES
from payments.models import (
    CheckResult,
    Payment,
    PaymentCheck,
    PaymentWarning,
    SubsidyItem,
)
from regions.models import CHILD_LEVEL, PREFIX_DIGITS, Level, Region, prefix_of_code
from register.models import Household, Pairing
from visits.models import Visit


def local_day(moment: datetime) -> date:
    return timezone.localtime(moment).date()


# --- At the visit ----------------------------------------------------------------------------


def _previous_visits(*, household_id: int, before: Visit | None) -> QuerySet[Visit]:
    qs = Visit.objects.filter(household_id=household_id)
    if before is not None:
        qs = qs.filter(visited_at__lt=before.visited_at).exclude(pk=before.pk)
    return qs.order_by("-visited_at", "-created_at")


def previous_visit(*, household_id: int, before: Visit | None) -> Visit | None:
    """The household's last visit before `before` (or its last visit at all)."""
    return _previous_visits(household_id=household_id, before=before).first()


def due_payments(*, household_id: int, visit: Visit | None, now: datetime) -> QuerySet[Payment]:
    """The payments a helper checks in the passbook at `visit` (None: at the next visit).

    Those paid by the visit's day that came since the household's previous visit: paid after
    its day, or loaded after it was entered (a late list is checked at the next visit) and not
    checked at another visit. A payment checked at this visit stays in its list."""
    day = local_day(visit.visited_at if visit is not None else now)
    # The previous visit is read inside the one query (a visit's submission counts queries).
    previous = _previous_visits(household_id=household_id, before=visit)
    qs = Payment.objects.filter(household_id=household_id, paid_on__lte=day).annotate(
        previous_day=TruncDate(Subquery(previous.values("visited_at")[:1]), tzinfo=SHANGHAI),
        previous_entered=Subquery(previous.values("created_at")[:1]),
    )
    qs = qs.filter(
        Q(previous_day__isnull=True)
        | Q(paid_on__gt=F("previous_day"))
        | Q(batch__loaded_at__gt=F("previous_entered"))
    )
    unchecked = Q(passbook_check__isnull=True)
    if visit is not None:
        unchecked |= Q(passbook_check__visit=visit)
    return (
        qs.filter(unchecked)
        .select_related("item__department", "batch", "passbook_check__grievance")
        .order_by("paid_on", "item__code", "id")
    )


def household_for_checks(*, user: User, household_id: int) -> Household:
    """A household whose payments the user may read: a helper's currently paired household,
    or one in the area of an office or supervisor. Otherwise NotFound, the same as none."""
    qs = Household.objects.select_related("village")
    if checks_passbooks(user):
        today = local_day(timezone.now())
        paired = Pairing.objects.held_on(today).filter(helper__user=user)
        household = qs.filter(pk=household_id, pk__in=paired.values("household_id")).first()
    elif reads_payments(user):
        household = in_area(qs, user).filter(pk=household_id).first()
    else:
        household = None
    if household is None:
        raise NotFound("低收入户不存在")
    return household


def visit_for_checks(*, user: User, visit_id, write: bool = False) -> Visit:
    """A household visit whose passbook checks the user may read (its helper; area readers)
    or, with `write`, record (the helper who submitted it). Otherwise NotFound."""
    qs = Visit.objects.select_related("household", "helper")
    if checks_passbooks(user):
        visit = qs.filter(pk=visit_id, helper__user=user).first()
        if visit is not None and write and visit.submitted_by_id != user.pk:
            visit = None
    elif reads_payments(user) and not write:
        visit = in_area(qs, user).filter(pk=visit_id).first()
    else:
        visit = None
    if visit is None:
        raise NotFound("走访不存在")
    return visit


@dataclass(frozen=True)
class PassbookSummary:
    due: int
    seen: int
    missing: int
    different: int

    @property
    def unchecked(self) -> int:
        return self.due - self.seen - self.missing - self.different

    @property
    def complete(self) -> bool:
        return self.unchecked == 0


def passbook_summary(payments: list[Payment]) -> PassbookSummary:
    """How the due payments (`due_payments(...)` with their checks) were checked."""
    results = [p.passbook_check.result for p in payments if _check_of(p) is not None]
    return PassbookSummary(
        due=len(payments),
        seen=results.count(CheckResult.SEEN),
        missing=results.count(CheckResult.MISSING),
        different=results.count(CheckResult.DIFFERENT),
    )


def _check_of(payment: Payment) -> PaymentCheck | None:
    try:
        return payment.passbook_check
    except PaymentCheck.DoesNotExist:
        return None


def check_of(payment: Payment) -> PaymentCheck | None:
    return _check_of(payment)


# --- For offices and supervisors -------------------------------------------------------------


def warning_list(
    *, user: User, kind: str | None = None, open_only: bool | None = None
) -> QuerySet[PaymentWarning]:
    """Warnings of the user's area, newest first."""
    if not reads_payments(user):
        return PaymentWarning.objects.none()
    qs = in_area(
        PaymentWarning.objects.select_related("item", "region", "household", "closed_by"), user
    )
    if kind:
        qs = qs.filter(kind=kind)
    if open_only is True:
        qs = qs.filter(closed_at__isnull=True)
    elif open_only is False:
        qs = qs.filter(closed_at__isnull=False)
    return qs.order_by("-raised_at", "-id")


def payment_list(*, user: User) -> QuerySet[Payment]:
    if not reads_payments(user):
        return Payment.objects.none()
    return in_area(Payment.objects.select_related("item", "batch", "village"), user).order_by(
        "-paid_on", "id"
    )


@dataclass
class OverviewRow:
    code: str
    name: str
    payments: int = 0
    amount: Decimal = Decimal("0.00")
    checked: int = 0
    discrepancies_open: int = 0
    discrepancies_closed: int = 0
    warnings_open: int = 0

    @property
    def unchecked(self) -> int:
        return self.payments - self.checked

    @property
    def checked_percent(self) -> float | None:
        return round(100 * self.checked / self.payments, 1) if self.payments else None


@dataclass
class Overview:
    region: Region
    year: int
    total: OverviewRow
    children: list[OverviewRow]


def overview(*, user: User, region: Region, year: int) -> Overview:
    """For `region` and the year's payments (by paid date): per child region (towns of a
    county, villages of a town), the payments and their amount, how many were checked at
    visits, open and closed discrepancies, and open warnings. Grouped by the database."""
    if region.level == Level.VILLAGE:
        digits = PREFIX_DIGITS[Level.VILLAGE]
    else:
        digits = PREFIX_DIGITS[CHILD_LEVEL[Level(region.level)]]
    prefix = region.code[: PREFIX_DIGITS[Level(region.level)]]
    rows: dict[str, OverviewRow] = {}

    def row(code: str) -> OverviewRow:
        code = code.ljust(12, "0")
        return rows.setdefault(code, OverviewRow(code, ""))

    payments = (
        Payment.objects.filter(village__code__startswith=prefix, paid_on__year=year)
        .annotate(part=Substr("village_id", 1, digits))
        .values("part")
        .annotate(n=Count("id"), amount=Sum("amount"))
    )
    for p in payments:
        target = row(p["part"])
        target.payments, target.amount = p["n"], p["amount"]
    discrepancy = ~Q(result=CheckResult.SEEN)
    still_open = Q(grievance__state__in=OPEN_STATES)
    checks = (
        PaymentCheck.objects.filter(village__code__startswith=prefix, payment__paid_on__year=year)
        .annotate(part=Substr("village_id", 1, digits))
        .values("part")
        .annotate(
            n=Count("id"),
            open=Count("id", filter=discrepancy & still_open),
            closed=Count("id", filter=discrepancy & ~still_open),
        )
    )
    for c in checks:
        target = row(c["part"])
        target.checked = c["n"]
        target.discrepancies_open, target.discrepancies_closed = c["open"], c["closed"]
    area_wide = 0
    warnings = (
        PaymentWarning.objects.filter(region__code__startswith=prefix, closed_at__isnull=True)
        .values("region_id")
        .annotate(n=Count("id"))
    )
    for w in warnings:
        code = w["region_id"]
        if len(prefix_of_code(code)) >= digits:
            row(code[:digits]).warnings_open += w["n"]
        else:
            # Item-wide warnings (a period left unpaid) belong to the item's county or city.
            area_wide += w["n"]
    names = dict(Region.objects.filter(code__in=list(rows)).values_list("code", "name"))
    total = OverviewRow(region.code, region.name, warnings_open=area_wide)
    children = []
    for code, child in sorted(rows.items()):
        child.name = names.get(code, code)
        total.payments += child.payments
        total.amount += child.amount
        total.checked += child.checked
        total.discrepancies_open += child.discrepancies_open
        total.discrepancies_closed += child.discrepancies_closed
        total.warnings_open += child.warnings_open
        children.append(child)
    if region.level != Level.VILLAGE:
        children = _with_empty_children(region, children)
    return Overview(region=region, year=year, total=total, children=children)


def _with_empty_children(region: Region, children: list[OverviewRow]) -> list[OverviewRow]:
    present = {r.code for r in children}
    for code, name in region.children.order_by("code").values_list("code", "name"):
        if code not in present:
            children.append(OverviewRow(code, name))
    return sorted(children, key=lambda r: r.code)


# --- Public disclosure (公示) ------------------------------------------------------------------


@dataclass(frozen=True)
class Disclosure:
    village: Region
    items: list[SubsidyItem]
    item: SubsidyItem | None
    periods: list[str]
    period: str
    payments: list[Payment]
    total: Decimal
    recipients: int


def disclosure(*, village: Region, item_code: str = "", period: str = "") -> Disclosure:
    """A village's published payments of one item and period (the latest when not named).
    The caller masks the names; ID and account numbers never leave this function's rows
    because they are not read."""
    published = Payment.objects.filter(village=village, item__published=True)
    item_ids = published.values("item_id").distinct()
    items = list(SubsidyItem.objects.filter(pk__in=item_ids).order_by("code"))
    item = next((i for i in items if i.code == item_code), items[0] if items else None)
    periods: list[str] = []
    rows: list[Payment] = []
    if item is not None:
        periods = list(
            published.filter(item=item)
            .values_list("period", flat=True)
            .distinct()
            .order_by("-period")[:60]
        )
        period = period if period in periods else (periods[0] if periods else "")
        rows = list(
            published.filter(item=item, period=period)
            .only("id", "name", "amount", "paid_on", "bank", "item_id", "period", "village_id")
            .order_by("paid_on", "id")
        )
    return Disclosure(
        village=village,
        items=items,
        item=item,
        periods=periods,
        period=period if item is not None else "",
        payments=rows,
        total=sum((p.amount for p in rows), Decimal("0.00")),
        recipients=len(rows),
    )


def payments_region(user: User, code: str | None) -> Region:
    """The region an office page is about: `code`, or the user's own region. NotFound for a
    code that is malformed, unknown or outside the user's area (the same answer for each)."""
    code = (code or "").strip() or user.region_id or _root_code()
    if not code or not code.isdigit() or len(code) != 12 or not code_in_area(user, code):
        raise NotFound("区划不存在")
    region = Region.objects.filter(pk=code).first()
    if region is None:
        raise NotFound("区划不存在")
    return region


def _root_code() -> str | None:
    return (
        Region.objects.filter(parent__isnull=True).order_by("code").values_list("code", flat=True)
    ).first()


def village_for_disclosure(code: str) -> Region:
    """A village whose payments are published; NotFound for anything else."""
    region = Region.objects.filter(pk=code, level=Level.VILLAGE).first() if code else None
    if region is None:
        raise NotFound("村(居)不存在")
    return region


def villages_named(text: str, limit: int = 50) -> list[Region]:
    """Villages whose name contains `text` (the public page's search), with their towns."""
    text = text.strip()
    if not text:
        return []
    return list(
        Region.objects.filter(level=Level.VILLAGE, name__contains=text)
        .select_related("parent")
        .order_by("code")[:limit]
    )
