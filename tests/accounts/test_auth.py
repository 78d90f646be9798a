"""The phone app's login: bearer tokens with an expiry, revocation, and lockout by django-axes."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.utils import timezone

from accounts.models import ApiToken, hash_token
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token"
ME_URL = "/api/v1/me"


def login(client: Client, username: str, password: str = TEST_PASSWORD, *, ip="10.0.0.1"):
    return client.post(
        TOKEN_URL,
        {"username": username, "password": password, "device_name": "华为 Mate 60"},
        content_type="application/json",
        REMOTE_ADDR=ip,
    )


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def client() -> Client:
    return Client()


def test_login_returns_a_token_with_its_expiry(client, helper_a_user, settings):
    before = timezone.now()
    response = login(client, helper_a_user.username)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert len(body["token"]) >= 40
    expires = timezone.datetime.fromisoformat(body["expires_at"])
    assert before + settings.API_TOKEN_TTL <= expires <= timezone.now() + settings.API_TOKEN_TTL
    token = ApiToken.objects.get(user=helper_a_user)
    assert token.device_name == "华为 Mate 60"
    # Only the hash is stored.
    assert token.key_hash == hash_token(body["token"])
    assert body["token"] not in token.key_hash


def test_token_opens_me_with_role_and_region(client, helper_a_user, regions):
    token = login(client, helper_a_user.username).json()["token"]
    response = client.get(ME_URL, headers=bearer(token))
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == helper_a_user.username
    assert body["role"] == "helper"
    assert body["role_label"] == "帮扶责任人"
    assert body["region"] == {"code": regions.town_a.code, "name": "掘港镇", "level": "town"}
    assert body["helper_id"] == helper_a_user.helper_id


def test_me_without_or_with_a_bad_token_is_401(client):
    assert client.get(ME_URL).status_code == 401
    response = client.get(ME_URL, headers=bearer("not-a-token"))
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    assert response.json()["message"] == "未登录或登录已过期"


def test_expired_token_is_401(client, town_a_office):
    token = login(client, town_a_office.username).json()["token"]
    ApiToken.objects.filter(key_hash=hash_token(token)).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    response = client.get(ME_URL, headers=bearer(token))
    assert response.status_code == 401
    assert response.json()["message"] == "未登录或登录已过期"


def test_a_write_with_an_expired_token_is_401_not_a_csrf_refusal(helper_a_user):
    # As a browser: the session's CSRF rule applies. The app must hear "log in again" (401),
    # not the web pages' "refresh the page" (403), for a token that ran out.
    browser = Client(enforce_csrf_checks=True)
    token = login(browser, helper_a_user.username).json()["token"]
    ApiToken.objects.filter(key_hash=hash_token(token)).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    for path in ("/api/v1/visits", "/api/v1/photos"):
        response = browser.post(path, {}, content_type="application/json", headers=bearer(token))
        assert response.status_code == 401, (path, response.content)
        assert response.json()["code"] == "unauthorized"
    # No token and no session: 401 as well.
    assert Client(enforce_csrf_checks=True).post("/api/v1/visits", {}).status_code == 401


def test_a_session_write_without_its_csrf_token_is_still_refused(town_a_office):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(town_a_office)
    response = browser.post("/api/v1/visits/window-extensions", {}, content_type="application/json")
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"


def test_logout_revokes_the_token(client, town_a_office):
    token = login(client, town_a_office.username).json()["token"]
    other = login(client, town_a_office.username).json()["token"]  # a second phone
    assert client.delete(TOKEN_URL, headers=bearer(token)).status_code == 204
    assert client.get(ME_URL, headers=bearer(token)).status_code == 401
    assert client.delete(TOKEN_URL, headers=bearer(token)).status_code == 401
    # The other device stays logged in.
    assert client.get(ME_URL, headers=bearer(other)).status_code == 200
    assert ApiToken.objects.get(key_hash=hash_token(token)).revoked_at is not None


def test_deactivated_user_token_stops_working(client, town_a_office):
    token = login(client, town_a_office.username).json()["token"]
    town_a_office.is_active = False
    town_a_office.save()
    assert client.get(ME_URL, headers=bearer(token)).status_code == 401
    response = login(client, town_a_office.username)
    assert response.status_code == 401


def test_wrong_password_is_401_in_chinese(client, town_a_office):
    response = login(client, town_a_office.username, "wrong-password")
    assert response.status_code == 401
    assert response.json() == {"code": "login_failed", "message": "用户名或密码错误", "detail": {}}
    assert not ApiToken.objects.exists()
    # An unknown user gets the same answer: the endpoint does not tell who exists.
    assert login(client, "nobody", "wrong-password").json() == response.json()


def test_missing_fields_are_422(client):
    response = client.post(TOKEN_URL, {"username": "x"}, content_type="application/json")
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request"


def test_lockout_after_failure_limit_per_username_and_address(client, town_a_office, settings):
    settings.AXES_FAILURE_LIMIT = 3
    username = town_a_office.username
    for _ in range(2):
        assert login(client, username, "wrong", ip="10.0.0.1").status_code == 401
    # The failure that reaches the limit already says so.
    response = login(client, username, "wrong", ip="10.0.0.1")
    assert response.status_code == 429
    assert response.json()["code"] == "locked_out"

    # Locked: even the right password is refused, with the app's error shape, in Chinese.
    response = login(client, username, ip="10.0.0.1")
    assert response.status_code == 429
    body = response.json()
    assert body["code"] == "locked_out"
    assert "锁定" in body["message"]
    assert body["detail"]["retry_after_minutes"] == 15
    assert not ApiToken.objects.exists()

    # The same username from another address (field workers share carrier NAT) still works.
    assert login(client, username, ip="10.0.0.2").status_code == 200
    # And another user from the locked address too.
    assert login(client, "someone-else", "wrong", ip="10.0.0.1").status_code == 401


def test_lockout_ends_after_the_cool_off(client, town_a_office, settings):
    settings.AXES_FAILURE_LIMIT = 2
    username = town_a_office.username
    for _ in range(2):
        login(client, username, "wrong", ip="10.0.0.9")
    assert login(client, username, ip="10.0.0.9").status_code == 429

    # The failures fall out of the cool-off window as time passes. Rather than waiting 15
    # minutes, date the recorded attempts back by more than the cool-off.
    AccessAttempt.objects.filter(username=username).update(
        attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1)
    )
    response = login(client, username, ip="10.0.0.9")
    assert response.status_code == 200, response.content
    # A success resets the count (AXES_RESET_ON_SUCCESS): one failure does not lock again.
    assert login(client, username, "wrong", ip="10.0.0.9").status_code == 401
    assert login(client, username, ip="10.0.0.9").status_code == 200


def test_lockout_with_a_callable_cool_off(client, town_a_office, settings):
    settings.AXES_FAILURE_LIMIT = 1
    settings.AXES_COOLOFF_TIME = lambda request: timedelta(minutes=30)
    login(client, town_a_office.username, "wrong")
    response = login(client, town_a_office.username)
    assert response.status_code == 429
    assert response.json()["detail"]["retry_after_minutes"] == 30


def test_a_successful_token_login_resets_the_failure_count(client, town_a_office, settings):
    settings.AXES_FAILURE_LIMIT = 3
    username = town_a_office.username
    for _ in range(2):
        assert login(client, username, "wrong").status_code == 401
    assert login(client, username).status_code == 200
    town_a_office.refresh_from_db()
    assert town_a_office.last_login is not None
    # Two more failures would make four in all: without the reset the second would lock.
    for _ in range(2):
        assert login(client, username, "wrong").status_code == 401
    assert login(client, username).status_code == 200
