"""Fabrication flags (DESIGN: Trusting a visit). Each check is one small function.

A check reads what it needs and returns unsaved `VisitFlag`s carrying the numbers that raised
them; `raise_flags` stores them once (a rerun adds nothing). Flags never refuse a visit, so a
check that fails is logged and skipped rather than failing the submission.
"""

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Min, Q, Subquery
from django.utils import timezone

from common.geo import distance_m
from common.quarters import Quarter, Window
from media.models import Photo
from visits.models import (
    INCOME_CATEGORIES,
    FlagKind,
    QuarterIncome,
    Visit,
    VisitFlag,
    VisitPhoto,
    WindowExtension,
)

logger = logging.getLogger(__name__)


def _iso(moment: datetime | None) -> str | None:
    return timezone.localtime(moment).isoformat() if moment else None


def _flag(visit: Visit, kind: FlagKind, photo: Photo | None = None, **detail) -> VisitFlag:
    return VisitFlag(visit=visit, kind=kind, photo=photo, detail=detail)


def missing_exif(visit: Visit, photos: Iterable[Photo]) -> list[VisitFlag]:
    """Screenshots and forwarded chat images carry no EXIF capture time or GPS position."""
    flags = []
    for photo in photos:
        if photo.taken_at is None:
            flags.append(_flag(visit, FlagKind.NO_EXIF_TIME, photo, photo_kind=photo.kind))
        if photo.exif_lat is None or photo.exif_lon is None:
            flags.append(_flag(visit, FlagKind.NO_EXIF_GPS, photo, photo_kind=photo.kind))
    return flags


def capture_time(
    visit: Visit,
    photos: Iterable[Photo],
    window: Window,
    extension: WindowExtension | None = None,
) -> list[VisitFlag]:
    """Capture time far from the claimed visit time, or outside the entry period."""
    max_gap_h = settings.VISIT_MAX_CAPTURE_GAP_HOURS
    flags = []
    for photo in photos:
        if photo.taken_at is None:
            continue
        gap_h = abs((photo.taken_at - visit.visited_at).total_seconds()) / 3600
        if gap_h > max_gap_h:
            flags.append(
                _flag(
                    visit,
                    FlagKind.CAPTURE_TIME_GAP,
                    photo,
                    taken_at=_iso(photo.taken_at),
                    visited_at=_iso(visit.visited_at),
                    gap_hours=round(gap_h, 2),
                    max_gap_hours=max_gap_h,
                )
            )
        # Under an extension the entry period is the quarter's start to the extension's end.
        in_extension = extension is not None and (
            window.quarter.starts_at() <= photo.taken_at < extension.until
        )
        if not window.contains(photo.taken_at) and not in_extension:
            flags.append(
                _flag(
                    visit,
                    FlagKind.CAPTURE_OUTSIDE_WINDOW,
                    photo,
                    taken_at=_iso(photo.taken_at),
                    window_opens_at=_iso(window.opens_at),
                    window_closes_at=_iso(window.closes_at),
                    extension_until=_iso(extension.until) if extension else None,
                )
            )
    return flags


def far_from_home(visit: Visit, photos: Iterable[Photo]) -> list[VisitFlag]:
    """The visit's or a photo's position farther than the limit from the registered home."""
    household = visit.household
    if household.home_lat is None or household.home_lon is None:
        return []  # no home on the register: nothing to compare with
    home = (household.home_lat, household.home_lon)
    limit = settings.VISIT_MAX_DISTANCE_M
    flags = []
    visit_d = distance_m((visit.lat, visit.lon), home)
    if visit_d > limit:
        flags.append(
            _flag(
                visit,
                FlagKind.VISIT_FAR_FROM_HOME,
                distance_m=round(visit_d, 1),
                max_distance_m=limit,
                position=[str(visit.lat), str(visit.lon)],
                home=[str(home[0]), str(home[1])],
            )
        )
    for photo in photos:
        if photo.exif_lat is None or photo.exif_lon is None:
            continue
        d = distance_m((photo.exif_lat, photo.exif_lon), home)
        if d > limit:
            flags.append(
                _flag(
                    visit,
                    FlagKind.PHOTO_FAR_FROM_HOME,
                    photo,
                    distance_m=round(d, 1),
                    max_distance_m=limit,
                    position=[str(photo.exif_lat), str(photo.exif_lon)],
                    home=[str(home[0]), str(home[1])],
                )
            )
    return flags


