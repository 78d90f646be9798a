"""Complaints and requests for help over the API.

Public (no login, rate-limited per address): file a case, follow it with code and key, rate it,
ask to reopen it. Staff (token or session): queue, case, actions through the one state machine,
departments to assign to, statistics and exports.
"""

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Query, Router, Status
from ninja.pagination import paginate

from accounts.models import AuditAction
from accounts.services import audit_record
from common.errors import Unprocessable
from common.quarters import Quarter
from grievances import exports, present, ratelimit, selectors, services
from mobile_api.auth import user_auth
from mobile_api.pagination import Mapped
from mobile_api.schemas.common import AUTH_ERRORS, ErrorOut
from mobile_api.schemas.grievances import (
    ActionIn,
    DepartmentOut,
    FiledOut,
    GrievanceDetailOut,
    GrievanceIn,
    GrievanceRowOut,
    RateIn,
    ReopenIn,
    StatsOut,
    TrackIn,
    TrackOut,
)

router = Router(tags=["诉求"])
PUBLIC_ERRORS = {404: ErrorOut, 409: ErrorOut, 422: ErrorOut, 429: ErrorOut}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.post("/grievances", response={201: FiledOut, 422: ErrorOut, 429: ErrorOut}, auth=None)
def grievance_file(request: HttpRequest, payload: GrievanceIn):
    """File a complaint or a request for help, named or anonymous. The answer's key is shown
    once: keep it with the code to follow the case."""
    ratelimit.hit(request, ratelimit.SUBMIT)
    filed = services.grievance_submit(
        kind=payload.kind,
        category=payload.category,
        region_code=payload.region,
        text=payload.text,
        anonymous=payload.anonymous,
        name=payload.name,
        phone=payload.phone,
        household_id=payload.household_id,
        helper_id=payload.helper_id,
        village_code=payload.village,
        photo_ids=payload.photo_ids,
    )
    return Status(
        201,
        {"code": filed.code, "key": filed.key_display, "accept_due": filed.grievance.accept_due},
    )


def _track(request: HttpRequest, code: str, key: str) -> dict:
    ratelimit.hit(request, ratelimit.TRACK)
    return present.track(services.grievance_track(code=code, key=key))


@router.get("/grievances/track", response={200: TrackOut, **PUBLIC_ERRORS}, auth=None)
def grievance_track(request: HttpRequest, query: Query[TrackIn]):
    """Progress, public timeline, due dates, reply and result. A wrong key and an unknown code
    get the same 404."""
    return _track(request, query.code, query.key)


@router.post("/grievances/track", response={200: TrackOut, **PUBLIC_ERRORS}, auth=None)
def grievance_track_post(request: HttpRequest, payload: TrackIn):
    """The same as GET, with code and key in the body (kept out of URLs and logs)."""
    return _track(request, payload.code, payload.key)


@router.post("/grievances/track/rate", response={200: TrackOut, **PUBLIC_ERRORS}, auth=None)
def grievance_rate(request: HttpRequest, payload: RateIn):
    ratelimit.hit(request, ratelimit.TRACK)
    case = services.resident_act(
        code=payload.code,
        key=payload.key,
        action="rate",
        note=payload.comment,
        rating=payload.rating,
    )
    return present.track(case)


@router.post("/grievances/track/reopen", response={200: TrackOut, **PUBLIC_ERRORS}, auth=None)
def grievance_reopen(request: HttpRequest, payload: ReopenIn):
    """Ask, once and within the set days of closing, for the case to be handled again."""
    ratelimit.hit(request, ratelimit.TRACK)
    case = services.resident_act(
        code=payload.code, key=payload.key, action="reopen", note=payload.reason
    )
    return present.track(case)


# --- Staff ------------------------------------------------------------------------------------


