"""Loading one-card payment lists: all or nothing, every bad row named, a re-load changes
nothing, CSV and XLSX alike."""

import io
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from accounts.models import AuditEntry
from accounts.roles import Role
from common.errors import Forbidden
from payments.loader import payments_load
from payments.models import Payment, PaymentBatch, PaymentWarning
from tests import factories as f
from tests.payments.helpers import STRANGER_ID, csv_bytes, load, row, xlsx_bytes

NOW = datetime(2026, 4, 10, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
pytestmark = pytest.mark.django_db


@pytest.fixture
def households(regions):
    return [f.HouseholdFactory(village=regions.village_a1) for _ in range(3)]


def good_rows(households):
    return [
        row(households[0]),
        row(households[1], paid_on="2026-03-16"),
        row(households[2], item="GD", period="2026", amount="123.45", batch="B2026-GD-01"),
    ]


def test_a_good_csv_loads_every_row_matched_to_its_household(households, dibao, gengdi):
    report = load(good_rows(households), now=NOW)

    assert report.ok, report.lines()
    assert report.loaded == 3
    assert sorted(report.batches_new) == ["B2026-03-001", "B2026-GD-01"]
    first = Payment.objects.get(household=households[0])
    assert (first.item, first.period, first.amount) == (dibao, "2026-03", Decimal("600.00"))
    assert (str(first.period_start), str(first.period_end)) == ("2026-03-01", "2026-03-31")
    assert first.village_id == households[0].village_id
    # Only the masked account number is kept.
    assert first.account_masked == "6228***********8901"
    assert not Payment.objects.filter(account_masked__contains="0012345678").exists()
    batch = PaymentBatch.objects.get(code="B2026-GD-01")
    assert (batch.rows, batch.total, batch.region_id) == (1, Decimal("123.45"), "320623100201")


def test_loading_the_same_list_again_changes_nothing(households, dibao, gengdi):
    first = load(good_rows(households), now=NOW)
    warnings = PaymentWarning.objects.count()

    again = load(good_rows(households), now=NOW)

    assert first.ok
    assert again.ok
    assert again.loaded == 0
    assert again.batches_new == []
    assert again.batches_unchanged == ["B2026-03-001", "B2026-GD-01"]
    assert Payment.objects.count() == 3
    assert PaymentWarning.objects.count() == warnings


def test_the_same_batches_as_xlsx_in_another_order_are_the_same_batches(households, dibao, gengdi):
    load(good_rows(households), now=NOW)

    report = load(xlsx_bytes(list(reversed(good_rows(households)))), filename="list.xlsx", now=NOW)

    assert report.ok, report.lines()
    assert report.batches_unchanged == ["B2026-03-001", "B2026-GD-01"]
    assert Payment.objects.count() == 3


def test_an_xlsx_list_loads_with_number_and_date_cells(households, dibao, gengdi):
    report = load(xlsx_bytes(good_rows(households)), filename="一卡通.xlsx", now=NOW)

    assert report.ok, report.lines()
    assert Payment.objects.get(item=gengdi).amount == Decimal("123.45")


def test_a_gbk_csv_as_excel_saves_it_in_chinese_loads(households, dibao, gengdi):
    report = load(csv_bytes(good_rows(households), encoding="gbk"), now=NOW)

    assert report.ok, report.lines()
    assert Payment.objects.filter(bank="中国农业银行").count() == 3


def test_a_batch_code_loaded_before_with_other_rows_is_refused(households, dibao, gengdi):
    load(good_rows(households), now=NOW)
    changed = good_rows(households)
    changed[0]["amount"] = "650.00"

    report = load(changed, now=NOW)

    assert not report.ok
    assert "批次「B2026-03-001」已导入过且内容不同" in report.lines()[0]
    assert Payment.objects.filter(amount=Decimal("650.00")).count() == 0


def test_every_bad_row_is_listed_and_nothing_is_written(households, dibao, gengdi, regions):
    h = households[0]
    rows = [
        row(h),  # row 2: good
        row(h, id_number="320623198501011230"),  # 3: check digit
        row(h, item="XX"),  # 4: unknown item
        row(h, period="2026Q1"),  # 5: a monthly item's period
        row(h, village="320623100299"),  # 6: no such village
        row(h, amount="-5"),  # 7
        row(h, amount="1.234"),  # 8
        row(h, paid_on="2026-05-01"),  # 9: after "now"
        row(h, account="12ab"),  # 10
        row(h, household="H-NOPE"),  # 11: no such household number
        row(h, name=""),  # 12: required
        row(h, village=regions.other_village.code),  # 13: item's county is Rudong
        row(h, paid_on="2026-02-30"),  # 14
    ]

    report = load(rows, now=NOW)

    assert not report.ok
    by_row = {e.row: e.reason for e in report.errors}
    assert sorted(by_row) == list(range(3, 15))
    assert "校验位" in by_row[3]
    assert "补贴项目「XX」不存在" in by_row[4]
    assert "应为月份" in by_row[5]
    assert "村代码「320623100299」不存在" in by_row[6]
    assert "应大于0" in by_row[7]
    assert "最多两位小数" in by_row[8]
    assert "不能晚于今天" in by_row[9]
    assert "银行账号" in by_row[10]
    assert "户编号「H-NOPE」不存在" in by_row[11]
    assert "姓名不能为空" in by_row[12]
    assert "实施区划" in by_row[13]
    assert "不是有效日期" in by_row[14]
    assert report.lines()[0].startswith("第3行:")
    assert not Payment.objects.exists()
    assert not PaymentBatch.objects.exists()


def test_an_id_number_typed_into_a_number_cell_is_refused_with_the_reason(households, dibao):
    bad = row(households[0])
    bad["id_number"] = float(households[0].id_number[:17] + "1")

    report = load(xlsx_bytes([bad]), filename="list.xlsx", now=NOW)

    assert [e.row for e in report.errors] == [2]
    assert "保存成了数字" in report.errors[0].reason


def test_a_list_without_a_required_column_is_refused_as_a_whole(households, dibao):
    content = csv_bytes([row(households[0])]).replace("身份证号".encode(), "证件".encode(), 1)

    report = load(content, now=NOW)

    assert [str(e) for e in report.errors] == ["第1行(表头)缺少列:身份证号"]


@pytest.mark.parametrize(
    ("content", "filename", "reason"),
    [
        (b"not a workbook", "list.xlsx", "不是有效的 Excel"),
        (b"a,b\n", "list.txt", "只接受 .csv 或 .xlsx 文件"),
        (b"", "list.csv", "文件是空的"),
    ],
)
def test_a_file_that_cannot_be_read_says_why(content, filename, reason, dibao):
    report = load(content, filename=filename, now=NOW)
    assert reason in report.lines()[0]


def test_a_member_paid_on_their_own_card_is_matched_by_household_number(households, dibao):
    head = households[0]
    member = row(head, household=head.number, name="李桂英", id_number=STRANGER_ID)

    report = load([member], now=NOW)

    assert report.ok, report.lines()
    assert Payment.objects.get().household == households[0]
    # The register lists heads only: a member's payment matched by number is not "unknown".
    assert not PaymentWarning.objects.filter(kind="not_in_register").exists()


def test_an_office_loads_only_its_own_area(households, dibao, regions, make_user):
    town_b = make_user(Role.TOWN_OFFICE, regions.town_b)
    report = load([row(households[0])], user=town_b, now=NOW)

    assert "不存在或不在本账号管辖范围内" in report.errors[0].reason
    assert not Payment.objects.exists()


def test_an_office_load_is_audited(households, dibao, town_a_office):
    report = load([row(households[0])], user=town_a_office, now=NOW)

    assert report.ok, report.lines()
    entry = AuditEntry.objects.get(action="import", target_type="payment_batches")
    assert entry.actor == town_a_office
    assert PaymentBatch.objects.get().loaded_by == town_a_office


@pytest.mark.parametrize("role", [Role.HELPER, Role.SUPERVISOR, Role.DEPARTMENT])
def test_only_offices_load_payment_lists(role, regions, make_user, dibao):
    with pytest.raises(Forbidden):
        payments_load(
            stream=io.BytesIO(b""), filename="x.csv", user=make_user(role, regions.county)
        )


def test_an_elderly_persons_id_number_older_than_its_county_code_loads(regions, dibao):
    """如东县 got code 320623 in 1983; people born before then carry it too (the number
    names where it was issued). The elderly allowance is paid to exactly them."""
    from stdnum.cn import ric

    body = "32062319400615123"
    elderly = body + ric.calc_check_digit(body + "0")
    report = load([row(None, id_number=elderly, name="顾老太")], now=NOW)

    assert report.ok, report.lines()
    assert Payment.objects.get().id_number == elderly


@pytest.mark.parametrize("filename", ["list.csv", "list.xlsx"])
def test_a_large_upload_spooled_to_disk_loads_like_a_file(filename, households, dibao, gengdi):
    """Uploads above 2.5 MB reach the loader as Django's temporary files, not bytes."""
    from django.core.files.uploadedfile import TemporaryUploadedFile

    rows = good_rows(households)
    content = xlsx_bytes(rows) if filename.endswith("xlsx") else csv_bytes(rows)
    upload = TemporaryUploadedFile(filename, "application/octet-stream", len(content), None)
    upload.write(content)
    upload.seek(0)

    report = payments_load(stream=upload, filename=filename, now=NOW)

    assert report.ok, report.lines()
    assert report.loaded == 3
