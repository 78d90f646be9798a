import uuid
from datetime import datetime
from decimal import Decimal
from typing import Literal

from ninja import Field, Schema
from pydantic import AwareDatetime

from common.quarters import Quarter
from mobile_api.schemas.common import InputSchema
from mobile_api.schemas.payments import CheckIn
from visits.models import INCOME_MAX, VILLAGE_INCOME_MAX
from visits.selectors import IncomeReference, income_reference


class PositionIn(InputSchema):
    lat: Decimal = Field(..., ge=-90, le=90, description="纬度")
    lon: Decimal = Field(..., ge=-180, le=180, description="经度")
    accuracy_m: Decimal | None = Field(None, ge=0, le=100000, decimal_places=1)
    coord_system: Literal["wgs84", "gcj02", "bd09"] = Field(
        "wgs84", description="坐标系:wgs84(GPS)、gcj02(高德/腾讯)、bd09(百度);统一转存为WGS-84"
    )


class IncomeIn(InputSchema):
    """One quarter's income (元, two decimals), never year-to-date."""

    wages: Decimal = Field(..., ge=0, le=INCOME_MAX, decimal_places=2, description="工资性收入")
    operating: Decimal = Field(
        ..., ge=-INCOME_MAX, le=INCOME_MAX, decimal_places=2, description="经营性收入(可为负)"
    )
    property: Decimal = Field(..., ge=0, le=INCOME_MAX, decimal_places=2, description="财产性收入")
    transfers: Decimal = Field(..., ge=0, le=INCOME_MAX, decimal_places=2, description="转移性收入")


class VisitIn(InputSchema):
    id: uuid.UUID = Field(..., description="手机生成的UUID;重试时原样再发")
    household_id: int
    visited_at: AwareDatetime = Field(..., description="走访时间(带时区)")
    position: PositionIn
    photo_ids: list[uuid.UUID] = Field(
        ..., min_length=4, max_length=40, description="定位、场景、一折通、手册四类照片各至少一张"
    )
    income: IncomeIn
    passbook_checked: bool = Field(
        ...,
        description="是否核对了一折通。有应核对的补贴发放时,以 payment_checks 逐笔核对的结果为准",
    )
    payment_checks: list[CheckIn] = Field(
        [],
        max_length=200,
        description=(
            "逐笔核对一折通(见 GET /households/{id}/payments);"
            "与走访一并提交,任一笔被拒则走访也不保存"
        ),
    )
    notes: str = Field("", max_length=2000)


class VillageVisitIn(InputSchema):
    id: uuid.UUID
    village: str = Field(..., pattern=r"^\d{12}$", description="薄弱村区划代码")
    visited_at: AwareDatetime
    position: PositionIn
    photo_ids: list[uuid.UUID] = Field(
        ..., min_length=2, max_length=40, description="定位、场景照片各至少一张"
    )
    collective_income: Decimal = Field(
        ..., ge=-VILLAGE_INCOME_MAX, le=VILLAGE_INCOME_MAX, decimal_places=2
    )
    notes: str = Field("", max_length=2000)


class IncomeOut(Schema):
    wages: Decimal
    operating: Decimal
    property: Decimal
    transfers: Decimal
    total: Decimal


class VisitPhotoOut(Schema):
    id: uuid.UUID
    kind: str


class FlagOut(Schema):
    kind: str
    label: str
    photo_id: uuid.UUID | None
    detail: dict


class VisitOut(Schema):
    id: uuid.UUID
    household_id: int
    household_number: str = Field(..., alias="household.number")
    village: str = Field(..., alias="village_id")
    helper_id: int
    quarter: str
    visited_at: datetime
    lat: Decimal
    lon: Decimal
    accuracy_m: Decimal | None
    coord_system: str
    income: IncomeOut
    passbook_checked: bool
    notes: str
    extension_id: int | None
    flag_count: int = 0
    created_at: datetime

    @staticmethod
    def resolve_quarter(obj) -> str:
        return f"{obj.year}Q{obj.quarter}"

    @staticmethod
    def resolve_income(obj) -> dict:
        amounts = {k: getattr(obj, k) for k in ("wages", "operating", "property", "transfers")}
        return {**amounts, "total": sum(amounts.values())}


class VisitDetailOut(VisitOut):
    photos: list[VisitPhotoOut]
    flags: list[FlagOut]

    @staticmethod
    def resolve_photos(obj) -> list[dict]:
        return [{"id": vp.photo_id, "kind": vp.kind} for vp in obj.visit_photos.all()]

    @staticmethod
    def resolve_flags(obj) -> list[dict]:
        return [
            {
                "kind": f.kind,
                "label": f.get_kind_display(),
                "photo_id": f.photo_id,
                "detail": f.detail,
            }
            for f in obj.flags.all()
        ]


