"""Where a photo was taken, over the API: each photo is uploaded as the app sends it (the file,
plus the phone's own fix and clock at capture in the `client_*` fields), then the visit; the
visit's answer lists the flags raised. Each position rule raised, and not raised."""

import uuid
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from common.geo import wgs84_to_gcj02
from tests.visits.helpers import HOME, KINDS, at, make_jpeg, payload

VISITED = at("2026-12-25 10:00")
NEAR = (Decimal("32.310100"), Decimal("121.180100"))  # ~14 m from home
POSITION_KINDS = {
    "no_position",
    "no_exif_gps",
    "device_position_inaccurate",
    "position_mismatch",
    "device_time_mismatch",
    "photo_far_from_home",
}


@pytest.fixture
def helper(api_client, helper_a_user, in_window):
    return api_client.as_user(helper_a_user)


def north(metres: float) -> tuple[Decimal, Decimal]:
    """A point `metres` due north of the home (1° of latitude ≈ 111 km)."""
    return (HOME[0] + Decimal(str(round(metres / 111_000, 6))), HOME[1])


def upload(
    client,
    kind: str,
    *,
    seed: int,
    exif_gps: tuple | None = HOME,
    fix: tuple | None = NEAR,
    accuracy: str | None = "8.0",
    taken: datetime | None = VISITED,
    device_time: datetime | None = None,
    coord_system: str = "wgs84",
) -> str:
    """One photo as the app uploads it: EXIF written by the camera (`exif_gps=None`: stripped
    by the photo picker), the phone's fix (`fix=None`: location refused) and clock."""
    fields = {
        "file": SimpleUploadedFile(
            "p.jpg", make_jpeg(taken=taken, gps=exif_gps, seed=seed), content_type="image/jpeg"
        ),
        "id": str(uuid.uuid4()),
        "kind": kind,
    }
    if fix is not None:
        fields.update(
            client_lat=str(fix[0]), client_lon=str(fix[1]), client_coord_system=coord_system
        )
        if accuracy is not None:
            fields["client_accuracy_m"] = accuracy
    moment = device_time or (taken + timedelta(seconds=40) if taken else None)
    if moment is not None:
        fields["client_taken_at"] = moment.isoformat()
    response = client.post("/photos", data=fields)
    assert response.status_code == 201, response.content
    return response.json()["id"]


def submit(client, household, photo_ids: list[str]) -> list[dict]:
    """The visit with these photos; the position flags its answer lists."""
    body = payload(household, [], visited_at=VISITED)
    body["photo_ids"] = photo_ids
    response = client.post("/visits", body)
    assert response.status_code == 201, response.content
    return [f for f in response.json()["flags"] if f["kind"] in POSITION_KINDS]


def visit(client, household, special: dict | None = None, **on_every) -> tuple[list, list[str]]:
    """Four photos, normal unless `special` gives one kind its own upload arguments."""
    special = special or {}
    ids = [
        upload(client, kind, seed=i, **{**on_every, **special.get(kind, {})})
        for i, kind in enumerate(KINDS)
    ]
    return submit(client, household, ids), ids


def test_a_good_device_position_without_exif_gps_raises_nothing(helper, household_a):
    # The photo picker stripped every photo's GPS; the phone's fix is 8 m accurate, at home.
    flags, _ = visit(helper, household_a, exif_gps=None)
    assert flags == []


def test_exif_gps_and_an_agreeing_device_position_raise_nothing(helper, household_a):
    flags, _ = visit(helper, household_a)
    assert flags == []


def test_a_photo_with_neither_exif_gps_nor_device_position(helper, household_a):
    flags, ids = visit(helper, household_a, {"scene": {"exif_gps": None, "fix": None}})
    assert [(f["kind"], f["photo_id"]) for f in flags] == [("no_position", ids[1])]
    assert flags[0]["label"] == "照片无位置(无GPS且无手机定位)"
    # EXIF GPS alone (the phone's location refused) is a position: nothing to flag.
    flags, _ = visit(helper, _another(household_a), fix=None)
    assert flags == []


