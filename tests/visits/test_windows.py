from datetime import timedelta

import pytest

from common.errors import Forbidden, Unprocessable
from common.quarters import Quarter, last_opened_quarter, next_window, quarter_open_at, window_for
from tests import factories as f
from tests.visits.helpers import at
from visits.services import extension_grant
from visits.windows import Extensions, entry_allowed

Q3 = Quarter(2026, 3)
Q4 = Quarter(2026, 4)


def test_quarter_parsing_and_arithmetic():
    assert Quarter.parse("2026Q3") == Q3 and Quarter.parse(" 2026q4 ") == Q4
    assert str(Q4) == "2026Q4" and Q4.label == "2026年第4季度"
    assert Q4.shift(1) == Quarter(2027, 1) and Quarter(2027, 1).shift(-1) == Q4
    for bad in ("2026Q5", "2026-3", "", "Q3"):
        with pytest.raises(ValueError):
            Quarter.parse(bad)


@pytest.mark.parametrize(
    ("moment", "quarter"),
    [
        ("2026-09-20 23:59:59", None),  # the 20th: not yet
        ("2026-09-21 00:00", Q3),  # opens at 00:00 on the 21st
        ("2026-10-10 23:59:59", Q3),  # the 10th is the last day
        ("2026-10-11 00:00", None),  # closed at 00:00 on the 11th
        ("2026-11-23 12:00", None),
        ("2026-12-21 00:00", Q4),
        ("2026-12-25 10:00", Q4),
        ("2027-01-05 10:00", Q4),  # Q4's window crosses into January, still Q4
        ("2027-01-10 23:59:59", Q4),
        ("2027-01-11 00:00", None),
    ],
)
def test_window_edges(moment, quarter):
    assert quarter_open_at(at(moment)) == quarter


def test_window_edges_hold_in_other_time_zones():
    # 2026-09-20 16:00 UTC is 2026-09-21 00:00 in Shanghai.
    from datetime import UTC, datetime

    assert quarter_open_at(datetime(2026, 9, 20, 16, 0, tzinfo=UTC)) == Q3
    assert quarter_open_at(datetime(2026, 9, 20, 15, 59, tzinfo=UTC)) is None


def test_window_label_and_next_window():
    assert window_for(Q4).label == "2026年第4季度走访录入时间为2026-12-21至2027-01-10"
    assert next_window(at("2026-11-23 12:00")).quarter == Q4
    assert next_window(at("2027-01-05 12:00")).quarter == Q4
    assert next_window(at("2027-01-11 00:00")).quarter == Quarter(2027, 1)
    assert last_opened_quarter(at("2026-11-23 12:00")) == Q3
    assert last_opened_quarter(at("2027-01-05 12:00")) == Q4


def test_naive_moment_is_refused():
    from datetime import datetime

    with pytest.raises(ValueError):
        quarter_open_at(datetime(2026, 12, 25))  # noqa: DTZ001 - the point of the test


@pytest.mark.django_db
def test_entry_allowed_inside_window_and_refused_outside(helper_a):
    inside = entry_allowed(helper_a, Q4, at("2026-12-21 00:00"))
    assert inside.allowed and inside.extension is None
    outside = entry_allowed(helper_a, Q4, at("2027-01-11 00:00"))
    assert not outside.allowed and outside.code == "window_closed"
    assert outside.reason == "2026年第4季度走访录入时间为2026-12-21至2027-01-10"


@pytest.mark.django_db
def test_extension_for_a_helper(helper_a, regions, town_a_office):
    granted = at("2027-01-09 09:00")
    ext = extension_grant(
        user=town_a_office,
        quarter=Q4,
        until=at("2027-01-20 00:00"),
        reason="大雪封路",
        helper=helper_a,
        now=granted,
    )
    assert ext.granted_by == town_a_office and ext.region_id == regions.town_a.code
    late = entry_allowed(helper_a, Q4, at("2027-01-19 23:59"))
    assert late.allowed and late.extension == ext and late.code == "extended"
    assert not entry_allowed(helper_a, Q4, at("2027-01-20 00:00")).allowed
    # Only this helper, only this quarter.
    other = f.HelperFactory(region=regions.town_a)
    assert not entry_allowed(other, Q4, at("2027-01-15 00:00")).allowed
    assert not entry_allowed(helper_a, Quarter(2027, 1), at("2027-04-15 00:00")).allowed
    # An extension also lets entry start early, but not before the quarter began.
    assert entry_allowed(helper_a, Q4, at("2026-11-23 12:00")).allowed
    assert not entry_allowed(helper_a, Q4, at("2026-09-30 12:00")).allowed
    # One read answers several quarters and moments alike, and only the quarters it read.
    read = Extensions(helper_a, [Q4, Quarter(2027, 1)], since=at("2027-01-19 23:59"))
    assert entry_allowed(helper_a, Q4, at("2027-01-19 23:59"), extensions=read).extension == ext
    assert not entry_allowed(helper_a, Q4, at("2027-01-20 00:00"), extensions=read).allowed
    assert not entry_allowed(
        helper_a, Quarter(2027, 1), at("2027-04-15 00:00"), extensions=read
    ).allowed
    with pytest.raises(ValueError):
        read.latest(Q3, at("2027-01-19 23:59"))
    with pytest.raises(ValueError):  # before the earliest moment read
        read.latest(Q4, at("2027-01-15 00:00"))


