"""Writes of the visits domain: submissions, window extensions, the photo-processed hook.

A submission is retry-safe: the phone's UUID is the key and a canonical hash of the request is
stored with the visit, so the same request again replays the visit and a different request
under the same key is a conflict. Checks run before anything is written; flags never refuse.
Live coverage updates go out after commit.
"""

import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role, is_office
from accounts.scoping import code_in_area
from common.errors import AppError, Conflict, Forbidden, Unprocessable
from common.geo import as_decimal, to_wgs84
from common.live import group_name, send_on_commit
from common.quarters import SHANGHAI, Quarter
from common.versions import VISITS, bump_on_commit
from media.models import VISIT_KINDS, Photo, PhotoKind
from media.services import photos_set_region
from regions.models import PREFIX_DIGITS, Level, Region
from register.models import Helper, Household, Unit, UnitPairing, WeakVillage
from register.selectors import pairing_on
from visits import flags as flag_checks
from visits.models import (
    INCOME_CATEGORIES,
    QuarterIncome,
    VillageVisit,
    Visit,
    VisitPhoto,
    WindowExtension,
)
from visits.tasks import check_visit
from visits.windows import Decision, entry_decision

logger = logging.getLogger(__name__)

# A phone's clock may run a little ahead of the server's.
CLOCK_SKEW = timedelta(minutes=10)
VILLAGE_VISIT_KINDS = (PhotoKind.LOCATION, PhotoKind.SCENE)


# --- Input --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Position:
    lat: Decimal
    lon: Decimal
    coord_system: str = "wgs84"
    accuracy_m: Decimal | None = None


@dataclass(frozen=True)
class Income:
    wages: Decimal
    operating: Decimal
    property: Decimal
    transfers: Decimal


@dataclass(frozen=True)
class VisitInput:
    id: uuid.UUID
    household_id: int
    visited_at: datetime
    position: Position
    photo_ids: tuple[uuid.UUID, ...]
    income: Income
    passbook_checked: bool
    notes: str = ""


@dataclass(frozen=True)
class VillageVisitInput:
    id: uuid.UUID
    village: str  # the weak village's region code
    visited_at: datetime
    position: Position
    photo_ids: tuple[uuid.UUID, ...]
    collective_income: Decimal
    notes: str = ""


def _canonical(value):
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, datetime):
        return value.astimezone(SHANGHAI).isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Position | Income | VisitInput | VillageVisitInput):
        return {k: _canonical(v) for k, v in value.__dict__.items()}
    if isinstance(value, tuple | list):
        return sorted(_canonical(v) for v in value)
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, str):
        return value.strip()
    return value


