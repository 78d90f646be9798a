"""The register as an XLSX workbook: import (all or nothing) and export (streaming).

Sheets, each with a header row (Chinese headers; English aliases accepted):
- `households` 低收入户: 户编号, 户主姓名, 身份证号, 联系电话, 家庭人口, 村代码, 住址, 纬度, 经度,
  坐标系 (wgs84 / gcj02 / bd09), 状态, 建档日期, 脱贫日期, 返贫日期
- `helpers` 帮扶责任人: 姓名, 手机号, 类别, 单位, 镇代码, 在岗
- `pairings` 结对关系: 户编号, 帮扶人手机号, 开始日期, 结束日期 (end exclusive, blank = open)
- `units` 单位 (optional): 单位名称, 类型, 区划代码, 承办诉求

Import semantics: a row whose household number (helper phone; unit region + name; pairing
household + helper + start date) already exists updates that record; any other row creates
one. Columns absent from a sheet leave existing values alone. Every row of every sheet is
checked first; if any row is bad, nothing is written and the report names each bad row by
sheet, row number (as Excel shows it) and reason. Otherwise one transaction writes everything
with bulk statements. With a user, every row must lie in that user's area.
"""

from __future__ import annotations

import re
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from openpyxl import Workbook, load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from accounts.models import AuditAction, User
from accounts.roles import writes_register
from accounts.scoping import code_in_area, in_area
from accounts.services import audit_record
from common import xlsx
from common.errors import Conflict, Forbidden
from common.geo import CoordSystem, as_decimal, to_wgs84
from common.versions import REGISTER, bump_on_commit
from regions.models import Level, Region, prefix_of_code
from register.models import (
    Helper,
    HelperKind,
    Household,
    HouseholdStatus,
    Pairing,
    Unit,
    UnitKind,
)
from register.validators import normalize_id_number

BATCH = 2000


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    aliases: tuple[str, ...] = ()
    required: bool = False  # the header must be there and every row must fill it


@dataclass(frozen=True)
class SheetSpec:
    name: str
    aliases: tuple[str, ...]
    columns: tuple[Column, ...]

    def headers(self) -> list[str]:
        return [c.header for c in self.columns]


HOUSEHOLDS = SheetSpec(
    "households",
    ("低收入户", "household"),
    (
        Column("number", "户编号", ("number", "household_number"), required=True),
        Column("head_name", "户主姓名", ("head_name", "name"), required=True),
        Column("id_number", "身份证号", ("id_number",), required=True),
        Column("phone", "联系电话", ("phone",)),
        Column("members", "家庭人口", ("members",), required=True),
        Column("village", "村代码", ("village_code", "village"), required=True),
        Column("address", "住址", ("address",)),
        Column("lat", "纬度", ("lat", "latitude")),
        Column("lon", "经度", ("lon", "lng", "longitude")),
        Column("coord_system", "坐标系", ("coord_system", "crs")),
        Column("status", "状态", ("status",)),
        Column("registered_on", "建档日期", ("registered_on",)),
        Column("exited_on", "脱贫日期", ("exited_on",)),
        Column("returned_on", "返贫日期", ("returned_on",)),
    ),
)
HELPERS = SheetSpec(
    "helpers",
    ("帮扶责任人", "helper"),
    (
        Column("name", "姓名", ("name",), required=True),
        Column("phone", "手机号", ("phone", "mobile"), required=True),
        Column("kind", "类别", ("kind", "category"), required=True),
        Column("unit", "单位", ("unit",)),
        Column("town", "镇代码", ("town_code", "town", "region"), required=True),
        Column("active", "在岗", ("active",)),
    ),
)
PAIRINGS = SheetSpec(
    "pairings",
    ("结对关系", "pairing"),
    (
        Column("household", "户编号", ("household_number", "household", "number"), required=True),
        Column("helper_phone", "帮扶人手机号", ("helper_phone", "helper"), required=True),
        Column("start_date", "开始日期", ("start_date", "start"), required=True),
        Column("end_date", "结束日期", ("end_date", "end")),
    ),
)
UNITS = SheetSpec(
    "units",
    ("单位", "unit"),
    (
        Column("name", "单位名称", ("name",), required=True),
        Column("kind", "类型", ("kind",), required=True),
        Column("region", "区划代码", ("region_code", "region"), required=True),
        Column("handles", "承办诉求", ("handles_grievances", "handles")),
    ),
)
SHEETS = (HOUSEHOLDS, HELPERS, PAIRINGS, UNITS)


