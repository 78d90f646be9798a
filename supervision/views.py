"""Supervisors' web pages: the risk list, spot-check draws and recording each check's outcome.

Mounted under /coverage/ (namespace `coverage`) by `visits/urls.py`. Supervisors and admins
draw and record; the risk list is also open to offices (it reads like their flagged list). The
work is done by `supervision.services`, the same functions the API calls.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts.roles import reads_coverage, supervises
from common.errors import AppError, NotFound
from common.quarters import Quarter, default_quarter, quarter_for_page
from media.models import PhotoKind
from media.selectors import photo_url
from media.services import photo_receive
from supervision import services as supervision
from visits.models import SpotCheckOutcome

PAGE_SIZE = 30
MAX_PHOTOS = 10


def _role_page(allowed: Callable) -> Callable:
    def decorator(view: Callable) -> Callable:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs):
            if not allowed(request.user):
                raise PermissionDenied("您的角色无权查看此页面")
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


supervisor_page = _role_page(supervises)
reader_page = _role_page(reads_coverage)


def _quarter(request: HttpRequest) -> Quarter:
    return quarter_for_page(request.GET.get("quarter"))


def _page(request: HttpRequest, qs):
    return Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))


# --- Risk list -----------------------------------------------------------------------------


@reader_page
def risks(request: HttpRequest) -> HttpResponse:
    """Flagged visits of the area, most suspicious first."""
    q = _quarter(request)
    code = request.GET.get("region") or None
    region = None
    if code or request.user.region_id:
        try:
            region = supervision.area_region(request.user, code)
        except NotFound as exc:
            raise Http404(exc.message) from exc
    page = _page(request, supervision.risk_list(user=request.user, quarter=q, region=region))
    for visit in page.object_list:
        visit.flag_rows = [
            (flag.get_kind_display(), supervision.SEVERITY.get(flag.kind, 1), flag.detail)
            for flag in visit.flags.all()
        ]
    latest = default_quarter()
    return render(
        request,
        "supervision/risks.html",
        {
            "quarter": q,
            "quarters": [latest.shift(-i) for i in range(8)],
            "region": region,
            "page": page,
            "outcomes": dict(SpotCheckOutcome.choices),
        },
    )


# --- Draws ---------------------------------------------------------------------------------


def _draw_window() -> tuple[bool, str]:
    try:
        quarter = supervision.draw_day_check(timezone.now())
    except AppError as exc:
        return False, exc.message
    return True, f"今天可以抽取{quarter.label}的走访"


@supervisor_page
@require_http_methods(["GET", "POST"])
def spot_checks(request: HttpRequest) -> HttpResponse:
    """The supervisor's draws, and the form that draws a new sample."""
    if request.method == "POST":
        try:
            size = int(request.POST.get("size", ""))
        except ValueError:
            messages.error(request, "抽取数量须为整数")
        else:
            try:
                draw = supervision.spot_check_draw(
                    user=request.user, size=size, region_code=request.POST.get("region") or None
                )
            except AppError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, f"已抽取{draw.sample_size}次走访,随机种子{draw.seed}")
                return redirect("supervision:spot_check_draw", draw_id=draw.pk)
        return redirect("supervision:spot_checks")
    open_now, note = _draw_window()
    return render(
        request,
        "supervision/draws.html",
        {
            "page": _page(request, supervision.draw_list(user=request.user)),
            "open_now": open_now,
            "window_note": note,
            "k": supervision.flag_weight(),
            "region": request.user.region,
        },
    )


@supervisor_page
def spot_check_draw(request: HttpRequest, draw_id: int) -> HttpResponse:
    """One draw: how it was drawn, and each drawn visit with its outcome or the form for it."""
    try:
        draw = supervision.draw_detail(user=request.user, draw_id=draw_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    checks = list(draw.checks.all())
    for check in checks:
        check.thumbs = [photo_url(p.photo_id, "thumbnail") for p in check.photos.all()]
    verification = supervision.spot_check_verify(draw=draw) if "verify" in request.GET else None
    return render(
        request,
        "supervision/draw.html",
        {
            "draw": draw,
            "checks": checks,
            "verification": verification,
            "outcome_choices": [
                (SpotCheckOutcome.CONFIRMED, SpotCheckOutcome.CONFIRMED.label),
                (SpotCheckOutcome.PROBLEM_FOUND, SpotCheckOutcome.PROBLEM_FOUND.label),
            ],
        },
    )


@supervisor_page
@require_POST
def spot_check_record(request: HttpRequest, check_id: int) -> HttpResponse:
    """Record one check's outcome from the draw page (photos uploaded with the form)."""
    check = supervision.check_list(user=request.user).filter(pk=check_id).first()
    if check is None:
        raise Http404("抽查记录不存在")
    back = reverse("supervision:spot_check_draw", kwargs={"draw_id": check.draw_id})
    files = request.FILES.getlist("photos")
    if len(files) > MAX_PHOTOS:
        messages.error(request, f"每次核查最多上传{MAX_PHOTOS}张照片")
        return redirect(f"{back}#check-{check.pk}")
    try:
        # One transaction: a refused record keeps none of the photos sent with it (their
        # stored files go with `cleanup_orphans`, their processing is never queued).
        with transaction.atomic():
            photo_ids = [
                photo_receive(
                    photo_id=uuid.uuid4(),
                    file=upload,
                    kind=PhotoKind.SPOT_CHECK,
                    user=request.user,
                ).photo.pk
                for upload in files
            ]
            supervision.spot_check_record(
                user=request.user,
                check_id=check.pk,
                outcome=request.POST.get("outcome", ""),
                notes=request.POST.get("notes", ""),
                photo_ids=photo_ids,
            )
    except AppError as exc:
        messages.error(request, f"第{check.rank}条:{exc.message}")
    else:
        messages.success(request, f"第{check.rank}条核查结果已记录")
    return redirect(f"{back}#check-{check.pk}")
