"""The register (建档立卡台账): households, weak villages, units, helpers and their pairings.

Pairings keep their history: a pairing holds from `start_date` up to, not including,
`end_date` (open while `end_date` is empty), so a visit belongs to the pairing that held on
its date. At most one pairing of a household (or weak village) is open at a time, enforced by
the database.
"""

from datetime import date

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from register.validators import validate_id_number


class UnitKind(models.TextChoices):
    DEPARTMENT = "department", "机关部门/职能部门"
    ENTERPRISE = "enterprise", "企业"
    SOCIAL = "social", "社会组织"
    GRASSROOTS = "grassroots", "镇村"


class Unit(models.Model):
    """A unit helpers belong to; departments also pair with weak villages and handle cases."""

    AREA_PATH = "region"

    name = models.CharField("单位名称", max_length=100)
    kind = models.CharField("类型", max_length=16, choices=UnitKind.choices)
    region = models.ForeignKey("regions.Region", verbose_name="所属区划", on_delete=models.PROTECT)
    handles_grievances = models.BooleanField("承办诉求", default=False)

    class Meta:
        verbose_name = "单位"
        verbose_name_plural = "单位"
        ordering = ["region_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["region", "name"], name="unit_unique_name_in_region"),
        ]

    def __str__(self) -> str:
        return self.name


class HelperKind(models.TextChoices):
    CADRE = "cadre", "机关干部"
    VILLAGE_CADRE = "village_cadre", "村干部"
    ENTREPRENEUR = "entrepreneur", "企业家"
    EMPLOYEE = "employee", "企业干部职工"
    VOLUNTEER = "volunteer", "社会爱心人士"


class Helper(models.Model):
    """A helper (帮扶责任人), registered by the town (art. 18)."""

    AREA_PATH = "region"

    name = models.CharField("姓名", max_length=50)
    phone = models.CharField("手机号", max_length=20)
    kind = models.CharField("类别", max_length=16, choices=HelperKind.choices)
    unit = models.ForeignKey(
        Unit,
        verbose_name="所在单位",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="helpers",
    )
    region = models.ForeignKey(
        "regions.Region",
        verbose_name="登记镇(街道)",
        on_delete=models.PROTECT,
        related_name="helpers",
    )
    active = models.BooleanField("在岗", default=True)

    class Meta:
        verbose_name = "帮扶责任人"
        verbose_name_plural = "帮扶责任人"
        ordering = ["region_id", "name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["phone"], name="helper_unique_phone"),
        ]

    def __str__(self) -> str:
        return self.name


class HouseholdStatus(models.TextChoices):
    ACTIVE = "active", "在册"
    EXITED = "exited", "已脱贫"
    RETURNED = "returned", "返贫"


