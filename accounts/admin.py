"""Users and the audit trail in the admin.

Office users manage the users of their own area only: they never see superusers, cannot
grant superuser status, Django groups or model permissions, and can only pick a region,
unit or helper record of their area. Only system administrators grant the admin role.
"""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from accounts.admin_scoping import RelatedInAreaFilter, RoleScopedAdmin, is_admin_reader
from accounts.models import ApiToken, AuditEntry, User
from accounts.roles import Role
from accounts.scoping import area_prefix

_PERSONAL = ("姓名与联系方式", {"fields": ("first_name", "last_name", "email", "phone")})
_ROLE = ("角色与区域", {"fields": ("role", "region", "unit", "helper")})
_DATES = ("时间", {"fields": ("last_login", "date_joined")})


def manageable(users: QuerySet[User], manager: User) -> QuerySet[User]:
    """The accounts (and so the tokens) `manager` may manage in the admin: a superuser's are
    a superuser's alone, and an office must not reset the administrator above it."""
    if manager.is_superuser:
        return users
    users = users.filter(is_superuser=False)
    return users if manager.role == Role.ADMIN else users.exclude(role=Role.ADMIN)


@admin.register(User)
class UserAdmin(RoleScopedAdmin, DjangoUserAdmin):
    area_path = "region"
    list_display = ("username", "first_name", "role", "region", "is_staff", "is_active")
    list_filter = ("role", "is_staff", "is_active", ("region", RelatedInAreaFilter))
    list_select_related = ("region",)
    search_fields = ("username", "first_name", "last_name", "phone")
    ordering = ("username",)
    readonly_fields = ("last_login", "date_joined")

    fieldsets = (
        (None, {"fields": ("username", "password")}),
        _PERSONAL,
        _ROLE,
        ("权限", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        _DATES,
    )
    office_fieldsets = (
        (None, {"fields": ("username", "password")}),
        _PERSONAL,
        _ROLE,
        ("权限", {"fields": ("is_active", "is_staff")}),
        _DATES,
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "username",
                    "usable_password",
                    "password1",
                    "password2",
                    "first_name",
                    "phone",
                    "role",
                    "region",
                    "is_staff",
                ),
            },
        ),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return manageable(super().get_queryset(request), request.user)

    def get_fieldsets(self, request: HttpRequest, obj=None):
        if obj is None or request.user.is_superuser:
            return super().get_fieldsets(request, obj)
        return self.office_fieldsets

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        formfield = super().formfield_for_foreignkey(db_field, request, **kwargs)
        # Only a superuser may exist without a region (the database insists as well).
        if db_field.name == "region" and not request.user.is_superuser:
            formfield.required = True
        return formfield

    def formfield_for_choice_field(self, db_field, request: HttpRequest, **kwargs):
        user = request.user
        if db_field.name == "role" and not (user.is_superuser or user.role == Role.ADMIN):
            kwargs["choices"] = [c for c in Role.choices if c[0] != Role.ADMIN]
        return super().formfield_for_choice_field(db_field, request, **kwargs)


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only for everyone, superusers included: the trail is append-only."""

    list_display = (
        "at",
        "actor",
        "action",
        "target_type",
        "target_id",
        "region_code",
        "ip_address",
    )
    list_filter = ("action", "target_type")
    list_select_related = ("actor",)
    search_fields = ("target_id", "actor__username", "region_code")
    date_hierarchy = "at"

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditEntry]:
        qs = super().get_queryset(request)
        if not is_admin_reader(request.user):
            return qs.none()
        prefix = area_prefix(request.user)
        return qs if prefix is None else qs.filter(region_code__startswith=prefix)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_admin_reader(request.user)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return is_admin_reader(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(RoleScopedAdmin):
    """The phone app's tokens of the area's users, so an office can cut off a lost phone.

    Tokens are issued only by logging in and never deleted (the record stays); only the
    hash is stored, and it is not shown.
    """

    area_path = "user__region"
    deletable = False
    list_display = (
        "user",
        "device_name",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    )
    list_filter = ("revoked_at", "expires_at")
    list_select_related = ("user",)
    search_fields = ("user__username", "user__first_name", "device_name")
    fields = list_display
    readonly_fields = list_display
    actions = ["revoke"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ApiToken]:
        qs = super().get_queryset(request)
        return qs.filter(user__in=manageable(User.objects.all(), request.user))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="吊销所选令牌", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"已吊销 {count} 个令牌")
