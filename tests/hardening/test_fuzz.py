"""The served OpenAPI document, fuzzed: every operation, as every role and anonymously.

Schemathesis generates requests from `/api/v1/openapi.json` (valid ones and, with negative
generation, invalid ones); each generated request is sent as each caller, and, where the path
names an object, also with the id of a real object in town A and in town B. Every answer must
be no 5xx, a documented status code, the documented content type and a body matching the
documented schema (errors: `ErrorOut`).

The run is short on purpose (it is part of the suite); `bench/fuzz.sh` runs a long one against
a real server. The in-process calls go through the WSGI handler so the test database is used;
production serves the same Django application over ASGI.
"""

import os
import uuid

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from media.models import Photo
from tests.hardening.conftest import ROLES, World
from tests.http import body

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# The upload endpoints take multipart with a binary file: covered by hand in
# test_uploads_malformed below, where the inputs can be made deliberately wrong.
MULTIPART = {"/api/v1/photos", "/api/v1/public/photos"}

# Which object of a side a path parameter names, by path template.
PATH_OBJECTS = {
    "household_id": lambda side, path: side.household.pk,
    "helper_id": lambda side, path: side.helper.pk,
    "pairing_id": lambda side, path: side.pairing.pk,
    "visit_id": lambda side, path: (
        side.village_visit.pk if path.startswith("/api/v1/village-visits") else side.visit.pk
    ),
    "photo_id": lambda side, path: side.photo.pk,
    "case_id": lambda side, path: side.grievance.pk,
    "draw_id": lambda side, path: side.draw.pk,
    "check_id": lambda side, path: side.check.pk,
    "extension_id": lambda side, path: side.extension.pk,
    "notification_id": lambda side, path: side.notification.pk,
}


# Loaded at import (collection): the document is built from the routes, no database needed.
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())


