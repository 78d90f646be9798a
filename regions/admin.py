"""Regions in the admin: each staff user sees the division tree of their own area.

The tree is the national code list: only system administrators (and superusers) change it.
"""

from django.contrib import admin

from accounts.admin_scoping import RelatedInAreaFilter, RoleScopedAdmin
from accounts.roles import is_system_admin
from regions.models import Region


@admin.register(Region)
class RegionAdmin(RoleScopedAdmin):
    writer = staticmethod(is_system_admin)
    deletable = False  # households, users and visits hang off regions: PROTECT would refuse
    list_display = ("code", "name", "level", "parent")
    list_filter = ("level", ("parent", RelatedInAreaFilter))
    list_select_related = ("parent",)
    search_fields = ("code", "name")
    ordering = ("code",)
    list_per_page = 100

    def get_readonly_fields(self, request, obj=None):
        # The code is the primary key: changing it would make a new region.
        return ("code",) if obj is not None else ()