# --- The report --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    sheet: str
    row: int  # as Excel numbers it: the header is row 1; 0 means the whole file
    reason: str

    def __str__(self) -> str:
        if self.row == 0:
            return f"{self.sheet or '文件'}:{self.reason}"
        return f"{self.sheet} 第{self.row}行:{self.reason}"


@dataclass
class ImportReport:
    errors: list[RowError] = field(default_factory=list)
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    # Household numbers and helper phones of bad rows: pairings naming them are not reported
    # again as "does not exist", the household or helper row already says what is wrong.
    bad_keys: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set), repr=False)

    @property
    def ok(self) -> bool:
        return not self.errors

    def add(self, sheet: str, row: int, reason: str) -> None:
        self.errors.append(RowError(sheet, row, reason))

    def lines(self) -> list[str]:
        if not self.ok:
            order = {s.name: i for i, s in enumerate(SHEETS)}
            errors = sorted(self.errors, key=lambda e: (order.get(e.sheet, -1), e.row))
            return [str(e) for e in errors]
        return [
            f"{name}: 新增 {self.created.get(name, 0)},更新 {self.updated.get(name, 0)}"
            for name in (s.name for s in SHEETS)
        ]


class RowInvalid(Exception):
    """One reason a row is bad (collected, never escapes this module)."""


# --- Cell parsing -----------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    return str(value).strip()


_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日")


def _date(value: Any, label: str) -> date | None:
    if value is None or _text(value) == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()  # noqa: DTZ007 (a calendar date)
        except ValueError:
            continue
    raise RowInvalid(f"{label}「{text}」不是有效日期(应为 2024-01-31 格式)")


def _decimal(value: Any, label: str) -> Decimal | None:
    text = _text(value)
    if text == "":
        return None
    try:
        number = Decimal(text)
    except InvalidOperation as exc:
        raise RowInvalid(f"{label}「{text}」不是数字") from exc
    if not number.is_finite():
        raise RowInvalid(f"{label}「{text}」不是数字")
    return number


def _code(value: Any, label: str) -> str:
    """A division code; a 9-digit town or 6-digit county code is padded to 12 digits."""
    text = _text(value)
    if re.fullmatch(r"\d{12}", text):
        return text
    if re.fullmatch(r"\d{9}", text):
        return text + "000"
    if re.fullmatch(r"\d{6}", text):
        return text + "000000"
    raise RowInvalid(f"{label}「{text}」应为12位区划代码")


def _choice(value: Any, label: str, choices: type, extra: dict[str, str] | None = None) -> str:
    text = _text(value)
    mapping = {c.value: c.value for c in choices} | {str(c.label): c.value for c in choices}
    mapping |= extra or {}
    if text.lower() in mapping:
        return mapping[text.lower()]
    if text in mapping:
        return mapping[text]
    labels = "、".join(str(c.label) for c in choices)
    raise RowInvalid(f"{label}「{text}」无效,应为:{labels}")


def _bool(value: Any, label: str, default: bool) -> bool:
    text = _text(value).lower()
    if text == "":
        return default
    if text in ("是", "y", "yes", "true", "1"):
        return True
    if text in ("否", "n", "no", "false", "0"):
        return False
    raise RowInvalid(f"{label}「{_text(value)}」应为 是 或 否")


def _limited(value: Any, label: str, max_length: int) -> str:
    text = _text(value)
    if len(text) > max_length:
        raise RowInvalid(f"{label}超过{max_length}个字符")
    return text


STATUS_ALIASES = {"脱贫": HouseholdStatus.EXITED.value, "已返贫": HouseholdStatus.RETURNED.value}
UNIT_KIND_ALIASES = {
    "机关部门": UnitKind.DEPARTMENT.value,
    "职能部门": UnitKind.DEPARTMENT.value,
    "部门": UnitKind.DEPARTMENT.value,
}
MOBILE = re.compile(r"^1\d{10}$")


# --- Parsed rows ------------------------------------------------------------------------------


@dataclass
class Row:
    sheet: str
    number: int
    values: dict[str, Any]  # only the columns present in the sheet


