"""Sending notifications: inbox row, websocket push and (for urgent kinds) a text message.

Exactly once per (recipient, dedupe_key), also when two job runners race: the unique
constraint decides, and only the run that inserted the row pushes and texts, after commit.
"""

import logging
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.utils import timezone

from backend.live import group_name, send_on_commit
from backend.notifications.models import Notification
from backend.notifications.sms import sms_sender

logger = logging.getLogger(__name__)


def user_group(user_id: int) -> str:
    return group_name("user", user_id)


def notify(
    *,
    recipients: Iterable,
    kind: str,
    title: str,
    body: str = "",
    link: str = "",
    dedupe_key: str,
    payload: dict | None = None,
    sms: bool = False,
) -> int:
    """Notify each recipient once for this `dedupe_key`; return how many were new."""
    created = 0
    seen: set[int] = set()
    for user in recipients:
        if user is None or user.pk in seen:
            continue
        seen.add(user.pk)
        try:
            with transaction.atomic():
                note = Notification.objects.create(
                    recipient=user,
                    kind=kind,
                    title=title[:120],
                    body=body,
                    link=link,
                    payload=payload or {},
                    dedupe_key=dedupe_key[:200],
                )
        except IntegrityError:
            continue  # already sent by an earlier or concurrent run
        created += 1
        send_on_commit(
            user_group(user.pk), {"type": "notification", "notification": as_event(note)}
        )
        if sms and getattr(user, "phone", ""):
            transaction.on_commit(lambda n=note, p=user.phone: _send_sms(n.pk, p, n.title))
    return created


def _send_sms(notification_id: int, phone: str, text: str) -> None:
    try:
        sms_sender().send(phone=phone, text=text)
    except Exception:
        logger.warning("SMS to user notification %s failed", notification_id, exc_info=True)
        return
    Notification.objects.filter(pk=notification_id).update(sms_sent_at=timezone.now())


def as_event(note: Notification) -> dict:
    return {
        "id": note.pk,
        "kind": note.kind,
        "title": note.title,
        "body": note.body,
        "link": note.link,
        "payload": note.payload,
        "created_at": note.created_at.isoformat(),
        "read": note.read_at is not None,
    }


def notification_mark_read(*, user, ids: list[int] | None = None) -> int:
    """Mark the user's notifications read (all unread ones when `ids` is None)."""
    qs = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return qs.update(read_at=timezone.now())
