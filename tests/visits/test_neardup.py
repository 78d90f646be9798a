"""The county-wide near-duplicate search: a copy of a photo used by a helper in another town
is flagged, a different photo is not; the county, the look-back and the form rule bound it;
answers do not depend on the process or its history."""

import json
import os
import subprocess
import sys
import threading
import uuid
from decimal import Decimal
from pathlib import Path
from unittest.mock import ANY

import pytest
from django.conf import settings as django_settings
from django.db import connection, transaction
from django.test import TestCase
from PIL import ImageOps

from accounts.roles import Role
from tests import factories as f
from tests.clock import at
from tests.visits import forms
from tests.visits.helpers import (
    SUBMITTED_AT,
    VISITED,
    helper_user,
    picture,
    processed_photo,
    submitted_visit,
)
from visits import neardup
from visits.models import FlagKind, PhotoHash, VisitFlag, VisitPhoto
from visits.neardup import INDEX
from visits.services import Position, VillageVisitInput, village_visit_submit


def mirrored(data: bytes) -> bytes:
    return forms.jpeg(ImageOps.mirror(forms._open(data)), quality=85)


def near_flags(made) -> dict[str, VisitFlag]:
    flags = VisitFlag.objects.filter(visit=made, kind=FlagKind.NEAR_DUPLICATE_PHOTO)
    by_photo = {str(p.pk): kind for kind, p in made.photos.items()}
    return {by_photo[str(flag.photo_id)]: flag for flag in flags}


@pytest.fixture
def original():
    return picture(7)


def test_a_copy_used_in_another_town_is_flagged_and_a_different_photo_is_not(
    household_a, household_b, original
):
    INDEX.refresh()  # a worker already running when the first visit arrives
    first = submitted_visit(household_a, seed=1, scene=original)
    second = submitted_visit(
        household_b,
        visited_at=at("2026-12-26 15:00"),
        seed=2,
        scene=forms.reencoded(original),
        location=forms.resized(original),
    )
    flags = near_flags(second)
    assert set(flags) == {"scene", "location"}  # the passbook and handbook pages are new
    scene = flags["scene"].detail
    assert scene["other_visit"] == str(first.pk)
    assert scene["other_photo"] == str(first.photos["scene"].pk)
    assert scene["hamming_distance"] <= 2
    assert scene["max_distance"] == 8
    assert scene["other_place"] == "如东县 掘港镇 东凌村"  # town A's village; this one is town B's
    assert scene["other_village"] == household_a.village_id
    assert scene["other_visited_at"] == "2026-12-25T10:00:00+08:00"
    assert scene["same_household"] is False
    assert flags["location"].detail["other_photo"] == str(first.photos["scene"].pk)
    assert not near_flags(first)  # flagged on the visit that reused the photo
    # The index caught up with each photo as it arrived, without loading again.
    state = INDEX.state()
    assert state.size == PhotoHash.objects.filter(kind__in=neardup.PLACE_KINDS).count() == 4

    later = at("2026-12-27 09:00")
    third = submitted_visit(household_b, seed=3, visited_at=later, scene=picture(8))
    assert not near_flags(third)


def test_a_mirrored_copy_is_flagged(household_a, household_b, original):
    submitted_visit(household_a, seed=1, scene=original)
    second = submitted_visit(household_b, seed=2, scene=mirrored(original))
    assert set(near_flags(second)) == {"scene"}


def test_only_the_county_unless_the_whole_deployment_is_asked(
    household_a, regions, original, settings
):
    elsewhere = f.HouseholdFactory(village=regions.other_village)
    f.PairingFactory(helper=f.HelperFactory(region=regions.other_town), household=elsewhere)
    submitted_visit(household_a, seed=1, scene=original)
    assert not near_flags(submitted_visit(elsewhere, seed=2, scene=forms.reencoded(original)))

    settings.PHASH_SCOPE = "deployment"
    another = picture(11)
    submitted_visit(household_a, seed=3, scene=another)
    flagged = near_flags(submitted_visit(elsewhere, seed=4, scene=forms.resized(another)))
    assert flagged["scene"].detail["other_place"] == "如东县 掘港镇 东凌村"


