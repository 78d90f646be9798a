import hashlib
import secrets

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone

from accounts.roles import Role


class User(AbstractUser):
    """A person who logs in. Every staff user belongs to one region and sees only its area."""

    role = models.CharField("角色", max_length=32, choices=Role.choices)
    region = models.ForeignKey(
        "regions.Region",
        verbose_name="所属区划",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
    )
    unit = models.ForeignKey(
        "register.Unit",
        verbose_name="所属单位",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
    )
    helper = models.OneToOneField(
        "register.Helper",
        verbose_name="帮扶责任人档案",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="user",
    )
    phone = models.CharField("手机号", max_length=20, blank=True)

    class Meta:
        verbose_name = "用户"
        verbose_name_plural = "用户"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=[choice.value for choice in Role]),
                name="user_role_valid",
            ),
            # A staff user without a region would see nothing or, worse, everything.
            models.CheckConstraint(
                condition=models.Q(is_superuser=True) | models.Q(region__isnull=False),
                name="user_has_region",
            ),
        ]


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """A bearer token for the phone app. Only its SHA-256 is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    key_hash = models.CharField(max_length=64, unique=True)
    device_name = models.CharField("设备", max_length=100)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "接口令牌"
        verbose_name_plural = "接口令牌"

    def __str__(self) -> str:
        return f"{self.user} @ {self.device_name}"

    @staticmethod
    def new_key() -> str:
        return secrets.token_urlsafe(32)

    def is_live(self, now=None) -> bool:
        # accounts.services._token_user_sql says the same in SQL (the hot path).
        now = now or timezone.now()
        return self.revoked_at is None and self.expires_at > now


class AuditAction(models.TextChoices):
    VIEW_ID_NUMBER = "view_id_number", "查看完整身份证号"
    VIEW_COMPLAINANT = "view_complainant", "查看诉求人身份"
    VIEW_PHOTO = "view_photo", "查看照片"
    EXPORT = "export", "导出"
    IMPORT = "import", "导入"
    LOGIN = "login", "登录"


class AuditEntry(models.Model):
    """An append-only record of who saw or exported personal information."""

    actor = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=32, choices=AuditAction.choices)
    target_type = models.CharField(max_length=64)
    target_id = models.CharField(max_length=64)
    region_code = models.CharField(max_length=12, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = "审计记录"
        verbose_name_plural = "审计记录"
        ordering = ["-at"]
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.target_id}"
