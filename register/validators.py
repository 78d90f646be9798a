"""Validation of the register's identifiers."""

import re

from django.core.exceptions import ValidationError
from stdnum import exceptions as stdnum_exceptions
from stdnum import numdb
from stdnum.cn import ric

_FORM = re.compile(r"^\d{17}[\dX]$")


def normalize_id_number(value: str) -> str:
    """A national ID number (居民身份证号) in canonical form, or ValidationError with the reason.

    Checked: 18 characters, a real birth date, a known division code, the check digit. Not
    checked, unlike python-stdnum's `ric.validate`: that the division code already existed in
    the birth year. A number carries the code of where it was issued (from 1984 on), so
    stdnum refused every 320623 (如东县, coded 1983) number of someone born before 1983, and
    every 320682 (如皋市, 1991) one before 1991: the elderly the subsidies are for.
    """
    number = ric.compact(value)
    if len(number) != 18:
        raise ValidationError("身份证号应为18位", code="id_length")
    if not _FORM.match(number):
        raise ValidationError("身份证号格式错误", code="id_format")
    try:
        ric.get_birth_date(number)
    except stdnum_exceptions.ValidationError as exc:
        raise ValidationError("身份证号中的出生日期或地区代码无效", code="id_birth_date") from exc
    if not _known_division(number[:6]):
        raise ValidationError("身份证号中的出生日期或地区代码无效", code="id_birth_date")
    if ric.calc_check_digit(number) != number[-1]:
        raise ValidationError("身份证号校验位错误", code="id_checksum")
    return number


def _known_division(code: str) -> bool:
    found = {k for _part, props in numdb.get("cn/loc").info(code) for k in props}
    return "county" in found


def validate_id_number(value: str) -> None:
    normalize_id_number(value)


def mask_id_number(value: str) -> str:
    """Keep the region and the last four digits: enough to tell people apart, not to misuse."""
    if len(value) < 10:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]
