"""Writes to the register: keyword-only, atomic, validated before saving."""

from datetime import date

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.http import HttpRequest

from accounts.models import AuditAction, User
from accounts.roles import is_office, writes_register
from accounts.scoping import code_in_area
from accounts.services import audit_record
from common.errors import AppError, Conflict, Forbidden
from common.versions import REGISTER, bump_on_commit
from register.models import Helper, Household, Pairing
from register.validators import mask_id_number


def household_id_number_for(
    *, user: User, household: Household, request: HttpRequest | None
) -> str:
    """The full ID number for an office user of the household's area (audited), else masked."""
    if (is_office(user) or user.is_superuser) and code_in_area(user, household.village_id):
        audit_record(
            actor=user,
            action=AuditAction.VIEW_ID_NUMBER,
            target_type="household",
            target_id=household.pk,
            region_code=household.village_id,
            request=request,
        )
        return household.id_number
    return mask_id_number(household.id_number)


def _check_writer(user: User, code: str) -> None:
    if not (writes_register(user) or user.is_superuser) or not code_in_area(user, code):
        raise Forbidden("无权修改该区域的台账")


def _validation_error(exc: ValidationError) -> AppError:
    return AppError(
        "数据校验未通过",
        code="validation",
        status=422,
        detail=exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages},
    )


HOUSEHOLD_EDITABLE = (
    "head_name",
    "phone",
    "members",
    "address",
    "home_lat",
    "home_lon",
    "status",
    "exited_on",
    "returned_on",
)


def _blank_for_none(model: type[models.Model], field: str, value):
    """`null` sent for an optional text field clears it: "" (full_clean lets None through for
    blank fields, and the NOT NULL column then failed with a 500)."""
    model_field = model._meta.get_field(field)
    if value is None and isinstance(model_field, models.CharField) and not model_field.null:
        return "" if model_field.blank else value
    return value


@transaction.atomic
def household_update(*, user: User, household: Household, changes: dict) -> Household:
    """Change a household's editable fields; office users of its area only."""
    _check_writer(user, household.village_id)
    household = Household.objects.select_for_update().get(pk=household.pk)
    for field, value in changes.items():
        if field not in HOUSEHOLD_EDITABLE:
            raise AppError(f"字段 {field} 不可修改", code="field_not_editable")
        setattr(household, field, _blank_for_none(Household, field, value))
    try:
        household.full_clean()
    except ValidationError as exc:
        raise _validation_error(exc) from exc
    household.save()
    bump_on_commit(REGISTER)
    return household


HELPER_EDITABLE = ("name", "phone", "kind", "active")


@transaction.atomic
def helper_update(*, user: User, helper: Helper, changes: dict) -> Helper:
    _check_writer(user, helper.region_id)
    helper = Helper.objects.select_for_update().get(pk=helper.pk)
    for field, value in changes.items():
        if field not in HELPER_EDITABLE:
            raise AppError(f"字段 {field} 不可修改", code="field_not_editable")
        setattr(helper, field, _blank_for_none(Helper, field, value))
    try:
        helper.full_clean()
    except ValidationError as exc:
        raise _validation_error(exc) from exc
    helper.save()
    bump_on_commit(REGISTER)
    return helper


@transaction.atomic
def pairing_assign(
    *, user: User, household: Household, helper: Helper, start_date: date
) -> Pairing:
    """Pair a household with a helper from `start_date`, ending its current pairing that day.

    History is kept: the old pairing gets an end date, never deleted. The household row is
    locked so that two offices re-pairing it at once cannot both succeed.
    """
    _check_writer(user, household.village_id)
    if not code_in_area(user, helper.region_id):
        raise Forbidden("该帮扶责任人不在本区域")
    Household.objects.select_for_update().filter(pk=household.pk).first()
    current = Pairing.objects.filter(household=household, end_date__isnull=True).first()
    if current is not None:
        if current.helper_id == helper.pk:
            raise Conflict("该户已与此帮扶责任人结对", code="already_paired")
        if start_date <= current.start_date:
            raise AppError("新结对的开始日期必须晚于当前结对的开始日期", code="pairing_start")
        current.end_date = start_date
        current.save(update_fields=["end_date"])
    bump_on_commit(REGISTER)
    if Pairing.objects.filter(household=household).overlapping(start_date, None).exists():
        raise Conflict("该时段已有结对记录", code="pairing_overlap")
    try:
        return Pairing.objects.create(household=household, helper=helper, start_date=start_date)
    except IntegrityError as exc:
        raise Conflict("该户已有进行中的结对", code="pairing_open_exists") from exc


@transaction.atomic
def pairing_end(*, user: User, pairing: Pairing, end_date: date) -> Pairing:
    _check_writer(user, pairing.household.village_id)
    pairing = Pairing.objects.select_for_update().get(pk=pairing.pk)
    if pairing.end_date is not None:
        raise Conflict("该结对已结束", code="pairing_ended")
    if end_date <= pairing.start_date:
        raise AppError("结束日期必须晚于开始日期", code="pairing_end")
    pairing.end_date = end_date
    pairing.save(update_fields=["end_date"])
    bump_on_commit(REGISTER)
    return pairing
