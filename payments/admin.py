"""Subsidy items are kept in the admin by offices; batches and payments only come from loads."""

from django.contrib import admin

from accounts.admin_scoping import RoleScopedAdmin
from accounts.roles import manages_payments
from payments.models import PaymentBatch, SubsidyItem


@admin.register(SubsidyItem)
class SubsidyItemAdmin(RoleScopedAdmin):
    writer = staticmethod(manages_payments)
    deletable = False  # payments point at it
    list_display = (
        "code",
        "name",
        "department",
        "period_kind",
        "standard_amount",
        "eligibility",
        "scheduled_from",
        "published",
    )
    list_filter = ("period_kind", "eligibility", "published")
    search_fields = ("code", "name")


@admin.register(PaymentBatch)
class PaymentBatchAdmin(RoleScopedAdmin):
    deletable = False
    list_display = ("code", "region", "rows", "total", "source_name", "loaded_by", "loaded_at")
    search_fields = ("code",)
    readonly_fields = (
        "code", "region", "digest", "rows", "total", "source_name", "loaded_by", "loaded_at",
    )  # fmt: skip

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
