"""Web pages of subsidy payments.

Public (no login): a village's disclosure (公示) of each item's recipients for a period, with
masked names and no ID or account numbers, and a way from there to file a complaint.
Offices and supervisors (their area): the overview by town and village with its XLSX export,
the warnings. Offices: loading a payment list, closing a warning.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import AuditAction
from accounts.roles import manages_payments, reads_payments
from accounts.scoping import code_in_area
from accounts.services import audit_record
from common.errors import AppError, NotFound
from grievances.models import Category, Kind
from payments import exports, present, selectors, services
from payments.loader import HEADERS, payments_load
from payments.models import WarningKind
from payments.privacy import mask_name
from regions.models import Level, Region
from regions.selectors import region_path

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def payments_reader(view: Callable) -> Callable:
    """Logged in, and a role that reads payments (403 otherwise)."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if not reads_payments(request.user):
            raise PermissionDenied("您的角色无权查看此页面")
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.message) from exc

    return wrapper


def _year(request: HttpRequest) -> int:
    today = timezone.localdate()
    try:
        year = int(request.GET.get("year") or today.year)
    except ValueError:
        return today.year
    return year if 2000 <= year <= today.year + 1 else today.year


def _overview_context(request: HttpRequest) -> dict:
    region = selectors.payments_region(request.user, request.GET.get("region"))
    year = _year(request)
    overview = selectors.overview(user=request.user, region=region, year=year)
    return {
        "overview": overview,
        "region": region,
        "year": year,
        "years": list(range(timezone.localdate().year, timezone.localdate().year - 5, -1)),
        "crumbs": [(r, code_in_area(request.user, r.code)) for r in region_path(region)],
        "drills": region.level != Level.VILLAGE,
        "may_manage": manages_payments(request.user),
    }


@payments_reader
def overview(request: HttpRequest) -> HttpResponse:
    """By town (and by village within a town): payments checked at visits against those not
    checked yet, open and closed discrepancies, open warnings."""
    return render(request, "payments/overview.html", _overview_context(request))


@payments_reader
def overview_xlsx(request: HttpRequest) -> HttpResponse:
    context = _overview_context(request)
    region, year = context["region"], context["year"]
    audit_record(
        actor=request.user,
        action=AuditAction.EXPORT,
        target_type="payment_overview",
        target_id=f"{region.code}:{year}",
        region_code=region.code,
        request=request,
    )
    response = HttpResponse(exports.overview_xlsx(context["overview"]), content_type=XLSX)
    name = f"payments-{region.code}-{year}-{timezone.localdate():%Y%m%d}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@payments_reader
def warnings(request: HttpRequest) -> HttpResponse:
    kind = request.GET.get("kind", "")
    kind = kind if kind in WarningKind.values else ""
    state = request.GET.get("state", "open")
    open_only = {"open": True, "closed": False}.get(state)
    qs = selectors.warning_list(user=request.user, kind=kind or None, open_only=open_only)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "payments/warnings.html",
        {
            "page": page,
            "rows": [present.warning_row(w) for w in page.object_list],
            "kinds": WarningKind.choices,
            "kind": kind,
            "state": state,
            "may_manage": manages_payments(request.user),
        },
    )


@payments_reader
@require_POST
def warning_close(request: HttpRequest, warning_id: int) -> HttpResponse:
    try:
        services.warning_close(
            user=request.user, warning_id=warning_id, note=request.POST.get("note", "")
        )
    except NotFound:
        raise  # not in the area: a 404, like an unknown warning
    except AppError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "预警已处理。")
    return redirect(request.POST.get("next") or reverse("payments:warnings"))


@login_required
@require_http_methods(["GET", "POST"])
def load(request: HttpRequest) -> HttpResponse:
    """An office uploads a one-card payment list (CSV or XLSX): all or nothing."""
    if not manages_payments(request.user):
        raise PermissionDenied("只有扶贫办可以导入补贴发放名单")
    context: dict = {"headers": HEADERS, "max_mb": settings.PAYMENT_UPLOAD_MAX_BYTES // 2**20}
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            context["error"] = "请选择要导入的文件"
        elif upload.size > settings.PAYMENT_UPLOAD_MAX_BYTES:
            context["error"] = (
                f"文件超过{context['max_mb']} MB;请分批导入,或由管理员用 load_payments 命令导入"
            )
        else:
            report = payments_load(stream=upload, filename=upload.name, user=request.user)
            context["report"] = report
            context["errors_shown"] = sorted(report.errors, key=lambda e: e.row)[:500]
        status = 200 if "report" in context and context["report"].ok else 422
        return render(request, "payments/load.html", context, status=status)
    return render(request, "payments/load.html", context)


# --- Public -----------------------------------------------------------------------------------


def public_index(request: HttpRequest) -> HttpResponse:
    """Find a village's disclosure page by its name."""
    text = request.GET.get("q", "")[:20]
    return render(
        request,
        "payments/public_index.html",
        {"q": text, "villages": selectors.villages_named(text)},
    )


def public_village(request: HttpRequest, code: str) -> HttpResponse:
    """The village's published payments of one item and period. Names are masked here, before
    the template sees them; ID and account numbers are never read for this page."""
    try:
        village = selectors.village_for_disclosure(code)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    shown = selectors.disclosure(
        village=village,
        item_code=request.GET.get("item", "")[:32],
        period=request.GET.get("period", "")[:8],
    )
    rows = [
        {
            "name": mask_name(p.name),
            "amount": p.amount,
            "paid_on": p.paid_on,
            "bank": p.bank,
        }
        for p in shown.payments
    ]
    town = Region.objects.filter(pk=village.parent_id).first()
    complaint = (
        f"{reverse('grievances:public_new')}?region={village.code}"
        f"&kind={Kind.FUNDS.value}&category={Category.FUNDS.value}"
    )
    return render(
        request,
        "payments/public_village.html",
        {
            "village": village,
            "town": town,
            "shown": shown,
            "rows": rows,
            "complaint_url": complaint,
        },
    )