def test_a_village_visit_photo_is_compared_too(household_a, regions, original):
    unit = f.UnitFactory(region=regions.county)
    f.UnitPairingFactory(unit=unit, weak_village=f.WeakVillageFactory(village=regions.village_b2))
    user = f.UserFactory(role=Role.UNIT, region=regions.county, unit=unit)
    photos = [
        processed_photo(user, "location", original),
        processed_photo(user, "scene", picture(9)),
    ]
    with TestCase.captureOnCommitCallbacks(execute=True):
        village_visit, _ = village_visit_submit(
            user=user,
            data=VillageVisitInput(
                id=uuid.uuid4(),
                village=regions.village_b2.code,
                visited_at=VISITED,
                position=Position(lat=Decimal("32.3101"), lon=Decimal("121.1801")),
                photo_ids=tuple(p.pk for p in photos),
                collective_income=Decimal("120000.00"),
            ),
            now=SUBMITTED_AT,
        )
    second = submitted_visit(household_a, seed=2, scene=forms.forwarded_in_chat(original))
    detail = near_flags(second)["scene"].detail
    assert detail["other_village_visit"] == str(village_visit.pk)
    assert "other_visit" not in detail
    assert detail["other_place"] == "如东县 马塘镇 邱陞村"


def test_forms_are_compared_within_their_household_only(household_a, household_b):
    page = forms.photograph(forms.passbook_page(1), shot=1)
    first = submitted_visit(household_a, seed=1, passbook=page)
    # Another household's passbook page, even the same picture re-encoded: not compared (every
    # household's page is printed from one template: see neardup's docstring).
    assert not near_flags(submitted_visit(household_b, seed=2, passbook=forms.reencoded(page)))
    # The same household's page from last time, forwarded and re-encoded: flagged.
    again = submitted_visit(
        household_a, seed=3, visited_at=at("2026-12-26 10:00"), passbook=forms.reencoded(page)
    )
    detail = near_flags(again)["passbook"].detail
    assert detail["other_visit"] == str(first.pk)
    assert detail["same_household"] is True
    assert detail["hamming_distance"] <= detail["max_distance"] == 2


def test_photos_beyond_the_look_back_are_not_compared(household_a, household_b, original, settings):
    settings.PHASH_LOOKBACK_DAYS = 2
    submitted_visit(household_a, seed=1, visited_at=at("2026-12-21 10:00"), scene=original)
    late = submitted_visit(
        household_b, seed=2, visited_at=at("2026-12-25 10:00"), scene=forms.resized(original)
    )
    assert not near_flags(late)


def test_a_hash_the_database_no_longer_has_is_not_reported(household_a, household_b, original):
    first = submitted_visit(household_a, seed=1, scene=original)
    INDEX.refresh()
    assert INDEX.state().size == 2  # its location and scene photos (forms are not indexed)
    PhotoHash.objects.filter(photo=first.photos["scene"]).delete()  # the index still holds it
    assert not near_flags(submitted_visit(household_b, seed=2, scene=forms.reencoded(original)))


def test_an_old_visit_is_searched_past_the_index_window(household_a, household_b, original, clock):
    first = submitted_visit(household_a, seed=1, scene=original)
    second = submitted_visit(household_b, seed=2, scene=picture(9))
    copy = processed_photo(helper_user(household_b), "scene", forms.reencoded(original))
    # Rechecked two years on: the index (loaded now) starts well after both visits.
    clock.set("2028-12-25 10:00")
    state = INDEX.refresh()
    assert state.floor > first.visited_at
    assert state.size == 0
    (match,) = neardup.visit_matches(second, [copy])
    assert match.other_photo_id == str(first.photos["scene"].pk)
    assert match.distance <= 2


def test_one_visit_reads_the_index_once_and_the_household_once(
    household_a, household_b, original, django_assert_num_queries
):
    submitted_visit(household_a, seed=1, scene=original)
    second = submitted_visit(household_b, seed=2, scene=picture(9))
    INDEX.refresh()
    photos = list(second.photos.values())
    # The household's rows, the rows added since, the candidates' rows.
    with django_assert_num_queries(3):
        assert neardup.visit_matches(second, photos) == []


# --- Processes: two workers and a restart see the same answers (they share the database) ------

ROOT = Path(__file__).resolve().parent.parent.parent


