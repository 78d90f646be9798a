"""Who may touch which object: every API endpoint that takes an object id, as every role, on an
object in town A, one in town B and one that does not exist.

Each caller's area covers town A (county-level callers: towns A and B); the town B office and
the other county's office are the outsiders. An answer is one of
- OK: the caller passed authorization (2xx, or a business refusal of a permitted caller:
  409 state conflict, 422 bad input for this object);
- 403: the caller sees the object but may not do this (a helper editing the register);
- 404: the caller may not know the object exists: the answer must be the same status and the
  same body as for an id that does not exist.
Anonymous callers get 401 everywhere here.

A meta-test walks the served OpenAPI paths and fails when an endpoint with a path parameter has
no row below: a new object endpoint needs a row before the suite passes.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from mobile_api.api import api
from tests.hardening.conftest import Side, World
from tests.http import body

OK, FORBIDDEN, HIDDEN = "ok", 403, 404
CALLERS = (
    "helper",
    "unit",
    "town_office",
    "county_office",
    "supervisor",
    "town_b_office",
    "outsider_office",
    "department",  # last: its reply moves the case on, which changes the others' answers
)
MISSING_INT = 987_654_321


@dataclass(frozen=True)
class Row:
    method: str
    path: str  # as in the OpenAPI document, without /api/v1
    object_id: Callable[[Side], object]
    a: dict[str, object]  # caller → outcome on town A's object (others: HIDDEN)
    b: dict[str, object] = field(default_factory=dict)  # on town B's object (others: HIDDEN)
    body: Callable[[World, Side], dict] | None = None
    query: str = ""
    uuid_id: bool = False


AREA_READERS = {"town_office": OK, "county_office": OK, "supervisor": OK}
COUNTY_READERS = {"county_office": OK, "supervisor": OK}
B_READERS = {**COUNTY_READERS, "town_b_office": OK}

ROWS: list[Row] = [
    # --- register
    Row(
        "GET",
        "/households/{household_id}",
        lambda s: s.household.pk,
        a={**AREA_READERS, "helper": OK},
        b=B_READERS,
    ),
    Row(
        "PATCH",
        "/households/{household_id}",
        lambda s: s.household.pk,
        a={"town_office": OK, "county_office": OK, "supervisor": FORBIDDEN, "helper": FORBIDDEN},
        b={"town_b_office": OK, "county_office": OK, "supervisor": FORBIDDEN},
        body=lambda w, s: {"phone": "13900001111"},
    ),
    Row(
        "GET",
        "/helpers/{helper_id}",
        lambda s: s.helper.pk,
        a={**AREA_READERS, "helper": OK},
        b=B_READERS,
    ),
    Row(
        "PATCH",
        "/helpers/{helper_id}",
        lambda s: s.helper.pk,
        a={"town_office": OK, "county_office": OK, "supervisor": FORBIDDEN, "helper": FORBIDDEN},
        b={"town_b_office": OK, "county_office": OK, "supervisor": FORBIDDEN},
        body=lambda w, s: {"phone": "13900002222"},
    ),
    Row(
        "GET",
        "/pairings/{pairing_id}",
        lambda s: s.pairing.pk,
        a={**AREA_READERS, "helper": OK},
        b=B_READERS,
    ),
    Row(
        "POST",
        "/pairings/{pairing_id}/end",
        lambda s: s.pairing.pk,
        a={"town_office": OK, "county_office": OK, "supervisor": FORBIDDEN, "helper": FORBIDDEN},
        b={"town_b_office": OK, "county_office": OK, "supervisor": FORBIDDEN},
        body=lambda w, s: {"end_date": "2030-01-01"},
    ),
    # --- visits
    Row(
        "GET",
        "/visits/{visit_id}",
        lambda s: s.visit.pk,
        a={**AREA_READERS, "helper": OK},
        b=B_READERS,
        uuid_id=True,
    ),
    Row(
        "GET",
        "/visits/{visit_id}/spot-checks",
        lambda s: s.visit.pk,
        a={**AREA_READERS},
        b=B_READERS,
        uuid_id=True,
    ),
    Row(
        "GET",
        "/village-visits/{visit_id}",
        lambda s: s.village_visit.pk,
        a={**AREA_READERS, "unit": OK},
        b=B_READERS,
        uuid_id=True,
    ),
    # --- photos
    Row(
        "GET",
        "/photos/{photo_id}",
        lambda s: s.photo.pk,
        a={**AREA_READERS, "helper": OK},
        b=B_READERS,
        uuid_id=True,
    ),
    Row(
        "GET",
        "/photos/{photo_id}/file",
        lambda s: s.photo.pk,
        a={**AREA_READERS, "helper": OK},
        b=B_READERS,
        query="?variant=original",
        uuid_id=True,
    ),
    # --- grievances (staff side)
    Row(
        "GET",
        "/grievances/cases/{case_id}",
        lambda s: s.grievance.pk,
        a={**AREA_READERS, "department": OK},
        b={**B_READERS, "department": OK},
    ),
    Row(
        "POST",
        "/grievances/cases/{case_id}/actions",
        lambda s: s.grievance.pk,
        # Replying is the department's step; offices and supervisors see the case but may not.
        a={
            "town_office": FORBIDDEN,
            "county_office": FORBIDDEN,
            "supervisor": FORBIDDEN,
            "department": OK,
        },
        b={
            "town_b_office": FORBIDDEN,
            "county_office": FORBIDDEN,
            "supervisor": FORBIDDEN,
            "department": OK,
        },
        body=lambda w, s: {"action": "reply", "note": "已受理,正在调查。"},
    ),
    Row(
        "GET",
        "/grievances/cases/{case_id}/departments",
        lambda s: s.grievance.pk,
        a={**AREA_READERS, "department": OK},
        b={**B_READERS, "department": OK},
    ),
    # --- payments
    Row(
        "GET",
        "/households/{household_id}/payments",
        lambda s: s.household.pk,
        a={**AREA_READERS, "helper": OK},
        b=B_READERS,
    ),
    Row(
        "GET",
        "/visits/{visit_id}/payment-checks",
        lambda s: s.visit.pk,
        a={**AREA_READERS, "helper": OK},
        b=B_READERS,
        uuid_id=True,
    ),
    Row(
        "POST",
        "/visits/{visit_id}/payment-checks",
        lambda s: s.visit.pk,
        # Only the helper who made the visit records its checks.
        a={"helper": OK},
        b={},
        body=lambda w, s: {"checks": []},
        uuid_id=True,
    ),
    Row(
        "POST",
        "/payment-warnings/{warning_id}/close",
        lambda s: s.extra["warning"].pk,
        # The first office closes it; the next finds it closed (409): both passed.
        a={"town_office": OK, "county_office": OK, "supervisor": FORBIDDEN},
        b={"town_b_office": OK, "county_office": OK, "supervisor": FORBIDDEN},
        body=lambda w, s: {"note": "已核实:差额为代扣医保费"},
    ),
    # --- supervision
    Row(
        "GET",
        "/supervision/draws/{draw_id}",
        lambda s: s.draw.pk,
        a={"supervisor": OK},
        b={"supervisor": OK},
    ),
    Row(
        "GET",
        "/supervision/draws/{draw_id}/verify",
        lambda s: s.draw.pk,
        a={"supervisor": OK},
        b={"supervisor": OK},
    ),
    Row(
        "POST",
        "/supervision/checks/{check_id}",
        lambda s: s.check.pk,
        a={"supervisor": OK},
        b={"supervisor": OK},
        body=lambda w, s: {"outcome": "confirmed", "notes": "走访属实", "photo_ids": []},
    ),
]


def _caller(world: World, name: str):
    if name == "town_b_office":
        return world.town_b_office
    if name == "outsider_office":
        return world.outsider_office
    return world.users[name]


def _call(client, row: Row, object_id, world: World, side: Side):
    path = (
        "/"
        + row.path.lstrip("/").format(**{name: object_id for name in _params(row.path)})
        + row.query
    )
    body = row.body(world, side) if row.body else None
    method = row.method.lower()
    return (
        getattr(client, method)(path, body) if body is not None else getattr(client, method)(path)
    )


def _params(path: str) -> list[str]:
    import string

    return [name for _, name, _, _ in string.Formatter().parse(path) if name]


def _outcome(response) -> object:
    if response.status_code in (403, 404):
        return response.status_code
    assert response.status_code < 500, response.content[:300]
    assert response.status_code not in (401, 405), response.content[:300]
    return OK


def _body(response) -> bytes:
    return body(response)


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r.method} {r.path}")
def test_matrix(row: Row, world: World, api_client):
    """Every caller on A's object, B's object and a missing id: the table's outcome, and a
    hidden object answers exactly like a missing one."""
    problems = []
    missing_id = uuid.uuid4() if row.uuid_id else MISSING_INT
    anonymous = _call(api_client.anonymous(), row, row.object_id(world.a), world, world.a)
    if anonymous.status_code != 401:
        problems.append(f"anonymous: {anonymous.status_code}, expected 401")
    for name in CALLERS:
        client = api_client.as_user(_caller(world, name))
        missing = _call(client, row, missing_id, world, world.a)
        if missing.status_code not in (403, 404):
            problems.append(f"{name} on a missing id: {missing.status_code}")
        for label, side, table in (("A", world.a, row.a), ("B", world.b, row.b)):
            expected = table.get(name, HIDDEN)
            response = _call(client, row, row.object_id(side), world, side)
            got = _outcome(response)
            if got != expected:
                problems.append(
                    f"{name} on {label}'s object: {response.status_code} "
                    f"{_body(response)[:160]!r}, expected {expected}"
                )
            elif got == HIDDEN and (
                response.status_code != missing.status_code or _body(response) != _body(missing)
            ):
                problems.append(
                    f"{name} on {label}'s object: {_body(response)[:160]!r} differs from "
                    f"a missing id's {missing.status_code} {missing.content[:160]!r}"
                )
    assert not problems, "\n".join(problems)


def _object_paths() -> set[tuple[str, str]]:
    paths = api.get_openapi_schema()["paths"]
    return {
        (method.upper(), path.removeprefix("/api/v1"))
        for path, operations in paths.items()
        if "{" in path
        for method in operations
        if method.lower() in ("get", "post", "put", "patch", "delete")
    }


def test_every_object_endpoint_has_a_row():
    """A new endpoint with a path parameter must get a row in ROWS."""
    covered = {(row.method, row.path) for row in ROWS}
    missing = sorted(_object_paths() - covered)
    assert not missing, f"endpoints without an authorization-matrix row: {missing}"
    stale = sorted(covered - _object_paths())
    assert not stale, f"rows for endpoints that no longer exist: {stale}"


# --- Lists: an office of town A sees town A's objects and none of town B's --------------------

# path (with the query that selects the world's quarter) → (item key, A's id or None when the
# office does not see A's object in this list, B's id). Ids compared as strings.
LISTS: dict[str, Callable[[World], tuple[str, object, object]]] = {
    "/households": lambda w: ("id", w.a.household.pk, w.b.household.pk),
    "/helpers": lambda w: ("id", w.a.helper.pk, w.b.helper.pk),
    "/pairings": lambda w: ("id", w.a.pairing.pk, w.b.pairing.pk),
    "/visits/window-extensions": lambda w: ("id", w.a.extension.pk, w.b.extension.pk),
    "/visits?quarter=2026Q3": lambda w: ("id", w.a.visit.pk, w.b.visit.pk),
    "/me/households?quarter=2026Q3": lambda w: ("id", None, w.b.household.pk),
    "/me/villages?quarter=2026Q3": lambda w: ("village", None, w.b.village_visit.village_id),
    "/me/visits?quarter=2026Q3": lambda w: ("id", None, w.b.visit.pk),
    "/me/village-visits?quarter=2026Q3": lambda w: ("id", None, w.b.village_visit.pk),
    "/exit-candidates?quarter=2026Q3": lambda w: ("id", None, w.b.household.pk),
    "/grievances/cases": lambda w: ("id", w.a.grievance.pk, w.b.grievance.pk),
    "/coverage/pending?quarter=2026Q3": lambda w: ("id", None, w.b.household.pk),
    "/me/notifications": lambda w: ("id", None, w.b.notification.pk),
    "/supervision/risks?quarter=2026Q3": lambda w: ("id", w.a.visit.pk, w.b.visit.pk),
    "/supervision/draws": lambda w: ("id", None, w.b.draw.pk),
    "/supervision/checks": lambda w: ("id", None, w.b.check.pk),
    "/payment-warnings": lambda w: ("id", w.a.extra["warning"].pk, w.b.extra["warning"].pk),
}


def _list_paths() -> set[str]:
    """GET endpoints without path parameters whose answer is a page of items."""
    schema = api.get_openapi_schema()
    components = schema["components"]["schemas"]
    found = set()
    for path, operations in schema["paths"].items():
        get = operations.get("get")
        if get is None or "{" in path:
            continue
        content = get["responses"].get(200, {}).get("content", {}).get("application/json", {})
        ref = content.get("schema", {}).get("$ref", "").rsplit("/", 1)[-1]
        if "items" in components.get(ref, {}).get("properties", {}):
            found.add(path.removeprefix("/api/v1"))
    return found


def test_every_list_endpoint_has_a_row():
    covered = {path.split("?")[0] for path in LISTS}
    assert not sorted(_list_paths() - covered), "list endpoints without a LISTS row"


@pytest.mark.parametrize("path", list(LISTS))
def test_lists_stay_in_area(path: str, world: World, api_client):
    key, a_id, b_id = LISTS[path](world)
    response = api_client.as_user(world.users["town_office"]).get(
        path + "&page_size=200" if "?" in path else path + "?page_size=200"
    )
    if response.status_code == 403:
        return  # not for offices at all: nothing leaks
    assert response.status_code == 200, response.content[:300]
    items = response.json()["items"]
    assert all(key in item for item in items), f"items have no {key!r}: {items[:1]}"
    seen = {str(item[key]) for item in items}
    assert str(b_id) not in seen, f"town B's object {b_id} listed for town A's office"
    if a_id is not None:
        assert str(a_id) in seen, f"town A's object {a_id} missing from its office's list"


def test_department_reads_its_cases_photos_only(world: World, api_client):
    """A department handler reads the photos of cases assigned to its unit (the matrix shows it
    never reads visit photos)."""
    from grievances.models import GrievancePhoto
    from tests.visits.helpers import make_photo

    photo = make_photo(None, "grievance", seed=99)
    GrievancePhoto.objects.create(grievance=world.a.grievance, photo=photo)
    department = api_client.as_user(world.users["department"])
    assert department.get(f"/photos/{photo.pk}").status_code == 200
    other = make_photo(None, "grievance", seed=98)  # not attached to any of its cases
    assert department.get(f"/photos/{other.pk}").status_code == 404
