import datetime as dt
from decimal import Decimal
from uuid import UUID

from ninja import Field, Schema

from mobile_api.schemas.common import InputSchema


class PhotoIn(InputSchema):
    """The form fields sent with the file (multipart/form-data).

    Phones strip the GPS tags from photos picked through a web page or the system photo picker,
    so the app also sends where the phone was and what its clock said at the moment of capture
    (`client_*`). A photo's position is its EXIF GPS when present, else this device position.
    Flags (never refusals): a photo with neither; a device position less accurate than
    `VISIT_MAX_DEVICE_ACCURACY_M`; EXIF GPS and device position farther apart than
    `VISIT_MAX_POSITION_GAP_M`; a device time further than `VISIT_MAX_DEVICE_TIME_GAP_MINUTES`
    from the EXIF capture time. A good device position without EXIF GPS raises nothing."""

    id: UUID = Field(..., description="手机生成的照片编号(UUID),重试时保持不变")
    kind: str = Field(
        ...,
        description="照片类别:location 定位、scene 走访场景、passbook 存折、handbook 帮扶手册、"
        "grievance 诉求附件、spot_check 抽查",
        max_length=16,
    )
    client_lat: Decimal | None = Field(
        None, description="拍摄时手机定位纬度(照片无EXIF GPS时即照片位置)", ge=-90, le=90
    )
    client_lon: Decimal | None = Field(None, description="拍摄时手机定位经度", ge=-180, le=180)
    client_accuracy_m: Decimal | None = Field(
        None, description="手机定位精度(米),超过上限的会被标记为疑点", ge=0
    )
    client_coord_system: str = Field(
        "wgs84", description="手机定位的坐标系:wgs84、gcj02(高德/腾讯)或 bd09(百度)"
    )
    client_taken_at: dt.datetime | None = Field(
        None, description="拍摄时手机的时间(带时区);与EXIF拍摄时间相差过大的会被标记为疑点"
    )


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