def _parse_unit(raw: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": _limited(raw["name"], "单位名称", 100),
        "kind": _choice(raw["kind"], "类型", UnitKind, UNIT_KIND_ALIASES),
        "region": _code(raw["region"], "区划代码"),
    }
    if "handles" in raw:
        out["handles_grievances"] = _bool(raw["handles"], "承办诉求", False)
    return out


def _parse_helper(raw: dict[str, Any]) -> dict[str, Any]:
    phone = _text(raw["phone"])
    if not MOBILE.match(phone):
        raise RowInvalid(f"手机号「{phone}」应为11位数字")
    out: dict[str, Any] = {
        "name": _limited(raw["name"], "姓名", 50),
        "phone": phone,
        "kind": _choice(raw["kind"], "类别", HelperKind),
        "region": _code(raw["town"], "镇代码"),
    }
    if "unit" in raw:
        out["unit"] = _limited(raw["unit"], "单位", 100)
    if "active" in raw:
        out["active"] = _bool(raw["active"], "在岗", True)
    return out


def _parse_household(raw: dict[str, Any]) -> dict[str, Any]:
    number = _limited(raw["number"], "户编号", 32)
    try:
        id_number = normalize_id_number(_text(raw["id_number"]).upper())
    except ValidationError as exc:
        raise RowInvalid(exc.messages[0]) from exc
    members_text = _text(raw["members"])
    if not re.fullmatch(r"\d+", members_text) or not 1 <= int(members_text) <= 99:
        raise RowInvalid(f"家庭人口「{members_text}」应为1至99的整数")
    out: dict[str, Any] = {
        "number": number,
        "head_name": _limited(raw["head_name"], "户主姓名", 50),
        "id_number": id_number,
        "members": int(members_text),
        "village": _code(raw["village"], "村代码"),
    }
    if "phone" in raw:
        out["phone"] = _limited(raw["phone"], "联系电话", 20)
    if "address" in raw:
        out["address"] = _limited(raw["address"], "住址", 200)
    if "lat" in raw or "lon" in raw:
        lat = _decimal(raw.get("lat"), "纬度")
        lon = _decimal(raw.get("lon"), "经度")
        if (lat is None) != (lon is None):
            raise RowInvalid("纬度和经度须同时填写或同时留空")
        if lat is not None and lon is not None:
            system_text = _text(raw.get("coord_system")).lower() or CoordSystem.WGS84.value
            try:
                system = CoordSystem(system_text)
            except ValueError as exc:
                raise RowInvalid(f"坐标系「{system_text}」无效,应为 wgs84、gcj02 或 bd09") from exc
            try:
                w_lat, w_lon = to_wgs84(lat, lon, system)
            except ValueError as exc:
                raise RowInvalid(f"经纬度({lat}, {lon})超出范围") from exc
            out["home_lat"], out["home_lon"] = as_decimal(w_lat), as_decimal(w_lon)
        else:
            out["home_lat"] = out["home_lon"] = None
    if "status" in raw:
        status = _text(raw["status"])
        out["status"] = (
            _choice(status, "状态", HouseholdStatus, STATUS_ALIASES)
            if status
            else HouseholdStatus.ACTIVE.value
        )
    for key, label in (
        ("registered_on", "建档日期"),
        ("exited_on", "脱贫日期"),
        ("returned_on", "返贫日期"),
    ):
        if key in raw:
            day = _date(raw[key], label)
            if day is not None or key != "registered_on":
                out[key] = day
    return out


def _parse_pairing(raw: dict[str, Any]) -> dict[str, Any]:
    start = _date(raw["start_date"], "开始日期")
    end = _date(raw.get("end_date"), "结束日期")
    if start is not None and end is not None and end <= start:
        raise RowInvalid("结束日期必须晚于开始日期")
    return {
        "household": _text(raw["household"]),
        "helper_phone": _text(raw["helper_phone"]),
        "start_date": start,
        "end_date": end,
    }


PARSERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "units": _parse_unit,
    "helpers": _parse_helper,
    "households": _parse_household,
    "pairings": _parse_pairing,
}


# --- Reading the workbook ---------------------------------------------------------------------


def _norm(text: Any) -> str:
    return _text(text).replace(" ", "").lower()


def _spec_for(title: str) -> SheetSpec | None:
    key = _norm(title)
    for spec in SHEETS:
        if key == spec.name or key in (_norm(a) for a in spec.aliases):
            return spec
    return None


