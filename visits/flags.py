"""Fabrication flags (DESIGN: Trusting a visit). Each check is one small function.

A check reads what it needs and returns unsaved `VisitFlag`s carrying the numbers that raised
them; `raise_flags` stores them once (a rerun adds nothing). Flags never refuse a visit, so a
check that fails is logged and skipped rather than failing the submission.
"""

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db.models import Min, Subquery
from django.utils import timezone

from common.geo import distance_m
from common.quarters import Quarter, Window
from media.models import Photo
from regions.models import Region
from visits import neardup
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


def missing_exif_time(visit: Visit, photos: Iterable[Photo]) -> list[VisitFlag]:
    """Screenshots and forwarded chat images carry no EXIF capture time (a phone's photo
    picker keeps the time, unlike the GPS tags)."""
    return [
        _flag(visit, FlagKind.NO_EXIF_TIME, photo, photo_kind=photo.kind)
        for photo in photos
        if photo.taken_at is None
    ]


@dataclass(frozen=True)
class PhotoPosition:
    lat: Decimal
    lon: Decimal
    source: str  # "exif" or "device"
    accuracy_m: Decimal | None = None

    def as_detail(self) -> dict[str, object]:
        detail: dict[str, object] = {
            "position": [str(self.lat), str(self.lon)],
            "position_source": self.source,
        }
        if self.accuracy_m is not None:
            detail["accuracy_m"] = float(self.accuracy_m)
        return detail


def _exif_position(photo: Photo) -> PhotoPosition | None:
    if photo.exif_lat is None or photo.exif_lon is None:
        return None
    return PhotoPosition(photo.exif_lat, photo.exif_lon, "exif")


def _device_position(photo: Photo) -> PhotoPosition | None:
    if photo.client_lat is None or photo.client_lon is None:
        return None
    return PhotoPosition(photo.client_lat, photo.client_lon, "device", photo.client_accuracy_m)


def photo_position(photo: Photo) -> PhotoPosition | None:
    """Where a photo was taken: its EXIF GPS when present, else the position the phone itself
    read at the moment of capture (the app sends it with the upload, because phones strip GPS
    from photos picked through a web page). Both are WGS-84."""
    return _exif_position(photo) or _device_position(photo)


def position_trust(visit: Visit, photos: Iterable[Photo]) -> list[VisitFlag]:
    """Whether each photo's position can be believed: it has one at all; the phone's own fix
    is accurate enough (VISIT_MAX_DEVICE_ACCURACY_M); and where the photo has both, EXIF GPS
    and the phone's fix agree (VISIT_MAX_POSITION_GAP_M; a photo picked from the gallery
    carries where it was really taken). A good device position without EXIF GPS is normal for
    a web app and raises nothing. A fix sent without its accuracy is not called inaccurate."""
    max_accuracy = settings.VISIT_MAX_DEVICE_ACCURACY_M
    max_gap = settings.VISIT_MAX_POSITION_GAP_M
    flags = []
    for photo in photos:
        exif, device = _exif_position(photo), _device_position(photo)
        if exif is None and device is None:
            flags.append(_flag(visit, FlagKind.NO_POSITION, photo, photo_kind=photo.kind))
            continue
        accuracy = device.accuracy_m if device is not None else None
        if accuracy is not None and accuracy > max_accuracy:
            flags.append(
                _flag(
                    visit,
                    FlagKind.DEVICE_POSITION_INACCURATE,
                    photo,
                    accuracy_m=float(accuracy),
                    max_accuracy_m=max_accuracy,
                )
            )
        if exif is not None and device is not None:
            gap = distance_m((exif.lat, exif.lon), (device.lat, device.lon))
            if gap > max_gap:
                flags.append(
                    _flag(
                        visit,
                        FlagKind.POSITION_MISMATCH,
                        photo,
                        distance_m=round(gap, 1),
                        max_distance_m=max_gap,
                        exif=[str(exif.lat), str(exif.lon)],
                        device=[str(device.lat), str(device.lon)],
                        device_accuracy_m=(
                            float(device.accuracy_m) if device.accuracy_m is not None else None
                        ),
                    )
                )
    return flags


