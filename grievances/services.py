"""Writes for cases: filing, tracking by code and key, the resident's and the staff's actions,
reading the complainant's identity (audited), and recomputing provisional deadlines."""

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import AuditAction, User
from accounts.roles import is_office
from accounts.scoping import code_in_area
from accounts.services import audit_record
from common.errors import NotFound, Unprocessable
from grievances import codes, deadlines, workflow
from grievances.models import (
    OPEN_STATES,
    Action,
    Category,
    Grievance,
    GrievanceEvent,
    GrievancePhoto,
    Kind,
)
from regions.models import Region, prefix_of_code
from register.models import Helper, Household, Unit

MAX_PHOTOS = 9
# The same answer for an unknown code and a wrong key: nothing tells them apart.
TRACK_NOT_FOUND = "查询码或密钥不正确"


@dataclass(frozen=True)
class Filed:
    grievance: Grievance
    key: str  # shown to the resident once, never stored

    @property
    def code(self) -> str:
        return self.grievance.display_code

    @property
    def key_display(self) -> str:
        return codes.group(self.key)


def grievance_submit(
    *,
    kind: str,
    category: str,
    region_code: str,
    text: str,
    anonymous: bool,
    name: str = "",
    phone: str = "",
    household_id: int | None = None,
    helper_id: int | None = None,
    village_code: str | None = None,
    photo_ids: Iterable[uuid.UUID] = (),
    now: datetime | None = None,
) -> Filed:
    """File a case from a resident (no login). Answers the case and its secret key."""
    now = now or timezone.now()
    text, name, phone = (text or "").strip(), (name or "").strip(), (phone or "").strip()
    errors: dict[str, str] = {}
    if kind not in Kind.values:
        errors["kind"] = "请选择诉求类型"
    if category not in Category.values:
        errors["category"] = "请选择诉求分类"
    if len(text) < 5:
        errors["text"] = "请把诉求写清楚(至少5个字)"
    elif len(text) > 5000:
        errors["text"] = "诉求内容不能超过5000字"
    if not anonymous:
        if not name:
            errors["name"] = "实名反映请填写姓名,或选择匿名"
        if not phone:
            errors["phone"] = "实名反映请填写联系电话,或选择匿名"
    if phone and not (phone.replace("-", "").isdigit() and 7 <= len(phone) <= 20):
        errors["phone"] = "联系电话格式不正确"
    if len(name) > 50:
        errors["name"] = "姓名过长"
    region = Region.objects.filter(pk=region_code).first() if region_code else None
    if region is None:
        errors["region"] = "请选择所在地区"
    photo_ids = list(dict.fromkeys(photo_ids))
    if len(photo_ids) > MAX_PHOTOS:
        errors["photo_ids"] = f"最多上传{MAX_PHOTOS}张照片"
    household = helper = village = None
    if region is not None:
        prefix = prefix_of_code(region.code)
        if household_id is not None:
            household = Household.objects.filter(
                pk=household_id, village__code__startswith=prefix
            ).first()
            if household is None:
                errors["household_id"] = "所涉农户不在所选地区"
        if helper_id is not None:
            helper = Helper.objects.filter(pk=helper_id).first()
            if helper is None or not (
                helper.region_id.startswith(prefix)
                or region.code.startswith(prefix_of_code(helper.region_id))
            ):
                errors["helper_id"] = "所涉帮扶责任人不在所选地区"
        if village_code:
            village = Region.objects.filter(pk=village_code, code__startswith=prefix).first()
            if village is None:
                errors["village_code"] = "所涉村(居)不在所选地区"
    if errors:
        raise Unprocessable("提交内容有误", code="invalid_grievance", detail=errors)

    return _file(
        fields={
            "kind": kind,
            "category": category,
            "region": region,
            "household": household,
            "helper": helper,
            "village": village,
            "text": text,
            "anonymous": anonymous,
            "name": name,
            "phone": phone,
        },
        attach=lambda c: _attach_photos(c, photo_ids),
        actor=None,
        actor_role=workflow.Actor.RESIDENT,
        data={},
        now=now,
    )