def _read_sheet(ws, spec: SheetSpec, report: ImportReport) -> list[Row]:
    rows = ws.iter_rows(values_only=True)
    header = next(rows, None) or ()
    lookup: dict[str, Column] = {}
    for column in spec.columns:
        for name in (column.header, column.key, *column.aliases):
            lookup[_norm(name)] = column
    positions: dict[str, int] = {}
    for index, cell in enumerate(header):
        column = lookup.get(_norm(cell))
        if column is not None and column.key not in positions:
            positions[column.key] = index
    missing = [c.header for c in spec.columns if c.required and c.key not in positions]
    if missing:
        report.add(spec.name, 1, "缺少列:" + "、".join(missing))
        return []
    required = [c for c in spec.columns if c.required]
    parsed: list[Row] = []
    for number, values in enumerate(rows, start=2):
        if values is None or all(_text(v) == "" for v in values):
            continue
        raw = {key: (values[i] if i < len(values) else None) for key, i in positions.items()}
        empty = [c.header for c in required if _text(raw[c.key]) == ""]
        try:
            if empty:
                raise RowInvalid("、".join(empty) + " 不能为空")
            parsed.append(Row(spec.name, number, PARSERS[spec.name](raw)))
        except RowInvalid as exc:
            report.add(spec.name, number, str(exc))
            if spec.name in KEY_COLUMNS:
                report.bad_keys[spec.name].add(_text(raw[KEY_COLUMNS[spec.name]]))
    return parsed


KEY_COLUMNS = {"households": "number", "helpers": "phone"}


def _read_workbook(source: str | Path | IO[bytes], report: ImportReport) -> dict[str, list[Row]]:
    try:
        workbook = load_workbook(source, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError):
        report.add("", 0, "文件不是有效的 Excel(.xlsx)工作簿")
        return {}
    try:
        sheets: dict[str, list[Row]] = {}
        for ws in workbook.worksheets:
            spec = _spec_for(ws.title)
            if spec is None or spec.name in sheets:
                continue
            sheets[spec.name] = _read_sheet(ws, spec, report)
        if not sheets:
            names = "、".join(s.name for s in SHEETS)
            report.add("", 0, f"工作簿中没有可识别的工作表(应为 {names})")
        return sheets
    finally:
        workbook.close()


# --- Cross-row checks -------------------------------------------------------------------------


def _chunks(items: list, size: int = BATCH) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _fetch(model, field_name: str, keys: Iterable[str], select: tuple[str, ...] = ()) -> dict:
    keys = sorted(set(keys))
    found: dict = {}
    for chunk in _chunks(keys):
        qs = model.objects.filter(**{f"{field_name}__in": chunk})
        if select:
            qs = qs.select_related(*select)
        for obj in qs:
            found[getattr(obj, field_name)] = obj
    return found


def _ancestors(code: str) -> list[str]:
    """The code and the codes of the regions above it, nearest first."""
    out = [code]
    for digits in (9, 6, 4, 2):
        parent = code[:digits].ljust(12, "0")
        if parent not in out and parent != code:
            out.append(parent)
    return out


class _Plan:
    """Everything to write, built while checking; written only if the report is clean."""

    def __init__(self, report: ImportReport, user: User | None) -> None:
        self.report = report
        self.user = user
        self.units_new: list[Unit] = []
        self.units_changed: list[Unit] = []
        self.helpers_new: list[tuple[Helper, str | None, str]] = []  # helper, unit name, town
        self.helpers_changed: list[tuple[Helper, str | None, str]] = []
        self.households_new: list[Household] = []
        self.households_changed: list[Household] = []
        self.pairings_new: list[tuple[str, str, date, date | None]] = []
        self.pairings_changed: list[Pairing] = []

    def in_area(self, code: str) -> bool:
        return self.user is None or code_in_area(self.user, code)


