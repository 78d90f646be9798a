"""Register import and export: every bad row named, nothing written; round trip; area rule."""

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from openpyxl import Workbook, load_workbook

from accounts.models import AuditAction, AuditEntry
from accounts.roles import Role
from common.errors import Forbidden
from common.geo import wgs84_to_gcj02
from demo import register as demo
from register.models import Helper, Household, Pairing, Unit
from register.spreadsheet import (
    HELPERS,
    HOUSEHOLDS,
    PAIRINGS,
    UNITS,
    register_export,
    register_import,
)
from tests import factories as f

pytestmark = pytest.mark.django_db

ID_1 = f.valid_id_number(1)
ID_2 = f.valid_id_number(2)


def write_workbook(path: Path, sheets: dict[str, list[list]]) -> Path:
    """A workbook with the standard headers and the given data rows per sheet."""
    specs = {s.name: s for s in (HOUSEHOLDS, HELPERS, PAIRINGS, UNITS)}
    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        ws.append(specs[name].headers())
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


def household_row(number, village, id_number=ID_1, **over):
    row = {
        "户编号": number,
        "户主姓名": "张建国",
        "身份证号": id_number,
        "联系电话": "13800000001",
        "家庭人口": 3,
        "村代码": village,
        "住址": "三组12号",
        "纬度": 32.31,
        "经度": 121.18,
        "坐标系": "wgs84",
        "状态": "在册",
        "建档日期": dt.date(2020, 3, 1),
        "脱贫日期": None,
        "返贫日期": None,
    }
    row.update(over)
    return [row[h] for h in HOUSEHOLDS.headers()]


def good_sheets(regions) -> dict[str, list[list]]:
    return {
        "households": [
            household_row("H1", regions.village_a1.code),
            household_row("H2", regions.village_a2.code, ID_2, 状态="已脱贫"),
        ],
        "helpers": [
            ["李华", "13900000001", "机关干部", "掘港镇人民政府", regions.town_a.code[:9], "是"],
        ],
        "pairings": [
            ["H1", "13900000001", dt.date(2020, 3, 1), None],
            ["H2", "13900000001", "2020-03-01", "2023-12-31"],
        ],
        "units": [["掘港镇人民政府", "镇村", regions.town_a.code, "否"]],
    }


def test_a_good_workbook_imports(regions, tmp_path):
    path = write_workbook(tmp_path / "good.xlsx", good_sheets(regions))

    report = register_import(workbook_path_or_file=path)

    assert report.ok, report.lines()
    assert report.created == {"units": 1, "helpers": 1, "households": 2, "pairings": 2}
    h1 = Household.objects.get(number="H1")
    assert (h1.village_id, h1.members, h1.status) == (regions.village_a1.code, 3, "active")
    assert (h1.home_lat, h1.home_lon) == (Decimal("32.310000"), Decimal("121.180000"))
    assert Household.objects.get(number="H2").status == "exited"
    helper = Helper.objects.get(phone="13900000001")
    assert helper.unit.name == "掘港镇人民政府" and helper.region_id == regions.town_a.code
    assert Pairing.objects.get(household=h1).end_date is None
    assert Pairing.objects.get(household__number="H2").end_date == dt.date(2023, 12, 31)


def test_gcj02_coordinates_are_stored_as_wgs84(regions, tmp_path):
    g_lat, g_lon = wgs84_to_gcj02(32.31, 121.18)
    sheets = {
        "households": [
            household_row("H1", regions.village_a1.code, 纬度=g_lat, 经度=g_lon, 坐标系="gcj02")
        ]
    }
    report = register_import(workbook_path_or_file=write_workbook(tmp_path / "g.xlsx", sheets))
    assert report.ok, report.lines()
    h1 = Household.objects.get(number="H1")
    assert abs(float(h1.home_lat) - 32.31) < 1e-5 and abs(float(h1.home_lon) - 121.18) < 1e-5


