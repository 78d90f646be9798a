"""The flags that compare a visit with other visits, run after the visit has committed.

`visit_check` runs in the `check_visit` task; `photo_processed` is registered with media's
`processed_hooks` (in `VisitsConfig.ready`) and runs when a photo's perceptual hash is ready,
so a near-duplicate is found whichever comes last, the visit or the hash.
"""

from __future__ import annotations

import uuid

from common.versions import VISITS, bump_on_commit
from visits import flags as flag_checks
from visits.models import Visit, VisitPhoto


def flags_raised(count: int) -> int:
    """Count new flags; any new flag moves the coverage stamp (flag counts are shown there)."""
    if count:
        bump_on_commit(VISITS)
    return count


def visit_check(visit_id: uuid.UUID | str) -> int:
    """Raise the flags that compare a visit with other visits (`flags_against_others`); run
    by the `check_visit` task once the visit is committed. Idempotent."""
    visit = Visit.objects.select_related("household").filter(pk=visit_id).first()
    if visit is None:
        return 0
    photos = [use.photo for use in visit.visit_photos.select_related("photo").order_by("id")]
    return flags_raised(flag_checks.raise_flags(flag_checks.flags_against_others(visit, photos)))


def photo_processed(photo_id: str) -> int:
    """Called by media when a photo's perceptual hash is ready: add near-duplicate flags to
    the visit that uses it (if any yet; a visit submitted later checks in `check_visit`)."""
    use = (
        VisitPhoto.objects.select_related("photo", "visit")
        .filter(photo_id=photo_id, visit__isnull=False)
        .first()
    )
    if use is None or not use.photo.phash:
        return 0
    return flags_raised(
        flag_checks.raise_flags(flag_checks.near_duplicates(use.visit, [use.photo]))
    )