def _check_units(rows: list[Row], plan: _Plan, regions: dict[str, Region]) -> dict:
    """Units by (region, name): the file's and, later, the database's."""
    seen: dict[tuple[str, str], int] = {}
    existing = {}
    names = {r.values["name"] for r in rows}
    for chunk in _chunks(sorted(names)):
        for unit in Unit.objects.filter(name__in=chunk):
            existing[(unit.region_id, unit.name)] = unit
    known: dict[tuple[str, str], Unit] = {}
    for row in rows:
        v = row.values
        key = (v["region"], v["name"])
        if key in seen:
            plan.report.add(row.sheet, row.number, f"单位与第{seen[key]}行重复")
            continue
        seen[key] = row.number
        if v["region"] not in regions:
            plan.report.add(row.sheet, row.number, f"区划代码「{v['region']}」不存在")
            continue
        unit = existing.get(key)
        if unit is not None:
            known[key] = unit
            # Units above the user's area come along in exports; they are left as they are.
            if plan.in_area(unit.region_id):
                unit.kind = v["kind"]
                if "handles_grievances" in v:
                    unit.handles_grievances = v["handles_grievances"]
                plan.units_changed.append(unit)
            continue
        if not plan.in_area(v["region"]):
            plan.report.add(row.sheet, row.number, "单位所在区划不在本账号管辖范围内")
            continue
        unit = Unit(
            name=v["name"],
            kind=v["kind"],
            region_id=v["region"],
            handles_grievances=v.get("handles_grievances", False),
        )
        plan.units_new.append(unit)
        known[key] = unit
    return known


def _resolve_unit(name: str, town: str, file_units: dict, cache: dict) -> bool:
    """Whether a unit of that name exists at the helper's town or a region above it."""
    for code in _ancestors(town):
        if (code, name) in file_units:
            return True
    if name not in cache:
        cache[name] = set(Unit.objects.filter(name=name).values_list("region_id", flat=True))
    return any(code in cache[name] for code in _ancestors(town))


def _check_helpers(rows: list[Row], plan: _Plan, regions: dict, file_units: dict) -> dict:
    existing = _fetch(Helper, "phone", (r.values["phone"] for r in rows))
    seen: dict[str, int] = {}
    unit_cache: dict[str, set[str]] = {}
    phones: dict[str, str] = {}  # phone → town code, for pairings
    for row in rows:
        v = row.values
        errors = []
        if v["phone"] in seen:
            errors.append(f"手机号与第{seen[v['phone']]}行重复")
        seen.setdefault(v["phone"], row.number)
        region = regions.get(v["region"])
        if region is None:
            errors.append(f"镇代码「{v['region']}」不存在")
        elif region.level != Level.TOWN:
            errors.append(f"镇代码「{v['region']}」不是镇(街道)")
        elif not plan.in_area(v["region"]):
            errors.append("该镇(街道)不在本账号管辖范围内")
        helper = existing.get(v["phone"])
        if helper is not None and not plan.in_area(helper.region_id):
            errors.append("该手机号已被本区域以外的帮扶责任人使用")
        unit_name = v.get("unit")
        if (
            unit_name
            and region is not None
            and not _resolve_unit(unit_name, v["region"], file_units, unit_cache)
        ):
            errors.append(f"单位「{unit_name}」不存在(可在 units 工作表中列出)")
        for reason in errors:
            plan.report.add(row.sheet, row.number, reason)
        if errors:
            plan.report.bad_keys["helpers"].add(v["phone"])
            continue
        phones[v["phone"]] = v["region"]
        if helper is None:
            helper = Helper(phone=v["phone"])
            target = plan.helpers_new
        else:
            target = plan.helpers_changed
        helper.name, helper.kind, helper.region_id = v["name"], v["kind"], v["region"]
        if "active" in v:
            helper.active = v["active"]
        target.append((helper, unit_name if "unit" in v else None, v["region"]))
        if "unit" in v and not unit_name:
            helper.unit_id = None
    return phones


HOUSEHOLD_FIELDS = (
    "head_name",
    "id_number",
    "phone",
    "members",
    "address",
    "home_lat",
    "home_lon",
    "status",
    "registered_on",
    "exited_on",
    "returned_on",
)