def test_one_bad_row_of_each_kind_changes_nothing_and_names_each_row(regions, tmp_path):
    bad_checksum = ID_1[:-1] + ("0" if ID_1[-1] != "0" else "1")
    v = regions.village_a1.code
    sheets = good_sheets(regions)
    sheets["households"] += [
        household_row("H3", v, bad_checksum),  # row 4
        household_row("H4", "320623100299"),  # row 5: no such village
        household_row("H1", v),  # row 6: repeats row 2
        household_row("H5", v, 家庭人口=0),  # row 7
        household_row("H6", v, 状态="搬迁"),  # row 8
        household_row("H7", v, 纬度=95, 经度=121.18),  # row 9
        household_row("H8", v, 建档日期="2020-13-45"),  # row 10
        household_row("H9", v, 坐标系="mercator"),  # row 11
        household_row("", v),  # row 12: number missing
    ]
    sheets["helpers"] += [
        ["王强", "1390000", "机关干部", None, regions.town_a.code, "是"],  # row 3
        ["赵丽", "13900000003", "机关干部", "不存在的单位", regions.town_a.code, "是"],  # row 4
    ]
    sheets["pairings"] += [
        ["H1", "13999999999", dt.date(2021, 1, 1), None],  # row 4: no such helper
        ["H1", "13900000001", dt.date(2022, 1, 1), None],  # row 5: overlaps row 2
        ["H2", "13900000001", dt.date(2024, 5, 1), dt.date(2024, 1, 1)],  # row 6
        ["NOPE", "13900000001", dt.date(2024, 1, 1), None],  # row 7: no such household
        # row 8 names a household whose own row is bad: reported there, not again here
        ["H5", "13900000001", dt.date(2021, 1, 1), None],
    ]
    path = write_workbook(tmp_path / "bad.xlsx", sheets)

    report = register_import(workbook_path_or_file=path)

    assert not report.ok
    got = {(e.sheet, e.row): e.reason for e in report.errors}
    expected = {
        ("households", 4): "校验位",
        ("households", 5): "村代码「320623100299」不存在",
        ("households", 6): "户编号与第2行重复",
        ("households", 7): "家庭人口",
        ("households", 8): "状态「搬迁」无效",
        ("households", 9): "超出范围",
        ("households", 10): "建档日期「2020-13-45」不是有效日期",
        ("households", 11): "坐标系「mercator」无效",
        ("households", 12): "户编号 不能为空",
        ("helpers", 3): "手机号「1390000」应为11位数字",
        ("helpers", 4): "单位「不存在的单位」不存在",
        ("pairings", 4): "帮扶人手机号「13999999999」不存在",
        ("pairings", 5): "结对时段与第2行重叠",
        ("pairings", 6): "结束日期必须晚于开始日期",
        ("pairings", 7): "户编号「NOPE」不存在",
    }
    for key, fragment in expected.items():
        assert key in got, f"{key} not reported; report: {report.lines()}"
        assert fragment in got[key], (key, got[key])
    assert set(got) == set(expected), report.lines()
    assert all("第" in line and "行" in line for line in report.lines())
    assert not Household.objects.exists()
    assert not Helper.objects.exists()
    assert not Pairing.objects.exists()
    assert not Unit.objects.exists()


def test_missing_columns_and_non_workbooks_are_reported(regions, tmp_path):
    wb = Workbook()
    wb.active.title = "households"
    wb.active.append(["户编号", "户主姓名"])
    wb.save(tmp_path / "cols.xlsx")
    report = register_import(workbook_path_or_file=tmp_path / "cols.xlsx")
    assert [(e.sheet, e.row) for e in report.errors] == [("households", 1)]
    assert "缺少列" in report.errors[0].reason and "身份证号" in report.errors[0].reason

    (tmp_path / "junk.xlsx").write_bytes(b"not a zip file")
    report = register_import(workbook_path_or_file=tmp_path / "junk.xlsx")
    assert not report.ok and "不是有效的 Excel" in report.errors[0].reason


def test_existing_records_are_updated_by_number_and_phone(regions, household_a, helper_a, tmp_path):
    sheets = {
        "households": [
            household_row(
                household_a.number, regions.village_a1.code, 家庭人口=5, 户主姓名="新户主"
            )
        ],
        "helpers": [["改名", helper_a.phone, "村干部", None, regions.town_a.code, "否"]],
    }
    report = register_import(workbook_path_or_file=write_workbook(tmp_path / "u.xlsx", sheets))
    assert report.ok, report.lines()
    assert report.updated["households"] == 1 and report.created["households"] == 0
    household_a.refresh_from_db()
    helper_a.refresh_from_db()
    assert (household_a.members, household_a.head_name) == (5, "新户主")
    assert (helper_a.name, helper_a.kind, helper_a.active) == ("改名", "village_cadre", False)


def test_a_pairing_overlapping_the_database_is_refused_unless_the_file_ends_it(
    regions, household_a, helper_a, tmp_path
):
    new_helper = ["新帮扶人", "13900000009", "机关干部", None, regions.town_a.code, "是"]
    sheets = {
        "helpers": [new_helper],
        "pairings": [[household_a.number, "13900000009", dt.date(2024, 1, 1), None]],
    }
    report = register_import(workbook_path_or_file=write_workbook(tmp_path / "o.xlsx", sheets))
    assert [(e.sheet, e.row) for e in report.errors] == [("pairings", 2)]
    assert "系统中已有的结对" in report.errors[0].reason

    # Ending the current pairing in the same file makes room for the new one.
    sheets["pairings"].insert(0, [household_a.number, helper_a.phone, "2020-01-01", "2024-01-01"])
    report = register_import(workbook_path_or_file=write_workbook(tmp_path / "o2.xlsx", sheets))
    assert report.ok, report.lines()
    periods = list(
        Pairing.objects.filter(household=household_a).values_list(
            "helper__phone", "start_date", "end_date"
        )
    )
    assert periods == [
        (helper_a.phone, dt.date(2020, 1, 1), dt.date(2024, 1, 1)),
        ("13900000009", dt.date(2024, 1, 1), None),
    ]


