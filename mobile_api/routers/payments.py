"""Subsidy payments over the API: what a helper checks in the passbook at a visit, the checks,
and the warnings offices and supervisors follow.

Thin: each endpoint calls a payments selector or service. Object endpoints answer 404 alike
for "not yours" and "does not exist".
"""

import uuid

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Status
from ninja.pagination import paginate

from common.errors import NotFound
from mobile_api.auth import user_auth
from mobile_api.pagination import Mapped
from mobile_api.schemas.common import AUTH_ERRORS, ErrorOut
from mobile_api.schemas.payments import (
    ChecksIn,
    ChecksOut,
    PaymentsDueOut,
    WarningCloseIn,
    WarningKindParam,
    WarningOut,
)
from payments import present, selectors, services

router = Router(tags=["补贴发放"], auth=user_auth)
WRITE_ERRORS = {**AUTH_ERRORS, 409: ErrorOut}


@router.get("/households/{household_id}/payments", response={200: PaymentsDueOut, **AUTH_ERRORS})
def payments_due(request: HttpRequest, household_id: int, visit: uuid.UUID | None = None):
    """The payments to check in the household's passbook: paid (or loaded) since its last
    visit and not checked yet. With `visit`, the list for that visit (its own checks
    included). Helpers: their paired households; offices and supervisors: their area."""
    household = selectors.household_for_checks(user=request.user, household_id=household_id)
    at_visit = None
    if visit is not None:
        at_visit = selectors.visit_for_checks(user=request.user, visit_id=visit)
        if at_visit.household_id != household.pk:
            raise NotFound("走访不存在")
    now = timezone.now()
    previous = selectors.previous_visit(household_id=household.pk, before=at_visit)
    payments = selectors.due_payments(household_id=household.pk, visit=at_visit, now=now)
    return {
        "household_id": household.pk,
        "since_visit": previous,
        "payments": [present.payment_row(p) for p in payments],
    }


def _checks_out(recorded: services.ChecksRecorded) -> dict:
    return {
        "visit_id": recorded.visit.pk,
        "passbook_checked": recorded.visit.passbook_checked,
        "summary": present.summary_row(recorded.summary),
        "payments": [present.payment_row(p) for p in recorded.payments],
        "cases_opened": [
            {"code": c.code, "key": c.key, "department": c.department, "payment_ids": c.payment_ids}
            for c in recorded.cases
        ],
    }


@router.post(
    "/visits/{uuid:visit_id}/payment-checks",
    response={200: ChecksOut, 201: ChecksOut, **WRITE_ERRORS},
)
def checks_record(request: HttpRequest, visit_id: uuid.UUID, payload: ChecksIn):
    """The helper's reading of each payment due at the visit: seen, missing, or a different
    amount. Retry-safe: the same readings again change nothing (200); another reading of a
    payment already checked is a 409. A missing or short payment opens a case (资金问题) for
    the office, one per department; its tracking key is in this answer only."""
    visit = selectors.visit_for_checks(user=request.user, visit_id=visit_id, write=True)
    recorded = services.passbook_checks_record(
        user=request.user,
        visit=visit,
        checks=[services.CheckInput(**c.dict()) for c in payload.checks],
    )
    return Status(201 if recorded.created else 200, _checks_out(recorded))


@router.get("/visits/{uuid:visit_id}/payment-checks", response={200: ChecksOut, **AUTH_ERRORS})
def checks_read(request: HttpRequest, visit_id: uuid.UUID):
    """The payments due at the visit with their checks, and whether the passbook is checked."""
    visit = selectors.visit_for_checks(user=request.user, visit_id=visit_id)
    payments = list(
        selectors.due_payments(household_id=visit.household_id, visit=visit, now=timezone.now())
    )
    recorded = services.ChecksRecorded(
        visit=visit, payments=payments, summary=selectors.passbook_summary(payments)
    )
    return _checks_out(recorded)


@router.get("/payment-warnings", response={200: list[WarningOut], **AUTH_ERRORS})
@paginate
def warning_list(
    request: HttpRequest,
    kind: WarningKindParam | None = None,
    open: bool | None = None,
):
    """Payment warnings of my area, newest first (offices, supervisors); `open=true` only those
    not handled yet, `open=false` only the handled ones."""
    qs = selectors.warning_list(user=request.user, kind=kind, open_only=open)
    return Mapped(qs, present.warning_row)


@router.post("/payment-warnings/{warning_id}/close", response={200: WarningOut, **WRITE_ERRORS})
def warning_close(request: HttpRequest, warning_id: int, payload: WarningCloseIn):
    """An office closes a warning of its area with what it found."""
    warning = services.warning_close(user=request.user, warning_id=warning_id, note=payload.note)
    warning = selectors.warning_list(user=request.user).get(pk=warning.pk)
    return present.warning_row(warning)
