"""My notification inbox (reminders, deadline warnings, assignments)."""

from django.http import HttpRequest
from ninja import Router
from ninja.pagination import paginate

from mobile_api.auth import user_auth
from mobile_api.schemas.notifications import MarkReadIn, MarkReadOut, NotificationOut
from notifications import selectors, services

router = Router(tags=["消息"], auth=user_auth)


@router.get("/me/notifications", response=list[NotificationOut])
@paginate
def notification_list(request: HttpRequest, unread: bool = False):
    """My notifications, newest first; `unread=true` for the unread ones only."""
    return selectors.notification_list(user=request.user, unread_only=unread)


@router.post("/me/notifications/read", response=MarkReadOut)
def notification_read(request: HttpRequest, payload: MarkReadIn):
    """Mark some (or, without ids, all) of my notifications read."""
    return {"marked": services.notification_mark_read(user=request.user, ids=payload.ids)}
