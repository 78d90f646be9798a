"""The warning rules (预警规则) over subsidy payments, one small function each.

Seed 001 asks that fund monitoring be "可记录、可预警、可追溯、可跟踪", for example a warning
when money has not moved 30 days after it was allotted. Each rule answers the warnings it finds
as unsaved `PaymentWarning`s carrying the numbers that raised them; `raise_warnings` stores the
new ones. A warning's kind and key are unique, so a rule run again (after every load, by
`run_due_jobs`, or by two machines at once) never raises one twice, and a warning an office has
closed stays closed. Every rule is one or two aggregate queries, never a loop over payments.

A scope of batches restricts the payment rules to what those batches could have caused (after
a load); without one they look at everything.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import Count, F, Max, Min, Q, QuerySet, Sum
from django.utils import timezone

from payments.models import (
    CheckResult,
    Eligibility,
    Payment,
    PaymentCheck,
    PaymentWarning,
    SubsidyItem,
    WarningKind,
)
from payments.periods import Period, periods_between, previous_period
from payments.privacy import mask_id_number

CHUNK = 2000


@dataclass(frozen=True)
class Scope:
    now: datetime
    batch_ids: tuple[int, ...] | None = None  # None: every payment

    @property
    def today(self) -> date:
        return timezone.localtime(self.now).date()

    def payments(self) -> QuerySet[Payment]:
        qs = Payment.objects.all()
        if self.batch_ids is not None:
            qs = qs.filter(batch_id__in=self.batch_ids)
        return qs


def _person(id_number: str) -> str:
    # Keys identify a person without carrying the ID number itself.
    return hashlib.sha256(id_number.encode()).hexdigest()[:24]


def _money(value) -> str:
    return f"{value:.2f}"


# --- The rules -----------------------------------------------------------------------------


def paid_twice(scope: Scope) -> list[PaymentWarning]:
    """The same person paid more than once for the same item and period."""
    groups = Payment.objects.all()
    if scope.batch_ids is not None:
        groups = groups.filter(id_number__in=scope.payments().values("id_number"))
    doubled = list(
        groups.values("id_number", "item_id", "period")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .values_list("id_number", "item_id", "period")
    )
    if not doubled:
        return []
    wanted = set(doubled)
    found: dict[tuple, list[tuple]] = defaultdict(list)
    for chunk in _chunks(sorted({g[0] for g in doubled})):
        chunk_rows = (
            Payment.objects.filter(id_number__in=chunk)
            .order_by("id")
            .values_list(
                "id_number",
                "item_id",
                "period",
                "id",
                "amount",
                "paid_on",
                "batch__code",
                "village_id",
                "household_id",
                "name",
            )
        )
        for row in chunk_rows:
            if row[:3] in wanted:
                found[row[:3]].append(row[3:])
    warnings = []
    for (id_number, item_id, period), rows in found.items():
        last = rows[-1]
        warnings.append(
            PaymentWarning(
                kind=WarningKind.PAID_TWICE,
                key=f"{_person(id_number)}:{item_id}:{period}",
                region_id=last[4],
                item_id=item_id,
                period=period,
                payment_id=last[0],
                household_id=last[5],
                detail={
                    "name": last[6],
                    "id_number": mask_id_number(id_number),
                    "count": len(rows),
                    "total": _money(sum(r[1] for r in rows)),
                    "payments": [
                        {
                            "id": r[0],
                            "amount": _money(r[1]),
                            "paid_on": r[2].isoformat(),
                            "batch": r[3],
                        }
                        for r in rows
                    ],
                },
            )
        )
    return warnings


def not_in_register(scope: Scope) -> list[PaymentWarning]:
    """Payments to an ID number the register does not know (no household matched), once per
    person; and payments under another name than the register's head holding that ID number,
    once per person and name."""
    warnings = []
    unknown = (
        scope.payments()
        .filter(household__isnull=True)
        .values("id_number")
        .annotate(
            n=Count("id"),
            total=Sum("amount"),
            name=Min("name"),
            village=Min("village_id"),
            last=Max("id"),
            first_paid=Min("paid_on"),
            items=Count("item", distinct=True),
        )
        .order_by("id_number")
    )
    for row in unknown:
        warnings.append(
            PaymentWarning(
                kind=WarningKind.NOT_IN_REGISTER,
                key=_person(row["id_number"]),
                region_id=row["village"],
                payment_id=row["last"],
                detail={
                    "name": row["name"],
                    "id_number": mask_id_number(row["id_number"]),
                    "payments": row["n"],
                    "item_count": row["items"],
                    "total": _money(row["total"]),
                    "first_paid_on": row["first_paid"].isoformat(),
                },
            )
        )
    renamed = (
        scope.payments()
        .filter(household__isnull=False, household__id_number=F("id_number"))
        .exclude(name=F("household__head_name"))
        .values("id_number", "name", "household_id", "household__head_name")
        .annotate(n=Count("id"), total=Sum("amount"), village=Min("village_id"), last=Max("id"))
        .order_by("id_number", "name")
    )
    for other in renamed:
        warnings.append(
            PaymentWarning(
                kind=WarningKind.NAME_MISMATCH,
                key=f"{_person(other['id_number'])}:{other['name']}"[:200],
                region_id=other["village"],
                payment_id=other["last"],
                household_id=other["household_id"],
                detail={
                    "name": other["name"],
                    "register_name": other["household__head_name"],
                    "id_number": mask_id_number(other["id_number"]),
                    "payments": other["n"],
                    "total": _money(other["total"]),
                },
            )
        )
    return warnings


def after_exit(scope: Scope) -> list[PaymentWarning]:
    """A low-income-only item paid to a household for a period that began after the household
    exited (and before it returned, if it did), once per payment."""
    returned_later = Q(
        household__returned_on__isnull=False,
        household__returned_on__gt=F("household__exited_on"),
        period_start__gte=F("household__returned_on"),
    )
    rows = (
        scope.payments()
        .filter(
            item__eligibility=Eligibility.LOW_INCOME,
            household__exited_on__isnull=False,
            period_start__gt=F("household__exited_on"),
        )
        .exclude(returned_later)
        .values_list(
            "id",
            "item_id",
            "period",
            "amount",
            "paid_on",
            "village_id",
            "household_id",
            "household__exited_on",
            "name",
        )
        .order_by("id")
    )
    return [
        PaymentWarning(
            kind=WarningKind.AFTER_EXIT,
            key=str(pk),
            region_id=village,
            item_id=item_id,
            period=period,
            payment_id=pk,
            household_id=household_id,
            detail={
                "name": name,
                "amount": _money(amount),
                "paid_on": paid_on.isoformat(),
                "exited_on": str(exited_on),  # never empty: the filter asks for it
            },
        )
        for pk, item_id, period, amount, paid_on, village, household_id, exited_on, name in rows
    ]


def unpaid(scope: Scope) -> list[PaymentWarning]:
    """A scheduled item with no payment at all for a period `PAYMENT_UNPAID_DAYS` (30, seed
    001) after the period ended, once per item and period."""
    days = settings.PAYMENT_UNPAID_DAYS
    last_end = scope.today - timedelta(days=days + 1)
    warnings = []
    items = SubsidyItem.objects.filter(scheduled_from__isnull=False).select_related("department")
    for item in items.order_by("pk"):
        assert item.scheduled_from is not None  # the filter above
        first = Period.containing(item.scheduled_from, item.period_kind)
        # The last period that ended more than `days` days ago, and not after the schedule.
        last = Period.containing(last_end, item.period_kind)
        if last.end > last_end:
            last = previous_period(last)
        if item.scheduled_until is not None:
            last = min(last, Period.containing(item.scheduled_until, item.period_kind))
        if last < first:
            continue
        due = periods_between(first, last)
        paid = set(
            Payment.objects.filter(item=item, period__in=[str(p) for p in due])
            .values_list("period", flat=True)
            .distinct()
        )
        for period in due:
            if str(period) in paid:
                continue
            warnings.append(
                PaymentWarning(
                    kind=WarningKind.UNPAID,
                    key=f"{item.pk}:{period}",
                    region_id=item.region_id,
                    item_id=item.pk,
                    period=str(period),
                    detail={
                        "period_end": period.end.isoformat(),
                        "days_after": (scope.today - period.end).days,
                        "limit_days": days,
                        "department": item.department.name,
                    },
                )
            )
    return warnings


def amount_off(scope: Scope) -> list[PaymentWarning]:
    """A payment whose amount differs from its item's standard amount a period, once each."""
    rows = (
        scope.payments()
        .filter(item__standard_amount__isnull=False)
        .exclude(amount=F("item__standard_amount"))
        .values_list(
            "id",
            "item_id",
            "period",
            "amount",
            "item__standard_amount",
            "village_id",
            "household_id",
            "name",
        )
        .order_by("id")
    )
    return [
        PaymentWarning(
            kind=WarningKind.AMOUNT_OFF,
            key=str(pk),
            region_id=village,
            item_id=item_id,
            period=period,
            payment_id=pk,
            household_id=household_id,
            detail={
                "name": name,
                "amount": _money(amount),
                "standard": _money(standard),
                "difference": _money(amount - (standard or 0)),
            },
        )
        for pk, item_id, period, amount, standard, village, household_id, name in rows
    ]


