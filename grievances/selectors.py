"""Reads of cases, always through one visibility rule (`grievance_list`).

Offices and supervisors see the cases of their area (`in_area`); a department handler sees only
the cases assigned to its unit now. Everybody else sees nothing. Lists never carry the
complainant's identity: that is read one case at a time through
`services.complainant_identity_for`, which audits it.
"""

from datetime import date, datetime, time

from django.db.models import Avg, Count, F, Q, QuerySet
from django.utils import timezone

from accounts.models import User
from accounts.roles import OFFICE_ROLES, Role, reads_area_grievances
from accounts.scoping import in_area
from common.errors import NotFound
from common.quarters import Quarter
from grievances.models import DUE_STATES, Grievance, GrievanceAssignment, GrievanceEvent, State
from regions.models import PREFIX_DIGITS, Level, prefix_of_code
from register.models import Unit


def area_codes(code: str) -> list[str]:
    """The region's code and its ancestors' codes, widest first."""
    out: list[str] = []
    for level in (Level.PROVINCE, Level.CITY, Level.COUNTY, Level.TOWN, Level.VILLAGE):
        candidate = code[: PREFIX_DIGITS[level]].ljust(12, "0")
        if candidate not in out and code.startswith(prefix_of_code(candidate)):
            out.append(candidate)
        if candidate == code:
            break
    return out


def grievance_list(*, user: User) -> QuerySet[Grievance]:
    """Every case the user may see, with the joins a list needs."""
    qs = Grievance.objects.select_related("region", "department")
    if not user.is_authenticated or not user.is_active:
        return qs.none()
    if reads_area_grievances(user):
        return in_area(qs, user)
    if user.role == Role.DEPARTMENT and user.unit_id is not None:
        return qs.filter(department_id=user.unit_id)
    return qs.none()


def grievance_get(*, user: User, pk: int) -> Grievance:
    """One visible case; "not yours" and "does not exist" are the same 404."""
    case = grievance_list(user=user).filter(pk=pk).first()
    if case is None:
        raise NotFound("诉求不存在")
    return case


DEPARTMENT_OPEN = (State.ASSIGNED, State.REPLIED, State.RESOLVED)


def queue(*, user: User, state: str = "", overdue: bool = False) -> QuerySet[Grievance]:
    """The working queue: open cases first by deadline (index: department, state, next_due)."""
    qs = grievance_list(user=user)
    if state:
        qs = qs.filter(state=state)
    if overdue:
        qs = qs.filter(next_due__lt=timezone.localdate(), state__in=DUE_STATES)
    if user.role == Role.DEPARTMENT:
        if not state and not overdue:
            # The working queue is what still needs the department: one short index range per
            # state on (department, state, next_due). Finished cases are a state filter away.
            qs = qs.filter(state__in=DEPARTMENT_OPEN)
        return qs.order_by(F("next_due").asc(nulls_last=True), "id")
    return qs.order_by("-submitted_at", "-id")


def timeline(*, grievance: Grievance, public_only: bool = False) -> QuerySet[GrievanceEvent]:
    qs = grievance.events.select_related("actor").order_by("at", "id")
    return qs.filter(public=True) if public_only else qs


def assignable_departments(*, grievance: Grievance) -> QuerySet[Unit]:
    """Units that handle cases and serve the case's region (their region is it or above)."""
    return Unit.objects.filter(
        handles_grievances=True, region_id__in=area_codes(grievance.region_id)
    ).order_by("region_id", "name")


def office_recipients(*, region_code: str) -> QuerySet[User]:
    return User.objects.filter(
        is_active=True, role__in=list(OFFICE_ROLES), region_id__in=area_codes(region_code)
    )


def supervisor_recipients(*, region_code: str) -> QuerySet[User]:
    return User.objects.filter(
        is_active=True, role=Role.SUPERVISOR, region_id__in=area_codes(region_code)
    )


def department_handlers(*, unit_id: int | None) -> QuerySet[User]:
    if unit_id is None:
        return User.objects.none()
    return User.objects.filter(is_active=True, role=Role.DEPARTMENT, unit_id=unit_id)


# --- Statistics -------------------------------------------------------------------------------


def _aware(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def department_stats(*, user: User, quarter: Quarter, today: date | None = None) -> list[dict]:
    """Per department, the assignments received in the quarter: how many, how many replied and
    resolved on time, overdue now, returned, average working days to reply and to resolve.

    One grouped query. A department handler sees its own row only.
    """
    today = today or timezone.localdate()
    qs = GrievanceAssignment.objects.filter(
        received_at__gte=_aware(quarter.first_day), received_at__lt=_aware(quarter.end_day)
    )
    if reads_area_grievances(user):
        qs = in_area(qs, user)
    elif user.role == Role.DEPARTMENT and user.unit_id is not None:
        qs = qs.filter(department_id=user.unit_id)
    else:
        return []
    pending_reply = Q(replied_at__isnull=True, returned_at__isnull=True, reply_due__lt=today)
    pending_result = Q(resolved_at__isnull=True, returned_at__isnull=True, result_due__lt=today)
    rows = (
        qs.values("department_id", "department__name")
        .annotate(
            received=Count("id"),
            replied_on_time=Count(
                "id", filter=Q(replied_at__isnull=False, replied_at__date__lte=F("reply_due"))
            ),
            resolved_on_time=Count(
                "id", filter=Q(resolved_at__isnull=False, resolved_at__date__lte=F("result_due"))
            ),
            overdue_now=Count(
                "id",
                filter=Q(current=True)
                & Q(grievance__state__in=DUE_STATES)
                & (pending_reply | pending_result),
            ),
            returned=Count("id", filter=Q(returned_at__isnull=False)),
            avg_reply_workdays=Avg("reply_workdays"),
            avg_resolve_workdays=Avg("resolve_workdays"),
        )
        .order_by("department__name", "department_id")
    )
    out = []
    for row in rows:
        row["department_name"] = row.pop("department__name")
        for key in ("avg_reply_workdays", "avg_resolve_workdays"):
            row[key] = round(float(row[key]), 1) if row[key] is not None else None
        out.append(row)
    return out


def state_counts(*, user: User) -> dict[str, int]:
    rows = grievance_list(user=user).order_by().values("state").annotate(n=Count("id"))
    counts = {s.value: 0 for s in State}
    counts.update({r["state"]: r["n"] for r in rows})
    return counts
