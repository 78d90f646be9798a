"""Photos taken in the field and by residents: the original bytes, what EXIF says, derivatives.

The original is stored untouched and never rewritten (it is evidence); the display copy and
the thumbnail are made later by a background task. The primary key is the UUID the phone
generated, so a retried upload finds the photo it already made.
"""

import uuid
from pathlib import PurePosixPath

from django.conf import settings
from django.db import models
from django.utils import timezone


class PhotoKind(models.TextChoices):
    LOCATION = "location", "定位照片"
    SCENE = "scene", "走访场景"
    PASSBOOK = "passbook", "存折/银行流水"
    HANDBOOK = "handbook", "明白卡/手册"
    GRIEVANCE = "grievance", "诉求附件"
    SPOT_CHECK = "spot_check", "抽查照片"


# The kinds a field visit attaches (visits checks its own rules about them).
VISIT_KINDS = (PhotoKind.LOCATION, PhotoKind.SCENE, PhotoKind.PASSBOOK, PhotoKind.HANDBOOK)


class PhotoStatus(models.TextChoices):
    RECEIVED = "received", "已接收"
    PROCESSED = "processed", "已处理"
    FAILED = "failed", "处理失败"


class ContentType(models.TextChoices):
    JPEG = "image/jpeg", "JPEG"
    PNG = "image/png", "PNG"
    HEIC = "image/heic", "HEIC"


EXTENSIONS = {ContentType.JPEG: "jpg", ContentType.PNG: "png", ContentType.HEIC: "heic"}


def _dated_path(folder: str, photo_id: uuid.UUID, ext: str) -> str:
    # The UUID comes from the client but is never listed anywhere a stranger can read, and
    # nothing is served by URL: every read goes through an endpoint that checks the area.
    now = timezone.localtime()
    return str(PurePosixPath(folder, f"{now:%Y}", f"{now:%m}", f"{photo_id}.{ext}"))


def original_path(instance: "Photo", filename: str) -> str:
    return _dated_path("photos", instance.id, EXTENSIONS.get(instance.content_type, "bin"))


def display_path(instance: "Photo", filename: str) -> str:
    return _dated_path("photos-display", instance.id, "jpg")


def thumbnail_path(instance: "Photo", filename: str) -> str:
    return _dated_path("photos-thumb", instance.id, "jpg")


class Photo(models.Model):
    AREA_PATH = "region"

    id = models.UUIDField("编号", primary_key=True, default=uuid.uuid4, editable=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="上传人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="photos",
    )
    kind = models.CharField("类别", max_length=16, choices=PhotoKind.choices)
    # Null only for an anonymous resident's upload until its grievance is filed: nobody but the
    # grievance that claims it can reach such a photo.
    region = models.ForeignKey(
        "regions.Region",
        verbose_name="所属区划",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="photos",
    )

    original = models.FileField("原图", upload_to=original_path, max_length=200)
    sha256 = models.CharField("SHA-256", max_length=64, db_index=True)
    size_bytes = models.PositiveBigIntegerField("字节数")
    content_type = models.CharField("格式", max_length=32, choices=ContentType.choices)
    width = models.PositiveIntegerField("宽", null=True, blank=True)
    height = models.PositiveIntegerField("高", null=True, blank=True)

    # What the file itself says (EXIF): capture time and WGS-84 position.
    taken_at = models.DateTimeField("拍摄时间(EXIF)", null=True, blank=True)
    exif_lat = models.DecimalField(
        "EXIF纬度", max_digits=9, decimal_places=6, null=True, blank=True
    )
    exif_lon = models.DecimalField(
        "EXIF经度", max_digits=9, decimal_places=6, null=True, blank=True
    )

    # What the phone said when it uploaded (converted to WGS-84; the system it used is kept).
    client_lat = models.DecimalField(
        "手机纬度", max_digits=9, decimal_places=6, null=True, blank=True
    )
    client_lon = models.DecimalField(
        "手机经度", max_digits=9, decimal_places=6, null=True, blank=True
    )
    client_accuracy_m = models.DecimalField(
        "定位精度(米)", max_digits=9, decimal_places=1, null=True, blank=True
    )
    client_coord_system = models.CharField("手机坐标系", max_length=8, blank=True)
    client_taken_at = models.DateTimeField("手机上报拍摄时间", null=True, blank=True)

    # 64-bit perceptual hashes (hex) of the upright image and of its mirror image. Null (not
    # "") until processing has run, as the visits app agreed: `phash__isnull` means "not yet".
    phash = models.CharField("感知哈希", max_length=16, null=True, blank=True, db_index=True)  # noqa: DJ001
    phash_rotated = models.CharField("镜像感知哈希", max_length=16, null=True, blank=True)  # noqa: DJ001

    display = models.FileField("展示图", upload_to=display_path, max_length=200, blank=True)
    thumbnail = models.FileField("缩略图", upload_to=thumbnail_path, max_length=200, blank=True)

    status = models.CharField(
        "状态", max_length=16, choices=PhotoStatus.choices, default=PhotoStatus.RECEIVED
    )
    processing_error = models.TextField("处理错误", blank=True)
    created_at = models.DateTimeField("上传时间", default=timezone.now, db_index=True)

    class Meta:
        verbose_name = "照片"
        verbose_name_plural = "照片"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=[choice.value for choice in PhotoKind]),
                name="photo_kind_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=[choice.value for choice in PhotoStatus]),
                name="photo_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(content_type__in=[choice.value for choice in ContentType]),
                name="photo_content_type_valid",
            ),
            # Only a resident's grievance photo may come without an uploader.
            models.CheckConstraint(
                condition=models.Q(uploaded_by__isnull=False) | models.Q(kind="grievance"),
                name="photo_anonymous_only_grievance",
            ),
        ]
        indexes = [models.Index(fields=["uploaded_by", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.id}"
