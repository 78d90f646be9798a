"""Factories for the register and accounts. Other apps add theirs in their own test folders."""

import datetime as dt
from decimal import Decimal

import factory
from stdnum.cn import ric

from accounts.models import User
from accounts.roles import Role
from regions.models import Level, Region
from register.models import (
    Designation,
    Helper,
    HelperKind,
    Household,
    Pairing,
    Unit,
    UnitKind,
    UnitPairing,
    WeakVillage,
)

TEST_PASSWORD = "correct-horse-battery"


def valid_id_number(seq: int, region: str = "320623") -> str:
    """A real-format ID number with a correct check digit."""
    body = f"{region}1985{(seq % 12) + 1:02d}{(seq % 28) + 1:02d}{seq % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")  # the function ignores the last digit


class RegionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"3206231{n:02d}{n:03d}")
    name = factory.Sequence(lambda n: f"区划{n}")
    level = Level.VILLAGE


class UnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Unit

    name = factory.Sequence(lambda n: f"单位{n}")
    kind = UnitKind.DEPARTMENT
    region = None


class HelperFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Helper

    name = factory.Sequence(lambda n: f"帮扶人{n}")
    phone = factory.Sequence(lambda n: f"139{n:08d}")
    kind = HelperKind.CADRE
    region = None


class HouseholdFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Household

    number = factory.Sequence(lambda n: f"H{n:08d}")
    head_name = factory.Sequence(lambda n: f"户主{n}")
    id_number = factory.Sequence(valid_id_number)
    phone = factory.Sequence(lambda n: f"138{n:08d}")
    members = 3
    village = None
    home_lat = Decimal("32.310000")
    home_lon = Decimal("121.180000")
    registered_on = dt.date(2020, 1, 1)


class PairingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Pairing

    helper = factory.SubFactory(HelperFactory)
    household = factory.SubFactory(HouseholdFactory)
    start_date = dt.date(2020, 1, 1)


class WeakVillageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WeakVillage

    designation = Designation.CITY
    designated_year = 2020


class UnitPairingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = UnitPairing

    start_date = dt.date(2020, 1, 1)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    role = Role.TOWN_OFFICE
    first_name = factory.Sequence(lambda n: f"用户{n}")
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()
