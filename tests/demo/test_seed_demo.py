"""seed_demo: a deterministic demo county with a login for every role, built once."""

import io

import pytest
from django.core.management import call_command
from django.db.models import Count, F, Q
from stdnum.cn import ric

from accounts.models import User
from accounts.roles import Role
from demo import register as demo
from regions.models import Level, Region
from register.models import (
    Helper,
    Household,
    HouseholdStatus,
    IncomeThreshold,
    Pairing,
    Unit,
    UnitPairing,
    WeakVillage,
)

pytestmark = pytest.mark.django_db

N = 400


def seed(**options) -> str:
    # These tests are about the register; the visit and grievance seeders have their own tests
    # (tests/demo) and would make each of the five builds here many times slower.
    out = io.StringIO()
    call_command("seed_demo", households=N, register_only=True, stdout=out, **options)
    return out.getvalue()


def row_counts() -> dict[str, int]:
    models = (Region, Unit, Helper, Household, Pairing, WeakVillage, UnitPairing, User)
    return {m.__name__: m.objects.count() for m in models} | {
        "IncomeThreshold": IncomeThreshold.objects.count()
    }


def test_seed_demo_builds_the_expected_county():
    output = seed()

    assert Household.objects.count() == N
    villages = Region.objects.filter(level=Level.VILLAGE)
    assert villages.count() == demo.village_count(N)
    assert villages.filter(code__startswith="320682").count() == demo.RUGAO_VILLAGES
    towns = set(Region.objects.filter(level=Level.TOWN).values_list("name", flat=True))
    assert {"掘港街道", "大豫镇", "栟茶镇", "曹埠镇", "如城街道"} <= towns
    assert Region.objects.get(code="320623000000").name == "如东县"
    assert set(IncomeThreshold.objects.values_list("year", "per_person_yuan")) == {
        (2024, 7000), (2025, 7000), (2026, 7000)
    }  # fmt: skip
    statuses = dict(Household.objects.values_list("status").annotate(n=Count("id")))
    assert statuses[HouseholdStatus.ACTIVE] > statuses[HouseholdStatus.EXITED] > 0
    assert statuses[HouseholdStatus.RETURNED] > 0
    # Some households changed helper: history is there.
    assert Pairing.objects.filter(end_date__isnull=False).exists()
    assert WeakVillage.objects.filter(designation="city").exists()
    assert UnitPairing.objects.filter(end_date__isnull=True).count() == WeakVillage.objects.count()
    assert Unit.objects.filter(handles_grievances=True, name="南通市民政局").exists()
    assert "demo-2026!" in output and "county_office" in output


def test_every_active_household_has_exactly_one_open_pairing_and_helpers_have_one_to_five():
    seed()
    paired = Household.objects.annotate(
        open=Count("pairings", filter=Q(pairings__end_date__isnull=True))
    )
    assert not paired.filter(status__in=["active", "returned"]).exclude(open=1).exists()
    assert not paired.filter(status="exited").exclude(open=0).exists()
    loads = Helper.objects.annotate(
        open=Count("pairings", filter=Q(pairings__end_date__isnull=True))
    ).filter(open__gt=0)
    assert set(loads.values_list("open", flat=True)) <= {1, 2, 3, 4, 5}
    # A helper works in the town of the households they visit.
    assert not Pairing.objects.exclude(
        household__village__parent_id=F("helper__region_id")
    ).exists()


def test_every_id_number_validates_and_every_household_is_sound():
    seed()
    for id_number in Household.objects.values_list("id_number", flat=True):
        ric.validate(id_number)
    for household in Household.objects.all()[:50]:
        household.full_clean()
    assert not Household.objects.filter(home_lat__isnull=True).exists()
    assert Household.objects.filter(home_lat__gt=31.9, home_lat__lt=32.7).count() == N


# flush (TRUNCATE) cannot run inside the test's transaction on PostgreSQL.
@pytest.mark.django_db(transaction=True)
def test_the_same_seed_gives_the_same_data():
    demo.build(households=120, seed=5)
    first = list(Household.objects.values_list("number", "head_name", "id_number", "home_lat"))
    call_command("flush", interactive=False, verbosity=0)
    demo.build(households=120, seed=5)
    assert list(Household.objects.values_list("number", "head_name", "id_number", "home_lat")) == (
        first
    )


# flush (TRUNCATE) cannot run inside the test's transaction on PostgreSQL.
@pytest.mark.django_db(transaction=True)
def test_running_twice_changes_nothing_and_reset_rebuilds():
    seed()
    before = row_counts()
    output = seed()
    assert row_counts() == before
    assert "未做任何修改" in output and "helper01" in output

    seed(reset=True)
    assert row_counts() == before


def test_seeders_run_after_the_register_and_their_counts_are_kept():
    result = demo.build(households=N, seed=3, seeders=[extra_seeder])
    assert result.counts["extra"] == 7


def extra_seeder(*, context: demo.DemoContext) -> dict[str, int]:
    assert Household.objects.count() == context.households
    return {"extra": 7}


def test_logins_exist_for_every_role_and_obtain_an_api_token(api_client):
    seed()
    users = {u.username: u for u in User.objects.filter(username__in=demo.DEMO_USERNAMES)}
    assert set(users) == set(demo.DEMO_USERNAMES)
    assert {u.role for u in users.values()} == set(Role.values)
    assert users["admin"].is_superuser
    assert users["unit_renshe"].unit.village_pairings.filter(end_date__isnull=True).exists()
    assert users["dept_minzheng"].unit.handles_grievances
    helper = users["helper01"]
    assert helper.helper.pairings.filter(end_date__isnull=True).exists()
    assert helper.region_id == helper.helper.region_id

    for username in demo.DEMO_USERNAMES:
        response = api_client.anonymous().post(
            "/auth/token",
            {"username": username, "password": demo.DEMO_PASSWORD, "device_name": "pytest"},
        )
        assert response.status_code == 200, (username, response.content)
        token = response.json()["token"]
        me = api_client.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.json()["username"] == username


@pytest.mark.postgres
def test_a_big_build_on_postgresql_restores_every_index_and_foreign_key(monkeypatch):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("the index drop and rebuild happens on PostgreSQL only; running on SQLite")

    def schema() -> set[tuple[str, str]]:
        tables = [m._meta.db_table for m in demo.BULK_TABLES]
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index"
                " WHERE indrelid::regclass::text = ANY(%s)"
                " UNION SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
                " WHERE conrelid::regclass::text = ANY(%s)",
                [tables, tables],
            )
            return set(cursor.fetchall())

    before = schema()
    assert len(before) > 10
    monkeypatch.setattr(demo, "BIG_BUILD", 50)
    result = demo.build(households=300, seed=3)
    assert "rebuild_indexes" in result.seconds
    assert schema() == before
    assert Household.objects.count() == 300
