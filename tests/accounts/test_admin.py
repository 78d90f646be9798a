"""The admin is scoped by area and by role: staff see and change only their own area."""

import io
from datetime import date

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import ApiToken, AuditAction, AuditEntry, User
from accounts.roles import Role
from register.models import Household, Pairing
from register.validators import mask_id_number
from tests import factories as f
from workdays.models import CalendarYear

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def url(model: str, action: str = "changelist", *args) -> str:
    return reverse(f"admin:{model}_{action}", args=args)


def household_url(household, action="change") -> str:
    return url("register_household", action, household.pk)


@pytest.fixture
def office(town_a_office) -> Client:
    return client_for(town_a_office)


# --- Lists ------------------------------------------------------------------------------------


def test_site_is_in_chinese_with_its_header(office):
    response = office.get(reverse("admin:index"))
    assert response.status_code == 200
    assert "阳光扶贫+ 管理后台" in response.content.decode()
    assert "低收入户" in response.content.decode()


def test_town_office_lists_only_its_households(
    office, household_a, household_b, django_assert_max_num_queries
):
    for _ in range(5):
        f.HouseholdFactory(village=household_a.village)
    with django_assert_max_num_queries(8):
        response = office.get(url("register_household"))
    body = response.content.decode()
    assert response.status_code == 200
    assert household_a.number in body
    assert household_b.number not in body
    assert list(response.context["cl"].queryset) == list(
        Household.objects.filter(village__code__startswith="320623100").order_by("number")
    )


def test_town_office_lists_only_its_helpers_and_pairings(office, household_a, household_b):
    helper_b = household_b.pairings.get().helper
    helpers = office.get(url("register_helper")).context["cl"].queryset
    assert household_a.pairings.get().helper in helpers
    assert helper_b not in helpers
    pairings = list(office.get(url("register_pairing")).context["cl"].queryset)
    assert pairings == list(household_a.pairings.all())


def test_region_filter_lists_only_the_area(office, household_a, household_b):
    body = office.get(url("register_household")).content.decode()
    assert "东凌村" in body  # household_a's village, in the sidebar filter
    assert "马塘村" not in body  # town B's village is nowhere on the page


def test_county_office_sees_both_towns(county_office, household_a, household_b):
    numbers = {
        h.number
        for h in client_for(county_office).get(url("register_household")).context["cl"].queryset
    }
    assert numbers == {household_a.number, household_b.number}


# --- Another area's objects by URL ------------------------------------------------------------


def test_other_towns_household_is_not_found_by_url(office, household_b):
    for action in ("change", "history", "delete"):
        response = office.get(household_url(household_b, action))
        assert response.status_code in (302, 404), action
        assert household_b.number not in response.content.decode()
        assert household_b.head_name not in response.content.decode()
        if response.status_code == 302:
            assert response["Location"] == reverse("admin:index")


def test_other_towns_household_cannot_be_changed_or_deleted(office, household_b):
    before = Household.objects.get(pk=household_b.pk)
    response = office.post(
        household_url(household_b),
        {
            "number": before.number,
            "head_name": "改过的名字",
            "members": 9,
            "village": before.village_id,
            "status": "active",
            "registered_on": "2020-01-01",
        },
    )
    assert response.status_code in (302, 404)
    response = office.post(household_url(household_b, "delete"), {"post": "yes"})
    assert response.status_code in (302, 404)
    after = Household.objects.get(pk=household_b.pk)
    assert (after.head_name, after.members) == (before.head_name, before.members)


def test_other_towns_helper_and_user_are_not_found(
    office, household_b, town_b_office, town_a_colleague
):
    helper_b = household_b.pairings.get().helper
    assert office.get(url("register_helper", "change", helper_b.pk)).status_code in (302, 404)
    response = office.get(url("accounts_user", "change", town_b_office.pk))
    assert response.status_code in (302, 404)
    response = office.get(reverse("admin:auth_user_password_change", args=[town_b_office.pk]))
    assert response.status_code in (302, 404)
    # ...while a colleague of the same town is reachable.
    colleague = reverse("admin:auth_user_password_change", args=[town_a_colleague.pk])
    assert office.get(colleague).status_code == 200


# --- Choices ----------------------------------------------------------------------------------


def test_foreign_key_choices_exclude_other_areas(office, regions, household_a):
    form = office.get(url("register_household", "add")).context["adminform"].form
    villages = set(form.fields["village"].queryset.values_list("code", flat=True))
    assert villages == {regions.village_a1.code, regions.village_a2.code}

    form = office.get(url("register_helper", "add")).context["adminform"].form
    assert list(form.fields["region"].queryset) == [regions.town_a]

    form = office.get(url("register_pairing", "add")).context["adminform"].form
    assert set(form.fields["household"].queryset) == {household_a}


