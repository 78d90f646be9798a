"""Each warning rule: raised when its case arises, not raised otherwise, never raised twice."""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from payments import rules
from payments.models import CheckResult, PaymentWarning, WarningKind
from payments.services import CheckInput, passbook_checks_record
from register.models import HouseholdStatus
from tests import factories as f
from tests.payments.helpers import STRANGER_ID, load, make_visit, row

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 4, 10, 9, 0, tzinfo=SH)
pytestmark = pytest.mark.django_db


def warnings(kind: str) -> list[PaymentWarning]:
    return list(PaymentWarning.objects.filter(kind=kind).order_by("id"))


@pytest.fixture
def head(regions):
    return f.HouseholdFactory(village=regions.village_a1, head_name="张小明")


def test_paid_twice_for_the_same_item_and_period(head, dibao):
    load([row(head)], now=NOW)
    load([row(head, batch="B2026-03-002", paid_on="2026-03-20")], now=NOW)

    [warning] = warnings(WarningKind.PAID_TWICE)
    assert warning.detail["count"] == 2
    assert warning.detail["total"] == "1200.00"
    assert [p["batch"] for p in warning.detail["payments"]] == ["B2026-03-001", "B2026-03-002"]
    assert warning.detail["id_number"] == head.id_number[:4] + "**********" + head.id_number[-4:]
    assert (warning.region_id, warning.household, warning.period) == (
        head.village_id,
        head,
        "2026-03",
    )
    assert head.id_number not in warning.key


def test_two_periods_or_two_items_are_not_paid_twice(head, dibao, gengdi):
    load(
        [
            row(head),
            row(head, period="2026-02", paid_on="2026-02-15"),
            row(head, item="GD", period="2026", amount="80.00"),
        ],
        now=NOW,
    )
    assert warnings(WarningKind.PAID_TWICE) == []


def test_no_warning_is_raised_twice_however_often_the_rules_run(head, dibao):
    load([row(head), row(head, paid_on="2026-03-20"), row(head, amount="500.00", period="2026-01",
          paid_on="2026-01-15")], now=NOW)  # fmt: skip
    before = list(PaymentWarning.objects.values_list("kind", "key"))

    again = rules.run_rules(now=NOW)
    rules.run_rules(now=NOW)

    assert set(again.values()) == {0}
    assert list(PaymentWarning.objects.values_list("kind", "key")) == before
    assert {k for k, _ in before} == {WarningKind.PAID_TWICE, WarningKind.AMOUNT_OFF}


def test_a_closed_warning_stays_closed_when_the_rules_run_again(head, dibao, town_a_office):
    from payments.services import warning_close

    load([row(head, amount="550.00")], now=NOW)
    [warning] = warnings(WarningKind.AMOUNT_OFF)
    warning_close(user=town_a_office, warning_id=warning.pk, note="差额为扣除代缴医保费,属实")

    rules.run_rules(now=NOW)

    [still] = warnings(WarningKind.AMOUNT_OFF)
    assert still.pk == warning.pk
    assert still.closed_at is not None


def test_an_id_number_not_in_the_register_is_warned_once_per_person(head, dibao, gengdi):
    load(
        [
            row(None, name="王小明"),
            row(None, name="王小明", item="GD", period="2026", amount="100.00"),
            row(head),
        ],
        now=NOW,
    )

    [warning] = warnings(WarningKind.NOT_IN_REGISTER)
    assert warning.detail["payments"] == 2
    assert warning.detail["item_count"] == 2
    assert warning.detail["total"] == "700.00"
    assert warning.detail["id_number"].startswith(STRANGER_ID[:4])
    assert warning.region_id == "320623100201"
    assert warnings(WarningKind.NAME_MISMATCH) == []


def test_a_payment_under_another_name_than_the_registers(head, dibao):
    load([row(head, name="张晓明")], now=NOW)

    [warning] = warnings(WarningKind.NAME_MISMATCH)
    assert (warning.detail["name"], warning.detail["register_name"]) == ("张晓明", "张小明")
    assert warning.household == head
    assert warnings(WarningKind.NOT_IN_REGISTER) == []


def test_a_low_income_only_item_paid_for_a_period_after_the_exit(head, dibao, gengdi):
    head.status, head.exited_on = HouseholdStatus.EXITED, date(2026, 1, 31)
    head.save()
    load(
        [
            row(head, period="2026-01", paid_on="2026-02-03"),  # for January: before the exit
            row(head, period="2026-03"),  # for March: after it
            row(head, item="GD", period="2026", amount="90.00"),  # not a low-income-only item
        ],
        now=NOW,
    )

    [warning] = warnings(WarningKind.AFTER_EXIT)
    assert warning.period == "2026-03"
    assert warning.detail["exited_on"] == "2026-01-31"


