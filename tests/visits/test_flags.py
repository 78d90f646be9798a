"""Each fabrication flag raised, and not raised; none of them refuses a visit."""

import uuid
from decimal import Decimal

import pytest
from django.test import TestCase

from media.models import Photo
from tests import factories as f
from tests.visits.helpers import HOME, at, make_jpeg, make_photo, visit_photos
from visits.checks import photo_processed
from visits.models import FlagKind, VisitFlag
from visits.services import Income, Position, VisitInput, visit_submit

NOW = at("2026-12-28 20:00")
VISITED = at("2026-12-25 10:00")
NEAR_HOME = Position(lat=Decimal("32.310100"), lon=Decimal("121.180100"))
INCOME = Income(
    wages=Decimal("3000.00"),
    operating=Decimal("-200.50"),
    property=Decimal("0.00"),
    transfers=Decimal("450.00"),
)


def submit(user, household, photos, *, visited_at=VISITED, position=NEAR_HOME, income=INCOME):
    # The checks against other visits run in visits.tasks.check_visit (the immediate backend
    # here); what the commit sends (live events) runs too.
    with TestCase.captureOnCommitCallbacks(execute=True):
        visit, created = _submit(user, household, photos, visited_at, position, income)
    assert created
    return visit


def _submit(user, household, photos, visited_at, position, income):
    return visit_submit(
        user=user,
        data=VisitInput(
            id=uuid.uuid4(),
            household_id=household.pk,
            visited_at=visited_at,
            position=position,
            photo_ids=tuple(p.pk for p in photos),
            income=income,
            passbook_checked=True,
        ),
        now=NOW,
    )


def kinds(visit) -> set[str]:
    return set(VisitFlag.objects.filter(visit=visit).values_list("kind", flat=True))


@pytest.fixture
def helper(helper_a_user):
    return helper_a_user


def test_a_clean_visit_raises_no_flag(helper, household_a):
    visit = submit(helper, household_a, visit_photos(helper, taken=VISITED))
    assert kinds(visit) == set()


def test_missing_exif_time_and_gps(helper, household_a):
    photos = visit_photos(helper, taken=VISITED)
    photos[1] = make_photo(helper, "scene", data=make_jpeg(seed=41))  # a screenshot: no EXIF
    visit = submit(helper, household_a, photos)
    flags = VisitFlag.objects.filter(visit=visit)
    assert {(fl.kind, fl.photo_id) for fl in flags} == {
        (FlagKind.NO_EXIF_TIME, photos[1].pk),
        (FlagKind.NO_EXIF_GPS, photos[1].pk),
    }


def test_capture_time_far_from_visit_and_outside_window(helper, household_a, settings):
    photos = visit_photos(helper, taken=VISITED)
    photos[0] = make_photo(helper, "location", taken=at("2026-12-24 20:00"), gps=HOME, seed=51)
    photos[2] = make_photo(helper, "passbook", taken=at("2026-12-01 09:00"), gps=HOME, seed=52)
    visit = submit(helper, household_a, photos)
    gap = VisitFlag.objects.filter(visit=visit, kind=FlagKind.CAPTURE_TIME_GAP)
    assert {fl.photo_id for fl in gap} == {photos[0].pk, photos[2].pk}
    assert gap.get(photo=photos[0]).detail["gap_hours"] == 14.0
    outside = VisitFlag.objects.get(visit=visit, kind=FlagKind.CAPTURE_OUTSIDE_WINDOW)
    assert outside.photo_id == photos[2].pk
    # 12 hours exactly is within the limit; a larger limit silences the 14 hours.
    settings.VISIT_MAX_CAPTURE_GAP_HOURS = 15
    household = f.HouseholdFactory(village=household_a.village)
    f.PairingFactory(helper=helper.helper, household=household)
    again = visit_photos(helper, taken=VISITED, seed=7)
    again[0] = make_photo(helper, "location", taken=at("2026-12-24 20:00"), gps=HOME, seed=53)
    assert kinds(submit(helper, household, again)) == set()


def test_far_from_home(helper, household_a, settings):
    far = (Decimal("32.330000"), Decimal("121.180000"))  # ~2.2 km north
    photos = visit_photos(helper, taken=VISITED)
    photos[3] = make_photo(helper, "handbook", taken=VISITED, gps=far, seed=61)
    visit = submit(helper, household_a, photos, position=Position(lat=far[0], lon=far[1]))
    visit_flag = VisitFlag.objects.get(visit=visit, kind=FlagKind.VISIT_FAR_FROM_HOME)
    assert (
        2100 < visit_flag.detail["distance_m"] < 2300 and visit_flag.detail["max_distance_m"] == 500
    )
    photo_flag = VisitFlag.objects.get(visit=visit, kind=FlagKind.PHOTO_FAR_FROM_HOME)
    assert photo_flag.photo_id == photos[3].pk


