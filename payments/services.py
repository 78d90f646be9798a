"""Writes of subsidy payments: the helper's passbook checks at a visit, and closing a warning.

(Loading payment lists is `payments.loader.payments_load`.)

A check is made once per payment and is retry-safe: the same reading sent again changes
nothing, a different reading of a payment already checked is a conflict. A payment missing from
the passbook or paid short opens a case (kind 资金问题) through the complaint workflow, one per
item department and recording, with the visit's passbook photos as its evidence; the office
accepts and assigns it as usual, and the department's 5 and 10 working-day deadlines run from
there. The visit's "passbook checked" becomes true when every payment due at the visit has
been checked.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.roles import checks_passbooks, manages_payments, reads_payments
from accounts.scoping import code_in_area
from common.errors import Conflict, Forbidden, NotFound, Unprocessable
from common.versions import PAYMENTS, bump_on_commit
from grievances import services as grievances
from grievances.models import Category, Kind
from media.models import PhotoKind
from payments import rules
from payments.models import CheckResult, Payment, PaymentCheck, PaymentWarning
from payments.selectors import PassbookSummary, due_payments, local_day, passbook_summary
from register.models import Household
from visits import services as visits
from visits.models import Visit, VisitPhoto

NOTE_MAX = 500


@dataclass(frozen=True)
class CheckInput:
    payment_id: int
    result: str
    amount_seen: Decimal | None = None
    note: str = ""


@dataclass
class CaseOpened:
    code: str
    key: str  # shown once, for the household to follow the case; never stored
    department: str
    payment_ids: list[int]


@dataclass
class ChecksRecorded:
    visit: Visit
    payments: list[Payment]  # due at the visit, with their checks
    summary: PassbookSummary
    created: int = 0
    cases: list[CaseOpened] = field(default_factory=list)


def passbook_checks_record(
    *, user: User, visit: Visit, checks: list[CheckInput], now: datetime | None = None
) -> ChecksRecorded:
    """Record the helper's readings of the payments due at `visit` (see
    `selectors.due_payments`), open the cases their discrepancies call for, and set the
    visit's passbook flag. Answers the visit's payments with their checks."""
    now = now or timezone.now()
    if not checks_passbooks(user) or visit.submitted_by_id != user.pk:
        raise NotFound("走访不存在")
    _check_inputs(checks)
    if not checks:
        # Nothing to write but the visit's flag (one statement): no lock, no transaction.
        due_now = due_payments(household_id=visit.household_id, visit=visit, now=now)
        return _passbook_state(visit, list(due_now))
    with transaction.atomic():
        # One household's checks one at a time: two phones of one helper, or a retry racing
        # its original, see each other's checks instead of both opening a case.
        Household.objects.select_for_update(of=("self",)).filter(pk=visit.household_id).first()
        due = {p.pk: p for p in due_payments(household_id=visit.household_id, visit=visit, now=now)}
        fresh = _new_checks(visit, checks, due)
        if fresh and now - visit.visited_at > timedelta(days=settings.PAYMENT_CHECK_DAYS):
            raise Unprocessable(
                "走访已超过补录期限,不能再补录一折通核对",
                code="check_too_late",
                detail={"days": settings.PAYMENT_CHECK_DAYS},
            )
        outcome = ChecksRecorded(visit=visit, payments=[], summary=PassbookSummary(0, 0, 0, 0))
        cases = _open_cases(user=user, visit=visit, due=due, checks=fresh, now=now)
        outcome.cases = list(cases.values())
        by_payment = {pid: case for case in cases.values() for pid in case.payment_ids}
        rows = [
            PaymentCheck(
                payment_id=c.payment_id,
                visit=visit,
                village_id=due[c.payment_id].village_id,
                result=c.result,
                amount_seen=c.amount_seen if c.result == CheckResult.DIFFERENT else None,
                note=c.note.strip(),
                grievance_id=by_payment[c.payment_id].grievance_id
                if c.payment_id in by_payment
                else None,
                checked_by=user,
                checked_at=now,
            )
            for c in fresh
        ]
        PaymentCheck.objects.bulk_create(rows)
        outcome.created = len(rows)
        payments = (
            list(due_payments(household_id=visit.household_id, visit=visit, now=now))
            if rows
            else list(due.values())
        )
        state = _passbook_state(visit, payments)
        outcome.payments, outcome.summary = state.payments, state.summary
        missing_batches = {
            due[c.payment_id].batch_id for c in fresh if c.result == CheckResult.MISSING
        }
        if missing_batches:
            rules.raise_warnings(
                rules.village_missing(rules.Scope(now=now, batch_ids=tuple(missing_batches))), now
            )
        if rows:
            bump_on_commit(PAYMENTS)
    return outcome


def _passbook_state(visit: Visit, payments: list[Payment]) -> ChecksRecorded:
    """The visit's passbook flag from the checks of the payments due at it."""
    summary = passbook_summary(payments)
    if payments:
        # Nothing due keeps the helper's own tick, as on every visit before payment lists.
        visits.visit_passbook_set(visit=visit, checked=summary.complete)
    return ChecksRecorded(visit=visit, payments=payments, summary=summary)


