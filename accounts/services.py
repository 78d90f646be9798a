"""Writes for accounts: issuing and revoking API tokens, recording audit entries."""

import functools
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_logged_in
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import ApiToken, AuditAction, AuditEntry, User, hash_token
from common.client_ip import client_ip
from common.errors import AppError

# Refresh `last_used_at` at most this often: a write on every request would be waste.
_LAST_USED_GRANULARITY = timedelta(minutes=5)


class LoginFailed(AppError):
    status = 401
    code = "login_failed"


class LockedOut(AppError):
    status = 429
    code = "locked_out"


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime
    user: User


def _locked_out(request: HttpRequest) -> LockedOut:
    # AXES_COOLOFF_TIME may be a timedelta, a number of hours or a callable: ask axes.
    cool_off = get_cool_off(request)
    minutes = math.ceil(cool_off.total_seconds() / 60) if cool_off is not None else None
    return LockedOut(
        "登录失败次数过多,账号已暂时锁定,请稍后再试", detail={"retry_after_minutes": minutes}
    )


def token_issue(
    *, request: HttpRequest, username: str, password: str, device_name: str
) -> IssuedToken:
    """Check the password (argon2, counted by django-axes) and issue a bearer token.

    django-axes locks a username-and-address pair after AXES_FAILURE_LIMIT failures; the
    attempt that reaches the limit, and every attempt while locked (the right password too),
    get LockedOut.
    """
    # Django's authenticate() swallows the axes backend's PermissionDenied and reports a
    # plain failure; axes marks the request instead.
    user = authenticate(request, username=username, password=password)
    if getattr(request, "axes_locked_out", False):
        # AxesMiddleware would replace the API's JSON error with the web lockout page.
        request.axes_locked_out = False
        raise _locked_out(request)
    if user is None or not user.is_active:
        raise LoginFailed("用户名或密码错误")
    # What a session login would do: axes resets the failure count (AXES_RESET_ON_SUCCESS)
    # and logs the access, Django records last_login.
    user_logged_in.send(sender=user.__class__, request=request, user=user)
    raw = ApiToken.new_key()
    token = ApiToken.objects.create(
        user=user,
        key_hash=hash_token(raw),
        device_name=device_name[:100],
        expires_at=timezone.now() + settings.API_TOKEN_TTL,
    )
    return IssuedToken(token=raw, expires_at=token.expires_at, user=user)


def token_revoke(*, raw: str) -> None:
    ApiToken.objects.filter(key_hash=hash_token(raw), revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


@functools.cache
def _token_user_sql() -> str:
    """The user of a live token, with the token's id and whether its last use is older than
    the refresh granularity, as one plain statement.

    This runs on every API request. The ORM's compile of the same select_related query cost
    2-4 ms of CPU a request (11 % of the server's CPU in bench/visits.py, more than the query
    itself); a raw query over the same tables skips the compile and still returns a User.
    Its WHERE clause is `ApiToken.is_live` in SQL: change the two together."""
    from django.db import connection

    quote = connection.ops.quote_name
    user, token = quote(User._meta.db_table), quote(ApiToken._meta.db_table)
    return (
        f"SELECT u.*, t.id AS token_id, "
        f"(t.last_used_at IS NULL OR t.last_used_at < %s) AS token_use_stale "
        f"FROM {user} u JOIN {token} t ON t.user_id = u.id "
        f"WHERE t.key_hash = %s AND t.revoked_at IS NULL AND t.expires_at > %s"
    )


def user_for_token(raw: str) -> User | None:
    """The active user a live token belongs to, or None. One query on the hot path."""
    now = timezone.now()
    params = [now - _LAST_USED_GRANULARITY, hash_token(raw), now]
    found = list(User.objects.raw(_token_user_sql(), params))
    if not found or not found[0].is_active:
        return None
    user = found[0]
    if user.token_use_stale:
        ApiToken.objects.filter(pk=user.token_id).update(last_used_at=now)
    return user


def audit_record(
    *,
    actor: User | None,
    action: AuditAction,
    target_type: str,
    target_id: object,
    region_code: str = "",
    request: HttpRequest | None = None,
    detail: dict | None = None,
) -> AuditEntry:
    return AuditEntry.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        region_code=region_code or "",
        ip_address=client_ip(request),
        detail=detail or {},
    )
