"""Subsidy payments over the API: the helper's passbook checks, the offices' warnings."""

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from ninja import Field, Schema

from mobile_api.schemas.common import InputSchema


class CaseRefOut(Schema):
    code: str
    state: str
    state_label: str


class CheckOut(Schema):
    result: str
    result_label: str
    amount_seen: Decimal | None
    note: str
    checked_at: datetime
    visit_id: uuid.UUID
    case: CaseRefOut | None = Field(None, description="发现问题时自动立案的诉求(资金问题)")


class PaymentOut(Schema):
    id: int
    item_code: str
    item_name: str
    department: str
    period: str = Field(..., description="所属期:2026-03(月)、2026Q1(季)、2026(年)")
    amount: Decimal
    paid_on: date
    name: str = Field(..., description="持卡人姓名")
    id_number: str = Field(..., description="身份证号(掩码)")
    bank: str
    account_masked: str
    batch: str
    check: CheckOut | None


class VisitRefOut(Schema):
    id: uuid.UUID
    visited_at: datetime


class PaymentsDueOut(Schema):
    household_id: int
    since_visit: VisitRefOut | None = Field(
        None, description="上次走访;列出此后发放(或此后才导入)且尚未核对的补贴"
    )
    payments: list[PaymentOut]


class CheckIn(InputSchema):
    payment_id: int
    result: Literal["seen", "missing", "different"] = Field(
        ..., description="seen 已到账且金额相符;missing 一折通上没有这笔;different 金额不符"
    )
    amount_seen: Decimal | None = Field(
        None, ge=0, lt=1_000_000, decimal_places=2, description="金额不符时,一折通上显示的金额"
    )
    note: str = Field("", max_length=500)


class ChecksIn(InputSchema):
    checks: list[CheckIn] = Field(..., max_length=200)


class SummaryOut(Schema):
    due: int = Field(..., description="本次走访应核对的笔数")
    seen: int
    missing: int
    different: int
    unchecked: int
    complete: bool


class CaseOpenedOut(Schema):
    code: str
    key: str = Field(..., description="查询密钥,只显示这一次:请交给农户,凭查询码和密钥查看办理结果")
    department: str
    payment_ids: list[int]


class ChecksOut(Schema):
    visit_id: uuid.UUID
    passbook_checked: bool = Field(..., description="本次走访应核对的每一笔都已核对")
    summary: SummaryOut
    payments: list[PaymentOut]
    cases_opened: list[CaseOpenedOut] = []


class WarningOut(Schema):
    id: int
    kind: str
    kind_label: str
    region: str
    region_name: str
    item_code: str | None
    item_name: str | None
    period: str
    payment_id: int | None
    household_id: int | None
    household_number: str | None
    detail: dict = Field(..., description="触发预警的数字")
    raised_at: datetime
    open: bool
    closed_at: datetime | None
    closed_by: str | None
    close_note: str


class WarningCloseIn(InputSchema):
    note: str = Field(..., min_length=1, max_length=500, description="核实情况与处理结果")


WarningKindParam = Literal[
    "paid_twice",
    "not_in_register",
    "name_mismatch",
    "after_exit",
    "unpaid",
    "amount_off",
    "village_missing",
]