def _check_inputs(checks: list[CheckInput]) -> None:
    seen: set[int] = set()
    for c in checks:
        if c.payment_id in seen:
            raise Unprocessable(
                "同一笔发放记录只能核对一次",
                code="check_duplicate",
                detail={"payment_id": c.payment_id},
            )
        seen.add(c.payment_id)
        if c.result not in CheckResult.values:
            raise Unprocessable(
                "核对结果应为 seen、missing 或 different",
                code="check_result_invalid",
                detail={"payment_id": c.payment_id},
            )
        if c.result == CheckResult.DIFFERENT and c.amount_seen is None:
            raise Unprocessable(
                "金额不符时请填写一折通上显示的金额",
                code="check_amount_required",
                detail={"payment_id": c.payment_id},
            )
        if c.result != CheckResult.DIFFERENT and c.amount_seen is not None:
            raise Unprocessable(
                "只有金额不符时才填写一折通显示金额",
                code="check_amount_unexpected",
                detail={"payment_id": c.payment_id},
            )
        if len(c.note.strip()) > NOTE_MAX:
            raise Unprocessable("说明不能超过500字", code="check_note_too_long")


def _new_checks(
    visit: Visit, checks: list[CheckInput], due: dict[int, Payment]
) -> list[CheckInput]:
    """The checks not recorded yet; a repeat of a recorded one is skipped, a change refused."""
    fresh = []
    for c in checks:
        payment = due.get(c.payment_id)
        if payment is None:
            other = PaymentCheck.objects.filter(
                payment_id=c.payment_id, payment__household_id=visit.household_id
            ).first()
            if other is not None:
                raise Conflict(
                    "这笔发放已在其他走访中核对过",
                    code="check_other_visit",
                    detail={"payment_id": c.payment_id},
                )
            raise Unprocessable(
                "这笔发放不在本次走访应核对的范围内",
                code="payment_not_due",
                detail={"payment_id": c.payment_id},
            )
        recorded = _recorded(payment)
        if recorded is not None:
            if (recorded.result, recorded.amount_seen) != (c.result, _amount_or_none(c)):
                raise Conflict(
                    "这笔发放已核对,结果不同;如需更正请联系扶贫办",
                    code="check_conflict",
                    detail={"payment_id": c.payment_id, "result": recorded.result},
                )
            continue
        if c.result == CheckResult.DIFFERENT and c.amount_seen == payment.amount:
            raise Unprocessable(
                "一折通显示金额与发放金额相同,请选择“已到账”",
                code="check_amount_same",
                detail={"payment_id": c.payment_id},
            )
        if c.amount_seen is not None and not Decimal("0") <= c.amount_seen < Decimal("1000000"):
            raise Unprocessable(
                "一折通显示金额应在0至1000000元之间",
                code="check_amount_invalid",
                detail={"payment_id": c.payment_id},
            )
        fresh.append(c)
    return fresh


def _recorded(payment: Payment) -> PaymentCheck | None:
    try:
        return payment.passbook_check
    except PaymentCheck.DoesNotExist:
        return None


def _amount_or_none(c: CheckInput) -> Decimal | None:
    return c.amount_seen if c.result == CheckResult.DIFFERENT else None


@dataclass
class _Case(CaseOpened):
    grievance_id: int = 0


