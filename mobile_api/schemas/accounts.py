from datetime import datetime

from ninja import Field, Schema

from mobile_api.schemas.common import InputSchema, RegionOut


class TokenIn(InputSchema):
    username: str = Field(..., min_length=1, max_length=150)
    password: str = Field(..., min_length=1, max_length=256)
    device_name: str = Field(..., min_length=1, max_length=100)


class TokenOut(Schema):
    token: str
    token_type: str = "Bearer"
    expires_at: datetime


class UnitRef(Schema):
    id: int
    name: str


class MeOut(Schema):
    id: int
    username: str
    name: str
    role: str
    role_label: str
    region: RegionOut | None
    unit: UnitRef | None
    helper_id: int | None
