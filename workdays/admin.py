"""The calendar in the admin: the loaded years, their special days, and the yearly upload.

Days change only through a load ("载入年度日历", the same service as `manage.py load_calendar`),
never by editing rows one by one: a load checks the whole file, is atomic, and tells the
grievances app to recompute provisional deadlines.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from accounts.admin_scoping import is_admin_reader
from accounts.roles import loads_calendar
from workdays.models import CalendarYear, SpecialDay
from workdays.services import CalendarFileInvalid, calendar_load

# An upload is a few dozen rows; anything bigger is the wrong file.
MAX_UPLOAD_BYTES = 1024 * 1024


def can_load_calendar(user) -> bool:
    return bool(user.is_active and user.is_staff and loads_calendar(user))


class CalendarUploadForm(forms.Form):
    year = forms.IntegerField(label="年度", min_value=2000, max_value=2100)
    source = forms.CharField(
        label="来源",
        max_length=200,
        required=False,
        help_text="例如:国办发明电〔2026〕X号",
    )
    file = forms.FileField(
        label="文件",
        help_text="CSV 或 XLSX,列:date(YYYY-MM-DD)、kind(holiday/休 或 workday/班)、name(节日)",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["year"].initial = timezone.localdate().year + 1

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError("文件过大,年度日历文件不应超过 1 MB")
        if not upload.name.lower().endswith((".csv", ".xlsx")):
            raise forms.ValidationError("只接受 .csv 或 .xlsx 文件")
        return upload


class _ReadOnlyCalendarAdmin(admin.ModelAdmin):
    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_admin_reader(request.user) or can_load_calendar(request.user)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(CalendarYear)
class CalendarYearAdmin(_ReadOnlyCalendarAdmin):
    change_list_template = "admin/workdays/calendaryear/change_list.html"
    list_display = ("year", "published", "source", "loaded_by", "loaded_at")
    list_select_related = ("loaded_by",)

    def get_urls(self):
        load = path(
            "load/",
            self.admin_site.admin_view(self.load_view),
            name="workdays_calendaryear_load",
        )
        return [load, *super().get_urls()]

    def changelist_view(self, request: HttpRequest, extra_context=None):
        extra_context = {**(extra_context or {}), "can_load": can_load_calendar(request.user)}
        return super().changelist_view(request, extra_context)

    def load_view(self, request: HttpRequest) -> HttpResponse:
        if not can_load_calendar(request.user):
            raise PermissionDenied
        problems: list[dict] = []
        form = CalendarUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                report = calendar_load(
                    rows_or_file=upload,
                    year=form.cleaned_data["year"],
                    source=form.cleaned_data["source"] or upload.name,
                    user=request.user,
                    filename=upload.name,
                )
            except CalendarFileInvalid as exc:
                problems = exc.detail.get("errors", [])
                messages.error(request, exc.message)
            else:
                for i, line in enumerate(report.lines()):
                    (messages.success if i == 0 else messages.info)(request, line)
                return HttpResponseRedirect(reverse("admin:workdays_calendaryear_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "载入年度日历",
            "form": form,
            "problems": problems,
        }
        return TemplateResponse(request, "admin/workdays/calendaryear/load.html", context)


@admin.register(SpecialDay)
class SpecialDayAdmin(_ReadOnlyCalendarAdmin):
    list_display = ("date", "weekday", "kind", "name")
    list_filter = ("kind", "name")
    date_hierarchy = "date"
    search_fields = ("name",)
    list_per_page = 100

    @admin.display(description="星期")
    def weekday(self, obj: SpecialDay) -> str:
        return "一二三四五六日"[obj.date.weekday()]
