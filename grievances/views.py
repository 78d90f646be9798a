"""Web pages: the public ones (file a case, follow it with code and key) and the staff ones
(queue, case with its actions, statistics, exports). They go through the same services,
selectors and state machine as the API."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.roles import opens_case_pages
from common.errors import AppError, NotFound
from common.quarters import Quarter
from grievances import exports, present, ratelimit, selectors, services, workflow
from grievances.models import Category, Kind, State
from regions.models import Level, Region


def _regions():
    return Region.objects.filter(level__in=[Level.COUNTY, Level.TOWN, Level.VILLAGE]).order_by(
        "code"
    )[:3000]


# --- Public -----------------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def public_new(request: HttpRequest) -> HttpResponse:
    context = {"kinds": Kind.choices, "categories": Category.choices, "regions": _regions()}
    if request.method == "GET":
        # Pages that link here (a village's payment disclosure) may preset the choices.
        context["data"] = {k: request.GET.get(k, "") for k in ("kind", "category", "region")}
        return render(request, "grievances/public_new.html", context)
    data = request.POST
    context["data"] = data
    try:
        ratelimit.hit(request, ratelimit.SUBMIT)
        filed = services.grievance_submit(
            kind=data.get("kind", ""),
            category=data.get("category", ""),
            region_code=data.get("region", ""),
            text=data.get("text", ""),
            anonymous=data.get("anonymous") == "on",
            name=data.get("name", ""),
            phone=data.get("phone", ""),
        )
    except AppError as exc:
        context.update(error=exc.message, errors=exc.detail if isinstance(exc.detail, dict) else {})
        return render(request, "grievances/public_new.html", context, status=exc.status)
    # The key is shown here once and never again: the page must not be cached anywhere.
    return render(request, "grievances/public_filed.html", {"filed": filed}, status=201)


@never_cache
@require_http_methods(["GET", "POST"])
def public_track(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return render(request, "grievances/public_track.html", {})
    data = request.POST
    code, key, op = data.get("code", ""), data.get("key", ""), data.get("op", "")
    context: dict = {"code": code, "key": key}
    try:
        ratelimit.hit(request, ratelimit.TRACK)
        if op == "rate":
            try:
                rating = int(data.get("rating", ""))
            except ValueError:
                rating = None
            case = services.resident_act(
                code=code, key=key, action="rate", note=data.get("comment", ""), rating=rating
            )
            context["notice"] = "感谢您的评价。"
        elif op == "reopen":
            case = services.resident_act(
                code=code, key=key, action="reopen", note=data.get("reason", "")
            )
            context["notice"] = "已提交重新办理申请。"
        else:
            case = services.grievance_track(code=code, key=key)
    except AppError as exc:
        context["error"] = exc.message
        return render(request, "grievances/public_track.html", context, status=exc.status)
    context["case"] = present.track(case)
    return render(request, "grievances/public_track.html", context)


# --- Staff ------------------------------------------------------------------------------------


def staff_only(view):
    """Logged in and with a role that handles cases; others get 404 like an outsider."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        user = request.user
        if not opens_case_pages(user):
            return render(request, "grievances/not_found.html", status=404)
        try:
            return view(request, *args, **kwargs)
        except NotFound:
            return render(request, "grievances/not_found.html", status=404)

    return wrapper


@staff_only
def staff_queue(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", "")
    overdue = request.GET.get("overdue") == "1"
    qs = selectors.queue(user=request.user, state=state, overdue=overdue)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "grievances/staff_queue.html",
        {
            "page": page,
            "rows": [present.row(c) for c in page.object_list],
            "state": state,
            "overdue": overdue,
            "states": State.choices,
            "counts": selectors.state_counts(user=request.user),
            "today": timezone.localdate(),
        },
    )


@staff_only
@require_http_methods(["GET", "POST"])
def staff_case(request: HttpRequest, case_id: int) -> HttpResponse:
    case = selectors.grievance_get(user=request.user, pk=case_id)
    if request.method == "POST":
        data = request.POST
        try:
            department_id = int(data["department_id"]) if data.get("department_id") else None
            services.grievance_act(
                grievance=case,
                user=request.user,
                action=data.get("action", ""),
                note=data.get("note", ""),
                department_id=department_id,
                category=data.get("category") or None,
                kind=data.get("kind") or None,
            )
        except (AppError, ValueError) as exc:
            messages.error(request, getattr(exc, "message", "提交内容有误"))
            return redirect("grievances:staff_case", case_id=case.pk)
        messages.success(request, "已办理。")
        if not selectors.grievance_list(user=request.user).filter(pk=case.pk).exists():
            return redirect("grievances:staff_queue")  # returned: no longer ours
        return redirect("grievances:staff_case", case_id=case.pk)
    info = present.detail(case, user=request.user, request=request)
    actions = info["allowed_actions"]
    return render(
        request,
        "grievances/staff_case.html",
        {
            "case": info,
            "actions": actions,
            "action_labels": dict(workflow.Action.choices),
            "departments": selectors.assignable_departments(grievance=case)
            if {"assign", "reassign"} & set(actions)
            else [],
            "kinds": Kind.choices,
            "categories": Category.choices,
        },
    )


def _quarter(request: HttpRequest) -> Quarter:
    """`?year=2026&quarter=3`, default the current calendar quarter (also for bad numbers)."""
    current = Quarter.of_date(timezone.localdate())
    try:
        return Quarter.from_parts(
            request.GET.get("year") or current.year, request.GET.get("quarter") or current.q
        )
    except ValueError:
        return current


@staff_only
def staff_stats(request: HttpRequest) -> HttpResponse:
    q = _quarter(request)
    rows = selectors.department_stats(user=request.user, quarter=q)
    return render(
        request,
        "grievances/staff_stats.html",
        {"quarter": q, "rows": rows, "years": range(q.year - 3, q.year + 2)},
    )


@staff_only
def staff_stats_xlsx(request: HttpRequest) -> HttpResponse:
    q = _quarter(request)
    rows = selectors.department_stats(user=request.user, quarter=q)
    return exports.export_response(request, exports.stats_xlsx(rows, q), f"grievance-stats-{q}")


@staff_only
def staff_export_xlsx(request: HttpRequest) -> HttpResponse:
    cases = selectors.queue(user=request.user, state=request.GET.get("state", ""))[:10_000]
    return exports.export_response(
        request, exports.queue_xlsx(cases.iterator(chunk_size=1000)), "grievances"
    )