def village_missing(scope: Scope) -> list[PaymentWarning]:
    """`PAYMENT_VILLAGE_MISSING_HOUSEHOLDS` (3) or more households of one village that found
    the same item of the same batch missing from their passbooks: a problem at the bank or in
    the village rather than with one card. Once per village, item and batch."""
    least = settings.PAYMENT_VILLAGE_MISSING_HOUSEHOLDS
    checks = PaymentCheck.objects.filter(result=CheckResult.MISSING)
    if scope.batch_ids is not None:
        checks = checks.filter(payment__batch_id__in=scope.batch_ids)
    rows = (
        checks.values("village_id", "payment__item_id", "payment__batch_id", "payment__batch__code")
        .annotate(
            households=Count("payment__household", distinct=True),
            total=Sum("payment__amount"),
            period=Min("payment__period"),
        )
        .filter(households__gte=least)
        .order_by("village_id", "payment__item_id", "payment__batch_id")
    )
    return [
        PaymentWarning(
            kind=WarningKind.VILLAGE_MISSING,
            key=f"{r['village_id']}:{r['payment__item_id']}:{r['payment__batch_id']}",
            region_id=r["village_id"],
            item_id=r["payment__item_id"],
            period=r["period"],
            detail={
                "households": r["households"],
                "least": least,
                "batch": r["payment__batch__code"],
                "total": _money(r["total"]),
            },
        )
        for r in rows
    ]


