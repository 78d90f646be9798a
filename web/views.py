"""Staff web pages shared by every app: login, logout, home, and the navigation each role sees."""

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse

from accounts.roles import OFFICE_ROLES, Role


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    roles: frozenset


# Pages appear here once their app provides the URL name; a missing one is skipped.
NAV = [
    NavItem("走访覆盖率", "coverage:overview", OFFICE_ROLES | {Role.SUPERVISOR, Role.ADMIN}),
    NavItem("未走访名单", "coverage:pending", OFFICE_ROLES | {Role.ADMIN}),
    NavItem("疑点走访", "coverage:flagged", OFFICE_ROLES | {Role.SUPERVISOR, Role.ADMIN}),
    NavItem("风险清单", "supervision:risks", frozenset({Role.SUPERVISOR, Role.ADMIN})),
    NavItem("抽查核查", "supervision:spot_checks", frozenset({Role.SUPERVISOR, Role.ADMIN})),
    NavItem("脱贫候选户", "coverage:exit_candidates", OFFICE_ROLES | {Role.ADMIN}),
    NavItem(
        "诉求办理",
        "grievances:staff_queue",
        OFFICE_ROLES | {Role.DEPARTMENT, Role.SUPERVISOR, Role.ADMIN},
    ),
    NavItem("办理统计", "grievances:staff_stats", OFFICE_ROLES | {Role.SUPERVISOR, Role.ADMIN}),
    NavItem("管理后台", "admin:index", OFFICE_ROLES | {Role.SUPERVISOR, Role.ADMIN}),
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
        items.append({"label": item.label, "url": url, "active": request.path.startswith(url)})
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