def test_gcj02_position_is_compared_in_wgs84(helper, household_a, settings):
    # The home's position as a Chinese map app shows it (GCJ-02) is ~485 m off in WGS-84 terms
    # here; converted on input, it is at home and raises nothing.
    settings.VISIT_MAX_DISTANCE_M = 300
    from common.geo import wgs84_to_gcj02

    lat, lon = wgs84_to_gcj02(float(HOME[0]), float(HOME[1]))
    position = Position(lat=Decimal(f"{lat:.6f}"), lon=Decimal(f"{lon:.6f}"), coord_system="gcj02")
    visit = submit(helper, household_a, visit_photos(helper, taken=VISITED), position=position)
    assert FlagKind.VISIT_FAR_FROM_HOME not in kinds(visit)
    wrong = Position(lat=position.lat, lon=position.lon, coord_system="wgs84")
    household = f.HouseholdFactory(village=household_a.village)
    f.PairingFactory(helper=helper.helper, household=household)
    visit = submit(helper, household, visit_photos(helper, taken=VISITED, seed=2), position=wrong)
    assert FlagKind.VISIT_FAR_FROM_HOME in kinds(visit)


def test_same_bytes_in_another_visit(helper, household_a, regions):
    first = visit_photos(helper, taken=VISITED)
    submit(helper, household_a, first)
    household = f.HouseholdFactory(village=regions.village_a1)
    f.PairingFactory(helper=helper.helper, household=household)
    second = visit_photos(helper, taken=VISITED, seed=9)
    # The same scene photo uploaded again under a new id (a new Photo, the same bytes).
    with first[1].original.open("rb") as fh:
        second[1] = make_photo(helper, "scene", data=fh.read())
    visit = submit(helper, household, second, visited_at=at("2026-12-25 10:30"))
    flag = VisitFlag.objects.get(visit=visit, kind=FlagKind.DUPLICATE_PHOTO)
    assert flag.photo_id == second[1].pk and flag.detail["other_photo"] == str(first[1].pk)
    assert FlagKind.NEAR_DUPLICATE_PHOTO not in kinds(visit)


def _set_hash(photo: Photo, phash: str) -> None:
    Photo.objects.filter(pk=photo.pk).update(phash=phash, status="processed")


def test_near_duplicate_when_the_hash_arrives(helper, household_a, regions):
    first = visit_photos(helper, taken=VISITED)
    visit_1 = submit(helper, household_a, first)
    household = f.HouseholdFactory(village=regions.village_a1)
    f.PairingFactory(helper=helper.helper, household=household)
    second = visit_photos(helper, taken=VISITED, seed=9)
    visit_2 = submit(helper, household, second, visited_at=at("2026-12-25 10:30"))
    _set_hash(first[1], "f0f0f0f0f0f0f0f0")
    assert photo_processed(str(first[1].pk)) == 0  # nothing similar yet
    _set_hash(second[1], "f0f0f0f0f0f0f0ff")  # 4 bits apart
    _set_hash(second[2], "0f0f0f0f0f0f0f0f")  # 64 bits apart
    photo_processed(str(second[1].pk))
    photo_processed(str(second[2].pk))
    photo_processed(str(second[1].pk))  # a rerun adds nothing
    flags = VisitFlag.objects.filter(kind=FlagKind.NEAR_DUPLICATE_PHOTO)
    assert [(fl.visit_id, fl.photo_id) for fl in flags] == [(visit_2.pk, second[1].pk)]
    assert flags[0].detail["hamming_distance"] == 4 and flags[0].detail["max_distance"] == 8
    assert kinds(visit_1) == set()


def test_near_duplicate_at_submit_when_hashes_are_ready(helper, household_a, regions):
    first = visit_photos(helper, taken=VISITED)
    submit(helper, household_a, first)
    _set_hash(first[0], "0123456789abcdef")
    household = f.HouseholdFactory(village=regions.village_a1)
    f.PairingFactory(helper=helper.helper, household=household)
    second = visit_photos(helper, taken=VISITED, seed=9)
    _set_hash(second[0], "0123456789abcde0")  # 4 bits apart
    second[0].refresh_from_db()
    visit = submit(helper, household, second, visited_at=at("2026-12-25 10:30"))
    assert FlagKind.NEAR_DUPLICATE_PHOTO in kinds(visit)