class Household(models.Model):
    """A registered low-income household (建档立卡低收入户)."""

    AREA_PATH = "village"

    number = models.CharField("户编号", max_length=32, unique=True)
    head_name = models.CharField("户主姓名", max_length=50)
    id_number = models.CharField("户主身份证号", max_length=18, validators=[validate_id_number])
    phone = models.CharField("联系电话", max_length=20, blank=True)
    members = models.PositiveSmallIntegerField("家庭人口", validators=[MinValueValidator(1)])
    village = models.ForeignKey(
        "regions.Region",
        verbose_name="所在村(居)",
        on_delete=models.PROTECT,
        related_name="households",
    )
    address = models.CharField("住址", max_length=200, blank=True)
    # WGS-84, as phones' GPS reports it; GCJ-02 or BD-09 input is converted before storing.
    home_lat = models.DecimalField(
        "住址纬度(WGS-84)", max_digits=9, decimal_places=6, null=True, blank=True
    )
    home_lon = models.DecimalField(
        "住址经度(WGS-84)", max_digits=9, decimal_places=6, null=True, blank=True
    )
    status = models.CharField(
        "状态", max_length=16, choices=HouseholdStatus.choices, default=HouseholdStatus.ACTIVE
    )
    registered_on = models.DateField("建档日期", default=date.today)
    exited_on = models.DateField("脱贫日期", null=True, blank=True)
    returned_on = models.DateField("返贫日期", null=True, blank=True)

    class Meta:
        verbose_name = "低收入户"
        verbose_name_plural = "低收入户"
        ordering = ["number"]
        constraints = [
            models.CheckConstraint(condition=Q(members__gte=1), name="household_members_positive"),
            models.CheckConstraint(
                condition=Q(status__in=[choice.value for choice in HouseholdStatus]),
                name="household_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(home_lat__isnull=True, home_lon__isnull=True)
                | Q(home_lat__gte=-90, home_lat__lte=90, home_lon__gte=-180, home_lon__lte=180),
                name="household_home_in_range",
            ),
        ]
        indexes = [
            models.Index(fields=["village", "status"]),
            # The coverage pages list a region's households in this order.
            models.Index(fields=["village", "number"], name="household_village_number"),
            # Subsidy payment lists name the person by ID number (payments app).
            models.Index(fields=["id_number"], name="household_id_number"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.head_name}"


class Designation(models.TextChoices):
    PROVINCE = "province", "省定"
    CITY = "city", "市定"


class WeakVillage(models.Model):
    """An economically weak village (经济薄弱村), paired with a unit."""

    AREA_PATH = "village"

    village = models.OneToOneField(
        "regions.Region",
        verbose_name="村",
        primary_key=True,
        on_delete=models.PROTECT,
        related_name="weak_village",
    )
    designation = models.CharField("认定级别", max_length=16, choices=Designation.choices)
    designated_year = models.PositiveSmallIntegerField("认定年度")

    class Meta:
        verbose_name = "经济薄弱村"
        verbose_name_plural = "经济薄弱村"
        ordering = ["village_id"]

    def __str__(self) -> str:
        return str(self.village)


class PairingQuerySet(models.QuerySet):
    def held_on(self, day: date) -> "PairingQuerySet":
        """Pairings in force on `day` (start inclusive, end exclusive)."""
        return self.filter(start_date__lte=day).filter(
            Q(end_date__isnull=True) | Q(end_date__gt=day)
        )

    def overlapping(self, start: date, end: date | None) -> "PairingQuerySet":
        """Pairings that share at least one day with [start, end)."""
        qs = self.filter(Q(end_date__isnull=True) | Q(end_date__gt=start))
        if end is not None:
            qs = qs.filter(start_date__lt=end)
        return qs


class Pairing(models.Model):
    """Helper ↔ household, for a period."""

    AREA_PATH = "household__village"

    helper = models.ForeignKey(
        Helper, verbose_name="帮扶责任人", on_delete=models.PROTECT, related_name="pairings"
    )
    household = models.ForeignKey(
        Household, verbose_name="低收入户", on_delete=models.PROTECT, related_name="pairings"
    )
    start_date = models.DateField("开始日期")
    end_date = models.DateField("结束日期(不含)", null=True, blank=True)

    objects = PairingQuerySet.as_manager()

    class Meta:
        verbose_name = "结对关系"
        verbose_name_plural = "结对关系"
        ordering = ["household_id", "start_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["household"],
                condition=Q(end_date__isnull=True),
                name="pairing_one_open_per_household",
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gt=models.F("start_date")),
                name="pairing_end_after_start",
            ),
        ]
        indexes = [
            models.Index(fields=["helper", "start_date"]),
            # Covers "which pairing held on this day / overlaps this quarter" from the index alone.
            models.Index(
                fields=["household", "start_date", "end_date"], name="pairing_household_period"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.helper} ↔ {self.household}"


class UnitPairing(models.Model):
    """Pairing unit ↔ weak village, for a period."""

    AREA_PATH = "weak_village__village"

    unit = models.ForeignKey(
        Unit, verbose_name="帮扶单位", on_delete=models.PROTECT, related_name="village_pairings"
    )
    weak_village = models.ForeignKey(
        WeakVillage, verbose_name="经济薄弱村", on_delete=models.PROTECT, related_name="pairings"
    )
    start_date = models.DateField("开始日期")
    end_date = models.DateField("结束日期(不含)", null=True, blank=True)

    objects = PairingQuerySet.as_manager()

    class Meta:
        verbose_name = "单位挂钩关系"
        verbose_name_plural = "单位挂钩关系"
        ordering = ["weak_village_id", "start_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["weak_village"],
                condition=Q(end_date__isnull=True),
                name="unitpairing_one_open_per_village",
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gt=models.F("start_date")),
                name="unitpairing_end_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.unit} ↔ {self.weak_village}"


class IncomeThreshold(models.Model):
    """The year's low-income line: annual income per person below it (art. 8: 7,000 yuan)."""

    year = models.PositiveSmallIntegerField("年度", primary_key=True)
    per_person_yuan = models.DecimalField("人均年收入标准(元)", max_digits=10, decimal_places=2)

    class Meta:
        verbose_name = "低收入标准"
        verbose_name_plural = "低收入标准"
        ordering = ["-year"]

    def __str__(self) -> str:
        return f"{self.year}: {self.per_person_yuan}"