def same_photo_elsewhere(visit: Visit, photos: Iterable[Photo]) -> list[VisitFlag]:
    """The same bytes (SHA-256) already attached to another visit: the earliest such visit
    for each photo (a photo reused a thousand times is still one row per hash here)."""
    by_sha = {p.sha256: p for p in photos}
    if not by_sha:
        return []
    earliest = (
        VisitPhoto.objects.filter(photo__sha256__in=list(by_sha), visit__isnull=False)
        .exclude(visit_id=visit.pk)
        .values("photo__sha256")
        .annotate(first_id=Min("id"))
        .values("first_id")
    )
    others = VisitPhoto.objects.filter(id__in=Subquery(earliest)).values_list(
        "photo__sha256", "visit_id", "photo_id"
    )
    return [
        _flag(
            visit,
            FlagKind.DUPLICATE_PHOTO,
            by_sha[sha],
            sha256=sha,
            other_visit=str(other_visit),
            other_photo=str(other_photo),
        )
        for sha, other_visit, other_photo in sorted(others)
    ]


def hamming(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def near_duplicates(visit: Visit, photos: Iterable[Photo]) -> list[VisitFlag]:
    """A perceptual hash within the limit of a photo in another visit of the same helper,
    household or village, within PHASH_LOOKBACK_DAYS of this one (where a reused photo would
    come from; a global or all-time scan grows without end: every processed photo compares
    with each candidate).
    """
    hashed = [p for p in photos if p.phash]
    if not hashed:
        return []
    limit = settings.PHASH_MAX_DISTANCE
    lookback = timedelta(days=settings.PHASH_LOOKBACK_DAYS)
    candidates = (
        VisitPhoto.objects.filter(visit__isnull=False, photo__phash__isnull=False)
        .filter(
            visit__visited_at__gte=visit.visited_at - lookback,
            visit__visited_at__lte=visit.visited_at + lookback,
        )
        .filter(
            Q(visit__helper_id=visit.helper_id)
            | Q(visit__household_id=visit.household_id)
            | Q(visit__village_id=visit.village_id)
        )
        .exclude(visit_id=visit.pk)
        .values_list("visit_id", "photo_id", "photo__phash", "photo__sha256")
    )
    flags = []
    candidates = list(candidates)
    for photo in hashed:
        ours = [h for h in (photo.phash, photo.phash_rotated) if h]
        best = None
        for other_visit, other_photo, other_hash, other_sha in candidates:
            if other_sha == photo.sha256:
                continue  # the same bytes: `same_photo_elsewhere` says so already
            distance = min(hamming(h, other_hash) for h in ours)
            if distance <= limit and (best is None or distance < best[0]):
                best = (distance, other_visit, other_photo)
        if best is not None:
            flags.append(
                _flag(
                    visit,
                    FlagKind.NEAR_DUPLICATE_PHOTO,
                    photo,
                    hamming_distance=best[0],
                    max_distance=limit,
                    other_visit=str(best[1]),
                    other_photo=str(best[2]),
                )
            )
    return flags


def impossible_travel(visit: Visit) -> list[VisitFlag]:
    """The helper's previous or next visit implies travel faster than the limit.

    Legs shorter than the distance limit are ignored: neighbours visited minutes apart, within
    GPS noise, are normal.
    """
    max_kmh = settings.VISIT_MAX_SPEED_KMH
    same_helper = (
        Visit.objects.filter(helper_id=visit.helper_id)
        .exclude(pk=visit.pk)
        .only("id", "visited_at", "lat", "lon")
    )
    neighbours = [
        same_helper.filter(visited_at__lte=visit.visited_at).order_by("-visited_at").first(),
        same_helper.filter(visited_at__gt=visit.visited_at).order_by("visited_at").first(),
    ]
    legs = []
    for other in neighbours:
        if other is None:
            continue
        d = distance_m((visit.lat, visit.lon), (other.lat, other.lon))
        if d <= settings.VISIT_MAX_DISTANCE_M:
            continue
        seconds = max(abs((visit.visited_at - other.visited_at).total_seconds()), 1.0)
        speed = (d / 1000) / (seconds / 3600)
        if speed > max_kmh:
            legs.append(
                {
                    "other_visit": str(other.pk),
                    "other_visited_at": _iso(other.visited_at),
                    "distance_m": round(d, 1),
                    "minutes": round(seconds / 60, 1),
                    "speed_kmh": round(speed, 1),
                }
            )
    if not legs:
        return []
    return [_flag(visit, FlagKind.IMPOSSIBLE_TRAVEL, max_speed_kmh=max_kmh, legs=legs)]


def _amounts(record: QuarterIncome | Visit) -> dict[str, Decimal]:
    return {k: getattr(record, k) for k in INCOME_CATEGORIES}


def _as_text(amounts: dict[str, Decimal]) -> dict[str, str]:
    return {k: f"{v:.2f}" for k, v in amounts.items()}


def income_patterns(visit: Visit) -> list[VisitFlag]:
    """Income copied unchanged from last quarter, or equal to a running sum of the year's
    earlier quarters (year-to-date figures entered instead of the quarter's own)."""
    quarter = Quarter(visit.year, visit.quarter)
    previous = quarter.shift(-1)
    records = {
        (r.year, r.quarter): r
        for r in QuarterIncome.objects.filter(
            household_id=visit.household_id,
            current=True,
            year__in={quarter.year, previous.year},
        ).exclude(visit_id=visit.pk)
    }
    ours = _amounts(visit)
    flags = []
    last = records.get((previous.year, previous.q))
    if last is not None and _amounts(last) == ours:
        flags.append(
            _flag(
                visit,
                FlagKind.INCOME_UNCHANGED,
                quarter=str(quarter),
                previous_quarter=str(previous),
                income=_as_text(ours),
            )
        )
    if any(ours.values()):
        running = dict.fromkeys(INCOME_CATEGORIES, Decimal("0"))
        for q in range(1, quarter.q):
            record = records.get((quarter.year, q))
            if record is None:
                break  # a running sum needs every quarter before it
            running = {k: running[k] + v for k, v in _amounts(record).items()}
            if q >= 2 and running == ours:
                flags.append(
                    _flag(
                        visit,
                        FlagKind.INCOME_CUMULATIVE,
                        quarter=str(quarter),
                        sum_of_quarters=[f"{quarter.year}Q{n}" for n in range(1, q + 1)],
                        income=_as_text(ours),
                    )
                )
                break
    return flags


def _safely(check: Callable[..., list[VisitFlag]], *args) -> list[VisitFlag]:
    try:
        return check(*args)
    except Exception:  # a broken check must never refuse a visit
        logger.exception("flag check %s failed", check.__name__)
        return []


def flags_at_submit(
    visit: Visit, photos: list[Photo], window: Window, extension: WindowExtension | None
) -> list[VisitFlag]:
    """The checks on the visit's own data (its photos' EXIF, its times, its household's
    home), which need no query and run inside the submission."""
    return [
        *_safely(missing_exif, visit, photos),
        *_safely(capture_time, visit, photos, window, extension),
        *_safely(far_from_home, visit, photos),
    ]


def flags_against_others(visit: Visit, photos: list[Photo]) -> list[VisitFlag]:
    """The checks that compare the visit with other visits and quarters (a query each).
    They run in the background, in `visits.tasks.check_visit` (queued with the visit): a
    third of a submission's time went to them. A flag never refuses a visit, so the phone's
    answer carries only the flags raised in the request; these follow within seconds.
    Near-duplicates only for photos whose hash is already there; the rest come from
    `photo_processed`."""
    return [
        *_safely(same_photo_elsewhere, visit, photos),
        *_safely(near_duplicates, visit, photos),
        *_safely(impossible_travel, visit),
        *_safely(income_patterns, visit),
    ]


def raise_flags(flags: list[VisitFlag]) -> int:
    """Store flags, skipping any already raised (unique per visit, kind and photo)."""
    if not flags:
        return 0
    VisitFlag.objects.bulk_create(flags, ignore_conflicts=True)
    return len(flags)