def test_impossible_travel(helper, household_a, regions):
    submit(helper, household_a, visit_photos(helper, taken=VISITED))
    far_home = (Decimal("32.610000"), Decimal("121.180000"))  # ~33 km north
    household = f.HouseholdFactory(
        village=regions.village_a2, home_lat=far_home[0], home_lon=far_home[1]
    )
    f.PairingFactory(helper=helper.helper, household=household)
    position = Position(lat=far_home[0], lon=far_home[1])
    # 33 km in 20 minutes: ~100 km/h.
    fast = submit(
        helper,
        household,
        visit_photos(helper, taken=at("2026-12-25 10:20"), gps=far_home, seed=3),
        visited_at=at("2026-12-25 10:20"),
        position=position,
    )
    flag = VisitFlag.objects.get(visit=fast, kind=FlagKind.IMPOSSIBLE_TRAVEL)
    assert flag.detail["legs"][0]["speed_kmh"] > 80
    # The same trip in an hour (33 km/h) is fine.
    third = f.HouseholdFactory(
        village=regions.village_a2, home_lat=far_home[0], home_lon=far_home[1]
    )
    f.PairingFactory(helper=helper.helper, household=third)
    slow = submit(
        helper,
        third,
        visit_photos(helper, taken=at("2026-12-25 12:30"), gps=far_home, seed=4),
        visited_at=at("2026-12-25 12:30"),
        position=position,
    )
    assert FlagKind.IMPOSSIBLE_TRAVEL not in kinds(slow)


def _income(w, o="0.00", p="0.00", t="0.00") -> Income:
    return Income(wages=Decimal(w), operating=Decimal(o), property=Decimal(p), transfers=Decimal(t))


def _seed_income(household, quarter: int, income: Income, year: int = 2026):
    from visits.models import QuarterIncome, Visit

    visit = Visit.objects.create(
        id=uuid.uuid4(),
        household=household,
        village=household.village,
        helper=household.pairings.get().helper,
        pairing=household.pairings.get(),
        submitted_by=f.UserFactory(role="helper", region=household.village),
        year=year,
        quarter=quarter,
        visited_at=at(f"{year}-{3 * quarter:02d}-25 10:00"),
        lat=HOME[0],
        lon=HOME[1],
        raw_lat=HOME[0],
        raw_lon=HOME[1],
        passbook_checked=True,
        content_hash="x",
        **income.__dict__,
    )
    QuarterIncome.objects.create(
        household=household, year=year, quarter=quarter, visit=visit, **income.__dict__
    )


def test_income_unchanged_from_last_quarter(helper, household_a):
    _seed_income(household_a, 3, INCOME)
    visit = submit(helper, household_a, visit_photos(helper, taken=VISITED))
    flag = VisitFlag.objects.get(visit=visit, kind=FlagKind.INCOME_UNCHANGED)
    assert (
        flag.detail["previous_quarter"] == "2026Q3" and flag.detail["income"]["wages"] == "3000.00"
    )


def test_income_changed_from_last_quarter_is_fine(helper, household_a):
    _seed_income(household_a, 3, _income("2999.00", "-200.50", "0.00", "450.00"))
    visit = submit(helper, household_a, visit_photos(helper, taken=VISITED))
    assert kinds(visit) == set()


def test_income_equal_to_a_running_sum_is_cumulative(helper, household_a):
    _seed_income(household_a, 1, _income("1000.00", "-100.00", "0.00", "200.00"))
    _seed_income(household_a, 2, _income("1100.00", "-50.50", "0.00", "250.00"))
    _seed_income(household_a, 3, _income("900.00", "-50.00", "0.00", "0.00"))
    # Q4 = Q1 + Q2 + Q3, category by category.
    visit = submit(helper, household_a, visit_photos(helper, taken=VISITED))
    flag = VisitFlag.objects.get(visit=visit, kind=FlagKind.INCOME_CUMULATIVE)
    assert flag.detail["sum_of_quarters"] == ["2026Q1", "2026Q2", "2026Q3"]


def test_income_not_a_running_sum(helper, household_a):
    _seed_income(household_a, 1, _income("1000.00", "-100.00", "0.00", "200.00"))
    _seed_income(household_a, 2, _income("1100.00", "-50.50", "0.00", "250.00"))
    _seed_income(household_a, 3, _income("900.00", "-50.00", "0.00", "0.01"))
    visit = submit(helper, household_a, visit_photos(helper, taken=VISITED))
    assert kinds(visit) == set()