def _check_households(rows: list[Row], plan: _Plan, regions: dict) -> dict[str, str]:
    existing = _fetch(Household, "number", (r.values["number"] for r in rows))
    seen: dict[str, int] = {}
    numbers: dict[str, str] = {}  # number → village code, for pairings
    for row in rows:
        v = row.values
        errors = []
        if v["number"] in seen:
            errors.append(f"户编号与第{seen[v['number']]}行重复")
        seen.setdefault(v["number"], row.number)
        region = regions.get(v["village"])
        if region is None:
            errors.append(f"村代码「{v['village']}」不存在")
        elif region.level != Level.VILLAGE:
            errors.append(f"村代码「{v['village']}」不是村(居)")
        elif not plan.in_area(v["village"]):
            errors.append("该村不在本账号管辖范围内")
        household = existing.get(v["number"])
        if household is not None and not plan.in_area(household.village_id):
            errors.append("该户编号已被本区域以外的低收入户使用")
        for reason in errors:
            plan.report.add(row.sheet, row.number, reason)
        if errors:
            plan.report.bad_keys["households"].add(v["number"])
            continue
        numbers[v["number"]] = v["village"]
        if household is None:
            household = Household(number=v["number"], registered_on=timezone.localdate())
            plan.households_new.append(household)
        else:
            plan.households_changed.append(household)
        household.village_id = v["village"]
        for name in HOUSEHOLD_FIELDS:
            if name in v:
                setattr(household, name, v[name])
    return numbers


def _fmt_period(start: date, end: date | None) -> str:
    return f"{start.isoformat()} 至 {end.isoformat() if end else '今'}"


def _check_pairings(
    rows: list[Row], plan: _Plan, file_households: dict[str, str], file_helpers: dict[str, str]
) -> None:
    report = plan.report
    db_households = {
        number: h
        for number, h in _fetch(
            Household, "number", (r.values["household"] for r in rows if r.values["household"])
        ).items()
    }
    db_helpers = _fetch(Helper, "phone", (r.values["helper_phone"] for r in rows))
    # Existing pairings of the households named here: the file's rows are checked against them.
    household_ids = [h.pk for h in db_households.values()]
    current: dict[str, list[tuple[str, date, date | None, Pairing | None, int]]] = defaultdict(list)
    by_key: dict[tuple[str, str, date], Pairing] = {}
    for chunk in _chunks(household_ids):
        for pairing in Pairing.objects.filter(household_id__in=chunk).select_related(
            "household", "helper"
        ):
            key = (pairing.household.number, pairing.helper.phone, pairing.start_date)
            by_key[key] = pairing
    replaced: set[int] = set()
    seen: dict[tuple[str, str, date], int] = {}
    for row in rows:
        v = row.values
        number, phone, start, end = (
            v["household"],
            v["helper_phone"],
            v["start_date"],
            v["end_date"],
        )
        errors = []
        village = file_households.get(number)
        if village is None and number in db_households:
            village = db_households[number].village_id
        if village is None and number not in report.bad_keys["households"]:
            errors.append(f"户编号「{number}」不存在(表内及系统中均无)")
        elif not plan.in_area(village):
            errors.append("该户不在本账号管辖范围内")
        town = file_helpers.get(phone)
        if town is None and phone in db_helpers:
            town = db_helpers[phone].region_id
        if town is None and phone not in report.bad_keys["helpers"]:
            errors.append(f"帮扶人手机号「{phone}」不存在(表内及系统中均无)")
        elif not plan.in_area(town):
            errors.append("该帮扶责任人不在本账号管辖范围内")
        key = (number, phone, start)
        if key in seen:
            errors.append(f"结对与第{seen[key]}行重复")
        seen.setdefault(key, row.number)
        for reason in errors:
            report.add(row.sheet, row.number, reason)
        if errors or village is None or town is None:
            continue
        existing = by_key.get(key)
        if existing is not None:
            replaced.add(existing.pk)
            if existing.end_date != end:
                existing.end_date = end
                plan.pairings_changed.append(existing)
        else:
            plan.pairings_new.append((number, phone, start, end))
        current[number].append((phone, start, end, None, row.number))
    for (number, phone, start), pairing in by_key.items():
        if pairing.pk not in replaced:
            current[number].append((phone, start, pairing.end_date, pairing, 0))
    # At most one pairing holds on any day. Sorted by start, each period must begin no earlier
    # than the furthest end so far; every file row that does not is reported.
    for periods in current.values():
        periods.sort(key=lambda p: (p[1], p[4]))
        reach: tuple[date, date | None, int] | None = None  # start, end, row of furthest end
        for _phone, start, end, _pairing, row in periods:
            if reach is not None and (reach[1] is None or reach[1] > start):
                if row:
                    other = (
                        f"第{reach[2]}行"
                        if reach[2]
                        else f"系统中已有的结对({_fmt_period(reach[0], reach[1])})"
                    )
                    report.add(PAIRINGS.name, row, f"结对时段与{other}重叠")
                elif reach[2]:
                    report.add(
                        PAIRINGS.name,
                        reach[2],
                        f"结对时段与系统中已有的结对({_fmt_period(start, end)})重叠",
                    )
            if reach is None or (reach[1] is not None and (end is None or end > reach[1])):
                reach = (start, end, row)


