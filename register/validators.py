"""Validation of the register's identifiers."""

from django.core.exceptions import ValidationError
from stdnum import exceptions as stdnum_exceptions
from stdnum.cn import ric


def normalize_id_number(value: str) -> str:
    """A national ID number (居民身份证号) in canonical form, or ValidationError with the reason."""
    try:
        return ric.validate(value)
    except stdnum_exceptions.InvalidChecksum as exc:
        raise ValidationError("身份证号校验位错误", code="id_checksum") from exc
    except stdnum_exceptions.InvalidLength as exc:
        raise ValidationError("身份证号应为18位", code="id_length") from exc
    except stdnum_exceptions.InvalidComponent as exc:
        raise ValidationError("身份证号中的出生日期或地区代码无效", code="id_birth_date") from exc
    except stdnum_exceptions.ValidationError as exc:
        raise ValidationError("身份证号格式错误", code="id_format") from exc


def validate_id_number(value: str) -> None:
    normalize_id_number(value)


def mask_id_number(value: str) -> str:
    """Keep the region and the last four digits: enough to tell people apart, not to misuse."""
    if len(value) < 10:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]
