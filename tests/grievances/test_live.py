"""A staff websocket client receives the assignment of a case live."""

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings as dj_settings

from accounts.models import ApiToken, hash_token
from grievances import workflow

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _own_channel_prefix(settings):
    # Parallel workers share Redis and have the same region codes and ids: a prefix per test
    # keeps their groups apart (channels resets its layers when the setting changes).
    import copy
    import uuid

    layers = copy.deepcopy(dj_settings.CHANNEL_LAYERS)
    config = layers["default"].setdefault("CONFIG", {})
    if "prefix" in config:
        config["prefix"] = f"{config['prefix']}-{uuid.uuid4().hex[:8]}"
    settings.CHANNEL_LAYERS = layers


def _token(user) -> str:
    from django.utils import timezone

    raw = ApiToken.new_key()
    ApiToken.objects.create(
        user=user,
        key_hash=hash_token(raw),
        device_name="ws",
        expires_at=timezone.now() + dj_settings.API_TOKEN_TTL,
    )
    return raw


async def _connect(token: str) -> WebsocketCommunicator:
    from backend.asgi import application

    communicator = WebsocketCommunicator(
        application, f"/ws/grievances/?token={token}", headers=[(b"origin", b"http://localhost")]
    )
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def test_department_and_office_receive_assignment(
    file_case, town_a_office, handler_a, handler_b, dept_a
):
    case = await database_sync_to_async(lambda: file_case().grievance)()
    await database_sync_to_async(workflow.transition)(case, "accept", town_a_office)
    dept = await _connect(await database_sync_to_async(_token)(handler_a))
    office = await _connect(await database_sync_to_async(_token)(town_a_office))
    other = await _connect(await database_sync_to_async(_token)(handler_b))
    try:
        await database_sync_to_async(workflow.transition)(
            case, "assign", town_a_office, "", None, department=dept_a
        )
        for communicator in (dept, office):
            message = await communicator.receive_json_from(timeout=3)
            assert message["type"] == "grievance.changed"
            event = message["grievance"]
            assert (event["id"], event["action"], event["state"]) == (case.pk, "assign", "assigned")
            assert "phone" not in event
            assert "name" not in event
        assert await other.receive_nothing(timeout=0.3)
    finally:
        for communicator in (dept, office, other):
            await communicator.disconnect()


async def test_refuses_anonymous_and_other_roles(helper_a_user):
    from backend.asgi import application

    for path in (
        "/ws/grievances/",
        f"/ws/grievances/?token={await database_sync_to_async(_token)(helper_a_user)}",
    ):
        communicator = WebsocketCommunicator(
            application, path, headers=[(b"origin", b"http://localhost")]
        )
        connected, code = await communicator.connect()
        assert not connected
        assert code == 4403
        await communicator.disconnect()
