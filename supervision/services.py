"""Supervision (art. 31): the risk list of flagged visits and the quarterly spot checks.

Supervisors (纪委监委) read the flagged visits of their area, ordered by how suspicious they
look, and on days 20-30 of each quarter's first month draw a random sample of the last
quarter's visits of their area, flagged visits weighted up, to check on the ground.

The draw is reproducible: candidates are ordered by visit id, each gets a weight
`1 + k × flags`, and `random.Random(seed)` gives each in turn a uniform `u`; the sample is the
`n` largest keys `log(u) / w` (Efraimidis–Spirakis weighted sampling without replacement;
`log(u)/w` ranks like `u ** (1/w)` without underflow). The seed, `k` and a digest of the
candidates are stored with the draw, so anyone can draw again and compare.
"""

from __future__ import annotations

import hashlib
import heapq
import math
import random
import secrets
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import (
    Case,
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import User
from accounts.roles import is_office, reads_area, supervises
from accounts.scoping import code_in_area, in_area
from common.errors import Conflict, NotFound, Unprocessable
from common.quarters import SHANGHAI, Quarter
from media.models import PhotoKind
from media.services import photos_claim, photos_set_region
from regions.models import Region, prefix_of_code
from visits.models import (
    FlagKind,
    SpotCheck,
    SpotCheckDraw,
    SpotCheckOutcome,
    SpotCheckPhoto,
    Visit,
    VisitFlag,
)

# Days of a quarter's first month on which spot checks are drawn (art. 31: 每季度首月20~30日).
DRAW_FIRST_DAY, DRAW_LAST_DAY = 20, 30

# How much each kind of flag weighs in the risk order: evidence of fabrication first (a photo
# reused from another visit, travel no one could make), then places and times that do not fit,
# then what is merely missing or unusual.
SEVERITY: dict[str, int] = {
    FlagKind.DUPLICATE_PHOTO: 5,
    FlagKind.IMPOSSIBLE_TRAVEL: 5,
    FlagKind.NEAR_DUPLICATE_PHOTO: 4,
    FlagKind.PHOTO_FAR_FROM_HOME: 3,
    FlagKind.VISIT_FAR_FROM_HOME: 3,
    FlagKind.CAPTURE_OUTSIDE_WINDOW: 3,
    FlagKind.CAPTURE_TIME_GAP: 2,
    FlagKind.INCOME_CUMULATIVE: 2,
    FlagKind.INCOME_UNCHANGED: 1,
    FlagKind.NO_EXIF_TIME: 1,
    FlagKind.NO_EXIF_GPS: 1,
}


# --- Who may do what -----------------------------------------------------------------------


def _must_supervise(user: User) -> None:
    # Same answer as "not found": an office or a helper learns nothing about draws.
    if not supervises(user):
        raise NotFound("对象不存在")


def area_region(user: User, code: str | None) -> Region:
    """The region a supervisor names (default: their own), which must lie in their area."""
    code = code or user.region_id
    if not code:
        # A superuser has no region of their own: they must name one.
        raise Unprocessable("请指定区域(12位区划代码)", code="region_required")
    region = Region.objects.filter(pk=code).first()
    if region is None or not code_in_area(user, region.code):
        raise NotFound("区域不存在", code="region_not_found")
    return region


# --- The risk list -------------------------------------------------------------------------


def _severity_sum():
    flags = (
        VisitFlag.objects.filter(visit_id=OuterRef("pk"))
        .order_by()
        .values("visit_id")
        .annotate(
            s=Sum(
                Case(
                    *[When(kind=kind, then=Value(weight)) for kind, weight in SEVERITY.items()],
                    default=Value(1),
                    output_field=IntegerField(),
                )
            )
        )
        .values("s")
    )
    return Coalesce(Subquery(flags, output_field=IntegerField()), 0)


def risk_list(*, user: User, quarter: Quarter, region: Region | None = None) -> QuerySet[Visit]:
    """Flagged visits of the user's area (or of `region` in it) in `quarter`, most suspicious
    first: by the flags' summed severity, then their number. One query, plus one for the flags
    of a page (prefetched)."""
    if not (reads_area(user) or user.is_superuser):
        return Visit.objects.none()
    qs = Visit.objects.filter(year=quarter.year, quarter=quarter.q)
    if region is not None:
        qs = qs.filter(village__code__startswith=prefix_of_code(region.code))
    latest_check = SpotCheck.objects.filter(visit_id=OuterRef("pk")).order_by("-draw__drawn_at")
    if not supervises(user):
        latest_check = latest_check.exclude(outcome=SpotCheckOutcome.PENDING)
    # Exists first: only the flagged few are counted and scored, not the quarter's every visit.
    flag_count = (
        VisitFlag.objects.filter(visit_id=OuterRef("pk"))
        .order_by()
        .values("visit_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        in_area(qs, user)
        .filter(Exists(VisitFlag.objects.filter(visit_id=OuterRef("pk"))))
        .annotate(
            flag_count=Subquery(flag_count, output_field=IntegerField()),
            risk_score=_severity_sum(),
            spot_check_outcome=Subquery(latest_check.values("outcome")[:1]),
        )
        .select_related("household", "helper", "village")
        .prefetch_related(Prefetch("flags", queryset=VisitFlag.objects.order_by("kind", "id")))
        .order_by("-risk_score", "-flag_count", "-visited_at", "id")
    )


# --- Drawing a sample ----------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    visit_id: uuid.UUID
    flag_count: int

    def weight(self, k: float) -> float:
        return 1.0 + k * self.flag_count


def weighted_sample(
    candidates: Sequence[Candidate], *, size: int, seed: int, k: float
) -> list[Candidate]:
    """`size` candidates drawn without replacement, each with probability proportional to its
    weight at every step (Efraimidis–Spirakis). Deterministic for a seed: candidates are taken
    in visit-id order whatever order they come in; the sample is returned in draw order."""
    rng = random.Random(seed)
    keyed = []
    for candidate in sorted(candidates, key=lambda c: c.visit_id):
        u = rng.random()
        # u is in [0, 1): log(0) would fail; 0 simply ranks last.
        key = math.log(u) / candidate.weight(k) if u > 0 else -math.inf
        keyed.append((key, candidate.visit_id, candidate))
    top = heapq.nlargest(size, keyed, key=lambda t: (t[0], t[1]))
    return [candidate for _, _, candidate in top]


def candidates_digest(candidates: Iterable[Candidate]) -> str:
    """SHA-256 over the candidates (id and flag count, in id order): tells whether a later
    re-draw saw the same data."""
    digest = hashlib.sha256()
    for c in sorted(candidates, key=lambda c: c.visit_id):
        digest.update(f"{c.visit_id}:{c.flag_count}\n".encode())
    return digest.hexdigest()


def draw_candidates(*, region: Region, quarter: Quarter) -> list[Candidate]:
    """The quarter's visits in the region with their flag counts (one grouped query)."""
    rows = (
        Visit.objects.filter(
            year=quarter.year,
            quarter=quarter.q,
            village__code__startswith=prefix_of_code(region.code),
        )
        .order_by("id")
        .annotate(n=Count("flags"))
        .values_list("id", "n")
    )
    return [Candidate(visit_id, n) for visit_id, n in rows]


def draw_day_check(now: datetime) -> Quarter:
    """The quarter to sample at `now` (the last one), or a refusal outside days 20-30 of a
    quarter's first month, unless `SPOT_CHECK_ANY_DAY` lifts the rule."""
    local = timezone.localtime(now, SHANGHAI)
    this_quarter = Quarter.of_date(local.date())
    in_days = local.month % 3 == 1 and DRAW_FIRST_DAY <= local.day <= DRAW_LAST_DAY
    if not in_days and not settings.SPOT_CHECK_ANY_DAY:
        early = local.month % 3 == 1 and local.day < DRAW_FIRST_DAY
        month = local.month if early else this_quarter.shift(1).first_day.month
        raise Unprocessable(
            f"抽查只能在每季度首月{DRAW_FIRST_DAY}日至{DRAW_LAST_DAY}日进行"
            f"(今天是{local:%Y-%m-%d}),下次可在{month}月{DRAW_FIRST_DAY}日起抽取上一季度的走访",
            code="spot_check_closed",
            detail={"today": f"{local:%Y-%m-%d}"},
        )
    return this_quarter.shift(-1)


def flag_weight() -> float:
    return float(settings.SPOT_CHECK_FLAG_WEIGHT)


def spot_check_draw(
    *, user: User, size: int, region_code: str | None = None, now: datetime | None = None
) -> SpotCheckDraw:
    """Draw `size` of the last quarter's visits of the supervisor's area (or a region in it)."""
    _must_supervise(user)
    now = now or timezone.now()
    quarter = draw_day_check(now)
    if not 1 <= size <= settings.SPOT_CHECK_MAX_SAMPLE:
        raise Unprocessable(
            f"抽取数量应在1至{settings.SPOT_CHECK_MAX_SAMPLE}之间", code="bad_sample_size"
        )
    region = area_region(user, region_code)
    candidates = draw_candidates(region=region, quarter=quarter)
    if not candidates:
        raise Unprocessable(
            f"{region.name}{quarter.label}没有走访记录,无法抽查",
            code="nothing_to_draw",
            detail={"quarter": str(quarter), "region": region.code},
        )
    k = flag_weight()
    seed = secrets.randbits(63)
    sample = weighted_sample(candidates, size=size, seed=seed, k=k)
    with transaction.atomic():
        draw = SpotCheckDraw(
            supervisor=user,
            region=region,
            year=quarter.year,
            quarter=quarter.q,
            seed=seed,
            sample_size=len(sample),
            flag_weight=Decimal(str(settings.SPOT_CHECK_FLAG_WEIGHT)),
            population=len(candidates),
            flagged_population=sum(1 for c in candidates if c.flag_count),
            candidates_digest=candidates_digest(candidates),
            drawn_at=now,
        )
        draw.full_clean()
        draw.save()
        SpotCheck.objects.bulk_create(
            SpotCheck(
                draw=draw,
                visit_id=c.visit_id,
                rank=rank,
                flag_count=c.flag_count,
                weight=c.weight(k),
            )
            for rank, c in enumerate(sample, start=1)
        )
    return draw


@dataclass(frozen=True)
class Verification:
    same_data: bool  # the candidates (ids and flag counts) are what the draw saw
    same_sample: bool  # drawing again with the recorded seed gives the recorded visits
    visit_ids: list[uuid.UUID]  # what the draw gives today


def spot_check_verify(*, draw: SpotCheckDraw) -> Verification:
    """Draw again with the recorded seed and weight over today's data and compare."""
    region = Region.objects.get(pk=draw.region_id)
    candidates = draw_candidates(region=region, quarter=Quarter(draw.year, draw.quarter))
    again = weighted_sample(
        candidates, size=draw.sample_size, seed=draw.seed, k=float(draw.flag_weight)
    )
    recorded = list(draw.checks.order_by("rank").values_list("visit_id", flat=True))
    ids = [c.visit_id for c in again]
    return Verification(
        same_data=candidates_digest(candidates) == draw.candidates_digest,
        same_sample=ids == recorded,
        visit_ids=ids,
    )


# --- Reading draws and checks --------------------------------------------------------------


def _checks_qs() -> QuerySet[SpotCheck]:
    return SpotCheck.objects.select_related(
        "visit", "visit__household", "visit__helper", "visit__village", "checked_by"
    ).prefetch_related(Prefetch("photos", queryset=SpotCheckPhoto.objects.order_by("id")))


def draw_list(*, user: User) -> QuerySet[SpotCheckDraw]:
    """Draws of the supervisor's area (supervisors and admins only)."""
    if not supervises(user):
        return SpotCheckDraw.objects.none()
    return (
        in_area(SpotCheckDraw.objects.select_related("region", "supervisor"), user)
        .annotate(
            checked=Count("checks", filter=~_pending()),
            problems=Count("checks", filter=_problem()),
        )
        .order_by("-drawn_at", "-id")
    )


def _pending() -> Q:
    return Q(checks__outcome=SpotCheckOutcome.PENDING)


def _problem() -> Q:
    return Q(checks__outcome=SpotCheckOutcome.PROBLEM_FOUND)


def draw_detail(*, user: User, draw_id: int) -> SpotCheckDraw:
    draw = (
        draw_list(user=user)
        .prefetch_related(Prefetch("checks", queryset=_checks_qs().order_by("rank")))
        .filter(pk=draw_id)
        .first()
    )
    if draw is None:
        raise NotFound("抽查批次不存在")
    return draw


def check_list(*, user: User) -> QuerySet[SpotCheck]:
    """Checks of visits in the user's area: all of them for supervisors; for offices only the
    recorded outcomes (a pending check is not announced before it is made)."""
    qs = _checks_qs().select_related("draw")
    if supervises(user):
        pass
    elif is_office(user):
        qs = qs.exclude(outcome=SpotCheckOutcome.PENDING)
    else:
        return qs.none()
    return in_area(qs, user).order_by("-draw__drawn_at", "rank")


def visit_checks(*, user: User, visit_id: uuid.UUID) -> QuerySet[SpotCheck]:
    """The spot checks of one visit the user may read; 404 when the visit is not theirs."""
    if not (supervises(user) or is_office(user)):
        raise NotFound("走访不存在")
    if not in_area(Visit.objects.filter(pk=visit_id), user).exists():
        raise NotFound("走访不存在")
    return check_list(user=user).filter(visit_id=visit_id)


# --- Recording an outcome ------------------------------------------------------------------


def spot_check_record(
    *,
    user: User,
    check_id: int,
    outcome: str,
    notes: str = "",
    photo_ids: Sequence[uuid.UUID] = (),
    now: datetime | None = None,
) -> tuple[SpotCheck, bool]:
    """Record what checking the visit found. Retry-safe: the same outcome, notes and photos
    again return the check unchanged (`False`); a different record of an already recorded
    check is a conflict, so one supervisor cannot silently overwrite another's finding."""
    _must_supervise(user)
    if outcome not in (SpotCheckOutcome.CONFIRMED, SpotCheckOutcome.PROBLEM_FOUND):
        raise Unprocessable("核查结果应为 confirmed(核实无误)或 problem_found(发现问题)")
    notes = (notes or "").strip()
    if outcome == SpotCheckOutcome.PROBLEM_FOUND and not notes:
        raise Unprocessable("发现问题时须填写核查说明", code="notes_required")
    now = now or timezone.now()
    with transaction.atomic():
        # The row lock orders two supervisors recording the same check at once.
        check = in_area(SpotCheck.objects.select_for_update(of=("self",)), user).filter(pk=check_id)
        check = check.first()
        if check is None:
            raise NotFound("抽查记录不存在")
        wanted = sorted(str(p) for p in photo_ids)
        if check.outcome != SpotCheckOutcome.PENDING:
            have = sorted(str(p) for p in check.photos.values_list("photo_id", flat=True))
            if (check.outcome, check.notes, have) == (outcome, notes, wanted):
                return check, False
            raise Conflict(
                "该抽查已记录核查结果,不能更改",
                code="already_recorded",
                detail={"outcome": check.outcome},
            )
        photos = photos_claim(photo_ids=list(dict.fromkeys(photo_ids)), user=user)
        for photo in photos:
            if photo.kind != PhotoKind.SPOT_CHECK:
                raise Unprocessable(
                    "核查照片须以“抽查照片”类别上传",
                    code="bad_photo_kind",
                    detail={"photo_id": str(photo.pk)},
                )
        if photos and SpotCheckPhoto.objects.filter(photo__in=photos).exists():
            raise Conflict("照片已用于其他核查", code="photo_used")
        check.outcome = outcome
        check.notes = notes
        check.checked_by = user
        check.checked_at = now
        check.full_clean(exclude=["draw", "visit"])
        check.save(update_fields=["outcome", "notes", "checked_by", "checked_at"])
        SpotCheckPhoto.objects.bulk_create(
            [SpotCheckPhoto(spot_check=check, photo=photo) for photo in photos]
        )
        # The photos show the household: readable by whoever may read the household.
        village = Visit.objects.filter(pk=check.visit_id).values_list("village_id", flat=True)
        photos_set_region(photos, village.get())
    return check, True
