"""The roles and what each may do, in one place."""

from django.db import models


class Role(models.TextChoices):
    HELPER = "helper", "帮扶责任人"
    UNIT = "unit", "帮扶单位"
    TOWN_OFFICE = "town_office", "镇(街道)扶贫办"
    COUNTY_OFFICE = "county_office", "县(市、区)扶贫办"
    CITY_OFFICE = "city_office", "市扶贫办"
    DEPARTMENT = "department", "职能部门经办人"
    SUPERVISOR = "supervisor", "纪委监委"
    ADMIN = "admin", "系统管理员"


OFFICE_ROLES = frozenset({Role.TOWN_OFFICE, Role.COUNTY_OFFICE, Role.CITY_OFFICE})
# Staff who read the register and visits of their whole area.
AREA_READER_ROLES = OFFICE_ROLES | {Role.SUPERVISOR, Role.ADMIN}
# Staff who may change the register of their area.
REGISTER_WRITER_ROLES = OFFICE_ROLES | {Role.ADMIN}
FIELD_ROLES = frozenset({Role.HELPER, Role.UNIT})
# Staff who load the one-card subsidy payment lists of their area and close payment warnings.
PAYMENT_MANAGER_ROLES = OFFICE_ROLES | {Role.ADMIN}


def is_office(user) -> bool:
    return getattr(user, "role", None) in OFFICE_ROLES


def reads_area(user) -> bool:
    return getattr(user, "role", None) in AREA_READER_ROLES


def writes_register(user) -> bool:
    return getattr(user, "role", None) in REGISTER_WRITER_ROLES


def manages_payments(user) -> bool:
    """Loads payment lists and closes payment warnings (offices, admins)."""
    if not getattr(user, "is_authenticated", False):
        return False
    return bool(user.is_superuser) or getattr(user, "role", None) in PAYMENT_MANAGER_ROLES


def reads_payments(user) -> bool:
    """Reads the area's payments, checks and warnings (offices, supervisors, admins)."""
    if not getattr(user, "is_authenticated", False):
        return False
    return bool(user.is_superuser) or reads_area(user)


def checks_passbooks(user) -> bool:
    """Checks households' passbooks against the payments at a visit (helpers)."""
    role = getattr(user, "role", None)
    return role == Role.HELPER and getattr(user, "helper_id", None) is not None