def test_a_household_that_returned_may_be_paid_again(head, dibao):
    head.status = HouseholdStatus.RETURNED
    head.exited_on, head.returned_on = date(2025, 12, 31), date(2026, 2, 1)
    head.save()
    load([row(head, period="2026-01", paid_on="2026-01-15"), row(head)], now=NOW)

    assert [w.period for w in warnings(WarningKind.AFTER_EXIT)] == ["2026-01"]


def test_a_scheduled_period_unpaid_thirty_days_after_it_ended(head, dibao):
    dibao.scheduled_from = date(2026, 1, 1)
    dibao.save()
    load([row(head, period="2026-01", paid_on="2026-01-15")], now=NOW)

    # 10 April: February ended 41 days ago, March only 10.
    assert [w.period for w in warnings(WarningKind.UNPAID)] == ["2026-02"]
    [february] = warnings(WarningKind.UNPAID)
    assert february.region_id == dibao.region_id
    assert february.detail["limit_days"] == 30
    assert february.detail["days_after"] == 41

    rules.run_rules(now=datetime(2026, 4, 30, 9, 0, tzinfo=SH))  # March: 30 days, not yet
    assert len(warnings(WarningKind.UNPAID)) == 1
    rules.run_rules(now=datetime(2026, 5, 1, 9, 0, tzinfo=SH))
    assert [w.period for w in warnings(WarningKind.UNPAID)] == ["2026-02", "2026-03"]


def test_an_unscheduled_item_or_one_whose_schedule_ended_is_not_unpaid(head, dibao, gengdi):
    dibao.scheduled_from, dibao.scheduled_until = date(2025, 10, 1), date(2025, 12, 31)
    dibao.save()
    load([row(head, period=f"2025-{m}", paid_on=f"2025-{m}-15") for m in (10, 11, 12)], now=NOW)

    assert warnings(WarningKind.UNPAID) == []


def test_an_amount_that_differs_from_the_items_standard(head, dibao, gengdi):
    load(
        [
            row(head, amount="550.00"),
            row(head, period="2026-02", paid_on="2026-02-15"),
            row(head, item="GD", period="2026", amount="77.70"),  # no standard: not compared
        ],
        now=NOW,
    )

    [warning] = warnings(WarningKind.AMOUNT_OFF)
    assert warning.detail == {
        "name": "张小明",
        "amount": "550.00",
        "standard": "600.00",
        "difference": "-50.00",
    }


@pytest.fixture
def village_a1_households(regions, helper_a, helper_a_user):
    found = []
    for _ in range(3):
        household = f.HouseholdFactory(village=regions.village_a1)
        f.PairingFactory(helper=helper_a, household=household)
        found.append(household)
    return found


def _report_missing(household, helper_user):
    from payments.models import Payment

    visit = make_visit(household, helper_user, when="2026-03-25 10:00")
    payment = Payment.objects.get(household=household)
    passbook_checks_record(
        user=helper_user,
        visit=visit,
        checks=[CheckInput(payment.pk, CheckResult.MISSING)],
        now=visit.visited_at,
    )


def test_several_households_of_a_village_missing_the_same_batch(
    village_a1_households, helper_a_user, dibao
):
    load([row(h) for h in village_a1_households], now=NOW)

    _report_missing(village_a1_households[0], helper_a_user)
    _report_missing(village_a1_households[1], helper_a_user)
    assert warnings(WarningKind.VILLAGE_MISSING) == []  # two are not yet a pattern

    _report_missing(village_a1_households[2], helper_a_user)
    [warning] = warnings(WarningKind.VILLAGE_MISSING)
    assert warning.detail["households"] == 3
    assert warning.detail["batch"] == "B2026-03-001"
    assert (warning.region_id, warning.item) == ("320623100201", dibao)
    assert warning.detail["total"] == str(Decimal("1800.00"))

    rules.run_rules(now=NOW)
    assert len(warnings(WarningKind.VILLAGE_MISSING)) == 1


def test_run_due_jobs_runs_the_rules_when_something_changed(head, dibao, settings):
    from django.core.cache import cache

    from notifications.jobs import run_due_jobs

    cache.delete("payments:rules:stamp")
    load([row(head, amount="550.00")], now=NOW, run_rules=False)
    assert not PaymentWarning.objects.exists()

    job = ["payments.jobs.run"]
    summary = run_due_jobs(now=NOW, only=job)["payments.jobs.run"]
    assert summary["new_amount_off"] == 1
    assert len(warnings(WarningKind.AMOUNT_OFF)) == 1

    assert "skipped" in run_due_jobs(now=NOW, only=job)["payments.jobs.run"]

    # A new day (the unpaid rule depends on the date alone) runs them again: nothing new.
    later = datetime(2026, 4, 11, 9, 0, tzinfo=SH)
    summary = run_due_jobs(now=later, only=job)["payments.jobs.run"]
    assert set(summary.values()) == {0}
