"""The helper's passbook check through the API: the payments since the last visit, checks of
own households only, the automatic 资金问题 case with its deadlines, retries."""

from datetime import date

import pytest

from accounts.roles import Role
from grievances.models import Grievance, GrievancePhoto, Kind, State
from grievances.services import grievance_act
from media.models import PhotoKind
from payments.models import CheckResult, Payment, PaymentCheck
from tests import factories as f
from tests.clock import at
from tests.payments.helpers import load, make_visit, row
from tests.visits.helpers import payload, visit_photos
from visits.models import Visit

pytestmark = pytest.mark.django_db


@pytest.fixture
def listed(household_a, dibao, gengdi):
    """Household A's payments: one checked at the January visit, then the quarter's."""
    load([row(household_a, period="2025-12", paid_on="2025-12-15", batch="B2025-12")],
         now=at("2026-01-01 09:00"))  # fmt: skip
    load(
        [
            row(household_a, period="2026-02", paid_on="2026-02-15", batch="B2026-02"),
            row(household_a),  # 2026-03, paid 15 March
            row(household_a, item="GD", period="2026", amount="120.00", batch="B2026-GD"),
        ],
        now=at("2026-03-20 09:00"),
    )
    # Loaded in March, paid before the January visit: the passbook shows it now.
    load([row(household_a, period="2025-11", paid_on="2025-12-28", batch="B-LATE")],
         now=at("2026-03-20 09:00"))  # fmt: skip
    return {p.period: p for p in Payment.objects.filter(household=household_a)}


@pytest.fixture
def january(household_a, helper_a_user, listed):
    visit = make_visit(household_a, helper_a_user, when="2026-01-05 10:00")
    PaymentCheck.objects.create(
        payment=listed["2025-12"],
        visit=visit,
        village_id=household_a.village_id,
        result=CheckResult.SEEN,
        checked_by=helper_a_user,
        checked_at=visit.visited_at,
    )
    return visit


@pytest.fixture
def march(household_a, helper_a_user, january, clock):
    visit = make_visit(household_a, helper_a_user, when="2026-03-25 10:00", passbook_checked=True)
    clock.set("2026-03-25 10:30")
    return visit


def periods(response) -> list[str]:
    return [p["period"] for p in response.json()["payments"]]


def test_the_helper_gets_the_payments_since_the_last_visit(
    api_client, helper_a_user, household_a, january, clock
):
    clock.set("2026-03-24 18:00")
    response = api_client.as_user(helper_a_user).get(f"/households/{household_a.pk}/payments")

    assert response.status_code == 200, response.json()
    out = response.json()
    assert out["since_visit"]["id"] == str(january.pk)
    # December was checked in January; November came in a late list; February's, March's
    # and the year's were paid since (in the order they were paid).
    assert periods(response) == ["2025-11", "2026-02", "2026-03", "2026"]
    first = out["payments"][0]
    assert first["account_masked"] == "6228***********8901"
    assert first["check"] is None
    assert first["id_number"] != household_a.id_number
    assert first["department"] == "如东县民政局"


@pytest.mark.parametrize("who", ["other_helper", "town_b_office", "department", "unit"])
def test_outsiders_get_no_payments(who, api_client, regions, household_a, make_user, listed):
    users = {
        "other_helper": lambda: make_user(
            Role.HELPER, regions.town_a, helper=f.HelperFactory(region=regions.town_a)
        ),
        "town_b_office": lambda: make_user(Role.TOWN_OFFICE, regions.town_b),
        "department": lambda: make_user(Role.DEPARTMENT, regions.county),
        "unit": lambda: make_user(Role.UNIT, regions.town_a),
    }
    response = api_client.as_user(users[who]()).get(f"/households/{household_a.pk}/payments")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_the_office_and_supervisor_of_the_area_read_them(
    api_client, household_a, town_a_office, supervisor, listed
):
    for user in (town_a_office, supervisor):
        response = api_client.as_user(user).get(f"/households/{household_a.pk}/payments")
        assert response.status_code == 200
        assert len(response.json()["payments"]) == 5


def _checks(listed, *pairs):
    out = []
    for period, result, *amount in pairs:
        check = {"payment_id": listed[period].pk, "result": result}
        if amount:
            check["amount_seen"] = amount[0]
        out.append(check)
    return {"checks": out}


