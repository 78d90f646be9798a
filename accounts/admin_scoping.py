"""The Django admin for staff, scoped by area and by role.

Permissions here follow the roles (`accounts.roles`), not Django's per-model
permissions: a town office user with `is_staff` can use the admin without any group or model
permission, and what they may do is decided in one place. Every changelist, change, history
and delete view goes through `get_queryset`, which passes `in_area`; an object outside the
user's area is therefore "not found" (Django redirects to the admin index), never shown.
Foreign-key choices are limited to the area as well, so a form cannot point at another area.
"""

from collections.abc import Callable

from django.contrib import admin
from django.db.models import ForeignKey, Model, QuerySet
from django.http import HttpRequest

from accounts.roles import reads_area, writes_register
from accounts.scoping import in_area
from regions.models import Level, Region

admin.site.site_header = "阳光扶贫+ 管理后台"
admin.site.site_title = "阳光扶贫+ 管理后台"
admin.site.index_title = "台账与系统管理"


def is_admin_reader(user) -> bool:
    """May open the admin and read the area's register (offices, supervisors, admins)."""
    return bool(user.is_active and user.is_staff and (user.is_superuser or reads_area(user)))


class RoleScopedAdmin(admin.ModelAdmin):
    """A ModelAdmin whose rows, choices and permissions follow the user's area and role.

    - `area_path`: lookup from the model to its region (default: the model's `AREA_PATH`);
      None means the model is not area-scoped (every reader sees all of it).
    - `writer`: who may add and change (default: the register writers, i.e. offices and admins).
    - `deletable`: False where history must be kept (pairings end, they are not deleted).
    - `region_levels`: the level a region foreign key must have, e.g. {"village": Level.VILLAGE}.
    """

    area_path: str | None = ""  # "" = use the model's AREA_PATH
    writer: Callable[[object], bool] = staticmethod(writes_register)
    deletable: bool = True
    region_levels: dict[str, Level] = {}

    # --- rows ---------------------------------------------------------------------------
    def scoped_path(self) -> str | None:
        if self.area_path is None:
            return None
        return self.area_path or getattr(self.model, "AREA_PATH", None)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        qs = super().get_queryset(request)
        if not is_admin_reader(request.user):
            return qs.none()
        if self.area_path is None:
            return qs
        return in_area(qs, request.user, path=self.scoped_path())

    # --- permissions --------------------------------------------------------------------
    # Objects reaching these checks were fetched through get_queryset (Django's get_object
    # uses it), so "in the area" is already settled; the checks only decide the role.
    def can_write(self, request: HttpRequest) -> bool:
        user = request.user
        return is_admin_reader(user) and (user.is_superuser or self.writer(user))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_admin_reader(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return is_admin_reader(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self.can_write(request)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self.can_write(request)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self.deletable and self.can_write(request)

    # --- choices ------------------------------------------------------------------------
    def formfield_for_foreignkey(self, db_field: ForeignKey, request: HttpRequest, **kwargs):
        if "queryset" not in kwargs:
            kwargs["queryset"] = self.choices_for(db_field, request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def choices_for(self, db_field: ForeignKey, request: HttpRequest) -> QuerySet:
        """The rows a foreign key may point at: those of the user's area (and level)."""
        related = db_field.remote_field.model
        qs = self.get_field_queryset(None, db_field, request)
        if qs is None:
            qs = related._default_manager.all()
        if hasattr(related, "AREA_PATH"):
            qs = in_area(qs, request.user)
        level = self.region_levels.get(db_field.name)
        if level is not None and related is Region:
            qs = qs.filter(level=level)
        return qs


class RelatedInAreaFilter(admin.RelatedOnlyFieldListFilter):
    """A foreign-key filter listing only the values present in the user's (scoped) rows.

    Django's default filter would list every region in the country in the sidebar.
    """
