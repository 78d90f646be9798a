"""Supervision over the API: the risk list, spot-check draws and their outcomes."""

import uuid
from datetime import datetime
from typing import Literal

from ninja import Field, Schema

from mobile_api.schemas.common import InputSchema


class RiskFlagOut(Schema):
    kind: str
    label: str
    severity: int
    photo_id: uuid.UUID | None
    detail: dict = Field(..., description="疑点依据的数字(距离、时间差、相似度等)")


class RiskVisitOut(Schema):
    id: uuid.UUID
    quarter: str
    visited_at: datetime
    household_id: int
    household_number: str = Field(..., alias="household.number")
    head_name: str = Field(..., alias="household.head_name")
    village: str = Field(..., alias="village_id")
    village_name: str = Field(..., alias="village.name")
    helper_id: int
    helper_name: str = Field(..., alias="helper.name")
    flag_count: int
    risk_score: int = Field(..., description="疑点严重程度之和(越大越可疑)")
    spot_check_outcome: str | None = Field(None, description="最近一次抽查核查结果")
    flags: list[RiskFlagOut]

    @staticmethod
    def resolve_quarter(obj) -> str:
        return f"{obj.year}Q{obj.quarter}"

    @staticmethod
    def resolve_flags(obj) -> list[dict]:
        from supervision.services import SEVERITY

        return [
            {
                "kind": f.kind,
                "label": f.get_kind_display(),
                "severity": SEVERITY.get(f.kind, 1),
                "photo_id": f.photo_id,
                "detail": f.detail,
            }
            for f in obj.flags.all()
        ]


class DrawIn(InputSchema):
    size: int = Field(..., ge=1, description="抽取数量")
    region: str | None = Field(
        None, pattern=r"^\d{12}$", description="抽查区域(默认本人所属区域,须在本人辖区内)"
    )


class CheckOut(Schema):
    id: int
    draw_id: int
    rank: int
    visit_id: uuid.UUID
    visit_quarter: str
    visited_at: datetime = Field(..., alias="visit.visited_at")
    household_number: str = Field(..., alias="visit.household.number")
    village: str = Field(..., alias="visit.village_id")
    village_name: str = Field(..., alias="visit.village.name")
    helper_name: str = Field(..., alias="visit.helper.name")
    flag_count: int = Field(..., description="抽取时的疑点数")
    weight: float = Field(..., description="抽取时的权重 1 + k × 疑点数")
    outcome: str
    outcome_label: str
    notes: str
    checked_by: str | None
    checked_at: datetime | None
    photo_ids: list[uuid.UUID]

    @staticmethod
    def resolve_visit_quarter(obj) -> str:
        return f"{obj.visit.year}Q{obj.visit.quarter}"

    @staticmethod
    def resolve_outcome_label(obj) -> str:
        return obj.get_outcome_display()

    @staticmethod
    def resolve_checked_by(obj) -> str | None:
        user = obj.checked_by
        return (user.get_full_name() or user.username) if user else None

    @staticmethod
    def resolve_photo_ids(obj) -> list[uuid.UUID]:
        return [p.photo_id for p in obj.photos.all()]


class DrawOut(Schema):
    id: int
    quarter: str = Field(..., description="被抽查的季度(上一季度)")
    region: str = Field(..., alias="region_id")
    region_name: str = Field(..., alias="region.name")
    supervisor: str
    seed: str = Field(..., description="随机种子(字符串,避免大整数精度丢失)")
    sample_size: int
    flag_weight: float = Field(..., description="k:权重 = 1 + k × 疑点数")
    population: int = Field(..., description="候选走访数")
    flagged_population: int
    candidates_digest: str
    drawn_at: datetime
    checked: int = 0
    problems: int = 0

    @staticmethod
    def resolve_quarter(obj) -> str:
        return f"{obj.year}Q{obj.quarter}"

    @staticmethod
    def resolve_supervisor(obj) -> str:
        return obj.supervisor.get_full_name() or obj.supervisor.username

    @staticmethod
    def resolve_seed(obj) -> str:
        return str(obj.seed)


class DrawDetailOut(DrawOut):
    checks: list[CheckOut]

    @staticmethod
    def resolve_checks(obj) -> list:
        return list(obj.checks.all())


class VerifyOut(Schema):
    same_data: bool = Field(..., description="候选走访及疑点数与抽取时一致")
    same_sample: bool = Field(..., description="用记录的种子重新抽取,结果与记录一致")
    visit_ids: list[uuid.UUID]


class CheckIn(InputSchema):
    outcome: Literal["confirmed", "problem_found"]
    notes: str = Field("", max_length=4000)
    photo_ids: list[uuid.UUID] = Field(
        [], max_length=20, description="以 spot_check 类别上传的照片"
    )
