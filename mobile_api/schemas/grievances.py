"""Schemas of the grievance endpoints. Staff lists never carry the complainant's identity; the
detail carries it only in `complainant`, filled when the caller may see it (and audited)."""

from datetime import date, datetime
from uuid import UUID

from ninja import Field, Schema

from mobile_api.schemas.common import InputSchema


class GrievanceIn(InputSchema):
    kind: str = Field(
        description="complaint 投诉 / wrongdoing 举报 / help 求助 / enquiry 咨询 / funds 资金问题"
    )
    category: str
    region: str = Field(description="所在区划的12位代码(村、镇或县)")
    text: str = Field(max_length=5000)
    anonymous: bool = False
    name: str = Field("", max_length=50)
    phone: str = Field("", max_length=20)
    household_id: int | None = None
    helper_id: int | None = None
    village: str | None = None
    photo_ids: list[UUID] = Field(default_factory=list, description="先经公开照片接口上传")


class FiledOut(Schema):
    code: str = Field(description="查询码,可以读出来记下")
    key: str = Field(description="查询密钥,只显示这一次")
    accept_due: date


class TrackIn(InputSchema):
    code: str = Field(max_length=20)
    key: str = Field(max_length=20)


class RateIn(TrackIn):
    rating: int = Field(ge=1, le=5)
    comment: str = Field("", max_length=500)


class ReopenIn(TrackIn):
    reason: str = Field(max_length=2000)


class PublicEventOut(Schema):
    at: datetime
    action: str
    action_label: str
    state: str
    note: str


class TrackOut(Schema):
    code: str
    kind: str
    category: str
    state: str
    state_label: str
    submitted_at: datetime
    accept_due: date
    reply_due: date | None
    reply_due_provisional: bool
    result_due: date | None
    result_due_provisional: bool
    reply: str
    replied_at: datetime | None
    result: str
    resolved_at: datetime | None
    closed_at: datetime | None
    rating: int | None
    may_rate: bool
    may_reopen: bool
    timeline: list[PublicEventOut]


class GrievanceRowOut(Schema):
    id: int
    code: str
    kind: str
    category: str
    state: str
    state_label: str
    region: str
    region_name: str
    department_id: int | None
    department_name: str | None
    submitted_at: datetime
    next_due: date | None
    next_due_kind: str
    due_provisional: bool
    overdue: bool
    pressed_count: int


class ComplainantOut(Schema):
    name: str
    phone: str


class DeadlineOut(Schema):
    department_id: int
    department_name: str
    received_at: datetime
    reply_due: date
    reply_due_provisional: bool
    result_due: date
    result_due_provisional: bool
    replied_at: datetime | None
    resolved_at: datetime | None
    returned_at: datetime | None
    current: bool


class EventOut(Schema):
    id: int
    at: datetime
    actor: str | None
    actor_role: str
    action: str
    action_label: str
    from_state: str
    to_state: str
    note: str
    public: bool
    data: dict


class GrievanceDetailOut(GrievanceRowOut):
    text: str
    anonymous: bool
    identity_protected: bool
    complainant: ComplainantOut | None
    household_id: int | None
    helper_id: int | None
    village: str | None
    proposed_department_id: int | None = None
    proposed_department_name: str | None = None
    accept_due: date
    accepted_at: datetime | None
    reject_reason: str
    assigned_at: datetime | None
    reply_due: date | None
    result_due: date | None
    reply: str
    replied_at: datetime | None
    result: str
    resolved_at: datetime | None
    closed_at: datetime | None
    returned_count: int
    reopened_count: int
    rating: int | None
    rating_comment: str
    photo_ids: list[UUID]
    allowed_actions: list[str]
    assignments: list[DeadlineOut]
    timeline: list[EventOut]


class ActionIn(InputSchema):
    action: str = Field(
        description="accept / reject / assign / reassign / return / reply / resolve / close / "
        "send_back / press"
    )
    note: str = Field("", max_length=5000)
    department_id: int | None = None
    category: str | None = None
    kind: str | None = None


class DepartmentOut(Schema):
    id: int
    name: str
    region: str


class StatsRowOut(Schema):
    department_id: int
    department_name: str
    received: int
    replied_on_time: int
    resolved_on_time: int
    overdue_now: int
    returned: int
    avg_reply_workdays: float | None
    avg_resolve_workdays: float | None


class StatsOut(Schema):
    year: int
    quarter: int
    rows: list[StatsRowOut]