@pytest.fixture
def fuzz_world(world: World):
    """The world, with the request signals kept from closing the test's database connection:
    the WSGI handler closes it after each request (on PostgreSQL that ends the test's
    transaction), which Django's own test client prevents the same way."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield world
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def _callers(world: World) -> list:
    return [world.users[r] for r in ROLES] + [world.outsider_office, None]


def _id_variants(case, world: World) -> list[dict | None]:
    """The generated path parameters, then the same with real ids of town A and town B."""
    variants: list[dict | None] = [None]
    params = case.path_parameters or {}
    if params and all(name in PATH_OBJECTS for name in params):
        for side in (world.a, world.b):
            variants.append(
                {
                    name: str(PATH_OBJECTS[name](side, case.operation.path))
                    if isinstance(PATH_OBJECTS[name](side, case.operation.path), uuid.UUID)
                    else PATH_OBJECTS[name](side, case.operation.path)
                    for name in params
                }
            )
    return variants


CALLER_NAMES = (*ROLES, "outsider_office", "anonymous")


def _caller(world: World, index: int):
    return _callers(world)[index]


@schema.exclude(path=list(MULTIPART)).parametrize()
@schema.given(caller=st.integers(0, len(CALLER_NAMES) - 1), variant=st.integers(0, 2))
@settings(
    max_examples=15,
    deadline=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_fuzz(case, caller: int, variant: int, fuzz_world: World):
    """Each example is one request, sent as one of the callers (as a real object's id where the
    path names one, for a third of the examples each side)."""
    variants = _id_variants(case, fuzz_world)
    params = variants[variant % len(variants)]
    if params is not None:
        case.path_parameters = params
    user = _caller(fuzz_world, caller)
    response = case.call(headers=fuzz_world.headers(user))
    try:
        case.validate_response(response, checks=CHECKS)
    except BaseException as exc:  # schemathesis reports a FailureGroup (an exception group)
        # Triage mode (FUZZ_DIAG=<file>): write one line per failure and go on, so one run
        # lists every failing operation and caller instead of stopping at the first.
        if os.environ.get("FUZZ_DIAG"):
            with open(os.environ["FUZZ_DIAG"], "a") as out:
                out.write(
                    f"{CALLER_NAMES[caller]}\t{case.method} {case.operation.path}\t"
                    f"{case.formatted_path}\t{response.status_code}\t{case.query!r} {case.body!r}"[
                        :600
                    ]
                    + "\t"
                    f"{type(exc).__name__}\t{str(exc)[:300]!r}\t{response.text[:200]!r}\n"
                )
            return
        raise


# --- Multipart uploads, by hand ---------------------------------------------------------------

GOOD_FIELDS = {"kind": "scene", "client_lat": "32.31", "client_lon": "121.18"}


def _jpeg() -> bytes:
    from tests.visits.helpers import make_jpeg

    return make_jpeg(seed=7)


def _file(data: bytes, name: str = "p.jpg", content_type: str = "image/jpeg"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type=content_type)


def _malformed_uploads() -> list[tuple[str, dict | None, dict]]:
    """(label, multipart fields or None for a raw non-multipart body, extra client kwargs)."""
    fid = lambda: str(uuid.uuid4())  # noqa: E731 - a fresh id per case
    return [
        ("empty file", {"id": fid(), **GOOD_FIELDS, "file": _file(b"")}, {}),
        ("text as jpeg", {"id": fid(), **GOOD_FIELDS, "file": _file(b"hello " * 50)}, {}),
        ("truncated jpeg", {"id": fid(), **GOOD_FIELDS, "file": _file(_jpeg()[:200])}, {}),
        (
            "pdf",
            {
                "id": fid(),
                **GOOD_FIELDS,
                "file": _file(b"%PDF-1.4\n" * 40, "a.pdf", "application/pdf"),
            },
            {},
        ),
        ("bad uuid", {"id": "not-a-uuid", **GOOD_FIELDS, "file": _file(_jpeg())}, {}),
        ("missing id", {**GOOD_FIELDS, "file": _file(_jpeg())}, {}),
        ("missing file", {"id": fid(), **GOOD_FIELDS}, {}),
        (
            "unknown kind",
            {"id": fid(), **GOOD_FIELDS, "kind": "selfie", "file": _file(_jpeg())},
            {},
        ),
        (
            "latitude 300",
            {"id": fid(), **GOOD_FIELDS, "client_lat": "300", "file": _file(_jpeg())},
            {},
        ),
        (
            "coord system",
            {"id": fid(), **GOOD_FIELDS, "client_coord_system": "mars", "file": _file(_jpeg())},
            {},
        ),
        (
            "taken_at junk",
            {"id": fid(), **GOOD_FIELDS, "client_taken_at": "yesterday", "file": _file(_jpeg())},
            {},
        ),
        ("json body", None, {"content_type": "application/json"}),
        ("garbage multipart", None, {"content_type": "multipart/form-data; boundary=xyz"}),
    ]


CLIENT_FIX_CASES = {"latitude 300", "coord system", "taken_at junk"}


@pytest.mark.parametrize("path", ["/photos", "/public/photos"])
@pytest.mark.parametrize("who", ["helper", "town_office", "anonymous"])
def test_uploads_malformed(world: World, api_client, path: str, who: str):
    """Malformed uploads are refused with a 4xx in the one error shape, never a 5xx, and store
    nothing."""
    client = api_client.anonymous() if who == "anonymous" else api_client.as_user(world.users[who])
    before = Photo.objects.count()
    for label, fields, extra in _malformed_uploads():
        if path == "/public/photos" and label in CLIENT_FIX_CASES:
            continue  # the public form takes no phone position
        if fields is None:
            response = client.post(path, data=b"--xyz\r\nnot really multipart", **extra)
        else:
            if path == "/public/photos" and fields.get("kind") == "scene":
                fields = {**fields, "kind": "grievance"}
            response = client.post(path, data=fields, **extra)
        assert 400 <= response.status_code < 500, (
            label,
            response.status_code,
            response.content[:300],
        )
        body = response.json()
        assert set(body) == {"code", "message", "detail"}, (label, body)
    assert Photo.objects.count() == before


# --- Found by the long run (bench/fuzz.sh) ----------------------------------------------------


def test_exports_survive_control_characters(world: World, api_client):
    """A name or complaint text with a control character used to fail the XLSX exports with a
    500; the character is dropped from the cell instead. (The API now refuses such text, but a
    spreadsheet import or older rows may still carry it.)"""
    office = api_client.as_user(world.users["county_office"])
    patched = office.patch(f"/households/{world.a.household.pk}", {"head_name": "张\x07三"})
    assert patched.status_code == 422
    assert "控制字符" in str(patched.json()["detail"])
    world.a.household.head_name = "张\x07三"
    world.a.household.save(update_fields=["head_name"])
    world.a.grievance.text = "资金\x01不公开"
    world.a.grievance.save(update_fields=["text"])
    for path in (
        "/coverage/export.xlsx?quarter=2026Q3&households=true",
        "/grievances/cases.xlsx",
    ):
        response = office.get(path)
        assert response.status_code == 200, (path, response.status_code)
        content = body(response)
        assert content[:2] == b"PK"  # a zip: the workbook
