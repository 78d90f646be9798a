"""Supervision (纪委监委): the risk list, spot-check draws, outcomes, a visit's spot checks.

Thin: each endpoint calls one selector or service of `supervision.services`. Object endpoints
answer 404 alike for "not yours" and "does not exist".
"""

import uuid

from django.http import HttpRequest
from ninja import Router, Status
from ninja.pagination import paginate

from mobile_api.auth import user_auth
from mobile_api.params import quarter_param
from mobile_api.schemas.common import AUTH_ERRORS, ErrorOut
from mobile_api.schemas.supervision import (
    CheckIn,
    CheckOut,
    DrawDetailOut,
    DrawIn,
    DrawOut,
    RiskVisitOut,
    VerifyOut,
)
from supervision import services as supervision

router = Router(tags=["督查抽查"], auth=user_auth)
WRITE_ERRORS = {**AUTH_ERRORS, 409: ErrorOut}


@router.get("/supervision/risks", response={200: list[RiskVisitOut], **AUTH_ERRORS})
@paginate
def risk_list(request: HttpRequest, quarter: str | None = None, region: str | None = None):
    """Flagged visits of my area in a quarter (default: the latest opened), most suspicious
    first (summed flag severity, then flag count), each with its flags and their numbers."""
    user = request.user
    area = supervision.area_region(user, region) if region else None
    return supervision.risk_list(user=user, quarter=quarter_param(quarter), region=area)


@router.post("/supervision/draws", response={201: DrawDetailOut, **WRITE_ERRORS})
def draw_create(request: HttpRequest, payload: DrawIn):
    """Draw a spot-check sample of the last quarter's visits of my area (days 20-30 of a
    quarter's first month), flagged visits weighted up; the seed is recorded."""
    draw = supervision.spot_check_draw(
        user=request.user, size=payload.size, region_code=payload.region
    )
    return Status(201, supervision.draw_detail(user=request.user, draw_id=draw.pk))


@router.get("/supervision/draws", response={200: list[DrawOut], **AUTH_ERRORS})
@paginate
def draw_list(request: HttpRequest):
    return supervision.draw_list(user=request.user)


@router.get("/supervision/draws/{int:draw_id}", response={200: DrawDetailOut, **AUTH_ERRORS})
def draw_detail(request: HttpRequest, draw_id: int):
    return supervision.draw_detail(user=request.user, draw_id=draw_id)


@router.get("/supervision/draws/{int:draw_id}/verify", response={200: VerifyOut, **AUTH_ERRORS})
def draw_verify(request: HttpRequest, draw_id: int):
    """Draw again with the recorded seed over today's data: is it the same sample?"""
    draw = supervision.draw_detail(user=request.user, draw_id=draw_id)
    return supervision.spot_check_verify(draw=draw)


@router.get("/supervision/checks", response={200: list[CheckOut], **AUTH_ERRORS})
@paginate
def check_list(request: HttpRequest, outcome: str | None = None):
    """Spot checks of my area (offices: recorded outcomes only)."""
    qs = supervision.check_list(user=request.user)
    return qs.filter(outcome=outcome) if outcome else qs


@router.post(
    "/supervision/checks/{int:check_id}", response={200: CheckOut, 201: CheckOut, **WRITE_ERRORS}
)
def check_record(request: HttpRequest, check_id: int, payload: CheckIn):
    """Record a check's outcome with notes and photos (kind `spot_check`). 201 when recorded;
    200 when the same record is sent again; 409 when it was recorded differently."""
    check, created = supervision.spot_check_record(
        user=request.user,
        check_id=check_id,
        outcome=payload.outcome,
        notes=payload.notes,
        photo_ids=payload.photo_ids,
    )
    return Status(
        201 if created else 200, supervision.check_list(user=request.user).get(pk=check.pk)
    )


@router.get("/visits/{uuid:visit_id}/spot-checks", response={200: list[CheckOut], **AUTH_ERRORS})
def visit_spot_checks(request: HttpRequest, visit_id: uuid.UUID):
    """A visit's spot checks and their outcomes (offices see recorded outcomes only)."""
    return list(supervision.visit_checks(user=request.user, visit_id=visit_id))