def test_posting_another_areas_village_is_refused(office, regions):
    response = office.post(
        url("register_household", "add"),
        {
            "number": "H-NEW-1",
            "head_name": "新户主",
            "id_number": f.valid_id_number(901),
            "members": 2,
            "village": regions.village_b1.code,
            "status": "active",
            "registered_on": "2026-01-01",
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert "village" in response.context["adminform"].form.errors
    assert not Household.objects.filter(number="H-NEW-1").exists()


def test_office_adds_a_household_in_its_area(office, regions):
    response = office.post(
        url("register_household", "add"),
        {
            "number": "H-NEW-2",
            "head_name": "新户主",
            "id_number": f.valid_id_number(902),
            "members": 2,
            "village": regions.village_a2.code,
            "status": "active",
            "registered_on": "2026-01-01",
        },
    )
    assert response.status_code == 302
    assert Household.objects.get(number="H-NEW-2").village == regions.village_a2


def test_overlapping_pairing_is_refused_and_pairings_are_not_deletable(
    office, household_a, helper_a
):
    other = f.HelperFactory(region=household_a.village.parent)
    response = office.post(
        url("register_pairing", "add"),
        {"helper": other.pk, "household": household_a.pk, "start_date": "2024-01-01"},
    )
    assert response.status_code == 200
    assert "该时段已有结对记录" in response.content.decode()
    pairing = household_a.pairings.get()
    assert (
        office.post(url("register_pairing", "delete", pairing.pk), {"post": "yes"}).status_code
        == 403
    )
    assert Pairing.objects.filter(pk=pairing.pk).exists()
    # Ending it is how history is kept.
    response = office.post(
        url("register_pairing", "change", pairing.pk), {"end_date": "2026-03-01"}
    )
    assert response.status_code == 302
    pairing.refresh_from_db()
    assert (pairing.helper, pairing.end_date) == (helper_a, date(2026, 3, 1))


# --- Supervisors read, never write -----------------------------------------------------------


def test_supervisor_can_view_but_not_change(supervisor, household_a):
    client = client_for(supervisor)
    assert client.get(url("register_household")).status_code == 200
    response = client.get(household_url(household_a))
    assert response.status_code == 200
    body = response.content.decode()
    assert household_a.head_name in body
    assert 'name="_save"' not in body
    assert household_a.id_number not in body
    assert mask_id_number(household_a.id_number) in body
    assert not AuditEntry.objects.exists()

    response = client.post(
        household_url(household_a),
        {"head_name": "改名", "members": 1, "village": household_a.village_id},
    )
    assert response.status_code == 403
    assert client.get(url("register_household", "add")).status_code == 403
    assert client.post(household_url(household_a, "delete"), {"post": "yes"}).status_code == 403
    household_a.refresh_from_db()
    assert household_a.head_name != "改名"


def test_a_helper_with_is_staff_gets_nothing(helper_a_user, household_a):
    helper_a_user.is_staff = True
    helper_a_user.save()
    client = client_for(helper_a_user)
    assert client.get(url("register_household")).status_code == 403
    assert household_a.number not in client.get(reverse("admin:index")).content.decode()


# --- The full ID number -----------------------------------------------------------------------


def test_list_shows_masked_id_only(office, household_a):
    body = office.get(url("register_household")).content.decode()
    assert mask_id_number(household_a.id_number) in body
    assert household_a.id_number not in body
    assert not AuditEntry.objects.exists()


def test_full_id_on_change_page_is_audited(office, town_a_office, household_a):
    response = office.get(household_url(household_a))
    assert household_a.id_number in response.content.decode()
    entry = AuditEntry.objects.get()
    assert entry.actor == town_a_office
    assert entry.action == AuditAction.VIEW_ID_NUMBER
    assert entry.target_id == str(household_a.pk)
    assert entry.region_code == household_a.village_id
    assert entry.ip_address == "127.0.0.1"


# --- Users --------------------------------------------------------------------------------------


def test_office_manages_users_of_its_area_only(office, town_a_office, town_b_office, county_office):
    users = set(office.get(url("accounts_user")).context["cl"].queryset)
    assert town_a_office in users
    assert town_b_office not in users
    assert county_office not in users


def test_office_cannot_grant_superuser_admin_role_or_another_region(office, regions):
    form = office.get(url("accounts_user", "add")).context["adminform"].form
    assert "is_superuser" not in form.fields
    assert Role.ADMIN not in {value for value, _ in form.fields["role"].choices}
    assert set(form.fields["region"].queryset.values_list("code", flat=True)) == {
        regions.town_a.code,
        regions.village_a1.code,
        regions.village_a2.code,
    }
    base = {
        "username": "newhelper",
        "usable_password": "true",
        "password1": "Xk9-long-password",
        "password2": "Xk9-long-password",
        "role": Role.HELPER,
        "is_superuser": "on",
    }
    response = office.post(url("accounts_user", "add"), {**base, "region": regions.town_b.code})
    assert response.status_code == 200
    assert not User.objects.filter(username="newhelper").exists()
    response = office.post(
        url("accounts_user", "add"), {**base, "role": Role.ADMIN, "region": regions.town_a.code}
    )
    assert response.status_code == 200
    assert not User.objects.filter(username="newhelper").exists()

    response = office.post(url("accounts_user", "add"), {**base, "region": regions.town_a.code})
    assert response.status_code == 302
    created = User.objects.get(username="newhelper")
    assert created.is_superuser is False
    assert created.region == regions.town_a


def test_office_cannot_make_a_colleague_superuser(office, town_a_colleague):
    change = office.get(url("accounts_user", "change", town_a_colleague.pk))
    assert "is_superuser" not in change.context["adminform"].form.fields
    response = office.post(
        url("accounts_user", "change", town_a_colleague.pk),
        {
            "username": town_a_colleague.username,
            "role": Role.TOWN_OFFICE,
            "region": town_a_colleague.region_id,
            "is_active": "on",
            "is_staff": "on",
            "is_superuser": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        },
    )
    assert response.status_code == 302
    town_a_colleague.refresh_from_db()
    assert town_a_colleague.is_superuser is False


# --- Audit trail and calendar -------------------------------------------------------------------


def test_audit_trail_is_read_only(office, household_a, supervisor):
    office.get(household_url(household_a))
    entry = AuditEntry.objects.get()
    client = client_for(supervisor)
    assert client.get(url("accounts_auditentry")).status_code == 200
    assert client.get(url("accounts_auditentry", "add")).status_code == 403
    assert (
        client.post(url("accounts_auditentry", "delete", entry.pk), {"post": "yes"}).status_code
        == 403
    )
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def _upload(text: str, name: str = "2027.csv") -> io.BytesIO:
    data = io.BytesIO(text.encode())
    data.name = name
    return data


def test_office_loads_a_calendar_year_in_the_admin(office, monkeypatch):
    from workdays.services import calendar_loaded

    monkeypatch.setattr(calendar_loaded, "fns", [])
    changelist = office.get(url("workdays_calendaryear"))
    assert "载入年度日历" in changelist.content.decode()
    load = reverse("admin:workdays_calendaryear_load")
    # TEST DATA: invented 2027 days.
    bad = "date,kind,name\n2027-01-01,休,元旦\n2027-02-30,休,春节\n2027-02-20,加班,春节\n"
    response = office.post(load, {"year": 2027, "source": "测试", "file": _upload(bad)})
    body = response.content.decode()
    assert response.status_code == 200
    assert "第3行" in body and "第4行" in body
    assert not CalendarYear.objects.filter(year=2027).exists()

    good = "date,kind,name\n2027-01-01,休,元旦\n2027-02-20,班,春节\n"
    response = office.post(load, {"year": 2027, "source": "测试", "file": _upload(good)})
    assert response.status_code == 302
    assert CalendarYear.objects.get(year=2027).published


def test_supervisor_cannot_load_a_calendar(supervisor):
    client = client_for(supervisor)
    assert "载入年度日历" not in client.get(url("workdays_calendaryear")).content.decode()
    response = client.post(
        reverse("admin:workdays_calendaryear_load"),
        {"year": 2027, "file": _upload("date,kind\n2027-01-01,休\n")},
    )
    assert response.status_code == 403
    assert not CalendarYear.objects.filter(year=2027).exists()


def test_office_revokes_tokens_of_its_area_only(office, api_client, helper_a_user, town_b_office):
    api_client.as_user(helper_a_user)
    api_client.as_user(town_b_office)
    mine = ApiToken.objects.get(user=helper_a_user)
    theirs = ApiToken.objects.get(user=town_b_office)
    listed = set(office.get(url("accounts_apitoken")).context["cl"].queryset)
    assert listed == {mine}
    assert office.get(url("accounts_apitoken", "change", theirs.pk)).status_code in (302, 404)
    response = office.post(
        url("accounts_apitoken"),
        {"action": "revoke", "_selected_action": [mine.pk, theirs.pk]},
    )
    assert response.status_code == 302
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.revoked_at is not None
    assert theirs.revoked_at is None
    body = office.get(url("accounts_apitoken", "change", mine.pk)).content.decode()
    assert mine.key_hash not in body


def test_pairing_list_query_count_does_not_grow(office, regions, django_assert_max_num_queries):
    for _ in range(10):
        f.PairingFactory(
            helper=f.HelperFactory(region=regions.town_a),
            household=f.HouseholdFactory(village=regions.village_a1),
        )
    with django_assert_max_num_queries(8):
        response = office.get(url("register_pairing"))
    assert len(response.context["cl"].result_list) == 10


def test_an_admin_role_user_does_not_see_a_superusers_accounts_or_tokens(make_user, regions):
    from datetime import timedelta

    from django.utils import timezone

    root = f.UserFactory(is_superuser=True, is_staff=True, role=Role.ADMIN, region=regions.town_a)
    token = ApiToken.objects.create(
        user=root, key_hash="x" * 64, device_name="root", expires_at=timezone.now() + timedelta(1)
    )
    admin_user = make_user(Role.ADMIN, regions.city, is_staff=True)
    client = client_for(admin_user)
    assert client.get(url("accounts_apitoken", "change", token.pk)).status_code in (302, 404)
    assert "root" not in client.get(url("accounts_apitoken")).content.decode()
    assert client.get(url("accounts_user", "change", root.pk)).status_code in (302, 404)
