"""What the app and the pages show of a payment, a check and a warning (shared shapes)."""

from grievances.models import Grievance
from payments.models import Payment, PaymentWarning
from payments.privacy import mask_id_number
from payments.selectors import PassbookSummary, check_of


def payment_row(payment: Payment) -> dict:
    """A payment as the helper checks it: the household's own, the card holder named, the ID
    and account numbers masked."""
    check = check_of(payment)
    return {
        "id": payment.pk,
        "item_code": payment.item.code,
        "item_name": payment.item.name,
        "department": payment.item.department.name,
        "period": payment.period,
        "amount": payment.amount,
        "paid_on": payment.paid_on,
        "name": payment.name,
        "id_number": mask_id_number(payment.id_number),
        "bank": payment.bank,
        "account_masked": payment.account_masked,
        "batch": payment.batch.code,
        "check": None
        if check is None
        else {
            "result": check.result,
            "result_label": check.get_result_display(),
            "amount_seen": check.amount_seen,
            "note": check.note,
            "checked_at": check.checked_at,
            "visit_id": check.visit_id,
            "case": _case(check.grievance) if check.grievance_id else None,
        },
    }


def _case(case: Grievance) -> dict:
    return {"code": case.display_code, "state": case.state, "state_label": case.get_state_display()}


def summary_row(summary: PassbookSummary) -> dict:
    return {
        "due": summary.due,
        "seen": summary.seen,
        "missing": summary.missing,
        "different": summary.different,
        "unchecked": summary.unchecked,
        "complete": summary.complete,
    }


def warning_row(warning: PaymentWarning) -> dict:
    return {
        "id": warning.pk,
        "kind": warning.kind,
        "kind_label": warning.get_kind_display(),
        "region": warning.region_id,
        "region_name": warning.region.name,
        "item_code": warning.item.code if warning.item_id else None,
        "item_name": warning.item.name if warning.item_id else None,
        "period": warning.period,
        "payment_id": warning.payment_id,
        "household_id": warning.household_id,
        "household_number": warning.household.number if warning.household_id else None,
        "detail": warning.detail,
        "raised_at": warning.raised_at,
        "open": warning.closed_at is None,
        "closed_at": warning.closed_at,
        "closed_by": (warning.closed_by.get_full_name() or warning.closed_by.username)
        if warning.closed_by_id
        else None,
        "close_note": warning.close_note,
    }
