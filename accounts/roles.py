"""The roles and what each may do, in one place: every "who may do what" set and predicate.

Other modules ask these predicates (or filter by these sets); they do not list roles
themselves. A superuser passes every predicate except where a comment says otherwise.
"""

from __future__ import annotations

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
# Who reports visits from the phone app (a helper for households, a unit for weak villages).
FIELD_ROLES = frozenset({Role.HELPER, Role.UNIT})
# Staff who read the register, visits and coverage of their whole area.
AREA_READER_ROLES = OFFICE_ROLES | {Role.SUPERVISOR, Role.ADMIN}
# Staff who change the register of their area, remind helpers and read exit candidates.
REGISTER_WRITER_ROLES = OFFICE_ROLES | {Role.ADMIN}
# Staff who read every complaint of their area. Not the system administrator: complaints carry
# residents' names and phones, and the admin role runs the system, not the caseload.
GRIEVANCE_AREA_ROLES = OFFICE_ROLES | {Role.SUPERVISOR}
# Staff who open case pages at all: the area's readers and departments (their own cases).
GRIEVANCE_STAFF_ROLES = GRIEVANCE_AREA_ROLES | {Role.DEPARTMENT}
# Supervisors (纪委监委) draw spot-check samples and record outcomes; admins may too.
SUPERVISION_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})
# City-level rules (e.g. the city's income line) are set by the city office or an admin.
CITY_RULE_ROLES = frozenset({Role.CITY_OFFICE, Role.ADMIN})
# Offices that get each quarter's coverage figures and chase the helpers (art. 20: towns and
# counties; the city reads the pages).
COVERAGE_REPORT_ROLES = frozenset({Role.TOWN_OFFICE, Role.COUNTY_OFFICE})
# Staff who use the admin site at all (each page narrows further).
ADMIN_SITE_ROLES = AREA_READER_ROLES
# Staff who load the one-card subsidy payment lists of their area and close payment warnings.
PAYMENT_MANAGER_ROLES = OFFICE_ROLES | {Role.ADMIN}


def _role(user) -> str | None:
    return getattr(user, "role", None)


def _has(user, roles: frozenset) -> bool:
    return bool(user is not None and (getattr(user, "is_superuser", False) or _role(user) in roles))


def is_office(user) -> bool:
    """A poverty office of a town, county or city (superusers are not offices)."""
    return _role(user) in OFFICE_ROLES


def is_field_worker(user) -> bool:
    """A helper or a pairing unit: reads back only what it reported (superusers are not)."""
    return _role(user) in FIELD_ROLES and not getattr(user, "is_superuser", False)


def is_department(user) -> bool:
    """A department's case handler (superusers are not)."""
    return _role(user) == Role.DEPARTMENT and not getattr(user, "is_superuser", False)


def is_system_admin(user) -> bool:
    """The administrator role (superusers are checked separately where it matters)."""
    return _role(user) == Role.ADMIN


def reads_area(user) -> bool:
    return _role(user) in AREA_READER_ROLES


def writes_register(user) -> bool:
    return _role(user) in REGISTER_WRITER_ROLES


def reads_coverage(user) -> bool:
    """Offices, supervisors and admins read coverage; helpers, units, departments do not."""
    return bool(user and user.is_authenticated and _has(user, AREA_READER_ROLES))


def reminds_helpers(user) -> bool:
    """Offices (and admins) remind helpers and read exit candidates; supervisors only read."""
    return bool(user and user.is_authenticated and _has(user, REGISTER_WRITER_ROLES))


def supervises(user) -> bool:
    """Draws spot-check samples and records their outcomes."""
    return _has(user, SUPERVISION_ROLES)


def reads_area_grievances(user) -> bool:
    """Reads every complaint of the area (not departments: they read their own cases)."""
    return _has(user, GRIEVANCE_AREA_ROLES)


def opens_case_pages(user) -> bool:
    return reads_area_grievances(user) or _role(user) == Role.DEPARTMENT


def sets_city_rules(user) -> bool:
    return _role(user) in CITY_RULE_ROLES


def loads_calendar(user) -> bool:
    """Loads or replaces a year of the national working-day calendar."""
    return _has(user, REGISTER_WRITER_ROLES)


def manages_payments(user) -> bool:
    """Loads payment lists and closes payment warnings (offices, admins)."""
    return bool(getattr(user, "is_authenticated", False) and _has(user, PAYMENT_MANAGER_ROLES))


def reads_payments(user) -> bool:
    """Reads the area's payments, checks and warnings (offices, supervisors, admins)."""
    return bool(getattr(user, "is_authenticated", False) and _has(user, AREA_READER_ROLES))


def checks_passbooks(user) -> bool:
    """Checks households' passbooks against the payments at a visit (helpers)."""
    return _role(user) == Role.HELPER and getattr(user, "helper_id", None) is not None