def grievance_file_for(
    *,
    filed_by: User,
    name: str,
    phone: str,
    kind: str,
    category: str,
    household: Household,
    helper: Helper | None,
    text: str,
    proposed_department: Unit | None,
    evidence_photo_ids: Iterable[uuid.UUID] = (),
    source: dict | None = None,
    now: datetime | None = None,
) -> Filed:
    """File a case on a household's behalf, without a resident at a form: a helper's passbook
    check that found a payment missing opens one this way. The filer (`name`, `phone`) is who
    reported it; the office accepts and assigns it as any other case, the form starting from
    `proposed_department`. Evidence photos (the visit's passbook pages) are linked, not
    claimed. Runs inside the caller's transaction when there is one."""
    now = now or timezone.now()
    text = text.strip()
    if not (5 <= len(text) <= 5000) or kind not in Kind.values or category not in Category.values:
        raise Unprocessable("提交内容有误", code="invalid_grievance")
    photo_ids = list(dict.fromkeys(evidence_photo_ids))

    def attach(case: Grievance) -> None:
        GrievancePhoto.objects.bulk_create(
            [GrievancePhoto(grievance=case, photo_id=p, evidence=True) for p in photo_ids]
        )

    return _file(
        fields={
            "kind": kind,
            "category": category,
            "region_id": household.village_id,
            "household": household,
            "helper": helper,
            "village_id": household.village_id,
            "text": text,
            "anonymous": False,
            "name": name.strip()[:50],
            "phone": phone.strip()[:20],
            "proposed_department": proposed_department,
        },
        attach=attach,
        actor=filed_by,
        actor_role=workflow.Actor.SYSTEM,
        data={"filed_for_household": household.pk, **(source or {})},
        now=now,
    )


def _file(
    *,
    fields: dict,
    attach: Callable[[Grievance], None],
    actor: User | None,
    actor_role: str,
    data: dict,
    now: datetime,
) -> Filed:
    """Save a new case with a fresh code and key, its photos and its first timeline entry."""
    submitted = deadlines.local_date(now)
    due = deadlines.accept_due(submitted)
    key = codes.new_key()
    for _attempt in range(5):
        case = Grievance(
            code=codes.new_code(),
            key_hash=codes.hash_key(key),
            submitted_at=now,
            accept_due=due.day,
            accept_due_provisional=due.provisional,
            updated_at=now,
            **fields,
        )
        workflow.refresh_next_due(case)
        case.full_clean(validate_unique=False, validate_constraints=False)
        try:
            with transaction.atomic():
                case.save()
                attach(case)
                GrievanceEvent.objects.create(
                    grievance=case,
                    at=now,
                    actor=actor,
                    actor_role=str(actor_role),
                    action=Action.SUBMIT.value,
                    to_state=case.state,
                    public=True,
                    data={
                        "accept_due": due.day.isoformat(),
                        "provisional": due.provisional,
                        **data,
                    },
                )
                workflow.broadcast(case, Action.SUBMIT.value)
        except IntegrityError:
            # A code collision (2^50 codes: rare) – draw another. Anything else re-raises.
            if Grievance.objects.filter(code=case.code).exists():
                continue
            raise
        return Filed(case, key)
    raise RuntimeError("could not draw a free tracking code")  # pragma: no cover


def _attach_photos(case: Grievance, photo_ids: list[uuid.UUID]) -> None:
    """Claim photos the resident uploaded through the public photo intake.

    Only unclaimed grievance photos without an uploader qualify; a unique constraint makes a
    resident's photo belong to one case. The photo takes the case's region, so it is served
    only within that area.
    """
    if not photo_ids:
        return
    from media.models import Photo, PhotoKind

    photos = list(
        Photo.objects.select_for_update()
        .filter(pk__in=photo_ids, kind=PhotoKind.GRIEVANCE, uploaded_by__isnull=True)
        .exclude(pk__in=GrievancePhoto.objects.filter(evidence=False).values("photo_id"))
    )
    if len(photos) != len(photo_ids):
        raise Unprocessable(
            "照片不存在或已被使用,请重新上传", code="photo_invalid", detail={"photo_ids": "无效"}
        )
    GrievancePhoto.objects.bulk_create([GrievancePhoto(grievance=case, photo=p) for p in photos])
    Photo.objects.filter(pk__in=[p.pk for p in photos], region__isnull=True).update(
        region=case.region
    )


