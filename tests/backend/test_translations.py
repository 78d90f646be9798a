"""Chinese is the default; English is available for every fixed error message the API gives."""

import ast
import re
from pathlib import Path

import pytest
from django.utils import translation

ROOT = Path(__file__).resolve().parents[2]
CJK = re.compile(r"[\u4e00-\u9fff]")
PACKAGES = ("backend", "visits", "grievances", "media", "mobile_api", "payments")


def error_messages() -> dict[str, str]:
    """Chinese literals passed first to an error constructor or `error_body`, with a place."""
    found: dict[str, str] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts or "management" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if not isinstance(node, ast.Call):
                    continue
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None) or ""
                if not (
                    name == "error_body"
                    or name.endswith(
                        (
                            "Error",
                            "Found",
                            "Forbidden",
                            "Conflict",
                            "Unprocessable",
                            "Rejected",
                            "Throttled",
                            "LockedOut",
                            "Failed",
                        )
                    )
                ):
                    continue
                for arg in node.args[:2]:
                    if (
                        isinstance(arg, ast.Constant)
                        and isinstance(arg.value, str)
                        and (CJK.search(arg.value))
                    ):
                        found.setdefault(arg.value, f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_every_fixed_error_message_has_an_english_translation():
    messages = error_messages()
    assert len(messages) > 50  # the walk finds the messages at all
    with translation.override("en"):
        missing = {m: where for m, where in messages.items() if translation.gettext(m) == m}
    assert not missing, f"add these to locale/en/LC_MESSAGES/django.po and compile: {missing}"


@pytest.mark.django_db
def test_api_errors_follow_accept_language(api_client):
    body = {"username": "nobody", "password": "wrong", "device_name": "t"}
    chinese = api_client.post("/auth/token", body).json()
    english = api_client.post("/auth/token", body, headers={"Accept-Language": "en"}).json()
    assert chinese["code"] == english["code"] == "login_failed"
    assert chinese["message"] == "用户名或密码错误"
    assert english["message"] == "Wrong username or password"
