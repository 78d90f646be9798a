"""Office web pages for visits: coverage drill-down (live), the pending list with reminders,
flagged visits with their numbers and photos, exit candidates.

Offices, supervisors and admins read (others 403); a region outside the area is a 404.
Reminding is for offices and admins. The numbers come from `coverage.selectors`, the same
functions the API uses.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts.roles import reads_coverage, reminds_helpers
from accounts.scoping import code_in_area
from common.charts import Bar, bar_chart, line_chart
from common.errors import Forbidden, NotFound
from common.quarters import SHANGHAI, Quarter, default_quarter, quarter_for_page
from coverage import reminders
from coverage import selectors as coverage
from coverage.selectors import Counts
from coverage.village import village_detail
from media.selectors import photo_url
from notifications.services import Message, notify_each
from regions.models import Level, Region
from regions.selectors import region_path
from visits import selectors
from visits.models import FlagKind

PAGE_SIZE = 50


def coverage_reader(view: Callable) -> Callable:
    """Logged in, and a role that reads coverage (403 otherwise)."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if not reads_coverage(request.user):
            raise PermissionDenied("您的角色无权查看此页面")
        return view(request, *args, **kwargs)

    return wrapper


def _place(request: HttpRequest, code: str | None = None) -> Region:
    try:
        return coverage.coverage_region(request.user, code or request.GET.get("region"))
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except Forbidden as exc:
        raise PermissionDenied(exc.message) from exc


def _quarter(request: HttpRequest, text: str | None = None) -> Quarter:
    return quarter_for_page(text if text is not None else request.GET.get("quarter"))


def _quarter_choices(selected: Quarter) -> list[Quarter]:
    # The calendar quarter too, before its window opens (entries under an extension).
    today = Quarter.of_date(timezone.localtime(timezone.now(), SHANGHAI).date())
    latest = max(today, default_quarter(), selected)
    return [latest.shift(-i) for i in range(8)]


def _common(request: HttpRequest, q: Quarter, place: Region) -> dict:
    return {
        "quarter": q,
        "quarters": _quarter_choices(q),
        "region": place,
        # Ancestors outside the user's area are shown as plain text, not links.
        "crumbs": [(r, code_in_area(request.user, r.code)) for r in region_path(place)],
        "export_url": f"{reverse('api:coverage_export')}?quarter={q}&region={place.code}",
    }


# --- Coverage drill-down ----------------------------------------------------------------------


def _link(name: str, q: Quarter, code: str) -> str:
    return f"{reverse(name)}?quarter={q}&region={code}"


def _note(c: Counts) -> str:
    return f"{c.visited}/{c.paired}"


@coverage_reader
def overview(request: HttpRequest) -> HttpResponse:
    """The drill-down: the region's numbers, one bar per child region (linking down), the
    trend; at village level every household and helper. `?partial=1` gives only the numbers'
    fragment, which the page's script fetches again when a visit arrives."""
    place = _place(request)
    q = _quarter(request)
    report = coverage.coverage_report(request.user, q, place)
    context = {**_common(request, q, place), "report": report}
    context["chart"] = bar_chart(
        [
            Bar(
                a.name,
                a.counts.percent or 0.0,
                note=_note(a.counts),
                link=_link("coverage:overview", q, a.code),
            )
            for a in report.children
        ],
        title=f"{place.name}{q.label}走访覆盖率",
    )
    if place.level == Level.VILLAGE:
        detail = village_detail(request.user, q, place.prefix)
        context["households"], context["helper_rows"] = detail.households, detail.helpers
    if request.GET.get("partial"):
        return render(request, "coverage/_coverage_numbers.html", context)
    points = coverage.trend(request.user, place, q, 4)
    context["trend"] = line_chart(
        [(str(p), c.percent or 0.0) for p, c in points], title=f"{place.name}近四个季度覆盖率"
    )
    context["trend_rows"] = points
    context["api_url"] = f"{reverse('api:coverage_overview')}?quarter={q}&region={place.code}"
    context["ws_path"] = f"/ws/coverage/{place.code}/"
    return render(request, "coverage/coverage.html", context)


# --- Pending list and reminders ---------------------------------------------------------------


@coverage_reader
@require_http_methods(["GET", "POST"])
def pending(request: HttpRequest) -> HttpResponse:
    source = request.POST if request.method == "POST" else request.GET
    place = _place(request, source.get("region"))
    q = _quarter(request, source.get("quarter"))
    if request.method == "POST":
        return _remind(request, q, place)
    rows = coverage.pending_pairings(request.user, q, place)
    page_number = _page_number(request)
    start = (page_number - 1) * PAGE_SIZE
    items = list(rows[start : start + PAGE_SIZE + 1])
    report = coverage.coverage_report(request.user, q, place)
    context = {
        **_common(request, q, place),
        "items": items[:PAGE_SIZE],
        "page_number": page_number,
        "has_next": len(items) > PAGE_SIZE,
        "total": report.total,
        "may_remind": reminds_helpers(request.user),
    }
    return render(request, "coverage/pending.html", context)


def _page_number(request: HttpRequest) -> int:
    try:
        return max(1, min(100000, int(request.GET.get("page", "1"))))
    except ValueError:
        return 1


