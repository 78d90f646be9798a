"""The pages: a village's public disclosure (no full name, ID or account number in its bytes),
the offices' overview and its export, the warnings, the upload of a list."""

import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from openpyxl import load_workbook

from accounts.models import AuditEntry
from accounts.roles import Role
from payments.models import Payment, PaymentWarning
from payments.privacy import mask_account
from regions.models import Region
from tests import factories as f
from tests.clock import at
from tests.payments.helpers import csv_bytes, load, make_visit, row

pytestmark = pytest.mark.django_db
NOW = at("2026-04-10 09:00")


def web(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def village_payments(regions, dibao, gengdi):
    heads = [
        f.HouseholdFactory(village=regions.village_a1, head_name=name)
        for name in ("张小明", "李建国", "欧阳春花", "王五")
    ]
    rows = [
        row(h, account=f"62284800{i:04d}5678{i:03d}", paid_on=f"2026-03-{10 + i}")
        for i, h in enumerate(heads)
    ]
    rows.append(row(heads[0], item="GD", period="2026", amount="88.80", batch="B-GD"))
    rows.append(row(None, village=regions.village_b1.code, name="赵六", batch="B-B"))
    load(rows, now=NOW)
    return heads


def test_the_disclosure_page_masks_names_and_shows_no_id_or_account_number(
    village_payments, regions
):
    response = web().get(f"/payments/public/{regions.village_a1.code}/")

    assert response.status_code == 200
    raw = response.content
    text = raw.decode()
    for head in village_payments:
        assert head.head_name.encode() not in raw
        assert head.id_number.encode() not in raw
        assert head.id_number[-8:].encode() not in raw
    for payment in Payment.objects.all():
        assert payment.account_masked.encode() not in raw
        assert payment.id_number.encode() not in raw
    assert "6228" not in text
    for masked in ("张*明", "李*国", "欧**花", "王*"):
        assert masked in text
    # The latest period of the first item: 最低生活保障金 2026-03, four people, 2,400 yuan.
    assert "最低生活保障金" in text
    assert "共 <b>4</b> 笔,合计 <b>2400.00</b> 元" in text
    assert "赵*" not in text  # another village's payee
    assert (
        f"/grievances/?region={regions.village_a1.code}&amp;kind=funds&amp;category=funds" in text
    )


def test_the_disclosure_page_switches_item_and_period(village_payments, regions):
    response = web().get(f"/payments/public/{regions.village_a1.code}/?item=GD&period=2026")
    text = response.content.decode()
    assert "耕地地力保护补贴" in text
    assert "共 <b>1</b> 笔,合计 <b>88.80</b> 元" in text


def test_an_unpublished_item_is_not_disclosed(village_payments, regions, gengdi):
    gengdi.published = False
    gengdi.save()
    text = web().get(f"/payments/public/{regions.village_a1.code}/?item=GD").content.decode()
    assert "耕地地力保护补贴" not in text


@pytest.mark.parametrize("code", ["320623100000", "999999999999", "abc"])
def test_only_a_village_has_a_disclosure_page(code, regions):
    assert web().get(f"/payments/public/{code}/").status_code == 404


def test_the_complaint_form_opens_preset_from_the_disclosure_page(regions):
    response = web().get(f"/grievances/?region={regions.village_a1.code}&kind=funds&category=funds")
    text = response.content.decode()
    assert '<option value="funds" selected>资金问题</option>' in text
    assert f'<option value="{regions.village_a1.code}" selected>' in text


def test_residents_find_their_village_by_name(regions):
    text = web().get("/payments/public/?q=东凌").content.decode()
    assert f"/payments/public/{regions.village_a1.code}/" in text


@pytest.fixture
def checked(village_payments, helper_a, helper_a_user, clock):
    """One payment checked as seen, one reported missing (an open case)."""
    from payments.models import CheckResult
    from payments.services import CheckInput, passbook_checks_record

    heads = village_payments
    for head, result in ((heads[0], CheckResult.SEEN), (heads[1], CheckResult.MISSING)):
        f.PairingFactory(helper=helper_a, household=head)
        visit = make_visit(head, helper_a_user, when="2026-03-25 10:00")
        payment = Payment.objects.get(household=head, item__code="DB")
        passbook_checks_record(
            user=helper_a_user,
            visit=visit,
            checks=[CheckInput(payment.pk, result)],
            now=visit.visited_at,
        )
    return heads


def test_the_overview_counts_checked_payments_and_discrepancies_by_town(
    checked, county_office, regions
):
    response = web(county_office).get(f"/payments/?region={regions.county.code}&year=2026")

    assert response.status_code == 200
    overview = response.context["overview"]
    by_code = {r.code: r for r in overview.children}
    town_a = by_code[regions.town_a.code]
    assert (town_a.payments, town_a.amount, town_a.checked) == (5, Decimal("2488.80"), 2)
    assert (town_a.unchecked, town_a.discrepancies_open, town_a.discrepancies_closed) == (3, 1, 0)
    assert (
        town_a.warnings_open
        == PaymentWarning.objects.filter(
            region__code__startswith="320623100", closed_at__isnull=True
        ).count()
    )
    assert by_code[regions.town_b.code].payments == 1
    assert overview.total.payments == 6


def test_the_overview_of_a_town_lists_its_villages(checked, town_a_office, regions):
    response = web(town_a_office).get("/payments/")
    codes = [r.code for r in response.context["overview"].children]
    assert codes == [regions.village_a1.code, regions.village_a2.code]
    assert response.context["overview"].children[1].payments == 0


def test_the_overview_stays_in_the_area(checked, town_b_office, make_user, regions):
    assert web(town_b_office).get(f"/payments/?region={regions.town_a.code}").status_code == 404
    helper = make_user(Role.HELPER, regions.town_a)
    assert web(helper).get("/payments/").status_code == 403
    department = make_user(Role.DEPARTMENT, regions.county)
    assert web(department).get("/payments/warnings/").status_code == 403


def test_the_overview_export_is_a_workbook_of_the_same_numbers(checked, county_office, regions):
    Region.objects.filter(pk=regions.town_b.code).update(name='=HYPERLINK("x")\x01')
    response = web(county_office).get(f"/payments/export.xlsx?region={regions.county.code}")

    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][:3] == ("区划代码", "名称", "发放笔数")
    by_code = {r[0]: r for r in rows[2:]}
    assert by_code[regions.town_a.code][2:6] == (5, 2488.8, 2, 3)
    # A name that looks like a formula stays text; control characters are dropped.
    town_b = by_code[regions.town_b.code]
    assert town_b[1] == '\'=HYPERLINK("x")'
    assert all(c.data_type != "f" for r in sheet.iter_rows() for c in r)
    assert AuditEntry.objects.filter(action="export", target_type="payment_overview").exists()