def _file_label(source: Any) -> str:
    """The file's own name, short enough for the audit record's target id."""
    name = str(getattr(source, "name", source) or "")
    return Path(name).name[-64:] or "workbook"


# --- The service ------------------------------------------------------------------------------


def register_import(
    *, workbook_path_or_file: str | Path | IO[bytes], user: User | None = None
) -> ImportReport:
    """Check every row of the workbook; if all are good, write them in one transaction.

    Returns the report: its errors (nothing written) or its counts. With a user, the user must
    be allowed to write the register and every row must lie in the user's area.
    """
    if user is not None and not (writes_register(user) or user.is_superuser):
        raise Forbidden("无权导入台账")
    report = ImportReport()
    sheets = _read_workbook(workbook_path_or_file, report)
    plan = _Plan(report, user)
    codes = set()
    for row in sheets.get("units", []):
        codes.add(row.values["region"])
    for row in sheets.get("helpers", []):
        codes.add(row.values["region"])
    for row in sheets.get("households", []):
        codes.add(row.values["village"])
    regions = _fetch(Region, "code", codes)
    file_units = _check_units(sheets.get("units", []), plan, regions)
    file_helpers = _check_helpers(sheets.get("helpers", []), plan, regions, file_units)
    file_households = _check_households(sheets.get("households", []), plan, regions)
    _check_pairings(sheets.get("pairings", []), plan, file_households, file_helpers)
    if not report.ok:
        return report
    try:
        _write(plan, file_units)
    except IntegrityError as exc:
        # Another import or edit got in between the checks and the write.
        raise Conflict("导入期间台账被其他操作修改,请重新导入", code="import_conflict") from exc
    if user is not None:
        audit_record(
            actor=user,
            action=AuditAction.IMPORT,
            target_type="register",
            target_id=_file_label(workbook_path_or_file),
            region_code=user.region_id or "",
            detail={"created": report.created, "updated": report.updated},
        )
    return report


@transaction.atomic
def _write(plan: _Plan, file_units: dict[tuple[str, str], Unit]) -> None:
    bump_on_commit(REGISTER)
    report = plan.report
    Unit.objects.bulk_create(plan.units_new, batch_size=BATCH)
    Unit.objects.bulk_update(plan.units_changed, ["kind", "handles_grievances"], batch_size=BATCH)
    report.created["units"], report.updated["units"] = len(plan.units_new), len(plan.units_changed)

    cache: dict[str, dict[str, int]] = {}

    def unit_id(name: str, town: str) -> int:
        for code in _ancestors(town):
            if (code, name) in file_units:
                return file_units[(code, name)].pk
        if name not in cache:
            cache[name] = dict(Unit.objects.filter(name=name).values_list("region_id", "pk"))
        return next(cache[name][c] for c in _ancestors(town) if c in cache[name])

    for helper, name, town in plan.helpers_new + plan.helpers_changed:
        if name:
            helper.unit_id = unit_id(name, town)
    Helper.objects.bulk_create([h for h, _, _ in plan.helpers_new], batch_size=BATCH)
    Helper.objects.bulk_update(
        [h for h, _, _ in plan.helpers_changed],
        ["name", "kind", "region", "unit", "active"],
        batch_size=BATCH,
    )
    report.created["helpers"] = len(plan.helpers_new)
    report.updated["helpers"] = len(plan.helpers_changed)

    Household.objects.bulk_create(plan.households_new, batch_size=BATCH)
    Household.objects.bulk_update(
        plan.households_changed, ["village", *HOUSEHOLD_FIELDS], batch_size=BATCH
    )
    report.created["households"] = len(plan.households_new)
    report.updated["households"] = len(plan.households_changed)

    # Ending pairings first: the new open one may replace one that this file closes.
    Pairing.objects.bulk_update(plan.pairings_changed, ["end_date"], batch_size=BATCH)
    numbers = {n for n, _, _, _ in plan.pairings_new}
    phones = {p for _, p, _, _ in plan.pairings_new}
    household_ids = {k: h.pk for k, h in _fetch(Household, "number", numbers).items()}
    helper_ids = {k: h.pk for k, h in _fetch(Helper, "phone", phones).items()}
    Pairing.objects.bulk_create(
        [
            Pairing(
                household_id=household_ids[n], helper_id=helper_ids[p], start_date=s, end_date=e
            )
            for n, p, s, e in plan.pairings_new
        ],
        batch_size=BATCH,
    )
    report.created["pairings"] = len(plan.pairings_new)
    report.updated["pairings"] = len(plan.pairings_changed)


