from datetime import datetime

from ninja import Field, Schema

from mobile_api.schemas.common import InputSchema


class NotificationOut(Schema):
    id: int
    kind: str
    title: str
    body: str
    link: str
    payload: dict
    created_at: datetime
    read: bool = Field(..., description="是否已读")

    @staticmethod
    def resolve_read(obj) -> bool:
        return obj.read_at is not None


class MarkReadIn(InputSchema):
    ids: list[int] | None = Field(
        None, description="要标记已读的消息;不填则全部标记已读", max_length=500
    )


class MarkReadOut(Schema):
    marked: int