class VillageVisitOut(Schema):
    id: uuid.UUID
    village: str = Field(..., alias="village_id")
    unit_id: int
    quarter: str
    visited_at: datetime
    lat: Decimal
    lon: Decimal
    collective_income: Decimal
    notes: str
    extension_id: int | None
    created_at: datetime

    @staticmethod
    def resolve_quarter(obj) -> str:
        return f"{obj.year}Q{obj.quarter}"


class ExtensionOut(Schema):
    id: int
    quarter: str
    helper_id: int | None
    unit_id: int | None
    area: str | None
    until: datetime
    reason: str
    granted_by: str
    granted_at: datetime

    @staticmethod
    def resolve_quarter(obj) -> str:
        return f"{obj.year}Q{obj.quarter}"

    @staticmethod
    def resolve_area(obj) -> str | None:
        return obj.area_id

    @staticmethod
    def resolve_granted_by(obj) -> str:
        return obj.granted_by.get_full_name() or obj.granted_by.username


class ExtensionIn(InputSchema):
    quarter: str = Field(..., pattern=r"^\d{4}[Qq][1-4]$", examples=["2026Q4"])
    helper_id: int | None = None
    unit_id: int | None = None
    area: str | None = Field(None, pattern=r"^\d{12}$")
    until: AwareDatetime
    reason: str = Field(..., min_length=1, max_length=200)


class WindowOut(Schema):
    quarter: str
    label: str = Field(..., description="如:2026年第4季度走访录入时间为2026-12-21至2027-01-10")
    opens_at: datetime
    closes_at: datetime
    open_now: bool = Field(..., description="窗口本身此刻是否开放")
    allowed: bool = Field(..., description="此刻是否允许本人录入(含延期)")
    reason: str
    extension: ExtensionOut | None


def _with_total(amounts: dict[str, Decimal] | None) -> dict | None:
    if amounts is None:
        return None
    return {**amounts, "total": sum(amounts.values(), Decimal("0"))}


class EarlierIncomeOut(Schema):
    quarters: list[str] = Field(..., description="本年度此前已填报的季度")
    income: IncomeOut = Field(..., description="这些季度收入之和")


class MyHouseholdOut(Schema):
    id: int
    number: str
    head_name: str
    village: str = Field(..., alias="village_id")
    village_name: str = Field(..., alias="village.name")
    members: int
    address: str = Field(..., description="登记住址")
    home_lat: Decimal | None = Field(None, description="登记住址纬度(WGS-84)")
    home_lon: Decimal | None = Field(None, description="登记住址经度(WGS-84)")
    quarter: str = Field(..., alias="quarter_label")
    visited: bool
    quarter_visits: int
    flags: int = Field(..., alias="quarter_flags")
    last_visit_id: uuid.UUID | None
    last_visited_at: datetime | None
    previous_quarter: str = Field(..., description="上一季度,如 2026Q3")
    previous_income: IncomeOut | None = Field(None, description="上一季度收入(供填报时参考)")
    earlier_income: EarlierIncomeOut | None = Field(
        None,
        description="本年度此前各季度收入之和:新填收入与之相等,或远高于上季度,疑似累计填报",
    )

    @staticmethod
    def resolve_visited(obj) -> bool:
        return obj.quarter_visits > 0

    @staticmethod
    def _reference(obj) -> IncomeReference:
        if not hasattr(obj, "_income_reference"):
            quarter = Quarter.parse(obj.quarter_label)
            obj._income_reference = income_reference(obj.recent_incomes, quarter)
        return obj._income_reference

    @staticmethod
    def resolve_previous_quarter(obj) -> str:
        return str(MyHouseholdOut._reference(obj).previous_quarter)

    @staticmethod
    def resolve_previous_income(obj) -> dict | None:
        return _with_total(MyHouseholdOut._reference(obj).previous)

    @staticmethod
    def resolve_earlier_income(obj) -> dict | None:
        reference = MyHouseholdOut._reference(obj)
        if reference.earlier_sum is None:
            return None
        return {
            "quarters": [str(q) for q in reference.earlier_quarters],
            "income": _with_total(reference.earlier_sum),
        }


class MyVillageOut(Schema):
    village: str = Field(..., alias="village_id")
    village_name: str = Field(..., alias="village.name")
    quarter: str = Field(..., alias="quarter_label")
    visited: bool
    quarter_visits: int
    quarter_income: Decimal | None
    last_visit_id: uuid.UUID | None
    last_visited_at: datetime | None

    @staticmethod
    def resolve_quarter_income(obj) -> Decimal | None:
        # (SQLite hands a subquery's decimal back without its scale)
        value = obj.quarter_income
        return None if value is None else Decimal(value).quantize(Decimal("0.01"))

    @staticmethod
    def resolve_visited(obj) -> bool:
        return obj.quarter_visits > 0


class ExitCandidateOut(Schema):
    household_id: int = Field(..., alias="id")
    number: str
    head_name: str
    village: str = Field(..., alias="village_id")
    members: int
    annual_income: Decimal
    quarters_reported: int
    income_per_person: Decimal
    threshold: Decimal = Field(..., alias="threshold_yuan")
    quarter: str = Field(..., alias="quarter_label")
