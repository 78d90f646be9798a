"""What each reader gets to see of a case, shared by the API and the web pages.

Identity appears only in `detail()`'s `complainant`, and only through
`services.complainant_identity_for` (which decides and audits). The resident's view (`track`)
shows the public timeline and results, nothing internal.
"""

from datetime import datetime

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from grievances import selectors, services, workflow
from grievances.models import Action, Grievance, State
from media.selectors import photo_url


def row(case: Grievance) -> dict:
    return {
        "id": case.pk,
        "code": case.display_code,
        "kind": case.kind,
        "kind_label": case.get_kind_display(),
        "category": case.category,
        "category_label": case.get_category_display(),
        "state": case.state,
        "state_label": case.get_state_display(),
        "region": case.region_id,
        "region_name": case.region.name,
        "department_id": case.department_id,
        "department_name": case.department.name if case.department_id else None,
        "submitted_at": case.submitted_at,
        "next_due": case.next_due,
        "next_due_kind": case.next_due_kind,
        "due_provisional": case.due_provisional,
        "overdue": case.overdue,
        "pressed_count": case.pressed_count,
    }


def detail(case: Grievance, *, user, request: HttpRequest | None = None) -> dict:
    events = list(selectors.timeline(grievance=case))
    assignments = list(case.assignments.select_related("department").order_by("received_at", "id"))
    photos = list(case.photos.order_by("id").values_list("photo_id", "evidence"))
    return {
        **row(case),
        "text": case.text,
        "anonymous": case.anonymous,
        "identity_protected": case.identity_protected,
        "complainant": services.complainant_identity_for(
            user=user, grievance=case, request=request
        ),
        "household_id": case.household_id,
        "helper_id": case.helper_id,
        "proposed_department_id": case.proposed_department_id,
        "proposed_department_name": (
            case.proposed_department.name if case.proposed_department_id else None
        ),
        "village": case.village_id,
        "accept_due": case.accept_due,
        "accepted_at": case.accepted_at,
        "reject_reason": case.reject_reason,
        "assigned_at": case.assigned_at,
        "reply_due": case.reply_due,
        "result_due": case.result_due,
        "reply": case.reply_text,
        "replied_at": case.replied_at,
        "result": case.result_text,
        "resolved_at": case.resolved_at,
        "closed_at": case.closed_at,
        "returned_count": case.returned_count,
        "reopened_count": case.reopened_count,
        "rating": case.rating,
        "rating_comment": case.rating_comment,
        "photo_ids": [photo_id for photo_id, _ in photos],
        # For the case page: each photo's thumbnail and full view, through the area-checked
        # file endpoint; evidence photos are a visit's (the passbook page of a payment case).
        "photos": [
            {
                "thumbnail": photo_url(photo_id, "thumbnail"),
                "display": photo_url(photo_id),
                "evidence": evidence,
            }
            for photo_id, evidence in photos
        ],
        "allowed_actions": [a.value for a in workflow.allowed_actions(case, user)],
        "assignments": [
            {
                "department_id": a.department_id,
                "department_name": a.department.name,
                "received_at": a.received_at,
                "reply_due": a.reply_due,
                "reply_due_provisional": a.reply_due_provisional,
                "result_due": a.result_due,
                "result_due_provisional": a.result_due_provisional,
                "replied_at": a.replied_at,
                "resolved_at": a.resolved_at,
                "returned_at": a.returned_at,
                "current": a.current,
            }
            for a in assignments
        ],
        "timeline": [
            {
                "id": e.pk,
                "at": e.at,
                "actor": (e.actor.get_full_name() or e.actor.username) if e.actor else None,
                "actor_role": e.actor_role,
                "action": e.action,
                "action_label": Action(e.action).label,
                "from_state": e.from_state,
                "to_state": e.to_state,
                "note": e.note,
                "public": e.public,
                "data": e.data,
            }
            for e in events
        ],
    }


def _public_note(action: str, note: str) -> str:
    # The resident reads the office's reasons and the department's reply and result, and their
    # own words; internal notes (returns, presses) are not public events at all.
    return note if action in (Action.REJECT, Action.REPLY, Action.RESOLVE, Action.REOPEN) else ""


def track(case: Grievance, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    events = selectors.timeline(grievance=case, public_only=True)
    may_reopen = (
        case.state == State.CLOSED
        and case.reopened_count == 0
        and case.closed_at is not None
        and (now - case.closed_at).days < settings.GRIEVANCE_REOPEN_DAYS
    )
    return {
        "code": case.display_code,
        "kind": case.get_kind_display(),
        "category": case.get_category_display(),
        "state": case.state,
        "state_label": case.get_state_display(),
        "submitted_at": case.submitted_at,
        "accept_due": case.accept_due,
        "reply_due": case.reply_due,
        "reply_due_provisional": case.reply_due_provisional,
        "result_due": case.result_due,
        "result_due_provisional": case.result_due_provisional,
        "reply": case.reply_text,
        "replied_at": case.replied_at,
        "result": case.result_text,
        "resolved_at": case.resolved_at,
        "closed_at": case.closed_at,
        "rating": case.rating,
        "may_rate": case.state == State.CLOSED and case.rating is None,
        "may_reopen": may_reopen,
        "timeline": [
            {
                "at": e.at,
                "action": e.action,
                "action_label": Action(e.action).label,
                "state": e.to_state,
                "note": _public_note(e.action, e.note),
            }
            for e in events
        ],
    }