def _open_cases(
    *, user: User, visit: Visit, due: dict[int, Payment], checks: list[CheckInput], now: datetime
) -> dict[int, _Case]:
    """One case per department whose items came up missing or short."""
    groups: dict[int, list[CheckInput]] = defaultdict(list)
    for c in checks:
        if c.result != CheckResult.SEEN:
            groups[due[c.payment_id].item.department_id].append(c)
    if not groups:
        return {}
    household = visit.household
    helper = visit.helper
    evidence = list(
        VisitPhoto.objects.filter(visit=visit, kind=PhotoKind.PASSBOOK).values_list(
            "photo_id", flat=True
        )
    )
    opened: dict[int, _Case] = {}
    for department_id, found in sorted(groups.items()):
        department = due[found[0].payment_id].item.department
        filed = grievances.grievance_file_for(
            filed_by=user,
            name=helper.name,
            phone=helper.phone,
            kind=Kind.FUNDS,
            category=Category.FUNDS,
            household=household,
            helper=helper,
            text=_case_text(visit, household, [(due[c.payment_id], c) for c in found]),
            proposed_department=department,
            evidence_photo_ids=evidence,
            source={
                "source": "passbook_check",
                "visit_id": str(visit.pk),
                "payment_ids": [c.payment_id for c in found],
            },
            now=now,
        )
        opened[department_id] = _Case(
            code=filed.code,
            key=filed.key_display,
            department=department.name,
            payment_ids=[c.payment_id for c in found],
            grievance_id=filed.grievance.pk,
        )
    return opened


def _case_text(visit: Visit, household: Household, found: list[tuple[Payment, CheckInput]]) -> str:
    lines = [
        f"帮扶责任人走访时核对一折通,发现以下补贴未足额到账"
        f"(走访日期 {local_day(visit.visited_at):%Y-%m-%d},户编号 {household.number}):"
    ]
    for payment, c in found:
        seen = (
            "一折通上没有这笔"
            if c.result == CheckResult.MISSING
            else f"一折通显示 {c.amount_seen:.2f} 元"
        )
        lines.append(
            f"- {payment.item.name} {payment.period}:名单金额 {payment.amount:.2f} 元,"
            f"发放日期 {payment.paid_on:%Y-%m-%d},{payment.bank} {payment.account_masked},"
            f"批次 {payment.batch.code};{seen}" + (f"({c.note.strip()})" if c.note.strip() else "")
        )
    lines.append("一折通照片见附件。")
    return "\n".join(lines)


def visit_submit_with_checks(
    *,
    user: User,
    data: visits.VisitInput,
    checks: list[CheckInput],
    now: datetime | None = None,
) -> tuple[Visit, bool, ChecksRecorded]:
    """A visit and its passbook checks in one transaction: a refused check refuses the visit
    too, so the phone keeps both and nothing half-done stays on the server."""
    now = now or timezone.now()
    if not checks:
        # Nothing to refuse: the visit in its own transaction, then its passbook flag.
        visit, created = visits.visit_submit(user=user, data=data, now=now)
        return visit, created, passbook_checks_record(user=user, visit=visit, checks=[], now=now)
    with transaction.atomic():
        visit, created = visits.visit_submit(user=user, data=data, now=now)
        recorded = passbook_checks_record(user=user, visit=visit, checks=checks, now=now)
    return visit, created, recorded


# --- Warnings -------------------------------------------------------------------------------


@transaction.atomic
def warning_close(
    *, user: User, warning_id: int, note: str, now: datetime | None = None
) -> PaymentWarning:
    """An office closes a warning of its area with what it found (it is never raised again)."""
    warning = PaymentWarning.objects.select_for_update().filter(pk=warning_id).first()
    if (
        warning is None
        or not reads_payments(user)
        or not (user.is_superuser or code_in_area(user, warning.region_id))
    ):
        raise NotFound("预警不存在")
    if not manages_payments(user):
        raise Forbidden("只有扶贫办可以处理预警", code="not_office")
    note = (note or "").strip()
    if not note:
        raise Unprocessable("请填写处理说明", code="note_required")
    if len(note) > NOTE_MAX:
        raise Unprocessable("说明不能超过500字", code="note_too_long")
    if warning.closed_at is not None:
        raise Conflict("该预警已处理", code="already_closed")
    warning.closed_at = now or timezone.now()
    warning.closed_by = user
    warning.close_note = note
    warning.save(update_fields=["closed_at", "closed_by", "close_note"])
    bump_on_commit(PAYMENTS)
    return warning
