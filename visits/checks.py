"""The flags that compare a visit with other visits, run after the visit has committed.

`visit_check` runs in the `check_visit` task; `photo_processed` is registered with media's
`processed_hooks` (in `VisitsConfig.ready`) and runs when a photo's perceptual hash is ready,
so a near-duplicate is found whichever comes last, the visit or the hash.
"""

from __future__ import annotations

import uuid

from common.versions import VISITS, bump_on_commit
from visits import flags as flag_checks
from visits import neardup
from visits.models import VillageVisit, Visit, VisitPhoto


def flags_raised(count: int) -> int:
    """Count new flags; any new flag moves the coverage stamp (flag counts are shown there)."""
    if count:
        bump_on_commit(VISITS)
    return count


def visit_check(visit_id: uuid.UUID | str) -> int:
    """Raise the flags that compare a visit with other visits (`flags_against_others`); run
    by the `check_visit` task once the visit is committed. Its photos already hashed join the
    near-duplicate search first (the others join from `photo_processed`). Idempotent."""
    visit = Visit.objects.select_related("household").filter(pk=visit_id).first()
    if visit is None:
        return 0
    uses = list(visit.visit_photos.select_related("photo").order_by("id"))
    for use in uses:
        use.visit = visit
    neardup.photo_hashes_record(uses)
    photos = [use.photo for use in uses]
    return flags_raised(flag_checks.raise_flags(flag_checks.flags_against_others(visit, photos)))


def village_visit_check(visit_id: uuid.UUID | str) -> int:
    """A committed village visit's photos already hashed join the near-duplicate search (run
    by the `check_village_visit` task; the others join from `photo_processed`). Village visits
    carry no flags of their own: their photos are what household visits are compared with."""
    visit = VillageVisit.objects.filter(pk=visit_id).first()
    if visit is None:
        return 0
    uses = list(visit.visit_photos.select_related("photo").order_by("id"))
    for use in uses:
        use.village_visit = visit
    return neardup.photo_hashes_record(uses)


def photo_processed(photo_id: str) -> int:
    """Called by media when a photo's perceptual hash is ready: if a visit already uses the
    photo, it joins the near-duplicate search and its household visit gets the near-duplicate
    flag it earns (a visit submitted later does both in its own check)."""
    use = (
        VisitPhoto.objects.select_related("photo", "visit", "village_visit")
        .filter(photo_id=photo_id)
        .first()
    )
    if use is None or not use.photo.phash:
        return 0
    neardup.photo_hashes_record([use])
    if use.visit is None:
        return 0  # a village visit's photo: a candidate for others, no flags of its own
    return flags_raised(
        flag_checks.raise_flags(flag_checks.near_duplicates(use.visit, [use.photo]))
    )