def grievance_track(*, code: str, key: str) -> Grievance:
    """The case for this code and key, or NotFound with the same answer whichever is wrong."""
    normal_code = codes.normalize(code, codes.CODE_LENGTH)
    normal_key = codes.normalize(key, codes.KEY_LENGTH)
    case = (
        Grievance.objects.select_related("region").filter(code=normal_code).first()
        if normal_code
        else None
    )
    if not codes.key_matches(case.key_hash if case else None, normal_key or "") or case is None:
        raise NotFound(TRACK_NOT_FOUND, code="not_found")
    return case


def resident_act(
    *, code: str, key: str, action: str, note: str = "", rating: int | None = None
) -> Grievance:
    """The resident rates the result or asks to reopen it (once, within the set days)."""
    case = grievance_track(code=code, key=key)
    if action not in (Action.RATE, Action.REOPEN):
        raise Unprocessable("未知的操作", code="unknown_action")
    return workflow.transition(case, action, workflow.RESIDENT, note, rating=rating)


def grievance_act(
    *,
    grievance: Grievance,
    user,
    action: str,
    note: str = "",
    department_id: int | None = None,
    category: str | None = None,
    kind: str | None = None,
    now: datetime | None = None,
) -> Grievance:
    """A staff action through the state machine (which checks who may do what)."""
    params: dict = {}
    if category:
        params["category"] = category
    if kind:
        params["kind"] = kind
    if department_id is not None:
        params["department"] = Unit.objects.filter(pk=department_id).first()
    return workflow.transition(grievance, action, user, note, now, **params)


def may_see_identity(*, user, grievance: Grievance) -> bool:
    """Protected cases (anonymous, wrongdoing): the office of the case's area only. Others: the
    office, the supervisor and the department handling it."""
    actor = workflow.actor_of(grievance, user)
    if actor is None or actor in (workflow.Actor.RESIDENT, workflow.Actor.SYSTEM):
        return False
    if grievance.identity_protected:
        return actor == workflow.Actor.OFFICE and (
            user.is_superuser or (is_office(user) and code_in_area(user, grievance.region_id))
        )
    return True


def complainant_identity_for(
    *, user, grievance: Grievance, request: HttpRequest | None = None
) -> dict | None:
    """The complainant's name and phone when `user` may see them (each view audited), else None."""
    if not (grievance.name or grievance.phone):
        return None
    if not may_see_identity(user=user, grievance=grievance):
        return None
    audit_record(
        actor=user,
        action=AuditAction.VIEW_COMPLAINANT,
        target_type="grievance",
        target_id=grievance.pk,
        region_code=grievance.region_id,
        request=request,
        detail={"code": grievance.code, "protected": grievance.identity_protected},
    )
    return {"name": grievance.name, "phone": grievance.phone}


def recompute_provisional_deadlines(*, years: list[int] | None = None, now=None) -> int:
    """Recount every open case's provisional deadlines (after a calendar year is loaded).

    Each change goes through the state machine, so it is recorded in the case's timeline. Safe
    to run twice or concurrently: cases locked by another run are skipped, and a recount that
    changes nothing records nothing. Answers how many cases changed.
    """
    now = now or timezone.now()
    changed = 0
    candidates = Grievance.objects.filter(due_provisional=True, state__in=OPEN_STATES)
    ids = list(candidates.order_by("id").values_list("id", flat=True)[:5000])
    if not ids:
        return 0
    first = min(Grievance.objects.filter(pk__in=ids).values_list("submitted_at", flat=True))
    calendar = deadlines.snapshot_for(deadlines.local_date(first), deadlines.local_date(now))
    for case_id in ids:
        with transaction.atomic():
            qs = Grievance.objects.filter(pk=case_id, due_provisional=True)
            if connection.features.has_select_for_update_skip_locked:
                qs = qs.select_for_update(skip_locked=True)
            case = qs.first()
            if case is None:
                continue
            before = case.updated_at
            case = workflow.transition(
                case, Action.RECOMPUTE, workflow.SYSTEM, "", now, calendar=calendar
            )
            changed += case.updated_at != before
    return changed
