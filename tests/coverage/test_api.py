"""Coverage over the API: numbers at every level on the known dataset (see conftest), changed
pairings, area scoping and roles, pinned query counts, and the export against the API."""

import io

import pytest
from openpyxl import load_workbook

from accounts.models import AuditAction, AuditEntry
from accounts.roles import Role
from common.quarters import default_quarter

Q = "2026Q3"


def nums(row: dict) -> tuple:
    return (row["paired"], row["visited"], row["pending"], row["flagged_visits"])


def weak(row: dict) -> tuple:
    return (row["weak_paired"], row["weak_visited"])


def get(api_client, user, path, **params):
    return api_client.as_user(user).get(path, params)


def test_city_level(api_client, data, regions, make_user):
    city_office = make_user(Role.CITY_OFFICE, regions.city)
    body = get(api_client, city_office, "/coverage", quarter=Q).json()
    assert body["region"]["code"] == regions.city.code
    assert nums(body["region"]) == (8, 5, 3, 1)
    assert body["region"]["percent"] == 62.5
    children = {c["code"]: c for c in body["children"]}
    assert nums(children[regions.county.code]) == (7, 4, 3, 1)
    assert weak(children[regions.county.code]) == (2, 1)
    assert nums(children[regions.other_county.code]) == (1, 1, 0, 0)
    assert body["child_level"] == "county"


def test_county_level_is_the_default_region(api_client, data, regions, county_office):
    body = get(api_client, county_office, "/coverage", quarter=Q).json()
    assert body["region"]["code"] == regions.county.code
    assert nums(body["region"]) == (7, 4, 3, 1)
    assert body["region"]["percent"] == pytest.approx(57.1)
    children = {c["code"]: c for c in body["children"]}
    assert nums(children[regions.town_a.code]) == (6, 4, 2, 1)
    assert weak(children[regions.town_a.code]) == (1, 0)
    assert nums(children[regions.town_b.code]) == (1, 0, 1, 0)
    assert weak(children[regions.town_b.code]) == (1, 1)
    assert [p["code"] for p in body["path"]][-1] == regions.county.code
    assert body["households"] is None


def test_town_level(api_client, data, regions, town_a_office):
    body = get(api_client, town_a_office, "/coverage", quarter=Q).json()
    children = {c["code"]: c for c in body["children"]}
    assert nums(children[regions.village_a1.code]) == (4, 3, 1, 1)
    assert nums(children[regions.village_a2.code]) == (2, 1, 1, 0)
    assert nums(body["region"]) == (6, 4, 2, 1)


def test_village_level_households_and_helpers(api_client, data, regions, town_a_office):
    body = get(
        api_client, town_a_office, "/coverage", quarter=Q, region=regions.village_a1.code
    ).json()
    assert nums(body["region"]) == (4, 3, 1, 1)
    assert body["children"] == []
    rows = {h["number"]: h for h in body["households"]}
    # h4's pairing ended before the quarter and h5's starts after it: neither is listed.
    assert sorted(rows) == ["H001", "H002", "H003", "H006"]
    assert rows["H001"]["visited"] and rows["H001"]["flag_count"] == 2
    assert not rows["H002"]["visited"]
    # Pairings changed in the quarter: the visit counts for the helper paired on its date.
    assert rows["H003"]["helper"]["name"] == "乙帮扶"  # visited by Y after the change
    assert rows["H006"]["helper"]["name"] == "甲帮扶"  # visited by X before the change
    assert rows["H002"]["helper"]["name"] == "甲帮扶"
    helpers = {h["helper"]["name"]: h for h in body["helpers"]}
    assert (helpers["甲帮扶"]["paired"], helpers["甲帮扶"]["visited"]) == (3, 2)
    assert (helpers["乙帮扶"]["paired"], helpers["乙帮扶"]["visited"]) == (1, 1)