def test_checks_at_a_visit_open_a_case_per_department_with_the_passbook_photo(
    api_client, helper_a_user, household_a, march, listed, minzheng, nongye
):
    body = _checks(
        listed,
        ("2025-11", "seen"),
        ("2026-02", "missing"),
        ("2026-03", "seen"),
        ("2026", "different", "100.00"),
    )
    response = api_client.as_user(helper_a_user).post(f"/visits/{march.pk}/payment-checks", body)

    assert response.status_code == 201, response.json()
    out = response.json()
    assert out["passbook_checked"] is True
    assert out["summary"] == {
        "due": 4, "seen": 2, "missing": 1, "different": 1, "unchecked": 0, "complete": True,
    }  # fmt: skip
    opened = {c["department"]: c for c in out["cases_opened"]}
    assert set(opened) == {"如东县民政局", "如东县农业农村局"}
    assert opened["如东县民政局"]["payment_ids"] == [listed["2026-02"].pk]
    case = Grievance.objects.get(code=opened["如东县民政局"]["code"].replace("-", ""))
    assert (case.kind, case.category, case.state) == (Kind.FUNDS, "funds", State.SUBMITTED)
    assert case.proposed_department == minzheng
    assert case.department is None
    assert (case.household, case.helper, case.region_id) == (
        household_a,
        march.helper,
        household_a.village_id,
    )
    assert "最低生活保障金 2026-02" in case.text
    assert "一折通上没有这笔" in case.text
    assert household_a.id_number not in case.text
    passbook = march.visit_photos.get(kind=PhotoKind.PASSBOOK).photo_id
    assert list(GrievancePhoto.objects.filter(grievance=case).values_list("photo_id", "evidence")) \
        == [(passbook, True)]  # fmt: skip
    different = PaymentCheck.objects.get(payment=listed["2026"])
    assert str(different.amount_seen) == "100.00"
    assert different.grievance.proposed_department == nongye
    payments = {p["period"]: p for p in out["payments"]}
    assert payments["2026-02"]["check"]["case"]["state"] == "submitted"
    assert Visit.objects.get(pk=march.pk).passbook_checked is True


def test_the_automatic_case_runs_the_usual_deadlines(
    api_client, helper_a_user, march, listed, town_a_office, minzheng, clock
):
    response = api_client.as_user(helper_a_user).post(
        f"/visits/{march.pk}/payment-checks", _checks(listed, ("2026-02", "missing"))
    )
    case = Grievance.objects.get(code=response.json()["cases_opened"][0]["code"].replace("-", ""))
    # Filed Wednesday 25 March: the office accepts within one working day.
    assert case.accept_due == date(2026, 3, 26)
    assert case.next_due == date(2026, 3, 26)

    clock.set("2026-03-26 09:00")
    grievance_act(grievance=case, user=town_a_office, action="accept")
    case = grievance_act(
        grievance=case, user=town_a_office, action="assign", department_id=minzheng.pk
    )

    # Received Thursday 26 March: reply in 5 working days, result in 10 (Qingming, 4-6 April,
    # does not count).
    assert case.department == minzheng
    assert case.state == State.ASSIGNED
    assert (case.reply_due, case.result_due) == (date(2026, 4, 2), date(2026, 4, 10))


def test_a_retry_changes_nothing_and_a_changed_reading_is_refused(
    api_client, helper_a_user, march, listed
):
    client = api_client.as_user(helper_a_user)
    body = _checks(listed, ("2026-02", "missing"), ("2026-03", "seen"))
    assert client.post(f"/visits/{march.pk}/payment-checks", body).status_code == 201

    again = client.post(f"/visits/{march.pk}/payment-checks", body)
    assert again.status_code == 200
    assert again.json()["cases_opened"] == []
    assert Grievance.objects.count() == 1
    assert PaymentCheck.objects.count() == 3

    changed = client.post(
        f"/visits/{march.pk}/payment-checks", _checks(listed, ("2026-02", "seen"))
    )
    assert changed.status_code == 409
    assert changed.json()["code"] == "check_conflict"
    # Not every payment due is checked yet: the passbook is not checked.
    assert again.json()["passbook_checked"] is False
    assert again.json()["summary"]["unchecked"] == 2


@pytest.mark.parametrize(
    ("period_result", "code", "status"),
    [
        (("2025-12", "seen"), "check_other_visit", 409),  # checked in January
        (("2026", "different", "120.00"), "check_amount_same", 422),
        (("2026", "different"), "check_amount_required", 422),
        (("2026", "missing", "10.00"), "check_amount_unexpected", 422),
    ],
)
def test_checks_that_cannot_be_right_are_refused_with_a_reason(
    period_result, code, status, api_client, helper_a_user, march, listed
):
    response = api_client.as_user(helper_a_user).post(
        f"/visits/{march.pk}/payment-checks", _checks(listed, period_result)
    )
    assert response.status_code == status
    assert response.json()["code"] == code
    assert response.json()["message"]
    assert not PaymentCheck.objects.filter(visit=march).exists()


