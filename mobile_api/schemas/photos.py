import datetime as dt
from decimal import Decimal
from uuid import UUID

from ninja import Field, Schema

from mobile_api.schemas.common import InputSchema


class PhotoIn(InputSchema):
    """The form fields sent with the file (multipart/form-data)."""

    id: UUID = Field(..., description="手机生成的照片编号(UUID),重试时保持不变")
    kind: str = Field(
        ...,
        description="照片类别:location 定位、scene 走访场景、passbook 存折、handbook 帮扶手册、"
        "grievance 诉求附件、spot_check 抽查",
        max_length=16,
    )
    client_lat: Decimal | None = Field(None, description="手机定位纬度", ge=-90, le=90)
    client_lon: Decimal | None = Field(None, description="手机定位经度", ge=-180, le=180)
    client_accuracy_m: Decimal | None = Field(None, description="定位精度(米)", ge=0)
    client_coord_system: str = Field(
        "wgs84", description="手机定位的坐标系:wgs84、gcj02(高德/腾讯)或 bd09(百度)"
    )
    client_taken_at: dt.datetime | None = Field(None, description="手机记录的拍摄时间")


class PublicPhotoIn(InputSchema):
    id: UUID = Field(..., description="手机或网页生成的照片编号(UUID),重试时保持不变")
    kind: str = Field("grievance", description="只能是 grievance(诉求附件)", max_length=16)


class PhotoOut(Schema):
    id: UUID
    kind: str
    status: str = Field(..., description="received 已接收、processed 已处理、failed 处理失败")
    processing_error: str
    sha256: str
    size_bytes: int
    content_type: str
    width: int | None
    height: int | None
    taken_at: dt.datetime | None = Field(None, description="EXIF 拍摄时间")
    exif_lat: float | None = Field(None, description="EXIF 纬度(WGS-84)")
    exif_lon: float | None = Field(None, description="EXIF 经度(WGS-84)")
    client_lat: float | None = Field(None, description="手机定位纬度(已换算为 WGS-84)")
    client_lon: float | None = Field(None, description="手机定位经度(已换算为 WGS-84)")
    client_accuracy_m: float | None
    client_coord_system: str
    client_taken_at: dt.datetime | None
    phash: str | None
    has_display: bool
    has_thumbnail: bool
    region: str | None = Field(None, description="照片所属区划代码")
    created_at: dt.datetime

    @staticmethod
    def resolve_has_display(obj) -> bool:
        return bool(obj.display)

    @staticmethod
    def resolve_has_thumbnail(obj) -> bool:
        return bool(obj.thumbnail)

    @staticmethod
    def resolve_region(obj) -> str | None:
        return obj.region_id


class PublicPhotoOut(Schema):
    """What an anonymous uploader gets back: the id to cite in the complaint, nothing read
    from the file."""

    id: UUID
    kind: str
    status: str
