"""With media's real processing: a re-encoded copy of another visit's photo is flagged as a
near-duplicate once its perceptual hash exists; real phone photos give real EXIF flags."""

import io
import uuid
from decimal import Decimal

import pytest
from PIL import Image

from tests import factories as f
from tests.visits.helpers import at, make_jpeg, make_photo, visit_photos
from visits.models import FlagKind, VisitFlag
from visits.services import Income, Position, VisitInput, visit_submit

NOW = at("2026-12-28 20:00")
VISITED = at("2026-12-25 10:00")


def _submit(user, household, photos, visited_at=VISITED):
    return visit_submit(
        user=user,
        data=VisitInput(
            id=uuid.uuid4(),
            household_id=household.pk,
            visited_at=visited_at,
            position=Position(lat=Decimal("32.3101"), lon=Decimal("121.1801")),
            photo_ids=tuple(p.pk for p in photos),
            income=Income(
                wages=Decimal(str(len(photos))),
                operating=Decimal("0"),
                property=Decimal("0"),
                transfers=Decimal("0"),
            ),
            passbook_checked=True,
        ),
        now=NOW,
    )[0]


def _reencoded(data: bytes) -> bytes:
    img = Image.open(io.BytesIO(data))
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=60, exif=img.getexif())
    return out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_reencoded_copy_is_a_near_duplicate(helper_a_user, household_a, regions):
    original = make_jpeg(taken=VISITED, gps=(Decimal("32.31"), Decimal("121.18")), seed=1)
    first = visit_photos(helper_a_user, taken=VISITED, seed=3)
    first[1] = make_photo(helper_a_user, "scene", data=original)
    _submit(helper_a_user, household_a, first)

    household = f.HouseholdFactory(village=regions.village_a1)
    f.PairingFactory(helper=helper_a_user.helper, household=household)
    second = visit_photos(helper_a_user, taken=VISITED, seed=4)
    second[1] = make_photo(helper_a_user, "scene", data=_reencoded(original))
    second[1].refresh_from_db()
    assert second[1].phash, "media's processing ran on commit and stored the hash"
    visit = _submit(helper_a_user, household, second, visited_at=at("2026-12-25 10:30"))
    flag = VisitFlag.objects.get(visit=visit, kind=FlagKind.NEAR_DUPLICATE_PHOTO)
    assert flag.photo_id == second[1].pk
    assert flag.detail["hamming_distance"] <= 8
    assert not VisitFlag.objects.filter(visit=visit, kind=FlagKind.DUPLICATE_PHOTO).exists()


@pytest.mark.realphotos
@pytest.mark.django_db
def test_real_phone_photos(helper_a_user, household_a, shared_photos):
    mobile = shared_photos / "mobile"
    names = ["HMD_Nokia_8.3_5G.jpg", "iphone_hdr_NO.jpg", "jolla.jpg", "Kodak_CX7530.jpg"]
    photos = [
        make_photo(helper_a_user, kind, data=(mobile / name).read_bytes())
        for kind, name in zip(("location", "scene", "passbook", "handbook"), names, strict=True)
    ]
    visit = _submit(helper_a_user, household_a, photos)
    flags = VisitFlag.objects.filter(visit=visit)
    # Jolla has no GPS (and no phone fix was sent); all were taken years before the visit and
    # far from Rudong.
    assert (FlagKind.NO_POSITION, photos[2].pk) in {(fl.kind, fl.photo_id) for fl in flags}
    assert flags.filter(kind=FlagKind.CAPTURE_TIME_GAP).count() >= 3
    assert flags.filter(kind=FlagKind.PHOTO_FAR_FROM_HOME).count() >= 2
