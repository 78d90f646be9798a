"""The register (台账) in the admin, scoped to each staff user's area.

Lists never show a full ID number. The change page shows it only to an office user of the
household's area (the rule of `household_id_number_for`), and each such page view is recorded
in the audit trail; everyone else sees it masked. Pairings keep their history: they are
ended (an end date), never deleted, and a saved pairing's helper, household and start stay.
"""

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from accounts.admin_scoping import RelatedInAreaFilter, RoleScopedAdmin
from accounts.roles import is_office, sets_city_rules
from accounts.scoping import code_in_area
from regions.models import Level
from register.models import (
    Helper,
    Household,
    IncomeThreshold,
    Pairing,
    Unit,
    UnitPairing,
    WeakVillage,
)
from register.services import household_id_number_for
from register.validators import mask_id_number


@admin.register(Unit)
class UnitAdmin(RoleScopedAdmin):
    list_display = ("name", "kind", "region", "handles_grievances")
    list_filter = ("kind", "handles_grievances", ("region", RelatedInAreaFilter))
    list_select_related = ("region",)
    search_fields = ("name",)


@admin.register(Helper)
class HelperAdmin(RoleScopedAdmin):
    region_levels = {"region": Level.TOWN}
    list_display = ("name", "phone", "kind", "unit", "region", "active")
    list_filter = ("active", "kind", ("region", RelatedInAreaFilter))
    list_select_related = ("unit", "region")
    search_fields = ("name", "phone")


def _sees_full_id(user, household: Household | None) -> bool:
    # The same rule as register.services.household_id_number_for.
    return (
        household is not None
        and (is_office(user) or user.is_superuser)
        and code_in_area(user, household.village_id)
    )


@admin.register(Household)
class HouseholdAdmin(RoleScopedAdmin):
    region_levels = {"village": Level.VILLAGE}
    list_display = ("number", "head_name", "masked_id_number", "members", "village", "status")
    list_filter = ("status", ("village", RelatedInAreaFilter))
    list_select_related = ("village",)
    # Not the ID number: a search by it would tell a supervisor whose number it is.
    search_fields = ("number", "head_name")
    ordering = ("number",)

    @admin.display(description="户主身份证号")
    def masked_id_number(self, obj: Household) -> str:
        return mask_id_number(obj.id_number)

    def get_fields(self, request: HttpRequest, obj: Household | None = None):
        fields = list(super().get_fields(request, obj))
        if obj is not None and not _sees_full_id(request.user, obj):
            # The form is built from these fields: the full number never reaches the page,
            # not even as a hidden value.
            fields = ["masked_id_number" if f == "id_number" else f for f in fields]
        return [f for i, f in enumerate(fields) if f not in fields[:i]]

    def get_readonly_fields(self, request: HttpRequest, obj: Household | None = None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None and not _sees_full_id(request.user, obj):
            readonly.append("masked_id_number")
        return readonly

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if change and _sees_full_id(request.user, obj):
            # The page about to be sent shows the full number: record who saw it.
            household_id_number_for(user=request.user, household=obj, request=request)
        return super().render_change_form(request, context, add, change, form_url, obj)


@admin.register(WeakVillage)
class WeakVillageAdmin(RoleScopedAdmin):
    region_levels = {"village": Level.VILLAGE}
    list_display = ("village", "designation", "designated_year")
    list_filter = ("designation", "designated_year")
    list_select_related = ("village",)

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        return ("village",) if obj is not None else ()  # the primary key


class PairingForm(forms.ModelForm):
    """A new pairing may not overlap the household's history (end the current one first)."""

    owner_field = "household"

    def clean(self):
        cleaned = super().clean()
        # On change the owner and the start are read-only: take them from the saved pairing.
        owner = cleaned.get(self.owner_field)
        owner_id = (
            owner.pk if owner is not None else getattr(self.instance, f"{self.owner_field}_id")
        )
        start = cleaned.get("start_date", self.instance.start_date)
        end = cleaned.get("end_date")
        if owner_id is None or start is None:
            return cleaned
        if end is not None and end <= start:
            self.add_error("end_date", "结束日期必须晚于开始日期")
            return cleaned
        others = type(self.instance).objects.filter(**{f"{self.owner_field}_id": owner_id})
        if self.instance.pk is not None:
            others = others.exclude(pk=self.instance.pk)
        if others.overlapping(start, end).exists():
            raise forms.ValidationError("该时段已有结对记录,请先为当前结对填写结束日期")
        return cleaned


class UnitPairingForm(PairingForm):
    owner_field = "weak_village"


class _PairingAdminBase(RoleScopedAdmin):
    deletable = False  # visits belong to the pairing that held on their date
    history_fields: tuple[str, ...] = ()

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        return self.history_fields if obj is not None else ()


@admin.register(Pairing)
class PairingAdmin(_PairingAdminBase):
    form = PairingForm
    history_fields = ("helper", "household", "start_date")
    fields = ("helper", "household", "start_date", "end_date")
    list_display = ("household", "helper", "start_date", "end_date")
    list_filter = ("start_date", "end_date")
    list_select_related = ("household", "helper")
    search_fields = ("household__number", "household__head_name", "helper__name")
    raw_id_fields = ("household", "helper")


@admin.register(UnitPairing)
class UnitPairingAdmin(_PairingAdminBase):
    form = UnitPairingForm
    history_fields = ("unit", "weak_village", "start_date")
    fields = ("unit", "weak_village", "start_date", "end_date")
    list_display = ("weak_village", "unit", "start_date", "end_date")
    list_select_related = ("unit", "weak_village__village")


@admin.register(IncomeThreshold)
class IncomeThresholdAdmin(RoleScopedAdmin):
    """The yearly low-income line is one for the whole city: set by the city office."""

    area_path = None
    writer = staticmethod(sets_city_rules)
    deletable = False
    list_display = ("year", "per_person_yuan")
