"""Departments, their handlers and cases in each state, for the grievance tests."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from accounts.roles import Role
from grievances import services, workflow
from grievances.models import Category, Kind
from register.models import UnitKind
from tests import factories as f

SH = ZoneInfo("Asia/Shanghai")


def at(y, m, d, hh=10, mm=0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=SH)


@pytest.fixture(autouse=True)
def _generous_rate_limits(settings):
    # The counters are per client address and shared by parallel workers (Redis): tests other
    # than the rate-limit test must not throttle one another. That test uses its own address.
    settings.GRIEVANCE_SUBMIT_LIMIT = 100_000
    settings.GRIEVANCE_TRACK_LIMIT = 100_000


@pytest.fixture
def dept_a(regions):
    """A county department that handles cases (民政局)."""
    return f.UnitFactory(
        name="如东县民政局",
        kind=UnitKind.DEPARTMENT,
        region=regions.county,
        handles_grievances=True,
    )


@pytest.fixture
def dept_b(regions):
    return f.UnitFactory(
        name="如东县农业农村局",
        kind=UnitKind.DEPARTMENT,
        region=regions.county,
        handles_grievances=True,
    )


@pytest.fixture
def handler_a(dept_a, make_user, regions):
    return make_user(Role.DEPARTMENT, regions.county, unit=dept_a, phone="13900000001")


@pytest.fixture
def handler_b(dept_b, make_user, regions):
    return make_user(Role.DEPARTMENT, regions.county, unit=dept_b)


@pytest.fixture
def file_case(regions):
    """File a case in village A1 (named unless told otherwise)."""

    def make(*, anonymous=False, kind=Kind.COMPLAINT, now=None, region=None, **extra):
        return services.grievance_submit(
            kind=kind,
            category=Category.FUNDS,
            region_code=(region or regions.village_a1).code,
            text="村里的扶贫资金发放不公开,请调查。",
            anonymous=anonymous,
            name=extra.pop("name", "" if anonymous else "张秀英"),
            phone=extra.pop("phone", "13812345678"),
            now=now,
            **extra,
        )

    return make


@pytest.fixture
def drive(town_a_office, dept_a, handler_a):
    """Move a case to a named state through the real state machine."""
    path = {
        "submitted": [],
        "accepted": [("accept", "office")],
        "rejected": [("reject", "office")],
        "assigned": [("accept", "office"), ("assign", "office")],
        "returned": [("accept", "office"), ("assign", "office"), ("return", "dept")],
        "replied": [("accept", "office"), ("assign", "office"), ("reply", "dept")],
        "resolved": [
            ("accept", "office"),
            ("assign", "office"),
            ("reply", "dept"),
            ("resolve", "dept"),
        ],
        "closed": [
            ("accept", "office"),
            ("assign", "office"),
            ("reply", "dept"),
            ("resolve", "dept"),
            ("close", "office"),
        ],
        "reopened": [
            ("accept", "office"),
            ("assign", "office"),
            ("reply", "dept"),
            ("resolve", "dept"),
            ("close", "office"),
            ("reopen", "resident"),
        ],
    }

    def run(case, state, now=None):
        for action, who in path[state]:
            user = {"office": town_a_office, "dept": handler_a, "resident": workflow.RESIDENT}[who]
            case = workflow.transition(
                case, action, user, "说明理由", now, department=dept_a, rating=5
            )
        return case

    return run
