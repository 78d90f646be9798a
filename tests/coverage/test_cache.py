"""County and city counts come from the cache while nothing new arrived; a new visit, flag or
pairing moves the stamp and the next read recounts (after the freshness interval)."""

import datetime as dt

from common.quarters import Quarter
from coverage import selectors as coverage
from regions.models import Level
from tests import factories as f
from tests.coverage.conftest import make_visit
from visits.models import FlagKind, VisitFlag

Q = Quarter(2026, 3)


def total(user, region):
    return coverage.coverage_report(user, Q, region).total


def test_county_is_cached_and_recounted_when_a_visit_arrives(
    data, regions, county_office, settings, django_assert_max_num_queries
):
    settings.COVERAGE_CACHE_FRESH_SECONDS = 0
    first = total(county_office, regions.county)
    assert (first.paired, first.visited) == (7, 4)
    # Cached: the stamp, the children and the path; no counting.
    with django_assert_max_num_queries(3):
        assert total(county_office, regions.county) == first
    pairing = data.households["h2"].pairings.get()
    make_visit(data.households["h2"], pairing, "2026-09-28 10:00", data.x_user)
    after = total(county_office, regions.county)
    assert (after.paired, after.visited) == (7, 5)
    VisitFlag.objects.create(
        visit=data.flagged_visit.household.visits.first(), kind=FlagKind.NO_EXIF_GPS, detail={}
    )
    household = f.HouseholdFactory(village=regions.village_b2, number="H099")
    f.PairingFactory(helper=data.w, household=household, start_date=dt.date(2026, 9, 1))
    assert total(county_office, regions.county).paired == 8


def test_a_burst_is_served_stale_within_the_interval(data, regions, county_office, settings):
    settings.COVERAGE_CACHE_FRESH_SECONDS = 3600
    report = coverage.coverage_report(county_office, Q, regions.county)
    assert not report.stale
    pairing = data.households["h2"].pairings.get()
    make_visit(data.households["h2"], pairing, "2026-09-28 10:00", data.x_user)
    report = coverage.coverage_report(county_office, Q, regions.county)
    assert report.stale and report.total.visited == 4
    # A village is never served stale: it is recounted as soon as the stamp moves.
    village = coverage.coverage_report(county_office, Q, regions.village_a1)
    assert not village.stale and village.total.visited == 4


def test_cached_and_direct_counts_agree(
    data, regions, county_office, settings, make_user, django_assert_max_num_queries
):
    from accounts.roles import Role

    city_office = make_user(Role.CITY_OFFICE, regions.city)
    coverage.coverage_report(city_office, Q, regions.city)  # counts and fills the cache
    # The second read comes back from the cache (the stamp, the children, the path only).
    with django_assert_max_num_queries(3):
        cached = coverage.coverage_report(city_office, Q, regions.city)
    settings.COVERAGE_CACHE = 0
    direct = coverage.coverage_report(city_office, Q, regions.city)
    assert cached.total == direct.total
    assert [a.counts for a in cached.children] == [a.counts for a in direct.children]
    assert Level(regions.city.level) in coverage.STALE_LEVELS


def test_village_rows_come_from_the_cache_until_the_stamp_moves(
    data, regions, county_office, settings, django_assert_num_queries
):
    from coverage.village import village_detail

    # Even with a long freshness interval a village is never served stale.
    settings.COVERAGE_CACHE_FRESH_SECONDS = 3600
    prefix = regions.village_a1.prefix
    h2 = data.households["h2"]
    first = village_detail(county_office, Q, prefix)
    assert not next(h for h in first.households if h["id"] == h2.pk)["visited"]
    with django_assert_num_queries(1):  # the stamp only
        assert village_detail(county_office, Q, prefix) == first
    make_visit(h2, h2.pairings.get(), "2026-09-28 10:00", data.x_user)
    after = village_detail(county_office, Q, prefix)
    row = next(h for h in after.households if h["id"] == h2.pk)
    assert row["visited"] and row["visit_count"] == 1
    helper = next(r for r in after.helpers if r["helper"] and r["helper"]["id"] == data.x.pk)
    before = next(r for r in first.helpers if r["helper"] and r["helper"]["id"] == data.x.pk)
    assert helper["visited"] == before["visited"] + 1


def test_village_rows_follow_edits_that_add_no_row(
    api_client, data, regions, county_office, settings, django_capture_on_commit_callbacks
):
    """A household renamed or a pairing ended adds no row, so the newest-row stamp alone
    would not move: the register's version counter does."""
    from coverage.village import village_detail

    settings.COVERAGE_CACHE_FRESH_SECONDS = 3600
    prefix = regions.village_a1.prefix
    h2 = data.households["h2"]
    village_detail(county_office, Q, prefix)  # cached
    with django_capture_on_commit_callbacks(execute=True):  # the counter moves on commit
        renamed = api_client.as_user(county_office).patch(
            f"/households/{h2.pk}", {"head_name": "新户主"}
        )
    assert renamed.status_code == 200, renamed.content
    rows = village_detail(county_office, Q, prefix).households
    assert next(h for h in rows if h["id"] == h2.pk)["head_name"] == "新户主"
