"""Writes of the visits domain: submissions, window extensions, the photo-processed hook.

A submission is retry-safe: the phone's UUID is the key and a canonical hash of the request is
stored with the visit, so the same request again replays the visit and a different request
under the same key is a conflict. Checks run before anything is written; flags never refuse.
Live coverage updates go out after commit.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role, is_office
from accounts.scoping import code_in_area
from common.bulk import BulkWriter, insert_instances, next_id
from common.errors import AppError, Conflict, Forbidden, Unprocessable
from common.geo import as_decimal, to_wgs84
from common.live import group_name, send_on_commit
from common.quarters import SHANGHAI, Quarter, quarters_for_visit, window_for
from common.versions import VISITS, bump_on_commit
from media.models import VISIT_KINDS, Photo, PhotoKind
from media.services import photos_set_region
from regions.models import PREFIX_DIGITS, Level, Region
from register.models import Helper, Household, Pairing, Unit, UnitPairing, WeakVillage
from register.selectors import pairing_on
from visits import flags as flag_checks
from visits.models import (
    INCOME_CATEGORIES,
    QuarterIncome,
    VillageVisit,
    Visit,
    VisitBase,
    VisitPhoto,
    WindowExtension,
)
from visits.tasks import check_village_visit, check_visit
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


def _submit_once(kind: _VisitKind, *, user: User, data, now: datetime):
    """Create the visit once per client key. No look-up of the key first: the creation replays
    a visit already made under it after taking its row lock (so a retry is answered there, even
    after the window closed), and a race lost at the insert is replayed or refused here."""
    digest = content_hash(data)
    _check_time(data.visited_at, now)
    try:
        return _visit_create(kind, user=user, data=data, digest=digest, now=now)
    except IntegrityError:
        # A racing request won: either the same key (replay it) or the same photo (refuse).
        existing = _replay(kind.model, user=user, pk=data.id, digest=digest)
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
    _photos_fit(wanted, photos, kinds)
    used = list(VisitPhoto.objects.filter(photo_id__in=wanted).values_list("photo_id", flat=True))
    if used:
        raise _photos_used(used)
    return photos


def _photos_used(ids) -> Conflict:
    return Conflict(
        "照片已用于其他走访,请重新拍摄",
        code="photo_used",
        detail={"photo_ids": sorted(str(u) for u in ids)},
    )


def _photos_fit(wanted: set[uuid.UUID], photos: list[Photo], kinds: tuple[str, ...]) -> None:
    """The photos found for the wanted ids (the sender's own): every id found, each of the
    visit's kinds, every kind present."""
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


# --- Creating a visit: one path for households and weak villages -----------------------------


@dataclass
class _Subject:
    """What a visit is about, found (and its row locked) for one submission: the actor whose
    window is decided, the village it happened in, and the fields only this kind has."""

    actor: Helper | Unit
    village_code: str
    fields: dict


@transaction.atomic
def _visit_create(
    kind: _VisitKind, *, user: User, data, digest: str, now: datetime
) -> tuple[VisitBase, bool]:
    """Lock what the visit is about, replay a visit already made under this key, check the
    pairing, the window and the photos, insert the visit and its photos, then let the kind
    add what follows (income, flags, checks), and announce it to the coverage pages."""
    subject_row = kind.lock(data)
    existing = _replay(kind.model, user=user, pk=data.id, digest=digest)
    if existing is not None:
        return existing, False
    day = data.visited_at.astimezone(SHANGHAI).date()
    subject = kind.paired(user=user, row=subject_row, data=data, day=day)
    decision = _entry_or_refuse(subject.actor, data.visited_at, now, subject.village_code)
    quarter = decision.window.quarter
    photos = _photos_for(user=user, ids=data.photo_ids, kinds=kind.photo_kinds)
    visit = _visit_row(
        kind,
        data=data,
        village_code=subject.village_code,
        submitted_by_id=user.pk,
        quarter=quarter,
        digest=digest,
        now=now,
        fields=subject.fields,
    )
    visit.extension = decision.extension
    visit.submitted_by = user
    _validated(visit)
    visit.save(force_insert=True)
    VisitPhoto.objects.bulk_create(_photo_links(kind, visit, photos))
    # Whoever may read the visited household or village may now read its photos.
    photos_set_region(photos, subject.village_code)
    event = kind.after_insert(visit=visit, photos=photos, decision=decision, now=now)
    event.update(
        id=str(visit.pk),
        village=subject.village_code,
        quarter=str(quarter),
        visited_at=visit.visited_at.isoformat(),
    )
    _send_coverage({"type": kind.event_type, "visit": event}, subject.village_code)
    return visit, True


def _visit_row(
    kind: _VisitKind,
    *,
    data,
    village_code: str,
    submitted_by_id: int,
    quarter: Quarter,
    digest: str,
    now: datetime,
    fields: dict,
) -> VisitBase:
    """The visit as stored (unsaved): the one field mapping of both paths."""
    return kind.model(
        id=data.id,
        village_id=village_code,
        submitted_by_id=submitted_by_id,
        year=quarter.year,
        quarter=quarter.q,
        visited_at=data.visited_at,
        **_position_fields(data.position),
        notes=data.notes.strip(),
        content_hash=digest,
        created_at=now,
        **fields,
    )


def _photo_links(kind: _VisitKind, visit: VisitBase, photos: list[Photo]) -> list[VisitPhoto]:
    return [VisitPhoto(photo=p, kind=p.kind, **{kind.photo_link: visit}) for p in photos]


class _VisitKind(ABC):
    """What differs between a household visit and a weak-village visit."""

    model: type[VisitBase]
    photo_kinds: tuple[str, ...]
    photo_link: str  # VisitPhoto's foreign key to this kind of visit
    event_type: str  # the coverage pages' live event

    @abstractmethod
    def lock(self, data):
        """The row the visit is about, locked for this submission (None: no such row)."""

    @abstractmethod
    def paired(self, *, user: User, row, data, day: date) -> _Subject:
        """The actor and fields when `user` was paired with `row` on `day`; else a 422."""

    @abstractmethod
    def after_insert(self, *, visit, photos: list[Photo], decision: Decision, now) -> dict:
        """What follows the insert, in the same transaction; the live event's own fields."""


class _HouseholdVisit(_VisitKind):
    model = Visit
    photo_kinds = VISIT_KINDS
    photo_link = "visit"
    event_type = "coverage.visit"

    def lock(self, data: VisitInput) -> Household | None:
        # Visits of one household are serialized on its row: a retry waiting here sees the
        # visit its twin committed, and income records of a quarter are replaced one at a time.
        # Of the household alone: FOR UPDATE with the join would lock the village's row too,
        # and serialize every submission of the village (bench/visits.py: 50 ms a visit).
        return (
            Household.objects.select_for_update(of=("self",))
            .select_related("village")
            .filter(pk=data.household_id)
            .first()
        )

    def paired(self, *, user: User, row: Household | None, data: VisitInput, day) -> _Subject:
        helper = user.helper
        assert helper is not None  # visit_submit let only a user with a helper through
        pairing = pairing_on(household_id=data.household_id, day=day) if row else None
        if row is None or pairing is None or pairing.helper_id != helper.pk:
            # Unknown, out of area and paired with someone else all read the same.
            raise Unprocessable(
                f"您在{day:%Y-%m-%d}未与该户结对,不能提交走访",
                code="not_paired",
                detail={"household_id": data.household_id, "date": day.isoformat()},
            )
        fields = {"household": row, "helper": helper, "pairing": pairing, **_household_fields(data)}
        return _Subject(actor=helper, village_code=row.village_id, fields=fields)

    def after_insert(self, *, visit: Visit, photos, decision: Decision, now) -> dict:
        _income_record(visit=visit, now=now)
        flags = flag_checks.flags_at_submit(visit, photos, decision.window, decision.extension)
        flag_checks.raise_flags(flags)
        # Queued inside the transaction: the database backend's task row commits with the
        # visit (or not at all), so no committed visit misses its checks.
        check_visit.enqueue(str(visit.pk))
        return {
            "household_id": visit.household_id,
            "helper_id": visit.helper_id,
            "flags": len({(f.kind, f.photo_id) for f in flags}),
        }


class _WeakVillageVisit(_VisitKind):
    model = VillageVisit
    photo_kinds = VILLAGE_VISIT_KINDS
    photo_link = "village_visit"
    event_type = "coverage.village_visit"

    def lock(self, data: VillageVisitInput) -> WeakVillage | None:
        return WeakVillage.objects.select_for_update().filter(pk=data.village).first()

    def paired(
        self, *, user: User, row: WeakVillage | None, data: VillageVisitInput, day
    ) -> _Subject:
        unit = user.unit
        assert unit is not None  # village_visit_submit let only a user with a unit through
        pairing = (
            UnitPairing.objects.filter(weak_village_id=data.village).held_on(day).first()
            if row
            else None
        )
        if row is None or pairing is None or pairing.unit_id != unit.pk:
            raise Unprocessable(
                f"贵单位在{day:%Y-%m-%d}未挂钩该村,不能提交走访",
                code="not_paired",
                detail={"village": data.village, "date": day.isoformat()},
            )
        fields = {
            "weak_village": row,
            "unit": unit,
            "unit_pairing": pairing,
            "collective_income": data.collective_income,
        }
        return _Subject(actor=unit, village_code=data.village, fields=fields)

    def after_insert(self, *, visit: VillageVisit, photos, decision: Decision, now) -> dict:
        # Queued inside the transaction, as `check_visit`: its photos join the near-duplicate
        # search (household visits are compared with them).
        check_village_visit.enqueue(str(visit.pk))
        return {"unit_id": visit.unit_id}


def _household_fields(data: VisitInput) -> dict:
    """A household visit's own input fields: the passbook check and the four incomes."""
    return {
        "passbook_checked": data.passbook_checked,
        **{k: getattr(data.income, k) for k in INCOME_CATEGORIES},
    }


HOUSEHOLD = _HouseholdVisit()
WEAK_VILLAGE = _WeakVillageVisit()


def visit_submit(
    *, user: User, data: VisitInput, now: datetime | None = None
) -> tuple[Visit, bool]:
    """Accept a helper's visit; (visit, created). The same request again returns the same
    visit with created=False; the same key with other content is a Conflict."""
    if user.role != Role.HELPER or user.helper_id is None:
        raise Forbidden("只有帮扶责任人可以提交走访", code="not_helper")
    return _submit_once(HOUSEHOLD, user=user, data=data, now=now or timezone.now())


def village_visit_submit(
    *, user: User, data: VillageVisitInput, now: datetime | None = None
) -> tuple[VillageVisit, bool]:
    """Accept a pairing unit's visit to its weak village; same window and rules as households."""
    if user.role != Role.UNIT or user.unit_id is None:
        raise Forbidden("只有帮扶单位可以提交薄弱村走访", code="not_unit")
    return _submit_once(WEAK_VILLAGE, user=user, data=data, now=now or timezone.now())


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
    record = _income_row(visit=visit, replaces_id=previous.pk if previous else None, now=now)
    record.save(force_insert=True)
    return record


def _income_row(*, visit: Visit, replaces_id: int | None, now: datetime) -> QuarterIncome:
    """The quarter's current income record a visit makes (unsaved)."""
    return QuarterIncome(
        household_id=visit.household_id,
        year=visit.year,
        quarter=visit.quarter,
        visit=visit,
        replaces_id=replaces_id,
        current=True,
        recorded_at=now,
        **{k: getattr(visit, k) for k in INCOME_CATEGORIES},
    )


# --- Bulk: many household visits at once (seed data) -----------------------------------------

BULK_QUERY_CHUNK = 5000  # ids per IN (...) look-up: under SQLite's bound on query parameters


@dataclass(frozen=True)
class BulkVisit:
    """One household visit for `visits_bulk_create`: what the phone sends (`data`), who sent
    it, when it was entered, its photos (the sender's, e.g. from
    `media.services.photos_bulk_receive`; their ids are `data.photo_ids`), and the quarter it
    counts for: None takes the quarter whose window holds both the visit and its entry (the
    window decision without extensions); historical seed data names its quarter."""

    data: VisitInput
    user_id: int
    entered_at: datetime
    photos: tuple[Photo, ...]
    quarter: Quarter | None = None


def _name_visit(row: BulkVisit, exc: AppError) -> None:
    """Name the refused row's visit in the error (a batch has many)."""
    if isinstance(exc.detail, dict):
        exc.detail.setdefault("visit_id", str(row.data.id))


def _bulk_quarter(row: BulkVisit) -> Quarter:
    """The quarter a bulk visit counts for: one the real path could decide for its time."""
    candidates = quarters_for_visit(row.data.visited_at)
    if row.quarter is not None:
        if row.quarter not in candidates:
            raise Unprocessable(
                f"走访时间不属于{row.quarter.label}",
                code="bad_quarter",
                detail={"quarter": str(row.quarter)},
            )
        return row.quarter
    for quarter in candidates:
        window = window_for(quarter)
        if window.contains(row.data.visited_at) and window.contains(row.entered_at):
            return quarter
    window = window_for(candidates[0])
    raise Unprocessable(f"不在录入时间内:{window.label}", code="window_closed")


def _chunks(ids: list, size: int = BULK_QUERY_CHUNK):
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def visits_bulk_create(
    *, rows: Iterable[BulkVisit], writer: BulkWriter | None = None
) -> list[Visit]:
    """Create many household visits at once (seed data), with the rows `visit_submit` writes:
    the visit (same field mapping: position, incomes, notes, `content_hash` of the input), its
    `VisitPhoto` links, the quarter's current `QuarterIncome` (replacing a current record
    already stored, as a later visit does), and its photos' region narrowed to the village.
    Rows are written in batches through `writer` (COPY or executemany; one is made here when
    not given). Returns the visits, in the order given.

    Checked for every row before anything is written (one bad row: an AppError naming the
    visit, and nothing of the batch is written): the sender is a helper; the visit time is
    aware and not after the entry; the household exists and was paired with the sender's
    helper that day (the pairing is found as the real path finds it); the quarter is one the
    visit's time can count for (`BulkVisit.quarter`); the model's field checks (`full_clean`
    without the foreign-key queries: incomes within limits, non-negative but operating,
    lengths, decimals); the photos are the sender's, of each visit kind, all kinds present,
    unused (in the database and within the batch); one visit per household and quarter within
    the batch, and no key already used. Constraints and foreign keys stay the database's.

    Deliberately not done, and why:
    - no entry-window check at the moment of entry and no extensions: seed data enters past
      quarters now (historical quarters), so `quarter` is given or taken from the windows;
    - no replay of a retried key (there is no client to retry): a used key is refused;
    - no flag checks, no `check_visit` task, no live coverage event and no cache version bump:
      nobody listens while seeding, and the caller runs `visits.flags` on the visits it wants
      checked (seed_demo on those it made suspicious on purpose); photo `processed_hooks` too.
    """
    rows = list(rows)
    if not rows:
        return []
    users: dict[int, tuple[str, int | None]] = {}
    for chunk in _chunks(sorted({r.user_id for r in rows})):
        for pk, role, helper_id in User.objects.filter(pk__in=chunk).values_list(
            "pk", "role", "helper_id"
        ):
            users[pk] = (role, helper_id)
    household_ids = sorted({r.data.household_id for r in rows})
    villages: dict[int, str] = {}
    pairings: dict[int, list[tuple[int, int, date, date | None]]] = defaultdict(list)
    current: dict[tuple[int, int, int], int] = {}
    used: set[uuid.UUID] = set()
    taken: set[uuid.UUID] = set()
    for chunk in _chunks(household_ids):
        villages.update(Household.objects.filter(pk__in=chunk).values_list("pk", "village_id"))
        for pk, hid, helper_id, start, end in Pairing.objects.filter(
            household_id__in=chunk
        ).values_list("pk", "household_id", "helper_id", "start_date", "end_date"):
            pairings[hid].append((pk, helper_id, start, end))
        for pk, hid, year, q in QuarterIncome.objects.filter(
            household_id__in=chunk, current=True
        ).values_list("pk", "household_id", "year", "quarter"):
            current[(hid, year, q)] = pk
    photo_ids = [p.pk for r in rows for p in r.photos]
    for chunk in _chunks(photo_ids):
        used.update(
            VisitPhoto.objects.filter(photo_id__in=chunk).values_list("photo_id", flat=True)
        )
    for chunk in _chunks([r.data.id for r in rows]):
        taken.update(Visit.objects.filter(pk__in=chunk).values_list("pk", flat=True))

    visits: list[Visit] = []
    links: list[VisitPhoto] = []
    incomes: list[QuarterIncome] = []
    replaced: list[int] = []
    seen_quarters: set[tuple[int, int, int]] = set()
    by_village: dict[str, list[Photo]] = defaultdict(list)
    for row in rows:
        try:
            visit, previous = _bulk_visit(row, users, villages, pairings, current, used, taken)
        except AppError as exc:
            _name_visit(row, exc)
            raise
        key = (visit.household_id, visit.year, visit.quarter)
        if key in seen_quarters:
            raise Unprocessable(
                "同一批次中同一户同一季度只能有一次走访",
                code="bulk_duplicate_quarter",
                detail={"visit_id": str(row.data.id), "household_id": visit.household_id},
            )
        seen_quarters.add(key)
        used.update(p.pk for p in row.photos)  # a photo serves one visit of the batch
        taken.add(visit.pk)
        visits.append(visit)
        links.extend(_photo_links(HOUSEHOLD, visit, list(row.photos)))
        incomes.append(_income_row(visit=visit, replaces_id=previous, now=row.entered_at))
        if previous is not None:
            replaced.append(previous)
        by_village[visit.village_id].extend(row.photos)

    writer = writer or BulkWriter()
    with transaction.atomic():
        for chunk in _chunks(replaced):
            QuarterIncome.objects.filter(pk__in=chunk).update(current=False)
        insert_instances(writer, visits)
        # Serial ids taken past the current maximum, as the writer expects.
        for model, objs in ((VisitPhoto, links), (QuarterIncome, incomes)):
            first = next_id(model)
            for n, obj in enumerate(objs):
                obj.pk = first + n
            insert_instances(writer, objs)
        for village_code, photos in by_village.items():
            for chunk in _chunks(photos):
                photos_set_region(chunk, village_code)
        writer.finish()
    return visits


def _bulk_visit(
    row: BulkVisit,
    users: dict,
    villages: dict[int, str],
    pairings: dict,
    current: dict[tuple[int, int, int], int],
    used: set[uuid.UUID],
    taken: set[uuid.UUID],
) -> tuple[Visit, int | None]:
    """One bulk row checked and mapped: the unsaved visit, and the income record it replaces."""
    data = row.data
    role, helper_id = users.get(row.user_id, (None, None))
    if role != Role.HELPER or helper_id is None:
        raise Forbidden("只有帮扶责任人可以提交走访", code="not_helper")
    _check_time(data.visited_at, row.entered_at)
    if data.id in taken:
        raise Conflict("该走访编号已使用", code="idempotency_conflict", detail={"id": str(data.id)})
    day = data.visited_at.astimezone(SHANGHAI).date()
    held = [
        (pk, h)
        for pk, h, start, end in pairings.get(data.household_id, ())
        if start <= day and (end is None or end > day)
    ]
    village_code = villages.get(data.household_id)
    if village_code is None or not held or held[0][1] != helper_id:
        raise Unprocessable(
            f"您在{day:%Y-%m-%d}未与该户结对,不能提交走访",
            code="not_paired",
            detail={"household_id": data.household_id, "date": day.isoformat()},
        )
    quarter = _bulk_quarter(row)
    photos = sorted(row.photos, key=lambda p: (p.kind, p.pk))
    wanted = set(data.photo_ids)
    if len(wanted) != len(data.photo_ids) or {p.pk for p in photos} != wanted:
        raise Unprocessable(
            "照片与走访所列照片不符",
            code="photo_unknown",
            detail={"photo_ids": sorted(str(i) for i in wanted ^ {p.pk for p in photos})},
        )
    _photos_fit(
        wanted, [p for p in photos if p.uploaded_by_id == row.user_id], HOUSEHOLD.photo_kinds
    )
    again = wanted & used
    if again:
        raise _photos_used(again)
    fields = {
        "household_id": data.household_id,
        "helper_id": helper_id,
        "pairing_id": held[0][0],
        **_household_fields(data),
    }
    visit = _visit_row(
        HOUSEHOLD,
        data=data,
        village_code=village_code,
        submitted_by_id=row.user_id,
        quarter=quarter,
        digest=content_hash(data),
        now=row.entered_at,
        fields=fields,
    )
    _validated(visit)
    assert isinstance(visit, Visit)
    return visit, current.get((data.household_id, quarter.year, quarter.q))


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
    target = targets[0]
    region_code = target.code if isinstance(target, Region) else target.region_id
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