def test_changed_pairing_unvisited_goes_to_current_helper(api_client, data, regions, town_a_office):
    """A household whose pairing changed and which nobody visited is pending for the helper
    paired at the quarter's end, listed once."""
    from register.models import Pairing
    from tests import factories as f

    household = f.HouseholdFactory(village=regions.village_a2, number="H011")
    f.PairingFactory(
        helper=data.x, household=household, start_date="2020-01-01", end_date="2026-08-20"
    )
    f.PairingFactory(helper=data.z, household=household, start_date="2026-08-20")
    assert Pairing.objects.filter(household=household).count() == 2
    body = get(
        api_client, town_a_office, "/coverage", quarter=Q, region=regions.village_a2.code
    ).json()
    assert nums(body["region"]) == (3, 1, 2, 0)
    rows = {h["number"]: h for h in body["households"]}
    assert rows["H011"]["helper"]["name"] == "丙帮扶"
    pending = get(
        api_client, town_a_office, "/coverage/pending", quarter=Q, region=regions.village_a2.code
    ).json()
    assert [(p["household_number"], p["helper"]["name"]) for p in pending["items"]] == [
        ("H008", "丙帮扶"),
        ("H011", "丙帮扶"),
    ]


def test_pending_list(api_client, data, regions, county_office):
    body = get(api_client, county_office, "/coverage/pending", quarter=Q).json()
    assert [(p["household_number"], p["helper"]["name"]) for p in body["items"]] == [
        ("H002", "甲帮扶"),
        ("H008", "丙帮扶"),
        ("H009", "丁帮扶"),
    ]
    assert body["items"][0]["helper"]["phone"] == data.x.phone
    assert body["items"][0]["village"]["code"] == regions.village_a1.code
    assert body["has_next"] is False
    page1 = get(api_client, county_office, "/coverage/pending", quarter=Q, page_size=2).json()
    page2 = get(
        api_client, county_office, "/coverage/pending", quarter=Q, page_size=2, page=2
    ).json()
    assert page1["has_next"] and not page2["has_next"]
    assert [p["household_number"] for p in page1["items"] + page2["items"]] == [
        "H002",
        "H008",
        "H009",
    ]


def test_trend(api_client, data, regions, county_office):
    body = get(api_client, county_office, "/coverage/trend", quarter=Q, quarters=4).json()
    points = [(p["quarter"], p["paired"], p["visited"]) for p in body["points"]]
    # Q2: h4 was still paired and h8 was visited (h5 not yet paired).
    assert points == [("2025Q4", 8, 0), ("2026Q1", 8, 0), ("2026Q2", 8, 1), ("2026Q3", 7, 4)]
    assert get(api_client, county_office, "/coverage/trend", quarters=13).status_code == 422


def test_defaults_to_the_latest_opened_quarter(api_client, regions, county_office, monkeypatch):
    import datetime as dt

    assert str(default_quarter(dt.date(2026, 10, 8))) == "2026Q3"
    assert str(default_quarter(dt.date(2027, 1, 2))) == "2026Q4"
    # Once a window opens, its quarter is the default (as on the supervision pages).
    assert str(default_quarter(dt.date(2026, 9, 20))) == "2026Q2"
    assert str(default_quarter(dt.date(2026, 9, 21))) == "2026Q3"
    body = get(api_client, county_office, "/coverage").json()
    assert body["quarter"] == str(default_quarter())


def test_bad_quarter_is_422(api_client, regions, county_office):
    response = get(api_client, county_office, "/coverage", quarter="2026Q5")
    assert response.status_code == 422
    assert response.json()["code"] == "bad_quarter"


ENDPOINTS = ["/coverage", "/coverage/pending", "/coverage/trend", "/coverage/export.xlsx"]


@pytest.mark.parametrize("path", ENDPOINTS)
def test_outside_the_area_is_404(api_client, data, regions, town_a_office, outsider_office, path):
    # A town office asking for its county, or for the other town.
    for code in (regions.county.code, regions.town_b.code, regions.village_b1.code):
        response = get(api_client, town_a_office, path, quarter=Q, region=code)
        assert response.status_code == 404, (path, code)
        assert response.json()["code"] == "not_found"
    for code in (regions.county.code, "999999999999", "abc"):
        response = get(api_client, outsider_office, path, quarter=Q, region=code)
        assert response.status_code == 404, (path, code)
    # The same body for "not yours" and "does not exist".
    a = get(api_client, town_a_office, path, region=regions.county.code).json()
    b = get(api_client, town_a_office, path, region="320623999999").json()
    assert a == b


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("role", [Role.HELPER, Role.DEPARTMENT, Role.UNIT])
def test_wrong_role_is_403(api_client, data, regions, make_user, path, role):
    user = make_user(role, regions.town_a)
    response = get(api_client, user, path, quarter=Q)
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


