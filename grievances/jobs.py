"""The scheduled work of cases, run by `manage.py run_due_jobs` (registered in `GrievancesConfig`).

- provisional deadlines are recounted once their calendar year is loaded;
- one working day before a deadline, whoever must act is warned;
- a missed deadline marks the case overdue and tells the office, the supervisor and the
  department (through the state machine, so it is in the timeline).

Idempotent: a warning is flagged on the case (and deduplicated per recipient), an overdue mark
is a state change; rows are taken with `select_for_update(skip_locked=True)`, so two runners
at once each take different cases and nothing is done twice.
"""

from datetime import datetime

from django.db import connection, transaction

from common.errors import AppError
from grievances import deadlines, selectors, services, workflow
from grievances.models import DUE_STATES, Action, DueKind, Grievance
from notifications.services import notify

BATCH = 500


def _locked(qs):
    if connection.features.has_select_for_update_skip_locked:
        return qs.select_for_update(skip_locked=True)
    return qs.select_for_update()


def overdue_candidates(today):
    """Open cases whose pending deadline has passed and that are not marked yet (partial
    index `grievance_open_due`)."""
    return Grievance.objects.filter(
        next_due__isnull=False, overdue=False, next_due__lt=today, state__in=DUE_STATES
    ).order_by("next_due", "id")


def warning_candidates(today, last_day):
    return Grievance.objects.filter(
        next_due__isnull=False,
        overdue=False,
        warned=False,
        next_due__gte=today,
        next_due__lte=last_day,
        state__in=DUE_STATES,
    ).order_by("next_due", "id")


def mark_overdue(*, now: datetime) -> int:
    today = deadlines.local_date(now)
    marked = 0
    while True:
        done = 0
        with transaction.atomic():
            batch = list(_locked(overdue_candidates(today))[:BATCH])
            for case in batch:
                try:
                    workflow.transition(case, Action.MARK_OVERDUE, workflow.SYSTEM, "", now)
                except AppError:
                    continue  # changed meanwhile (replied just now): nothing to mark
                done += 1
        marked += done
        if len(batch) < BATCH or done == 0:
            return marked


def warn_due_soon(*, now: datetime) -> int:
    """Warn on the last working day before a deadline (or on its day, if that came first)."""
    today = deadlines.local_date(now)
    # The deadline is "one working day away" when no working day lies between today and it.
    next_workday = deadlines.due_after(today, 1).day
    warned = 0
    with transaction.atomic():
        cases = list(_locked(warning_candidates(today, next_workday))[:BATCH])
        # Cases of one region or department share their recipients: read them once each.
        offices: dict[str, list] = {}
        handlers: dict[int, list] = {}
        for case in cases:
            label = DueKind(case.next_due_kind).label
            if case.next_due_kind == DueKind.ACCEPT:
                if case.region_id not in offices:
                    offices[case.region_id] = list(
                        selectors.office_recipients(region_code=case.region_id)
                    )
                recipients = offices[case.region_id]
            else:
                if case.department_id not in handlers:
                    handlers[case.department_id] = list(
                        selectors.department_handlers(unit_id=case.department_id)
                    )
                recipients = handlers[case.department_id]
            notify(
                recipients=recipients,
                kind="grievance_due_soon",
                title=f"诉求 {case.display_code} 即将到期",
                body=f"{label}为{case.next_due:%Y-%m-%d}(当日24时止),请及时办理。",
                link=f"/grievances/staff/{case.pk}/",
                dedupe_key=f"grievance:{case.pk}:due_soon:{case.next_due_kind}:{case.next_due}",
                payload={"grievance_id": case.pk},
            )
            warned += 1
        if cases:
            Grievance.objects.filter(pk__in=[c.pk for c in cases]).update(warned=True)
    return warned


def run(*, now: datetime) -> dict:
    # Recount first: a loaded year can move a deadline, and the scans below must see the new one.
    recomputed = services.recompute_provisional_deadlines(now=now)
    overdue = mark_overdue(now=now)
    warned = warn_due_soon(now=now)
    return {"recomputed": recomputed, "overdue": overdue, "warned": warned}
