"""seed_demo with the visits and grievances demo seeders: a living county, built once."""

import hashlib
import io

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db.models import Count
from django.test import Client

from accounts.models import User
from common.quarters import window_for
from coverage.selectors import quarter_dates
from demo.grievances import DEMO_CODE, DEMO_KEY
from demo.visits import KINDS, QUARTERS
from grievances.models import Grievance, GrievanceEvent
from grievances.selectors import queue
from grievances.services import grievance_track
from media import images
from media.models import Photo, PhotoStatus
from payments.models import Payment, PaymentCheck, PaymentWarning
from register.models import Household, Pairing
from visits.models import (
    PhotoHash,
    QuarterIncome,
    VillageVisit,
    Visit,
    VisitFlag,
    VisitPhoto,
)

N = 300


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path},
        },
    }
    return tmp_path


def counts() -> dict[str, int]:
    models = (Visit, VisitPhoto, Photo, VisitFlag, QuarterIncome, VillageVisit, Grievance,
              GrievanceEvent, User, Household)  # fmt: skip
    return {m.__name__: m.objects.count() for m in models}


def coverage(year: int, q: int, prefix: str = "") -> float:
    quarter = next(x for x, _, _ in QUARTERS if (x.year, x.q) == (year, q))
    start, end = quarter_dates(quarter)
    paired = set(
        Pairing.objects.overlapping(start, end)
        .filter(household__village__code__startswith=prefix)
        .values_list("household_id", flat=True)
    )
    visited = set(
        Visit.objects.filter(year=year, quarter=q, household_id__in=paired).values_list(
            "household_id", flat=True
        )
    )
    return len(visited) / len(paired)


@pytest.mark.django_db
def test_seed_demo_builds_a_living_county_once(media_root):
    out = io.StringIO()
    call_command("seed_demo", households=N, stdout=out)
    assert "visits" in out.getvalue()
    assert "grievances" in out.getvalue()

    # Coverage: ~95 % in Q1-Q2, ~85 % in Q3, with towns apart in Q3; no Q4 visits yet.
    assert 0.90 <= coverage(2026, 1) <= 0.995
    assert 0.90 <= coverage(2026, 2) <= 0.995
    assert 0.75 <= coverage(2026, 3) <= 0.92
    assert not Visit.objects.filter(year=2026, quarter=4).exists()
    towns = {v[:9] for v in Household.objects.values_list("village_id", flat=True)}
    big = [t for t in towns if Household.objects.filter(village__code__startswith=t).count() >= 15]
    q3 = [coverage(2026, 3, t) for t in big]
    assert max(q3) - min(q3) > 0.1

    # Every visit lies in its quarter's window and has its four photos, stored and intact.
    for visit in Visit.objects.only("year", "quarter", "visited_at"):
        assert window_for(QUARTERS[visit.quarter - 1][0]).contains(visit.visited_at)
    per_visit = (
        VisitPhoto.objects.filter(visit__isnull=False)
        .values("visit")
        .annotate(n=Count("id"), k=Count("kind", distinct=True))
    )
    assert {(row["n"], row["k"]) for row in per_visit} == {(4, 4)}
    assert len(per_visit) == Visit.objects.count()
    assert set(VisitPhoto.objects.values_list("kind", flat=True)) >= set(KINDS)
    photos = list(Photo.objects.all())
    assert all(p.status == PhotoStatus.PROCESSED and p.phash for p in photos)
    for photo in photos:
        with default_storage.open(photo.original.name, "rb") as fh:
            data = fh.read()
        assert hashlib.sha256(data).hexdigest() == photo.sha256
        assert default_storage.exists(photo.thumbnail.name)
    # What the database says about EXIF is what the file says.
    for photo in photos[::40]:
        with default_storage.open(photo.original.name, "rb") as fh:
            facts = images.read_exif(fh, content_type="image/jpeg")
        assert (facts.taken_at, facts.lat, facts.lon) == (
            photo.taken_at,
            photo.exif_lat,
            photo.exif_lon,
        )

    # Fabrication flags of several kinds, for the risk list and the flagged-visit pages.
    kinds = set(VisitFlag.objects.values_list("kind", flat=True))
    assert {"no_exif_time", "duplicate_photo", "income_unchanged"} <= kinds
    assert len(kinds) >= 6
    # The only near copies are a household's own last-quarter photos (the "near_copy" trick):
    # no picture is shared across the county, which the near-duplicate search compares.
    near = VisitFlag.objects.filter(kind="near_duplicate_photo")
    assert near.exists()
    assert all(flag.detail["same_household"] for flag in near)
    assert PhotoHash.objects.count() == VisitPhoto.objects.count()
    assert QuarterIncome.objects.filter(current=True).count() == Visit.objects.count()
    assert VillageVisit.objects.exists()

    # Grievances in many states, some overdue, in the demo handler's queue, trackable.
    states = set(Grievance.objects.values_list("state", flat=True))
    assert {"submitted", "accepted", "assigned", "replied", "closed", "rejected"} <= states
    assert len(states) >= 8
    assert Grievance.objects.filter(overdue=True, pressed_count__gte=1).exists()
    assert Grievance.objects.filter(anonymous=True).exists()
    assert Grievance.objects.filter(anonymous=False).exists()
    handler = User.objects.get(username="dept_minzheng")
    assert queue(user=handler).exists()
    assert grievance_track(code=DEMO_CODE, key=DEMO_KEY).state == "closed"

    # Subsidy payments: the year's lists, checked at visits with a few discrepancies (资金问题
    # cases), warnings of the rules, and a village's disclosure page.
    assert Payment.objects.count() > 1000
    assert PaymentCheck.objects.filter(result="seen").count() > 100
    assert PaymentCheck.objects.exclude(result="seen").exists()
    assert Grievance.objects.filter(kind="funds").exists()
    warned = set(PaymentWarning.objects.values_list("kind", flat=True))
    assert {"paid_twice", "not_in_register", "amount_off", "unpaid", "after_exit"} <= warned
    village = Payment.objects.values_list("village_id", flat=True).first()
    assert Client().get(f"/payments/public/{village}/").status_code == 200

    # Running it again changes nothing.
    before = counts()
    call_command("seed_demo", households=N, stdout=io.StringIO())
    assert counts() == before