def device_time(visit: Visit, photos: Iterable[Photo]) -> list[VisitFlag]:
    """The phone's clock at the moment the app received the photo, against the photo's own
    EXIF capture time: a photo taken long before it was attached (an old one picked from the
    gallery) disagrees by more than VISIT_MAX_DEVICE_TIME_GAP_MINUTES."""
    max_gap = settings.VISIT_MAX_DEVICE_TIME_GAP_MINUTES
    flags = []
    for photo in photos:
        if photo.taken_at is None or photo.client_taken_at is None:
            continue
        gap = abs((photo.client_taken_at - photo.taken_at).total_seconds()) / 60
        if gap > max_gap:
            flags.append(
                _flag(
                    visit,
                    FlagKind.DEVICE_TIME_MISMATCH,
                    photo,
                    taken_at=_iso(photo.taken_at),
                    client_taken_at=_iso(photo.client_taken_at),
                    gap_minutes=round(gap, 1),
                    max_gap_minutes=max_gap,
                )
            )
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
    """The visit's or a photo's position (`photo_position`) farther than the limit from the
    registered home."""
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
        where = photo_position(photo)  # the best the photo has: EXIF, else the phone's fix
        if where is None:
            continue  # `position_trust` flags a photo with no position at all
        d = distance_m((where.lat, where.lon), home)
        if d > limit:
            flags.append(
                _flag(
                    visit,
                    FlagKind.PHOTO_FAR_FROM_HOME,
                    photo,
                    distance_m=round(d, 1),
                    max_distance_m=limit,
                    home=[str(home[0]), str(home[1])],
                    **where.as_detail(),
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


def near_duplicates(visit: Visit, photos: Iterable[Photo]) -> list[VisitFlag]:
    """A perceptual hash close to a photo of another household or village visit of the county
    (or deployment) within PHASH_LOOKBACK_DAYS; printed forms only within the household
    (`visits.neardup` has the rules and why). The closest such photo, with its visit, how far
    apart the hashes are, and where and when it was used."""
    matches = neardup.visit_matches(visit, photos)
    if not matches:
        return []
    places = _place_names({m.other_village_id for m in matches})
    by_id = {str(p.pk): p for p in photos}
    flags = []
    for m in matches:
        other = (
            {"other_visit": m.other_visit_id}
            if m.other_visit_id
            else {"other_village_visit": m.other_village_visit_id}
        )
        flags.append(
            _flag(
                visit,
                FlagKind.NEAR_DUPLICATE_PHOTO,
                by_id[m.photo_id],
                hamming_distance=m.distance,
                max_distance=m.max_distance,
                **other,
                other_photo=m.other_photo_id,
                other_visited_at=_iso(m.other_visited_at),
                other_village=m.other_village_id,
                other_place=places.get(m.other_village_id, m.other_village_id),
                same_household=m.same_household,
            )
        )
    return flags


def _place_names(village_codes: set[str]) -> dict[str, str]:
    """'County Town Village' for each village code (one query)."""
    levels = {code: (code[:6] + "000000", code[:9] + "000", code) for code in village_codes}
    names = dict(
        Region.objects.filter(code__in={c for chain in levels.values() for c in chain}).values_list(
            "code", "name"
        )
    )
    return {code: " ".join(names[c] for c in chain if c in names) for code, chain in levels.items()}


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
    """The checks on the visit's own data (its photos' EXIF and the phone's fix and clock at
    each capture, its times, its household's home), which need no query and run inside the
    submission."""
    return [
        *_safely(missing_exif_time, visit, photos),
        *_safely(position_trust, visit, photos),
        *_safely(device_time, visit, photos),
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