class Worker:
    """`manage.py neardup_search --stdin`: one process with its own index, kept between
    questions as a task worker keeps it, against the test database."""

    def __init__(self) -> None:
        db = connection.settings_dict
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env.update(
            DATABASE_URL=f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}",
            LOG_LEVEL="WARNING",
            PYTHONUNBUFFERED="1",
        )
        self.proc = subprocess.Popen(
            [sys.executable, "manage.py", "neardup_search", "--stdin"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def ask(self, photo_ids: list[str]) -> dict[str, dict]:
        answers = {}
        for photo_id in photo_ids:
            self.proc.stdin.write(photo_id + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
            assert line, f"worker exited with {self.proc.poll()}"
            answers[photo_id] = json.loads(line)
        return answers

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.mark.skipif(
    not django_settings.IS_POSTGRES,
    reason="worker subprocesses must see the test's rows: needs PostgreSQL (SQLite's test "
    "database lives in this process)",
)
@pytest.mark.django_db(transaction=True)
def test_same_answers_in_two_worker_processes_and_after_a_restart(
    household_a, household_b, original
):
    first = submitted_visit(household_a, seed=1, scene=original)
    other = submitted_visit(household_b, seed=2, scene=picture(9))
    workers = [Worker(), Worker()]
    try:
        ids = [str(first.photos["scene"].pk), str(other.photos["scene"].pk)]
        before = [w.ask(ids) for w in workers]  # each loads its index
        assert before[0] == before[1]
        assert before[0][ids[0]]["match"] is None
        # Photos arrive while both run: each reads only the rows added since.
        copy = submitted_visit(household_b, seed=3, scene=forms.reencoded(original))
        ids += [str(copy.photos["scene"].pk), str(copy.photos["location"].pk)]
        answers = [w.ask(ids) for w in workers]
        restarted = Worker()
        workers.append(restarted)
        answers.append(restarted.ask(ids))  # loads everything afresh
    finally:
        for w in workers:
            w.stop()
    assert answers[0] == answers[1] == answers[2]
    copied = answers[0][ids[2]]["match"]
    assert copied["other_photo"] == ids[0]
    assert copied["distance"] <= 2
    # The first photo now has a match too (the copy is within its look-back); the unrelated
    # ones have none, in every process.
    assert answers[0][ids[0]]["match"]["other_photo"] == ids[2]
    assert answers[0][ids[1]]["match"] is None
    assert answers[0][ids[3]]["match"] is None
    # The same index in each: every row, read once.
    places = PhotoHash.objects.filter(kind__in=neardup.PLACE_KINDS).count()
    assert answers[0][ids[3]]["index"] == {"size": places, "cursor": ANY}
    # And this process, with its own index, agrees.
    for photo_id in ids:
        assert {**neardup.photo_report(photo_id), "index": None} == {
            **answers[0][photo_id],
            "index": None,
        }


@pytest.mark.skipif(not django_settings.IS_POSTGRES, reason="needs PostgreSQL for real concurrency")
@pytest.mark.django_db(transaction=True)
def test_appends_commit_in_id_order(household_a, household_b):
    """An append still in its transaction holds the next one back, so a worker that reads
    while it is open and then reads past the later ids has missed nothing."""
    first = submitted_visit(household_a, seed=1)
    second = submitted_visit(household_b, seed=2)
    PhotoHash.objects.all().delete()  # to append them again, by hand, in two transactions
    INDEX.forget()  # and a worker that starts now
    uses = {
        v.pk: list(VisitPhoto.objects.filter(visit=v).select_related("photo", "visit"))
        for v in (first, second)
    }
    holding, release, appended = threading.Event(), threading.Event(), threading.Event()

    def slow() -> None:
        try:
            with transaction.atomic():
                neardup.photo_hashes_record(uses[first.pk])
                holding.set()
                release.wait(30)
        finally:
            connection.close()

    def quick() -> None:
        try:
            holding.wait(30)
            neardup.photo_hashes_record(uses[second.pk])
            appended.set()
        finally:
            connection.close()

    threads = [threading.Thread(target=slow), threading.Thread(target=quick)]
    for t in threads:
        t.start()
    try:
        assert holding.wait(30)
        assert not appended.wait(1.0)  # the second append waits for the first to commit
        assert INDEX.refresh().size == 0  # a worker reading now sees neither
    finally:
        release.set()
        for t in threads:
            t.join(30)
    assert appended.is_set()
    ids = {v: set(PhotoHash.objects.filter(visit=v).values_list("id", flat=True)) for v in uses}
    assert max(ids[first.pk]) < min(ids[second.pk])
    assert INDEX.refresh().size == 4  # the catch-up found both visits' places and people
