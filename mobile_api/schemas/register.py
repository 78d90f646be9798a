from datetime import date
from decimal import Decimal

from ninja import Field, Schema

from mobile_api.schemas.common import InputSchema, RegionOut
from register.validators import mask_id_number


class HouseholdOut(Schema):
    id: int
    number: str
    head_name: str
    id_number: str = Field(..., description="完整号码仅对本辖区扶贫办显示(并记录审计),其余为掩码")
    phone: str
    members: int
    village: RegionOut
    address: str
    home_lat: Decimal | None
    home_lon: Decimal | None
    status: str
    registered_on: date
    exited_on: date | None
    returned_on: date | None


class HouseholdListOut(HouseholdOut):
    """A list row: the ID number is always masked (the full one only on the audited detail)."""

    @staticmethod
    def resolve_id_number(obj) -> str:
        return mask_id_number(obj.id_number)


class HouseholdPatch(InputSchema):
    head_name: str | None = Field(None, min_length=1, max_length=50)
    phone: str | None = Field(None, max_length=20)
    members: int | None = Field(None, ge=1, le=99)
    address: str | None = Field(None, max_length=200)
    status: str | None = None
    exited_on: date | None = None
    returned_on: date | None = None


class HelperOut(Schema):
    id: int
    name: str
    phone: str
    kind: str
    unit_id: int | None
    region: RegionOut
    active: bool


class HelperPatch(InputSchema):
    name: str | None = Field(None, min_length=1, max_length=50)
    phone: str | None = Field(None, min_length=5, max_length=20)
    active: bool | None = None


class PairingOut(Schema):
    id: int
    helper_id: int
    helper_name: str = Field(..., alias="helper.name")
    household_id: int
    household_number: str = Field(..., alias="household.number")
    start_date: date
    end_date: date | None


class PairingIn(InputSchema):
    household_id: int
    helper_id: int
    start_date: date


class PairingEndIn(InputSchema):
    end_date: date