# --- Export -----------------------------------------------------------------------------------


def _yes_no(value: bool) -> str:
    return "是" if value else "否"


def register_export(
    *,
    target: str | Path | IO[bytes],
    user: User | None = None,
    region_code: str | None = None,
) -> dict[str, int]:
    """Write the register (of a region, within the user's area) in the import format.

    Streams rows (openpyxl write-only mode, database iterators), so memory stays flat. Helpers
    and units that the exported pairings and helpers refer to come along even when they sit
    outside the region, so that the file imports on its own.
    """
    prefix = prefix_of_code(region_code) if region_code else ""

    def scoped(qs: QuerySet, path: str) -> QuerySet:
        if prefix:
            qs = qs.filter(**{f"{path}__startswith": prefix})
        return in_area(qs, user) if user is not None else qs

    households = scoped(Household.objects.all(), "village__code")
    pairings = scoped(Pairing.objects.all(), "household__village__code")
    helpers = Helper.objects.filter(
        Q(pk__in=scoped(Helper.objects.all(), "region__code").values("pk"))
        | Q(pk__in=pairings.values("helper_id"))
    )
    units = Unit.objects.filter(
        Q(pk__in=scoped(Unit.objects.all(), "region__code").values("pk"))
        | Q(pk__in=helpers.values("unit_id"))
    )
    status_label = {c.value: str(c.label) for c in HouseholdStatus}
    helper_label = {c.value: str(c.label) for c in HelperKind}
    unit_label = {c.value: str(c.label) for c in UnitKind}

    workbook = Workbook(write_only=True)
    counts: dict[str, int] = {}

    def sheet(spec: SheetSpec, rows: Iterable[Iterable[Any]]) -> None:
        ws = workbook.create_sheet(spec.name)
        ws.append(spec.headers())
        n = 0
        for row in rows:
            ws.append(xlsx.row(row))
            n += 1
        counts[spec.name] = n

    def household_rows() -> Iterator[tuple]:
        fields = ("number", "head_name", "id_number", "phone", "members", "village_id")
        fields += ("address", "home_lat", "home_lon", "status")
        fields += ("registered_on", "exited_on", "returned_on")
        for row in households.order_by("number").values_list(*fields).iterator(BATCH):
            lat = row[7]
            yield (
                *row[:9],
                "wgs84" if lat is not None else None,
                status_label[row[9]],
                *row[10:],
            )

    sheet(HOUSEHOLDS, household_rows())
    sheet(
        HELPERS,
        (
            (name, phone, helper_label[kind], unit or None, region, _yes_no(active))
            for name, phone, kind, unit, region, active in helpers.order_by("region_id", "phone")
            .values_list("name", "phone", "kind", "unit__name", "region_id", "active")
            .iterator(chunk_size=BATCH)
        ),
    )
    sheet(
        PAIRINGS,
        pairings.order_by("household__number", "start_date", "id")
        .values_list("household__number", "helper__phone", "start_date", "end_date")
        .iterator(chunk_size=BATCH),
    )
    sheet(
        UNITS,
        (
            (name, unit_label[kind], region, _yes_no(handles))
            for name, kind, region, handles in units.order_by("region_id", "name")
            .values_list("name", "kind", "region_id", "handles_grievances")
            .iterator(chunk_size=BATCH)
        ),
    )
    workbook.save(target)
    if user is not None:
        audit_record(
            actor=user,
            action=AuditAction.EXPORT,
            target_type="register",
            target_id=_file_label(target),
            region_code=region_code or user.region_id or "",
            detail=counts,
        )
    return counts
