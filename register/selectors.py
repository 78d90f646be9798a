"""Reads of the register, always through the area rule (`in_area`)."""

from datetime import date

from django.db.models import QuerySet

from accounts.models import User
from accounts.roles import Role, reads_area
from accounts.scoping import in_area
from register.models import Helper, Household, Pairing, Unit, UnitPairing, WeakVillage


def household_list(*, user: User) -> QuerySet[Household]:
    """Households the user may see: the area's for staff, the paired ones for a helper."""
    qs = Household.objects.select_related("village")
    if user.role == Role.HELPER:
        if user.helper_id is None:
            return qs.none()
        qs = qs.filter(pairings__helper_id=user.helper_id, pairings__end_date__isnull=True)
    elif not (reads_area(user) or user.is_superuser):
        return qs.none()
    return in_area(qs, user).order_by("number")


def helper_list(*, user: User) -> QuerySet[Helper]:
    qs = Helper.objects.select_related("unit", "region")
    if user.role == Role.HELPER:
        if user.helper_id is None:
            return qs.none()
        return in_area(qs.filter(pk=user.helper_id), user)
    if not (reads_area(user) or user.is_superuser):
        return qs.none()
    return in_area(qs, user).order_by("region_id", "name", "id")


def pairing_list(*, user: User, held_on: date | None = None) -> QuerySet[Pairing]:
    qs = Pairing.objects.select_related("helper", "household", "household__village")
    if user.role == Role.HELPER:
        if user.helper_id is None:
            return qs.none()
        qs = qs.filter(helper_id=user.helper_id)
    elif not (reads_area(user) or user.is_superuser):
        return qs.none()
    if held_on is not None:
        qs = qs.held_on(held_on)
    return in_area(qs, user).order_by("household__number", "start_date", "id")


def unit_list(*, user: User) -> QuerySet[Unit]:
    return in_area(Unit.objects.select_related("region"), user)


def weak_village_list(*, user: User) -> QuerySet[WeakVillage]:
    return in_area(WeakVillage.objects.select_related("village"), user)


def unit_pairing_list(*, user: User) -> QuerySet[UnitPairing]:
    qs = UnitPairing.objects.select_related("unit", "weak_village__village")
    if user.role == Role.UNIT:
        if user.unit_id is None:
            return qs.none()
        qs = qs.filter(unit_id=user.unit_id)
    return in_area(qs, user)


def pairing_on(*, household_id: int, day: date) -> Pairing | None:
    """The pairing that held for a household on a day (a visit belongs to it)."""
    return (
        Pairing.objects.select_related("helper")
        .filter(household_id=household_id)
        .held_on(day)
        .first()
    )