def content_hash(data: VisitInput | VillageVisitInput) -> str:
    """SHA-256 of the request's meaning: the same visit sent again hashes the same, whatever
    the order of its photo ids, the time zone of its timestamps or trailing zeros of amounts."""
    text = json.dumps(_canonical(data), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


# --- Shared checks -------------------------------------------------------------------------------


def _replay(model, *, user: User, pk: uuid.UUID, digest: str):
    """The visit already made under this key, if the request is the same; 409 if not."""
    existing = model.objects.filter(pk=pk).first()
    if existing is None:
        return None
    if existing.submitted_by_id != user.pk or existing.content_hash != digest:
        raise Conflict(
            "该走访编号已用于内容不同的提交,请勿修改后重复提交",
            code="idempotency_conflict",
            detail={"id": str(pk)},
        )
    return existing


def _submit_once(model, create, *, user: User, data, now: datetime):
    """Run `create` once per client key. No look-up of the key first: `create` replays a visit
    already made under it after taking its row lock (so a retry is answered there, even after
    the window closed), and a race lost at the insert is replayed or refused here."""
    digest = content_hash(data)
    _check_time(data.visited_at, now)
    try:
        return create(user=user, data=data, digest=digest, now=now)
    except IntegrityError:
        # A racing request won: either the same key (replay it) or the same photo (refuse).
        existing = _replay(model, user=user, pk=data.id, digest=digest)
        if existing is not None:
            return existing, False
        raise Conflict("照片已用于其他走访,请重新拍摄", code="photo_used") from None


def _check_time(visited_at: datetime, now: datetime) -> None:
    if timezone.is_naive(visited_at):
        raise Unprocessable("走访时间必须带时区", code="naive_datetime")
    if visited_at > now + CLOCK_SKEW:
        raise Unprocessable("走访时间不能晚于当前时间", code="visited_in_future")


def _entry_or_refuse(actor, visited_at: datetime, now: datetime, place: str) -> Decision:
    """The window decision for this visit (`windows.entry_decision`); refused: a 422."""
    decision = entry_decision(actor, now=now, visited_at=visited_at, place=place)
    if not decision.allowed:
        window = decision.window
        raise Unprocessable(
            f"不在录入时间内:{window.label}",
            code="window_closed",
            detail={
                "quarter": str(window.quarter),
                "opens_at": window.opens_at.isoformat(),
                "closes_at": window.closes_at.isoformat(),
            },
        )
    return decision


def _photos_for(*, user: User, ids: tuple[uuid.UUID, ...], kinds: tuple[str, ...]) -> list[Photo]:
    """The user's own photos, of the visit's kinds, every kind present, none used before."""
    wanted = set(ids)
    photos = list(Photo.objects.filter(pk__in=wanted, uploaded_by=user).order_by("kind", "pk"))
    missing = wanted - {p.pk for p in photos}
    if missing:
        # Someone else's photo and no photo at all get the same answer: "upload it first".
        raise Unprocessable(
            "照片尚未上传成功,请先上传照片",
            code="photo_unknown",
            detail={"photo_ids": sorted(str(m) for m in missing)},
        )
    wrong = [p for p in photos if p.kind not in kinds]
    if wrong:
        raise Unprocessable(
            "照片类别不适用于本次走访",
            code="photo_wrong_kind",
            detail={"photo_ids": [str(p.pk) for p in wrong]},
        )
    absent = [k for k in kinds if k not in {p.kind for p in photos}]
    if absent:
        labels = "、".join(str(PhotoKind(k).label) for k in absent)
        raise Unprocessable(
            f"缺少照片:{labels}", code="photo_kind_missing", detail={"kinds": list(absent)}
        )
    used = list(VisitPhoto.objects.filter(photo_id__in=wanted).values_list("photo_id", flat=True))
    if used:
        raise Conflict(
            "照片已用于其他走访,请重新拍摄",
            code="photo_used",
            detail={"photo_ids": sorted(str(u) for u in used)},
        )
    return photos


def _position_fields(position: Position) -> dict:
    """The stored position: WGS-84 (converted from the named system) beside the raw input."""
    try:
        lat, lon = to_wgs84(position.lat, position.lon, position.coord_system)
    except ValueError as exc:
        raise Unprocessable("定位坐标无效", code="bad_position") from exc
    return {
        "lat": as_decimal(lat),
        "lon": as_decimal(lon),
        "raw_lat": as_decimal(float(position.lat)),
        "raw_lon": as_decimal(float(position.lon)),
        "accuracy_m": position.accuracy_m,
        "coord_system": position.coord_system,
    }


def _validated(obj) -> None:
    # Constraints and foreign keys are the database's job (the related rows were just read,
    # and full_clean would re-check each with a query: 6 of a visit's 30), uniqueness of the
    # key is handled by the caller.
    relations = [f.name for f in obj._meta.concrete_fields if f.is_relation]
    try:
        obj.full_clean(exclude=relations, validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        raise AppError(
            "数据校验未通过", code="validation", status=422, detail=exc.message_dict
        ) from exc


def coverage_groups(village_code: str) -> list[str]:
    """The live groups a visit in this village concerns: its city, county, town and village."""
    return [
        group_name("coverage", village_code[:digits])
        for level, digits in PREFIX_DIGITS.items()
        if level != Level.PROVINCE
    ]


def _send_coverage(event: dict, village_code: str) -> None:
    """The visit's live event to the coverage pages, and the coverage cache's version moved,
    once the visit commits."""
    send_on_commit(coverage_groups(village_code), event)
    bump_on_commit(VISITS)


# --- Household visits ---------------------------------------------------------------------------


def visit_submit(
    *, user: User, data: VisitInput, now: datetime | None = None
) -> tuple[Visit, bool]:
    """Accept a helper's visit; (visit, created). The same request again returns the same
    visit with created=False; the same key with other content is a Conflict."""
    if user.role != Role.HELPER or user.helper_id is None:
        raise Forbidden("只有帮扶责任人可以提交走访", code="not_helper")
    return _submit_once(Visit, _visit_create, user=user, data=data, now=now or timezone.now())


@transaction.atomic
def _visit_create(
    *, user: User, data: VisitInput, digest: str, now: datetime
) -> tuple[Visit, bool]:
    helper: Helper = user.helper
    # Visits of one household are serialized on its row: a retry waiting here sees the visit
    # its twin committed, and income records of a quarter are replaced one at a time.
    household = (
        # Of the household alone: FOR UPDATE with the join would lock the village's row too,
        # and serialize every submission of the village (bench/visits.py: 50 ms a visit).
        Household.objects.select_for_update(of=("self",))
        .select_related("village")
        .filter(pk=data.household_id)
        .first()
    )
    existing = _replay(Visit, user=user, pk=data.id, digest=digest)
    if existing is not None:
        return existing, False
    day = data.visited_at.astimezone(SHANGHAI).date()
    pairing = pairing_on(household_id=data.household_id, day=day) if household else None
    if pairing is None or pairing.helper_id != helper.pk:
        # Unknown, out of area and paired with someone else all read the same.
        raise Unprocessable(
            f"您在{day:%Y-%m-%d}未与该户结对,不能提交走访",
            code="not_paired",
            detail={"household_id": data.household_id, "date": day.isoformat()},
        )
    decision = _entry_or_refuse(helper, data.visited_at, now, household.village_id)
    quarter = decision.window.quarter
    photos = _photos_for(user=user, ids=data.photo_ids, kinds=VISIT_KINDS)
    position = _position_fields(data.position)
    visit = Visit(
        id=data.id,
        household=household,
        village_id=household.village_id,
        helper=helper,
        pairing=pairing,
        submitted_by=user,
        year=quarter.year,
        quarter=quarter.q,
        visited_at=data.visited_at,
        **position,
        passbook_checked=data.passbook_checked,
        notes=data.notes.strip(),
        extension=decision.extension,
        content_hash=digest,
        created_at=now,
        **{k: getattr(data.income, k) for k in INCOME_CATEGORIES},
    )
    _validated(visit)
    visit.save(force_insert=True)
    VisitPhoto.objects.bulk_create([VisitPhoto(photo=p, visit=visit, kind=p.kind) for p in photos])
    # Whoever may read the visited household or village may now read its photos.
    photos_set_region(photos, household.village_id)
    _income_record(visit=visit, now=now)
    flags = flag_checks.flags_at_submit(visit, photos, decision.window, decision.extension)
    flag_checks.raise_flags(flags)
    # Queued inside the transaction: the database backend's task row commits with the visit
    # (or not at all), so no committed visit misses its checks.
    check_visit.enqueue(str(visit.pk))
    _send_coverage(
        {
            "type": "coverage.visit",
            "visit": {
                "id": str(visit.pk),
                "household_id": household.pk,
                "village": household.village_id,
                "helper_id": helper.pk,
                "quarter": str(quarter),
                "visited_at": visit.visited_at.isoformat(),
                "flags": len({(f.kind, f.photo_id) for f in flags}),
            },
        },
        household.village_id,
    )
    return visit, True


def _income_record(*, visit: Visit, now: datetime) -> QuarterIncome:
    """The visit's income becomes the household's current record for the quarter."""
    previous = (
        QuarterIncome.objects.select_for_update()
        .filter(
            household_id=visit.household_id, year=visit.year, quarter=visit.quarter, current=True
        )
        .first()
    )
    if previous is not None:
        previous.current = False
        previous.save(update_fields=["current"])
    return QuarterIncome.objects.create(
        household_id=visit.household_id,
        year=visit.year,
        quarter=visit.quarter,
        visit=visit,
        replaces=previous,
        current=True,
        recorded_at=now,
        **{k: getattr(visit, k) for k in INCOME_CATEGORIES},
    )


# --- Weak-village visits ------------------------------------------------------------------------


def village_visit_submit(
    *, user: User, data: VillageVisitInput, now: datetime | None = None
) -> tuple[VillageVisit, bool]:
    """Accept a pairing unit's visit to its weak village; same window and rules as households."""
    if user.role != Role.UNIT or user.unit_id is None:
        raise Forbidden("只有帮扶单位可以提交薄弱村走访", code="not_unit")
    return _submit_once(
        VillageVisit, _village_visit_create, user=user, data=data, now=now or timezone.now()
    )


@transaction.atomic
def _village_visit_create(
    *, user: User, data: VillageVisitInput, digest: str, now: datetime
) -> tuple[VillageVisit, bool]:
    unit: Unit = user.unit
    weak_village = WeakVillage.objects.select_for_update().filter(pk=data.village).first()
    existing = _replay(VillageVisit, user=user, pk=data.id, digest=digest)
    if existing is not None:
        return existing, False
    day = data.visited_at.astimezone(SHANGHAI).date()
    pairing = (
        UnitPairing.objects.filter(weak_village_id=data.village).held_on(day).first()
        if weak_village
        else None
    )
    if pairing is None or pairing.unit_id != unit.pk:
        raise Unprocessable(
            f"贵单位在{day:%Y-%m-%d}未挂钩该村,不能提交走访",
            code="not_paired",
            detail={"village": data.village, "date": day.isoformat()},
        )
    decision = _entry_or_refuse(unit, data.visited_at, now, data.village)
    quarter = decision.window.quarter
    photos = _photos_for(user=user, ids=data.photo_ids, kinds=VILLAGE_VISIT_KINDS)
    position = _position_fields(data.position)
    visit = VillageVisit(
        id=data.id,
        weak_village=weak_village,
        village_id=data.village,
        unit=unit,
        unit_pairing=pairing,
        submitted_by=user,
        year=quarter.year,
        quarter=quarter.q,
        visited_at=data.visited_at,
        **position,
        collective_income=data.collective_income,
        notes=data.notes.strip(),
        extension=decision.extension,
        content_hash=digest,
        created_at=now,
    )
    _validated(visit)
    visit.save(force_insert=True)
    VisitPhoto.objects.bulk_create(
        [VisitPhoto(photo=p, village_visit=visit, kind=p.kind) for p in photos]
    )
    photos_set_region(photos, data.village)
    _send_coverage(
        {
            "type": "coverage.village_visit",
            "visit": {
                "id": str(visit.pk),
                "village": data.village,
                "unit_id": unit.pk,
                "quarter": str(quarter),
                "visited_at": visit.visited_at.isoformat(),
            },
        },
        data.village,
    )
    return visit, True


# --- Window extensions --------------------------------------------------------------------------


@transaction.atomic
def extension_grant(
    *,
    user: User,
    quarter: Quarter,
    until: datetime,
    reason: str,
    helper: Helper | None = None,
    unit: Unit | None = None,
    area: Region | None = None,
    now: datetime | None = None,
) -> WindowExtension:
    """An office extends a quarter's entry for one helper, unit or area of its own area."""
    now = now or timezone.now()
    if not (is_office(user) or user.is_superuser):
        raise Forbidden("只有扶贫办可以批准延期", code="not_office")
    targets = [t for t in (helper, unit, area) if t is not None]
    if len(targets) != 1:
        raise Unprocessable("请指定一个帮扶责任人、帮扶单位或区域", code="extension_target")
    region_code = area.code if area is not None else targets[0].region_id
    if not code_in_area(user, region_code):
        raise Forbidden("无权为辖区外批准延期", code="outside_area")
    if timezone.is_naive(until) or until <= now:
        raise Unprocessable("延期截止时间必须晚于当前时间", code="extension_until")
    if until <= quarter.starts_at():
        raise Unprocessable("延期截止时间必须在该季度开始之后", code="extension_until")
    if not reason.strip():
        raise Unprocessable("请填写延期理由", code="extension_reason")
    extension = WindowExtension(
        year=quarter.year,
        quarter=quarter.q,
        helper=helper,
        unit=unit,
        area=area,
        region_id=region_code,
        until=until,
        reason=reason.strip(),
        granted_by=user,
        granted_at=now,
    )
    _validated(extension)
    extension.save()
    return extension


# --- Passbook -----------------------------------------------------------------------------------


def visit_passbook_set(*, visit: Visit, checked: bool) -> None:
    """Record whether the visit's passbook check is complete. The payments app decides it from
    the helper's checks of each payment due at the visit; a visit with nothing to check keeps
    what the helper ticked, as every visit before payment lists were loaded does."""
    if visit.passbook_checked != checked:
        Visit.objects.filter(pk=visit.pk).update(passbook_checked=checked)
        visit.passbook_checked = checked
        bump_on_commit(VISITS)