@pytest.mark.django_db
def test_extension_for_an_area_and_for_a_unit(regions, county_office, helper_a):
    extension_grant(
        user=county_office,
        quarter=Q4,
        until=at("2027-01-20 00:00"),
        reason="系统故障",
        area=regions.town_a,
        now=at("2027-01-09 09:00"),
    )
    assert entry_allowed(helper_a, Q4, at("2027-01-15 00:00")).allowed
    town_b_helper = f.HelperFactory(region=regions.town_b)
    assert not entry_allowed(town_b_helper, Q4, at("2027-01-15 00:00")).allowed
    # The visited place counts too: a town-B helper visiting in town A.
    assert entry_allowed(
        town_b_helper, Q4, at("2027-01-15 00:00"), place=regions.village_a1.code
    ).allowed

    unit = f.UnitFactory(region=regions.county)
    assert not entry_allowed(unit, Q4, at("2027-01-15 00:00")).allowed
    extension_grant(
        user=county_office,
        quarter=Q4,
        until=at("2027-01-20 00:00"),
        reason="单位调整",
        unit=unit,
        now=at("2027-01-09 09:00"),
    )
    assert entry_allowed(unit, Q4, at("2027-01-15 00:00")).allowed


@pytest.mark.django_db
def test_only_offices_of_the_area_grant(
    helper_a, regions, outsider_office, supervisor, town_b_office
):
    kwargs = {
        "quarter": Q4,
        "until": at("2027-01-20 00:00"),
        "reason": "x",
        "helper": helper_a,
        "now": at("2027-01-09 09:00"),
    }
    for user in (outsider_office, supervisor, town_b_office):
        with pytest.raises(Forbidden):
            extension_grant(user=user, **kwargs)
    with pytest.raises(Unprocessable):
        extension_grant(
            user=f.UserFactory(role="town_office", region=regions.town_a),
            **{**kwargs, "until": at("2027-01-09 09:00") - timedelta(hours=1)},
        )


@pytest.mark.django_db
def test_window_endpoint(api_client, helper_a_user, town_a_office, clock):
    clock.set("2026-11-23 12:00")
    client = api_client.as_user(helper_a_user)
    body = client.get("/visits/window").json()
    assert body["quarter"] == "2026Q4" and body["open_now"] is False and body["allowed"] is False
    assert body["label"] == "2026年第4季度走访录入时间为2026-12-21至2027-01-10"
    office = api_client.__class__().as_user(town_a_office)
    created = office.post(
        "/visits/window-extensions",
        {
            "quarter": "2026Q4",
            "helper_id": helper_a_user.helper_id,
            "until": "2026-12-01T00:00:00+08:00",
            "reason": "提前录入试点",
        },
    )
    assert created.status_code == 201, created.json()
    body = client.get("/visits/window").json()
    assert body["allowed"] is True and body["open_now"] is False
    assert body["extension"]["reason"] == "提前录入试点"
    clock.set("2026-12-25 12:00")
    body = api_client.__class__().as_user(helper_a_user).get("/visits/window").json()
    assert body["open_now"] is True and body["allowed"] is True and body["extension"] is None


@pytest.mark.django_db
def test_extension_endpoint_refuses_outsiders(api_client, helper_a, outsider_office, clock):
    clock.set("2026-11-23 12:00")
    response = api_client.as_user(outsider_office).post(
        "/visits/window-extensions",
        {
            "quarter": "2026Q4",
            "helper_id": helper_a.pk,
            "until": "2026-12-01T00:00:00+08:00",
            "reason": "x",
        },
    )
    assert response.status_code == 404