RULES: dict[str, Callable[[Scope], list[PaymentWarning]]] = {
    "paid_twice": paid_twice,
    "not_in_register": not_in_register,
    "after_exit": after_exit,
    "unpaid": unpaid,
    "amount_off": amount_off,
    "village_missing": village_missing,
}


# --- Raising -------------------------------------------------------------------------------


def raise_warnings(warnings: Iterable[PaymentWarning], now: datetime) -> int:
    """Store the warnings not raised before; answers how many are new. The unique (kind, key)
    keeps a warning from being raised twice even by two runs at once."""
    by_kind: dict[str, list[PaymentWarning]] = defaultdict(list)
    for warning in warnings:
        by_kind[warning.kind].append(warning)
    new = 0
    for kind, found in by_kind.items():
        for chunk in _chunks(found):
            known = set(
                PaymentWarning.objects.filter(
                    kind=kind, key__in=[w.key for w in chunk]
                ).values_list("key", flat=True)
            )
            fresh = [w for w in chunk if w.key not in known]
            for warning in fresh:
                warning.raised_at = now
            PaymentWarning.objects.bulk_create(fresh, ignore_conflicts=True)
            new += len(fresh)
    return new


def run_rules(
    *, now: datetime | None = None, batch_ids: Iterable[int] | None = None, only: str | None = None
) -> dict[str, int]:
    """Run every rule (or `only` one) and store what is new; answers new warnings per rule."""
    scope = Scope(
        now=now or timezone.now(), batch_ids=tuple(batch_ids) if batch_ids is not None else None
    )
    return {
        name: raise_warnings(rule(scope), scope.now)
        for name, rule in RULES.items()
        if only is None or name == only
    }


def _chunks(items: list, size: int = CHUNK) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
