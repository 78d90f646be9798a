from decimal import Decimal

import pytest

from payments.models import Eligibility, PeriodKind, SubsidyItem
from register.models import UnitKind
from tests import factories as f


@pytest.fixture
def minzheng(regions):
    return f.UnitFactory(
        name="如东县民政局",
        kind=UnitKind.DEPARTMENT,
        region=regions.county,
        handles_grievances=True,
    )


@pytest.fixture
def nongye(regions):
    return f.UnitFactory(
        name="如东县农业农村局",
        kind=UnitKind.DEPARTMENT,
        region=regions.county,
        handles_grievances=True,
    )


@pytest.fixture
def dibao(regions, minzheng):
    """最低生活保障金: monthly, 600 yuan, low-income households only."""
    return SubsidyItem.objects.create(
        code="DB",
        name="最低生活保障金",
        department=minzheng,
        region=regions.county,
        period_kind=PeriodKind.MONTH,
        standard_amount=Decimal("600.00"),
        eligibility=Eligibility.LOW_INCOME,
    )


@pytest.fixture
def gengdi(regions, nongye):
    """耕地地力保护补贴: yearly, the amount varies with the land."""
    return SubsidyItem.objects.create(
        code="GD",
        name="耕地地力保护补贴",
        department=nongye,
        region=regions.county,
        period_kind=PeriodKind.YEAR,
    )
