"""Visits over the API: the window, submissions, my households and villages, income, extensions.

Thin: each endpoint turns its schema into a service or selector call. Object endpoints answer
404 alike for "not yours" and "does not exist".
"""

import uuid

from django.db.models import DecimalField, Value
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Router, Status
from ninja.pagination import paginate

from accounts.scoping import in_area
from common.errors import NotFound, Unprocessable
from common.quarters import SHANGHAI, Quarter, last_opened_quarter, next_window
from mobile_api.auth import user_auth
from mobile_api.params import quarter_param
from mobile_api.schemas.common import AUTH_ERRORS, ErrorOut
from mobile_api.schemas.visits import (
    ExitCandidateOut,
    ExtensionIn,
    ExtensionOut,
    MyHouseholdOut,
    MyVillageOut,
    VillageVisitIn,
    VillageVisitOut,
    VisitDetailOut,
    VisitIn,
    VisitOut,
    WindowOut,
)
from payments import services as payment_services
from regions.models import Region, prefix_of_code
from register import selectors as register_selectors
from visits import selectors, services
from visits.windows import entry_decision

router = Router(tags=["走访"], auth=user_auth)
WRITE_ERRORS = {**AUTH_ERRORS, 409: ErrorOut}


def _position(p) -> services.Position:
    return services.Position(
        lat=p.lat, lon=p.lon, coord_system=p.coord_system, accuracy_m=p.accuracy_m
    )


# --- The window -----------------------------------------------------------------------------


@router.get("/visits/window", response={200: WindowOut, **AUTH_ERRORS})
def visit_window(request: HttpRequest):
    """The window open now, or the next one, and whether this user may enter visits now
    (an office's extension counts)."""
    now = timezone.now()
    decision = entry_decision(request.user, now=now)
    window = decision.window
    return {
        "quarter": str(window.quarter),
        "label": window.label,
        "opens_at": window.opens_at,
        "closes_at": window.closes_at,
        "open_now": window.contains(now),
        "allowed": decision.allowed,
        "reason": decision.reason,
        "extension": decision.extension,
    }


@router.post("/visits/window-extensions", response={201: ExtensionOut, **AUTH_ERRORS})
def extension_create(request: HttpRequest, payload: ExtensionIn):
    """An office extends a quarter's entry for one helper, unit or area of its own area."""
    user = request.user
    helper = unit = area = None
    if payload.helper_id is not None:
        helper = get_object_or_404(register_selectors.helper_list(user=user), pk=payload.helper_id)
    if payload.unit_id is not None:
        unit = get_object_or_404(register_selectors.unit_list(user=user), pk=payload.unit_id)
    if payload.area is not None:
        # Outside my area reads the same as unknown.
        area = in_area(Region.objects.all(), user).filter(pk=payload.area).first()
        if area is None:
            raise NotFound("区域不存在")
    extension = services.extension_grant(
        user=user,
        quarter=quarter_param(payload.quarter),
        until=payload.until,
        reason=payload.reason,
        helper=helper,
        unit=unit,
        area=area,
    )
    return Status(201, extension)


@router.get("/visits/window-extensions", response={200: list[ExtensionOut], **AUTH_ERRORS})
@paginate
def extension_list(request: HttpRequest):
    return selectors.extension_list(user=request.user)


# --- Household visits ---------------------------------------------------------------------------


@router.post("/visits", response={200: VisitDetailOut, 201: VisitDetailOut, **WRITE_ERRORS})
def visit_submit(request: HttpRequest, payload: VisitIn):
    """Submit a visit (retry-safe: the same id and content again → 200 with the same visit;
    the same id with other content → 409). Refusals carry a stable `code` and a reason to show.
    Flags never refuse a visit: the answer lists those found on the visit's own photos and
    position; the comparisons with other visits add theirs within seconds
    (`GET /visits/{id}`). The passbook checks sent with it (`payment_checks`) are recorded in
    the same transaction; `passbook_checked` then says whether every payment due was checked
    (`GET /visits/{id}/payment-checks` shows them and the cases they opened)."""
    data = services.VisitInput(
        id=payload.id,
        household_id=payload.household_id,
        visited_at=payload.visited_at,
        position=_position(payload.position),
        photo_ids=tuple(payload.photo_ids),
        income=services.Income(**payload.income.dict()),
        passbook_checked=payload.passbook_checked,
        notes=payload.notes,
    )
    checks = [payment_services.CheckInput(**c.dict()) for c in payload.payment_checks]
    visit, created, _ = payment_services.visit_submit_with_checks(
        user=request.user, data=data, checks=checks
    )
    visit = selectors.visit_detail_qs(user=request.user).get(pk=visit.pk)
    return Status(201 if created else 200, visit)


