import pytest
from channels.testing import WebsocketCommunicator
from django.conf import settings as settings_module
from django.core.management import call_command

from notifications.models import JobLock, Notification
from notifications.services import notify
from notifications.sms import MemorySmsSender


@pytest.fixture
def memory_sms(settings):
    settings.SMS_BACKEND = "notifications.sms.MemorySmsSender"
    MemorySmsSender.outbox.clear()
    return MemorySmsSender.outbox


@pytest.mark.django_db(transaction=True)
def test_notify_is_once_per_recipient_and_key(town_a_office, county_office, memory_sms):
    town_a_office.phone = "13800000001"
    town_a_office.save()
    first = notify(
        recipients=[town_a_office, county_office, town_a_office],
        kind="test",
        title="提醒",
        dedupe_key="k1",
        sms=True,
    )
    again = notify(
        recipients=[town_a_office, county_office],
        kind="test",
        title="提醒",
        dedupe_key="k1",
        sms=True,
    )
    assert (first, again) == (2, 0)
    assert Notification.objects.count() == 2
    assert memory_sms == [("13800000001", "提醒")]


@pytest.mark.django_db
def test_inbox_lists_only_my_notifications_and_marks_read(api_client, town_a_office, town_b_office):
    notify(recipients=[town_a_office], kind="test", title="给A", dedupe_key="a")
    notify(recipients=[town_b_office], kind="test", title="给B", dedupe_key="b")
    client = api_client.as_user(town_a_office)
    items = client.get("/me/notifications").json()["items"]
    assert [i["title"] for i in items] == ["给A"] and items[0]["read"] is False
    other_id = Notification.objects.get(recipient=town_b_office).pk
    # Marking someone else's notification changes nothing.
    assert client.post("/me/notifications/read", {"ids": [other_id]}).json() == {"marked": 0}
    assert client.post("/me/notifications/read", {}).json() == {"marked": 1}
    assert client.get("/me/notifications", {"unread": "true"}).json()["items"] == []


def _counting_job(*, now):
    from accounts.models import User
    from notifications.models import Notification as N

    sent = notify(
        recipients=User.objects.all(),
        kind="tick",
        title="定时提醒",
        dedupe_key=f"tick:{now:%Y-%m-%d}",
    )
    return {"sent": sent, "total": N.objects.count()}


@pytest.mark.django_db(transaction=True)
def test_run_due_jobs_twice_sends_once(monkeypatch, town_a_office, capsys):
    from notifications.jobs import due_jobs

    monkeypatch.setattr(due_jobs, "fns", [_counting_job])
    call_command("run_due_jobs", "--now", "2026-11-23T08:00:00+08:00")
    call_command("run_due_jobs", "--now", "2026-11-23T08:05:00+08:00")
    out = capsys.readouterr().out
    assert "'sent': 1" in out and "'sent': 0" in out
    assert Notification.objects.filter(kind="tick").count() == 1
    lock = JobLock.objects.get()
    assert lock.last_finished_at is not None and lock.last_summary["sent"] == 0


@pytest.mark.django_db(transaction=True)
def test_bad_now_is_a_clear_error(settings):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("run_due_jobs", "--now", "yesterday")


@pytest.mark.django_db(transaction=True)
async def test_websocket_receives_my_notification(town_a_office):
    from asgiref.sync import sync_to_async

    from accounts.models import ApiToken, hash_token
    from backend.asgi import application

    raw = "ws-test-token"
    from datetime import timedelta

    from django.utils import timezone

    await ApiToken.objects.acreate(
        user=town_a_office,
        key_hash=hash_token(raw),
        device_name="t",
        expires_at=timezone.now() + timedelta(hours=1),
    )
    communicator = WebsocketCommunicator(
        application, f"/ws/notifications/?token={raw}", headers=[(b"origin", b"http://127.0.0.1")]
    )
    connected, _ = await communicator.connect()
    try:
        assert connected
        await sync_to_async(notify)(
            recipients=[town_a_office], kind="test", title="实时", dedupe_key="live"
        )
        message = await communicator.receive_json_from(timeout=3)
        assert message["notification"]["title"] == "实时"
    finally:
        await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_websocket_refuses_anonymous():
    from backend.asgi import application

    communicator = WebsocketCommunicator(
        application, "/ws/notifications/", headers=[(b"origin", b"http://127.0.0.1")]
    )
    connected, _ = await communicator.connect()
    assert not connected
    await communicator.disconnect()


@pytest.mark.django_db
def test_notify_many_goes_in_batches_and_only_the_new_are_sent(
    make_user, regions, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    from accounts.roles import Role

    users = [make_user(Role.TOWN_OFFICE, regions.town_a) for _ in range(1201)]
    notify(recipients=users[:200], kind="test", title="提醒", dedupe_key="k2")
    # 1,201 recipients: three inserts of up to 500 rows, not one per recipient.
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        django_assert_max_num_queries(3),
    ):
        created = notify(recipients=users, kind="test", title="提醒", dedupe_key="k2")
    assert created == 1001 and len(callbacks) == 1  # one push for all of them
    assert Notification.objects.filter(dedupe_key="k2").count() == 1201
    new = Notification.objects.filter(dedupe_key="k2", recipient__in=users[200:])
    assert new.count() == 1001


@pytest.mark.skipif(
    not settings_module.REDIS_URL,
    reason="needs channels_redis (REDIS_URL): the in-memory layer never fails a send",
)
def test_a_large_fan_out_is_delivered_whole(settings):
    """channels_redis fails a send at once when its pool of 100 connections is empty: sends
    are limited to a few dozen at a time, so a thousand all go out."""
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    from common.live import send_each

    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)("fanout", channel)
    assert send_each([("fanout", {"type": "x", "n": n}) for n in range(1000)]) == 1000