def _remind(request: HttpRequest, q: Quarter, place: Region) -> HttpResponse:
    """Remind one pending helper (`helper`) or every pending helper of the region (`all`).

    Once a day per helper and quarter (the notification's dedupe key); helpers without a login
    are counted and named in the message so the office can phone them.
    """
    if not reminds_helpers(request.user):
        raise PermissionDenied("只有扶贫办可以发送提醒")
    pending_rows = coverage.pending_pairings(request.user, q, place)
    helper_id = request.POST.get("helper", "")
    if helper_id:
        try:
            helper_pk = int(helper_id)
        except ValueError:
            raise Http404("帮扶责任人不存在") from None
        if not 0 < helper_pk < 2**31:
            raise Http404("帮扶责任人不存在")
        pending_rows = pending_rows.filter(helper_id=helper_pk)
    elif request.POST.get("all") != "1":
        messages.error(request, "请选择要提醒的帮扶责任人")
        return redirect(_link("coverage:pending", q, place.code))
    per_helper = dict(
        pending_rows.order_by()
        .values_list("helper_id")
        .annotate(n=Count("pk"))
        .values_list("helper_id", "n")
    )
    if helper_id and not per_helper:
        # Not pending here, outside the area, or unknown: the same answer.
        raise Http404("该帮扶责任人在本区域没有未走访的结对户")
    users = list(reminders.helper_users(list(per_helper)).filter(is_active=True))
    today = timezone.localtime(timezone.now(), SHANGHAI).date()
    # One batch for all; each helper's key makes it once a day per helper and quarter.
    sent = notify_each(
        (
            Message(
                reminders.text_to(user),
                f"请尽快完成{q.label}走访",
                f"您结对的低收入户中还有 {n} 户未完成{q.label}走访,请尽快走访并录入。",
                "",
                {"quarter": str(q), "pending": n, "region": place.code},
                f"remind:{q}:{user.pk}:{today.isoformat()}",
            )
            for user in users
            for n in [per_helper[user.helper_id]]
        ),
        kind="visit_reminder",
        dedupe_key="remind",
        sms=True,
    )
    already = len(users) - sent
    no_login = len(per_helper) - len(users)
    parts = [f"已提醒 {sent} 位帮扶责任人"]
    if already:
        parts.append(f"{already} 位今天已提醒过,未重复发送")
    if no_login:
        parts.append(f"{no_login} 位没有登录账号,无法推送,请电话联系")
    messages.success(request, ";".join(parts) + "。")
    return redirect(_link("coverage:pending", q, place.code))


# --- Flagged visits ---------------------------------------------------------------------------

DETAIL_LABELS = {
    "kind": "照片类别",
    "taken_at": "拍摄时间",
    "visited_at": "走访时间",
    "gap_hours": "相差(小时)",
    "max_gap_hours": "允许相差(小时)",
    "window_opens_at": "录入窗口开始",
    "window_closes_at": "录入窗口结束",
    "extension_until": "延期至",
    "distance_m": "距离(米)",
    "max_distance_m": "允许距离(米)",
    "position": "拍摄/走访位置",
    "home": "登记住址位置",
    "sha256": "照片SHA-256",
    "other_visit": "另一次走访",
    "other_photo": "另一张照片",
    "hamming_distance": "感知哈希距离",
    "max_distance": "相似阈值",
    "max_speed_kmh": "速度上限(公里/小时)",
    "legs": "行程",
    "other_visited_at": "另一次走访时间",
    "minutes": "间隔(分钟)",
    "speed_kmh": "速度(公里/小时)",
    "quarter": "季度",
    "previous_quarter": "上季度",
    "income": "收入(元)",
    "sum_of_quarters": "累计的季度",
    "wages": "工资性",
    "operating": "经营性",
    "property": "财产性",
    "transfers": "转移性",
}


def _text(value) -> str:
    """A flag's detail value as readable text: lists joined, mappings as 'label: value'."""
    if value is None:
        return "—"
    if isinstance(value, dict):
        return ";".join(f"{DETAIL_LABELS.get(k, k)}:{_text(v)}" for k, v in value.items())
    if isinstance(value, list):
        if value and all(isinstance(v, dict) for v in value):
            return " / ".join(_text(v) for v in value)
        return ", ".join(_text(v) for v in value)
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value)


def detail_rows(detail) -> list[tuple[str, str]]:
    if not isinstance(detail, dict):
        return [("依据", json.dumps(detail, ensure_ascii=False))]
    return [(DETAIL_LABELS.get(k, k), _text(v)) for k, v in detail.items()]


@coverage_reader
def flagged(request: HttpRequest) -> HttpResponse:
    place = _place(request)
    q = _quarter(request)
    kind = request.GET.get("kind", "")
    if kind not in FlagKind.values:
        kind = ""
    paginator = Paginator(coverage.flagged_visits(request.user, q, place, kind), 20)
    page = paginator.get_page(request.GET.get("page"))
    for visit in page.object_list:
        visit.flag_rows = [
            (flag.get_kind_display(), detail_rows(flag.detail)) for flag in visit.flags.all()
        ]
        visit.thumbs = [
            (
                vp.kind,
                photo_url(vp.photo_id, "thumbnail"),
                photo_url(vp.photo_id, "display"),
            )
            for vp in visit.visit_photos.all()
        ]
    context = {
        **_common(request, q, place),
        "page": page,
        "kind": kind,
        "kinds": FlagKind.choices,
    }
    return render(request, "coverage/flagged.html", context)


# --- Exit candidates --------------------------------------------------------------------------


@coverage_reader
def exit_candidates(request: HttpRequest) -> HttpResponse:
    place = _place(request)
    q = _quarter(request)
    qs, threshold = selectors.exit_candidates(user=request.user, quarter=q)
    qs = qs.filter(village__code__startswith=place.prefix)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {**_common(request, q, place), "page": page, "threshold": threshold}
    return render(request, "coverage/exit_candidates.html", context)