@router.get("/visits", response={200: list[VisitOut], **AUTH_ERRORS})
@paginate
def visit_list(
    request: HttpRequest,
    quarter: str | None = None,
    village: str | None = None,
    flagged: bool | None = None,
    household_id: int | None = None,
):
    """Visits in my area (staff) or my own (helper), newest first."""
    qs = selectors.visit_list(user=request.user)
    if quarter:
        q = quarter_param(quarter, default=Quarter(2000, 1))
        qs = qs.filter(year=q.year, quarter=q.q)
    if village:
        if not (len(village) == 12 and village.isdigit()):
            raise Unprocessable("区划代码应为12位数字", code="bad_region")
        # A town or county code selects every village under it.
        qs = qs.filter(village__code__startswith=prefix_of_code(village))
    if household_id is not None:
        qs = qs.filter(household_id=household_id)
    if flagged is True:
        qs = qs.filter(flag_count__gt=0)
    elif flagged is False:
        qs = qs.filter(flag_count=0)
    return qs


@router.get("/visits/{uuid:visit_id}", response={200: VisitDetailOut, **AUTH_ERRORS})
def visit_detail(request: HttpRequest, visit_id: uuid.UUID):
    return get_object_or_404(selectors.visit_detail_qs(user=request.user), pk=visit_id)


@router.get("/me/households", response={200: list[MyHouseholdOut], **AUTH_ERRORS})
@paginate
def my_households(request: HttpRequest, quarter: str | None = None):
    """My paired households with this quarter's status (the quarter of the current or next
    window unless one is named)."""
    now = timezone.now()
    q = quarter_param(quarter, default=next_window(now).quarter)
    qs = selectors.my_households(
        user=request.user, quarter=q, day=timezone.localtime(now, SHANGHAI).date()
    )
    return qs.annotate(quarter_label=Value(str(q)))


@router.get("/me/visits", response={200: list[VisitDetailOut], **AUTH_ERRORS})
@paginate
def my_visits(request: HttpRequest, quarter: str | None = None):
    """My own visits of a quarter (the current or next window's unless one is named), newest
    first, each with its photos and the flags raised so far: what the phone app lists, so a
    helper sees for example that a photo had no position. Empty for anyone but a helper."""
    q = quarter_param(quarter, default=next_window(timezone.now()).quarter)
    return selectors.my_visits(user=request.user, quarter=q)


# --- Weak-village visits ------------------------------------------------------------------------


@router.post(
    "/village-visits", response={200: VillageVisitOut, 201: VillageVisitOut, **WRITE_ERRORS}
)
def village_visit_submit(request: HttpRequest, payload: VillageVisitIn):
    """A pairing unit's visit to its weak village, with the village's collective income."""
    data = services.VillageVisitInput(
        id=payload.id,
        village=payload.village,
        visited_at=payload.visited_at,
        position=_position(payload.position),
        photo_ids=tuple(payload.photo_ids),
        collective_income=payload.collective_income,
        notes=payload.notes,
    )
    visit, created = services.village_visit_submit(user=request.user, data=data)
    return Status(201 if created else 200, visit)


@router.get("/village-visits/{uuid:visit_id}", response={200: VillageVisitOut, **AUTH_ERRORS})
def village_visit_detail(request: HttpRequest, visit_id: uuid.UUID):
    return get_object_or_404(selectors.village_visit_list(user=request.user), pk=visit_id)


@router.get("/me/villages", response={200: list[MyVillageOut], **AUTH_ERRORS})
@paginate
def my_villages(request: HttpRequest, quarter: str | None = None):
    now = timezone.now()
    q = quarter_param(quarter, default=next_window(now).quarter)
    qs = selectors.my_villages(
        user=request.user, quarter=q, day=timezone.localtime(now, SHANGHAI).date()
    )
    return qs.annotate(quarter_label=Value(str(q)))


@router.get("/me/village-visits", response={200: list[VillageVisitOut], **AUTH_ERRORS})
@paginate
def my_village_visits(request: HttpRequest, quarter: str | None = None):
    """A pairing unit's own visits of a quarter (default as `/me/visits`), newest first."""
    q = quarter_param(quarter, default=next_window(timezone.now()).quarter)
    return selectors.my_village_visits(user=request.user, quarter=q)


# --- Income -------------------------------------------------------------------------------------


@router.get("/exit-candidates", response={200: list[ExitCandidateOut], **AUTH_ERRORS})
@paginate
def exit_candidates(request: HttpRequest, quarter: str | None = None):
    """Households of my area whose income per person over the four quarters ending at
    `quarter` (default: the latest whose window has opened) reached the year's line."""
    q = quarter_param(quarter, default=last_opened_quarter(timezone.now()))
    qs, threshold = selectors.exit_candidates(user=request.user, quarter=q)
    return qs.annotate(
        quarter_label=Value(str(q)),
        threshold_yuan=Value(threshold, output_field=DecimalField(max_digits=10, decimal_places=2)),
    )