def test_an_out_of_area_row_is_refused(regions, town_a_office, tmp_path):
    sheets = {
        "households": [
            household_row("H1", regions.village_a1.code),
            household_row("H2", regions.village_b1.code, ID_2),
        ],
        "helpers": [["李华", "13900000001", "机关干部", None, regions.town_b.code, "是"]],
    }
    path = write_workbook(tmp_path / "area.xlsx", sheets)

    report = register_import(workbook_path_or_file=path, user=town_a_office)

    assert {(e.sheet, e.row) for e in report.errors} == {("households", 3), ("helpers", 2)}
    assert all("管辖范围" in e.reason for e in report.errors)
    assert not Household.objects.exists()
    assert not AuditEntry.objects.filter(action=AuditAction.IMPORT).exists()


def test_an_import_by_a_user_is_audited_and_a_helper_may_not_import(
    regions, town_a_office, helper_a_user, tmp_path
):
    sheets = {"households": [household_row("H1", regions.village_a1.code)]}
    path = write_workbook(tmp_path / "a.xlsx", sheets)
    with pytest.raises(Forbidden):
        register_import(workbook_path_or_file=path, user=helper_a_user)

    report = register_import(workbook_path_or_file=path, user=town_a_office)
    assert report.ok
    entry = AuditEntry.objects.get(action=AuditAction.IMPORT)
    assert entry.actor == town_a_office and entry.detail["created"]["households"] == 1


def register_snapshot() -> dict[str, set]:
    return {
        "households": set(
            Household.objects.values_list(
                "number",
                "head_name",
                "id_number",
                "phone",
                "members",
                "village_id",
                "address",
                "home_lat",
                "home_lon",
                "status",
                "registered_on",
                "exited_on",
                "returned_on",
            )
        ),
        "helpers": set(
            Helper.objects.values_list("name", "phone", "kind", "unit__name", "region_id", "active")
        ),
        "pairings": set(
            Pairing.objects.values_list(
                "household__number", "helper__phone", "start_date", "end_date"
            )
        ),
        "units": set(Unit.objects.values_list("name", "kind", "region_id", "handles_grievances")),
    }


def test_export_then_import_into_an_empty_register_gives_the_same_register(tmp_path, settings):
    # demo.build() alone makes the register only: visits would pin the pairings the test deletes
    demo.build(households=250, seed=7)
    before = register_snapshot()
    assert Pairing.objects.filter(end_date__isnull=False).exists()  # history is covered
    path = tmp_path / "register.xlsx"
    counts = register_export(target=path)
    assert counts["households"] == 250

    Pairing.objects.all().delete()
    Household.objects.all().delete()
    from accounts.models import User

    User.objects.filter(helper__isnull=False).delete()
    User.objects.filter(unit__isnull=False).delete()
    Helper.objects.all().delete()
    from register.models import UnitPairing, WeakVillage

    UnitPairing.objects.all().delete()
    WeakVillage.objects.all().delete()
    Unit.objects.all().delete()

    report = register_import(workbook_path_or_file=path)
    assert report.ok, report.lines()[:10]
    assert register_snapshot() == before


def test_export_is_limited_to_the_area_and_audited(
    regions, town_a_office, household_a, household_b, tmp_path
):
    path = tmp_path / "a.xlsx"
    counts = register_export(target=path, user=town_a_office)
    assert counts["households"] == 1
    wb = load_workbook(path, read_only=True)
    numbers = [row[0] for row in wb["households"].iter_rows(min_row=2, values_only=True)]
    assert numbers == [household_a.number]
    entry = AuditEntry.objects.get(action=AuditAction.EXPORT)
    assert entry.actor == town_a_office and entry.detail["households"] == 1


def test_commands_fail_loudly_on_a_bad_row_and_succeed_on_a_good_file(
    regions, make_user, tmp_path, capsys
):
    make_user(Role.COUNTY_OFFICE, regions.county, username="county")
    sheets = good_sheets(regions)
    sheets["households"].append(household_row("H9", regions.village_a1.code, 家庭人口="x"))
    bad = write_workbook(tmp_path / "bad.xlsx", sheets)
    with pytest.raises(CommandError, match="未做任何修改"):
        call_command("import_register", str(bad), user="county")
    assert "households 第4行" in capsys.readouterr().err
    assert not Household.objects.exists()

    good = write_workbook(tmp_path / "good.xlsx", good_sheets(regions))
    call_command("import_register", str(good), user="county")
    assert Household.objects.count() == 2

    out = tmp_path / "out.xlsx"
    call_command("export_register", str(out), region=regions.town_a.code)
    assert load_workbook(out)["households"].max_row == 3