def test_an_inaccurate_device_position(helper, household_a, settings):
    assert settings.VISIT_MAX_DEVICE_ACCURACY_M == 100
    flags, ids = visit(
        helper,
        household_a,
        {"location": {"accuracy": "150.0"}, "scene": {"accuracy": "100.0"}},
        exif_gps=None,
    )
    assert [(f["kind"], f["photo_id"]) for f in flags] == [("device_position_inaccurate", ids[0])]
    assert flags[0]["detail"] == {"accuracy_m": 150.0, "max_accuracy_m": 100}
    # The limit is a setting; a fix sent without its accuracy is not called inaccurate.
    settings.VISIT_MAX_DEVICE_ACCURACY_M = 200
    flags, _ = visit(
        helper,
        _another(household_a),
        {"location": {"accuracy": "150.0"}, "scene": {"accuracy": None}},
        exif_gps=None,
    )
    assert flags == []


def test_exif_gps_and_device_position_that_disagree(helper, household_a, settings):
    assert settings.VISIT_MAX_POSITION_GAP_M == 200
    # The passbook photo was taken at home (its EXIF says so) but attached 1 km away; the
    # handbook's fix is 150 m off its EXIF, within the limit.
    flags, ids = visit(
        helper,
        household_a,
        {"passbook": {"fix": north(1000)}, "handbook": {"fix": north(150)}},
    )
    assert [(f["kind"], f["photo_id"]) for f in flags] == [("position_mismatch", ids[2])]
    detail = flags[0]["detail"]
    assert 990 < detail["distance_m"] < 1010
    assert detail["max_distance_m"] == 200
    assert detail["exif"] == [str(HOME[0]), str(HOME[1])]
    assert detail["device_accuracy_m"] == 8.0


def test_device_time_that_disagrees_with_the_exif_time(helper, household_a, settings):
    assert settings.VISIT_MAX_DEVICE_TIME_GAP_MINUTES == 10
    # An old photo picked from the gallery: taken 30 minutes before it was attached; another
    # attached 5 minutes after it was taken.
    flags, ids = visit(
        helper,
        household_a,
        {
            "scene": {"device_time": VISITED + timedelta(minutes=30)},
            "handbook": {"device_time": VISITED + timedelta(minutes=5)},
        },
    )
    assert [(f["kind"], f["photo_id"]) for f in flags] == [("device_time_mismatch", ids[1])]
    assert flags[0]["detail"]["gap_minutes"] == 30.0
    assert flags[0]["detail"]["max_gap_minutes"] == 10
    # No EXIF time: nothing to compare (the missing time is flagged on its own).
    flags, _ = visit(helper, _another(household_a), {"scene": {"taken": None}})
    assert flags == []


def test_far_from_home_uses_the_best_position_available(helper, household_a):
    far = north(2000)
    # No EXIF GPS: the device position decides, and it is 2 km from home.
    flags, ids = visit(helper, household_a, {"location": {"exif_gps": None, "fix": far}})
    assert [(f["kind"], f["photo_id"]) for f in flags] == [("photo_far_from_home", ids[0])]
    assert flags[0]["detail"]["position_source"] == "device"
    assert flags[0]["detail"]["accuracy_m"] == 8.0
    # EXIF GPS at home beats a device fix 2 km away: not far from home, but a mismatch.
    flags, ids = visit(helper, _another(household_a), {"location": {"fix": far}})
    assert [f["kind"] for f in flags] == ["position_mismatch"]
    # EXIF GPS 2 km away is far from home whatever the phone's fix says (and disagrees).
    flags, ids = visit(helper, _another(household_a), {"scene": {"exif_gps": far, "fix": far}})
    assert [(f["kind"], f["detail"].get("position_source")) for f in flags] == [
        ("photo_far_from_home", "exif")
    ]


def test_a_device_position_in_gcj02_is_compared_in_wgs84(helper, household_a, settings):
    settings.VISIT_MAX_DISTANCE_M = 300  # GCJ-02 is ~485 m off WGS-84 here
    lat, lon = wgs84_to_gcj02(float(NEAR[0]), float(NEAR[1]))
    gcj = (Decimal(f"{lat:.6f}"), Decimal(f"{lon:.6f}"))
    flags, _ = visit(helper, household_a, exif_gps=None, fix=gcj, coord_system="gcj02")
    assert flags == []
    # The same numbers taken for WGS-84 are ~485 m off: far from home.
    flags, _ = visit(helper, _another(household_a), exif_gps=None, fix=gcj)
    assert {f["kind"] for f in flags} == {"photo_far_from_home"}


def _another(household):
    """Another household of the same helper and village (a visit per household here)."""
    from tests import factories as f

    other = f.HouseholdFactory(village=household.village)
    f.PairingFactory(helper=household.pairings.get().helper, household=other)
    return other
