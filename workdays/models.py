"""The working-day calendar: the State Council's holidays and make-up working days (调休).

Only the days that differ from the weekly rhythm are stored: holidays (rest days, weekends
inside a holiday included) and make-up working weekends. A year counts only once it is
published; for a year that is not, weekends are rest days and every answer is provisional.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone


class DayKind(models.TextChoices):
    HOLIDAY = "holiday", "休"
    WORKDAY = "workday", "班"


class SpecialDay(models.Model):
    date = models.DateField("日期", primary_key=True)
    kind = models.CharField("类型", max_length=8, choices=DayKind.choices)
    name = models.CharField("节日", max_length=50, blank=True)

    class Meta:
        verbose_name = "节假日调整"
        verbose_name_plural = "节假日调整"
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()} {self.name}"


class CalendarYear(models.Model):
    year = models.PositiveSmallIntegerField("年度", primary_key=True)
    published = models.BooleanField("已发布", default=False)
    source = models.CharField("来源", max_length=200, blank=True)
    loaded_at = models.DateTimeField("载入时间", default=timezone.now)
    # The December days of the year before that this year's file corrected, as loaded
    # ([{"date", "kind", "name"}]): reloading the year before must not lose them.
    corrections = models.JSONField("对上年12月的更正", default=list, blank=True)
    loaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="载入人",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = "日历年度"
        verbose_name_plural = "日历年度"
        ordering = ["-year"]

    def __str__(self) -> str:
        return str(self.year)
