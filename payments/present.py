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


# What the numbers of a warning are called on the page.
DETAIL_LABELS = {
    "name": "姓名",
    "register_name": "台账姓名",
    "id_number": "身份证号",
    "count": "发放次数",
    "payments": "发放笔数",
    "item_count": "项目数",
    "total": "合计(元)",
    "amount": "金额(元)",
    "standard": "标准(元)",
    "difference": "差额(元)",
    "paid_on": "发放日期",
    "first_paid_on": "首次发放",
    "exited_on": "脱贫日期",
    "period_end": "所属期止",
    "days_after": "期满天数",
    "limit_days": "预警天数",
    "department": "主管部门",
    "households": "反映户数",
    "least": "预警户数",
    "batch": "批次",
}


def detail_pairs(detail: dict) -> list[tuple[str, str]]:
    """The warning's numbers as (label, value) for a page; lists of payments are left to
    `detail["payments"]`."""
    return [
        (DETAIL_LABELS.get(key, key), str(value))
        for key, value in detail.items()
        if not isinstance(value, list | dict)
    ]


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
        "detail_pairs": detail_pairs(warning.detail),
        "paid_list": warning.detail.get("payments")
        if isinstance(warning.detail.get("payments"), list)
        else [],
        "raised_at": warning.raised_at,
        "open": warning.closed_at is None,
        "closed_at": warning.closed_at,
        "closed_by": (warning.closed_by.get_full_name() or warning.closed_by.username)
        if warning.closed_by_id
        else None,
        "close_note": warning.close_note,
    }
