"""Staff web pages shared by every app: login, logout, home, and the navigation each role sees."""

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse

from accounts.roles import (
    ADMIN_SITE_ROLES,
    AREA_READER_ROLES,
    GRIEVANCE_AREA_ROLES,
    GRIEVANCE_STAFF_ROLES,
    REGISTER_WRITER_ROLES,
    SUPERVISION_ROLES,
)


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    roles: frozenset


# Pages appear here once their app provides the URL name; a missing one is skipped.
NAV = [
    NavItem("走访覆盖率", "coverage:overview", AREA_READER_ROLES),
    NavItem("未走访名单", "coverage:pending", REGISTER_WRITER_ROLES),
    NavItem("疑点走访", "coverage:flagged", AREA_READER_ROLES),
    NavItem("风险清单", "supervision:risks", SUPERVISION_ROLES),
    NavItem("抽查核查", "supervision:spot_checks", SUPERVISION_ROLES),
    NavItem("脱贫候选户", "coverage:exit_candidates", REGISTER_WRITER_ROLES),
    NavItem("诉求办理", "grievances:staff_queue", GRIEVANCE_STAFF_ROLES),
    NavItem("办理统计", "grievances:staff_stats", GRIEVANCE_AREA_ROLES),
    NavItem("补贴核对", "payments:overview", AREA_READER_ROLES),
    NavItem("资金预警", "payments:warnings", AREA_READER_ROLES),
    NavItem("管理后台", "admin:index", ADMIN_SITE_ROLES),
]


def nav_items(request: HttpRequest) -> list[dict]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    items = []
    for item in NAV:
        if not (user.is_superuser or user.role in item.roles):
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue
        items.append({"label": item.label, "url": url, "active": False})
    # The page's own item is the longest URL its path starts with (/payments/warnings/ is
    # 资金预警, not also 补贴核对 at /payments/).
    matching = [i for i in items if request.path.startswith(i["url"])]
    if matching:
        max(matching, key=lambda i: len(i["url"]))["active"] = True
    return items


def navigation(request: HttpRequest) -> dict:
    """Context processor: the navigation for the current user."""
    return {"nav_items": nav_items(request)}


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html")


def locked_out(request: HttpRequest, credentials: dict | None = None, *args, **kwargs):
    """django-axes' lockout page, in Chinese."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(request, "locked_out.html", {"cooloff_minutes": minutes}, status=429)