@pytest.mark.parametrize("path", ENDPOINTS)
def test_anonymous_is_401(api_client, path):
    assert api_client.anonymous().get(path).status_code == 401


def test_supervisor_reads(api_client, data, supervisor):
    body = get(api_client, supervisor, "/coverage", quarter=Q).json()
    assert nums(body["region"]) == (7, 4, 3, 1)


def test_outsider_sees_only_its_county(api_client, data, regions, outsider_office):
    body = get(api_client, outsider_office, "/coverage", quarter=Q).json()
    assert nums(body["region"]) == (1, 1, 0, 0)
    pending = get(api_client, outsider_office, "/coverage/pending", quarter=Q).json()
    assert pending["items"] == []


def _more_households(regions, helper, n: int) -> None:
    from tests import factories as f

    for i in range(n):
        household = f.HouseholdFactory(village=regions.village_a2, number=f"M{i:04d}")
        f.PairingFactory(helper=helper, household=household)


def test_query_counts_are_pinned(
    api_client, data, regions, county_office, django_assert_max_num_queries
):
    client = api_client.as_user(county_office)
    _more_households(regions, data.z, 30)
    # Auth (token, user), the region, the data stamp, three counts, children, path.
    with django_assert_max_num_queries(9):
        assert client.get("/coverage", {"quarter": Q}).status_code == 200
    # A village: the above, then its own rows under the stamp (stamp, households, helpers,
    # helper counts).
    with django_assert_max_num_queries(11):
        village = client.get("/coverage", {"quarter": Q, "region": regions.village_a2.code})
        assert len(village.json()["households"]) == 32
    with django_assert_max_num_queries(4):
        pending = client.get("/coverage/pending", {"quarter": Q, "page_size": 100})
        assert len(pending.json()["items"]) == 33
    with django_assert_max_num_queries(4 + 3 * 4):
        assert client.get("/coverage/trend", {"quarter": Q}).status_code == 200


def test_export_matches_the_api(api_client, data, regions, county_office):
    client = api_client.as_user(county_office)
    api = client.get("/coverage", {"quarter": Q}).json()
    response = client.get("/coverage/export.xlsx", {"quarter": Q, "households": "true"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    summary = workbook.worksheets[0]
    rows = {r[0]: r for r in summary.iter_rows(min_row=2, values_only=True)}
    for area in [api["region"], *api["children"]]:
        row = rows[area["code"]]
        assert row[3:8] == (
            area["paired"],
            area["visited"],
            area["pending"],
            area["percent"] if area["percent"] is not None else None,
            area["flagged_visits"],
        ), area["code"]
    assert regions.village_a1.code in rows  # every level down to villages
    detail = list(workbook["走访明细"].iter_rows(min_row=2, values_only=True))
    assert len(detail) == api["region"]["paired"]
    assert sum(1 for r in detail if r[7] == "未走访") == api["region"]["pending"]
    pending_api = client.get("/coverage/pending", {"quarter": Q}).json()["items"]
    pending = list(workbook["未走访名单"].iter_rows(min_row=2, values_only=True))
    assert [r[2] for r in pending] == [p["household_number"] for p in pending_api]
    assert [r[4] for r in pending] == [p["helper"]["name"] for p in pending_api]
    entry = AuditEntry.objects.get(action=AuditAction.EXPORT, target_type="coverage.selectors")
    assert entry.actor == county_office and entry.region_code == regions.county.code
    assert entry.target_id == f"{Q}:{regions.county.code}"
    # Without `households` the per-household sheet is left out.
    plain = client.get("/coverage/export.xlsx", {"quarter": Q})
    sheets = load_workbook(io.BytesIO(b"".join(plain.streaming_content)), read_only=True)
    assert sheets.sheetnames == [f"覆盖率 {Q}", "未走访名单"]


def test_a_quarter_before_the_calendar_is_refused_not_a_server_error(api_client, county_office):
    client = api_client.as_user(county_office)
    for path in ("/coverage/trend", "/coverage", "/exit-candidates"):
        response = client.get(path, {"quarter": "2000Q1"})
        assert response.status_code == 422, (path, response.content)