def test_another_households_payment_is_not_due_at_this_visit(
    api_client, helper_a_user, march, listed, household_b
):
    load([row(household_b, batch="B-OTHER")], now=at("2026-03-20 09:00"))
    other = Payment.objects.get(household=household_b)
    response = api_client.as_user(helper_a_user).post(
        f"/visits/{march.pk}/payment-checks",
        {"checks": [{"payment_id": other.pk, "result": "missing"}]},
    )
    assert response.status_code == 422
    assert response.json()["code"] == "payment_not_due"


@pytest.mark.parametrize("who", ["other_helper", "town_a_office", "supervisor"])
def test_only_the_visits_helper_records_checks(
    who, api_client, regions, make_user, march, listed, town_a_office, supervisor
):
    users = {
        "other_helper": lambda: make_user(
            Role.HELPER, regions.town_a, helper=f.HelperFactory(region=regions.town_a)
        ),
        "town_a_office": lambda: town_a_office,
        "supervisor": lambda: supervisor,
    }
    response = api_client.as_user(users[who]()).post(
        f"/visits/{march.pk}/payment-checks", _checks(listed, ("2026-02", "missing"))
    )
    assert response.status_code == 404
    assert not Grievance.objects.exists()


def test_the_area_reads_a_visits_checks_and_outsiders_do_not(
    api_client, helper_a_user, march, listed, town_a_office, town_b_office
):
    api_client.as_user(helper_a_user).post(
        f"/visits/{march.pk}/payment-checks", _checks(listed, ("2026-03", "seen"))
    )
    ok = api_client.as_user(town_a_office).get(f"/visits/{march.pk}/payment-checks")
    assert ok.status_code == 200
    assert ok.json()["summary"]["seen"] == 1
    assert ok.json()["cases_opened"] == []
    hidden = api_client.as_user(town_b_office).get(f"/visits/{march.pk}/payment-checks")
    assert hidden.status_code == 404


def test_checks_too_long_after_the_visit_are_refused(
    api_client, helper_a_user, march, listed, clock
):
    clock.set("2026-04-06 10:30")  # 12 days later
    response = api_client.as_user(helper_a_user).post(
        f"/visits/{march.pk}/payment-checks", _checks(listed, ("2026-03", "seen"))
    )
    assert response.status_code == 422
    assert response.json()["code"] == "check_too_late"


@pytest.fixture
def q1_window(clock):
    return clock.set("2026-03-25 18:00")


def test_a_visit_submitted_with_its_checks_records_both_or_neither(
    api_client, helper_a_user, household_a, listed, january, q1_window
):
    client = api_client.as_user(helper_a_user)
    photos = visit_photos(helper_a_user, taken=at("2026-03-25 10:00"))
    checks = _checks(listed, ("2025-11", "seen"), ("2026-02", "seen"), ("2026", "seen"))["checks"]

    # One check refused (December was checked in January): no visit either.
    refused = payload(household_a, photos, visited_at=at("2026-03-25 10:00"),
                      payment_checks=[*checks, {"payment_id": listed["2025-12"].pk,
                                                "result": "seen"}])  # fmt: skip
    response = client.post("/visits", refused)
    assert response.status_code == 409, response.json()
    assert not Visit.objects.filter(pk=refused["id"]).exists()

    body = payload(household_a, photos, visited_at=at("2026-03-25 10:00"), payment_checks=checks)
    response = client.post("/visits", body)
    assert response.status_code == 201, response.json()
    # Three of the four payments due: the ticked box does not make the passbook checked.
    assert response.json()["passbook_checked"] is False
    assert PaymentCheck.objects.filter(visit_id=body["id"]).count() == 3

    rest = client.post(f"/visits/{body['id']}/payment-checks", _checks(listed, ("2026-03", "seen")))
    assert rest.json()["passbook_checked"] is True
    assert Visit.objects.get(pk=body["id"]).passbook_checked is True


def test_a_visit_with_nothing_to_check_keeps_the_helpers_tick(
    api_client, helper_a_user, household_b, regions, q1_window
):
    response = api_client.as_user(helper_a_user).get("/visits/window")
    assert response.status_code == 200
    helper_b = household_b.pairings.get().helper
    user_b = f.UserFactory(role=Role.HELPER, region=regions.town_b, helper=helper_b)
    photos = visit_photos(user_b, taken=at("2026-03-25 10:00"))
    body = payload(household_b, photos, visited_at=at("2026-03-25 10:00"))
    response = api_client.as_user(user_b).post("/visits", body)
    assert response.status_code == 201, response.json()
    assert response.json()["passbook_checked"] is True