def test_the_warnings_page_lists_the_areas_warnings_and_an_office_closes_one(
    checked, town_a_office, town_b_office, supervisor
):
    load([row(checked[2], amount="550.00", period="2026-02", batch="B-OFF")], now=NOW)
    warning = PaymentWarning.objects.get(kind="amount_off")
    assert warning.region_id.startswith("320623100")
    text = web(town_a_office).get("/payments/warnings/").content.decode()
    assert warning.get_kind_display() in text
    assert "赵六" not in text
    assert "赵*" not in text
    other = web(town_b_office).get("/payments/warnings/")
    assert not [w for w in other.context["rows"] if w["id"] == warning.pk]

    # A supervisor reads them but does not close them.
    assert "处理</button>" not in web(supervisor).get("/payments/warnings/").content.decode()
    web(supervisor).post(f"/payments/warnings/{warning.pk}/close", {"note": "x"})
    warning.refresh_from_db()
    assert warning.closed_at is None

    response = web(town_a_office).post(
        f"/payments/warnings/{warning.pk}/close", {"note": "已核实,系补发上月"}
    )
    assert response.status_code == 302
    warning.refresh_from_db()
    assert warning.closed_by == town_a_office
    assert warning.close_note == "已核实,系补发上月"
    assert (
        web(town_b_office).post(f"/payments/warnings/{warning.pk}/close", {"note": "x"}).status_code
        == 404
    )


def test_an_office_uploads_a_list_and_sees_every_bad_row(town_a_office, household_a, dibao):
    client = web(town_a_office)
    bad = csv_bytes([row(household_a), row(household_a, amount="abc", batch="B2")])
    response = client.post(
        "/payments/load/", {"file": SimpleUploadedFile("list.csv", bad, "text/csv")}
    )
    assert response.status_code == 422
    assert "第3行:金额「abc」不是数字" in response.content.decode()
    assert not Payment.objects.exists()

    good = csv_bytes([row(household_a)])
    response = client.post(
        "/payments/load/", {"file": SimpleUploadedFile("list.csv", good, "text/csv")}
    )
    assert response.status_code == 200
    assert "导入成功" in response.content.decode()
    assert Payment.objects.get().account_masked == mask_account(row(household_a)["account"])


def test_only_offices_upload_lists(supervisor):
    assert web(supervisor).get("/payments/load/").status_code == 403