@router.get("/grievances/cases", response=list[GrievanceRowOut], auth=user_auth)
@paginate
def case_list(request: HttpRequest, state: str = "", overdue: bool = False):
    """Cases I may see (office, supervisor: my area; department: assigned to us), newest first
    (a department's: by deadline). Never the complainant's identity."""
    cases = selectors.queue(user=request.user, state=state, overdue=overdue)
    return Mapped(cases, present.row)


@router.get(
    "/grievances/cases/{case_id}", response={200: GrievanceDetailOut, **AUTH_ERRORS}, auth=user_auth
)
def case_detail(request: HttpRequest, case_id: int):
    """One case with its timeline and deadlines. The complainant appears only for those who may
    see it (protected cases: the area's office only), and every such view is audited."""
    case = selectors.grievance_get(user=request.user, pk=case_id)
    return present.detail(case, user=request.user, request=request)


@router.post(
    "/grievances/cases/{case_id}/actions",
    response={200: GrievanceDetailOut, 409: ErrorOut, **AUTH_ERRORS},
    auth=user_auth,
)
def case_action(request: HttpRequest, case_id: int, payload: ActionIn):
    """Move the case on: the state machine decides who may do what in which state (409 when the
    case has moved on meanwhile)."""
    case = selectors.grievance_get(user=request.user, pk=case_id)
    case = services.grievance_act(
        grievance=case,
        user=request.user,
        action=payload.action,
        note=payload.note,
        department_id=payload.department_id,
        category=payload.category,
        kind=payload.kind,
    )
    return present.detail(case, user=request.user, request=request)


@router.get(
    "/grievances/cases/{case_id}/departments",
    response={200: list[DepartmentOut], **AUTH_ERRORS},
    auth=user_auth,
)
def case_departments(request: HttpRequest, case_id: int):
    """Departments this case may be assigned to."""
    case = selectors.grievance_get(user=request.user, pk=case_id)
    return [
        {"id": u.pk, "name": u.name, "region": u.region_id}
        for u in selectors.assignable_departments(grievance=case)
    ]


def _quarter(year: int | None, quarter: int | None) -> Quarter:
    current = Quarter.of_date(timezone.localdate())
    try:
        return Quarter.from_parts(year or current.year, quarter or current.q)
    except ValueError as exc:
        raise Unprocessable("年份或季度无效", code="quarter_invalid") from exc


@router.get("/grievances/stats", response={200: StatsOut, **AUTH_ERRORS}, auth=user_auth)
def stats(request: HttpRequest, year: int | None = None, quarter: int | None = None):
    """Per department, the cases received in the quarter: on-time replies and results, overdue
    now, returned, average working days."""
    q = _quarter(year, quarter)
    return {
        "year": q.year,
        "quarter": q.q,
        "rows": selectors.department_stats(user=request.user, quarter=q),
    }


@router.get("/grievances/stats.xlsx", auth=user_auth, response={200: None, **AUTH_ERRORS})
def stats_export(request: HttpRequest, year: int | None = None, quarter: int | None = None):
    q = _quarter(year, quarter)
    rows = selectors.department_stats(user=request.user, quarter=q)
    return _xlsx(request, exports.stats_xlsx(rows, q), f"grievance-stats-{q}")


@router.get("/grievances/cases.xlsx", auth=user_auth, response={200: None, **AUTH_ERRORS})
def cases_export(request: HttpRequest, state: str = ""):
    """My queue as a spreadsheet (at most 10,000 rows); no complainant identity in it."""
    cases = selectors.queue(user=request.user, state=state)[:10_000]
    return _xlsx(request, exports.queue_xlsx(cases.iterator(chunk_size=1000)), "grievances")


def _xlsx(request: HttpRequest, content: bytes, name: str) -> HttpResponse:
    audit_record(
        actor=request.user,
        action=AuditAction.EXPORT,
        target_type="grievance_export",
        target_id=name,
        region_code=request.user.region_id or "",
        request=request,
    )
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = (
        f'attachment; filename="{name}-{timezone.localdate():%Y%m%d}.xlsx"'
    )
    return response
