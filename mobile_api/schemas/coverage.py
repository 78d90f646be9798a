"""Coverage responses: numbers per region, households and helpers of a village, pending rows.

Plain pydantic models, not ninja's Schema: the views hand them dicts, and Schema's wrapper
that reads attributes off ORM objects ran in Python for every nested object (68 ms of a
village's 1,319 households; 6 ms as plain models).
"""

from datetime import date, datetime

from pydantic import BaseModel, Field

from mobile_api.schemas.common import RegionOut


class CountsOut(BaseModel):
    paired: int = Field(..., description="本季度有结对关系的户数(每户只计一次)")
    visited: int = Field(..., description="本季度至少走访一次的户数")
    pending: int = Field(..., description="未走访户数")
    percent: float | None = Field(..., description="覆盖率(%),无结对户时为空")
    flagged_visits: int = Field(..., description="有疑点的走访次数")
    weak_paired: int = Field(..., description="有挂钩单位的经济薄弱村数")
    weak_visited: int = Field(..., description="本季度已走访的经济薄弱村数")


class AreaOut(CountsOut):
    code: str
    name: str
    level: str


class HelperRefOut(BaseModel):
    id: int
    name: str
    phone: str
    unit: str


class HouseholdCoverageOut(BaseModel):
    id: int
    number: str
    head_name: str
    village: str
    visited: bool
    visit_count: int
    flag_count: int
    last_visited_at: datetime | None
    helper: HelperRefOut | None = Field(
        ..., description="走访当日结对的责任人;未走访时为当前结对责任人"
    )


class HelperCoverageOut(BaseModel):
    helper: HelperRefOut | None
    paired: int
    visited: int
    pending: int
    percent: float | None


class CoverageOut(BaseModel):
    quarter: str
    quarter_label: str
    stale: bool = Field(
        False, description="县级以上:有新数据到达、数字将在几秒内重算(暂为上次计算结果)"
    )
    region: AreaOut
    path: list[RegionOut]
    child_level: str | None
    children: list[AreaOut]
    households: list[HouseholdCoverageOut] | None = Field(None, description="仅村级:每户的走访情况")
    helpers: list[HelperCoverageOut] | None = Field(None, description="仅村级:每位责任人")


class PendingOut(BaseModel):
    pairing_id: int
    household_id: int
    household_number: str
    head_name: str
    village: RegionOut
    helper: HelperRefOut
    pairing_start: date


class PendingPageOut(BaseModel):
    quarter: str
    region: str
    page: int
    page_size: int
    has_next: bool
    items: list[PendingOut]


class TrendPointOut(CountsOut):
    quarter: str
    label: str


class TrendOut(BaseModel):
    region: RegionOut
    points: list[TrendPointOut]
