"""visits_bulk_create: the rows visit_submit writes, for many visits at once (seed data)."""

import dataclasses
import uuid
from decimal import Decimal

import pytest
from django.db import transaction
from django.forms.models import model_to_dict

from common.errors import AppError
from common.quarters import Quarter
from media.models import Photo
from tests import factories as f
from tests.visits.helpers import at, visit_photos
from visits.models import QuarterIncome, Visit, VisitPhoto
from visits.services import (
    BulkVisit,
    Income,
    Position,
    VisitInput,
    visit_submit,
    visits_bulk_create,
)

VISITED = at("2026-12-25 10:00")
NOW = at("2026-12-25 18:00")
Q4 = Quarter(2026, 4)


def _input(household, photos, **changes) -> VisitInput:
    data = VisitInput(
        id=uuid.uuid4(),
        household_id=household.pk,
        visited_at=VISITED,
        position=Position(
            lat=Decimal("32.312"),
            lon=Decimal("121.185"),
            coord_system="gcj02",
            accuracy_m=Decimal("5"),
        ),
        photo_ids=tuple(p.pk for p in photos),
        income=Income(
            wages=Decimal("3000.00"),
            operating=Decimal("-200.50"),
            property=Decimal("0.00"),
            transfers=Decimal("450.00"),
        ),
        passbook_checked=True,
        notes="  户主在家  ",
    )
    return dataclasses.replace(data, **changes)


def _rows(visit_id) -> dict:
    """What the database holds for one visit, without serial ids."""
    visit = Visit.objects.get(pk=visit_id)
    income = QuarterIncome.objects.get(visit=visit)
    links = VisitPhoto.objects.filter(visit=visit).order_by("photo_id")
    return {
        "visit": model_to_dict(visit, fields=[f.name for f in Visit._meta.concrete_fields]),
        "income": {k: v for k, v in model_to_dict(income).items() if k != "id"},
        "links": [{k: v for k, v in model_to_dict(link).items() if k != "id"} for link in links],
        "photo_regions": sorted(
            Photo.objects.filter(visit_use__visit=visit).values_list("pk", "region_id")
        ),
    }


@pytest.fixture
def photos(helper_a_user):
    return visit_photos(helper_a_user, taken=VISITED)


def test_bulk_writes_the_rows_the_real_path_writes(in_window, helper_a_user, household_a, photos):
    data = _input(household_a, photos)
    with transaction.atomic():
        visit_submit(user=helper_a_user, data=data, now=NOW)
        real = _rows(data.id)
        transaction.set_rollback(True)
    assert not Visit.objects.exists()

    for quarter in (None, Q4):  # from the windows, or named
        with transaction.atomic():
            row = BulkVisit(
                data=data, user_id=helper_a_user.pk, entered_at=NOW, photos=tuple(photos),
                quarter=quarter,
            )  # fmt: skip
            (visit,) = visits_bulk_create(rows=[row])
            assert visit.pk == data.id
            bulk = _rows(data.id)
            transaction.set_rollback(True)
        for part in real:
            assert bulk[part] == real[part], part
    assert real["visit"]["quarter"] == 4
    assert real["visit"]["notes"] == "户主在家"
    assert real["photo_regions"][0][1] == household_a.village_id


def test_bulk_replaces_the_current_income_record(in_window, helper_a_user, household_a):
    first = visit_photos(helper_a_user, taken=VISITED, seed=1)
    visit_submit(user=helper_a_user, data=_input(household_a, first), now=NOW)
    again = visit_photos(helper_a_user, taken=VISITED, seed=2)
    data = _input(household_a, again)
    visits_bulk_create(
        rows=[BulkVisit(data=data, user_id=helper_a_user.pk, entered_at=NOW, photos=tuple(again))]
    )
    current = QuarterIncome.objects.get(household=household_a, current=True)
    assert current.visit_id == data.id
    assert current.replaces.visit_id != data.id


def _refused(rows) -> AppError:
    with pytest.raises(AppError) as caught:
        visits_bulk_create(rows=rows)
    return caught.value


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ("negative_wages", "validation"),
        ("missing_kind", "photo_kind_missing"),
        ("wrong_quarter", "bad_quarter"),
        ("not_paired", "not_paired"),
        ("photo_twice", "photo_used"),
        ("future", "visited_in_future"),
        ("photo_of_another", "photo_unknown"),
    ],
)
def test_a_bad_row_refuses_the_batch_and_writes_nothing(
    in_window, helper_a_user, household_a, regions, helper_a, make_user, change, code
):
    good = visit_photos(helper_a_user, taken=VISITED, seed=1)
    other = f.HouseholdFactory(village=regions.village_a1)
    f.PairingFactory(helper=helper_a, household=other)
    bad_photos = visit_photos(helper_a_user, taken=VISITED, seed=2)
    bad = _input(other, bad_photos)
    user_id, quarter = helper_a_user.pk, None
    if change == "negative_wages":
        bad = dataclasses.replace(bad, income=dataclasses.replace(bad.income, wages=Decimal(-1)))
    elif change == "missing_kind":
        bad_photos = bad_photos[:3]
        bad = dataclasses.replace(bad, photo_ids=tuple(p.pk for p in bad_photos))
    elif change == "wrong_quarter":
        quarter = Quarter(2026, 3)
    elif change == "not_paired":
        stranger = f.HouseholdFactory(village=regions.village_a1)
        bad = dataclasses.replace(bad, household_id=stranger.pk)
    elif change == "photo_twice":
        bad_photos = good
        bad = dataclasses.replace(bad, photo_ids=tuple(p.pk for p in good))
    elif change == "future":
        bad = dataclasses.replace(bad, visited_at=at("2026-12-26 10:00"))
    elif change == "photo_of_another":
        another = f.HelperFactory(region=regions.town_a)
        someone = make_user(helper_a_user.role, regions.town_a, helper=another)
        bad_photos = visit_photos(someone, taken=VISITED, seed=3)
        bad = dataclasses.replace(bad, photo_ids=tuple(p.pk for p in bad_photos))
    rows = [
        BulkVisit(
            data=_input(household_a, good), user_id=user_id, entered_at=NOW, photos=tuple(good)
        ),
        BulkVisit(
            data=bad, user_id=user_id, entered_at=NOW, photos=tuple(bad_photos), quarter=quarter
        ),
    ]
    error = _refused(rows)
    assert error.code == code
    assert error.detail["visit_id"] == str(bad.id)
    assert not Visit.objects.exists()
    assert not VisitPhoto.objects.exists()
    assert not QuarterIncome.objects.exists()
    assert set(Photo.objects.values_list("region_id", flat=True)) == {regions.town_a.code}


def test_only_a_helper_may_bulk_create_and_a_used_key_is_refused(
    in_window, helper_a_user, household_a, photos, town_a_office
):
    data = _input(household_a, photos)
    row = BulkVisit(data=data, user_id=town_a_office.pk, entered_at=NOW, photos=tuple(photos))
    assert _refused([row]).code == "not_helper"
    visit_submit(user=helper_a_user, data=data, now=NOW)
    row = dataclasses.replace(row, user_id=helper_a_user.pk)
    assert _refused([row]).code == "idempotency_conflict"
