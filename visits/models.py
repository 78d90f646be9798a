"""Quarterly visits to households and weak villages, their photos, income and flags.

A visit's primary key is the UUID the phone generated, so a retried submission finds the visit
it already made; `content_hash` tells a retry (same content) from a conflicting reuse of the key.
Every photo belongs to at most one visit: `VisitPhoto.photo` is one-to-one, so the database
refuses a second use even when two submissions race.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

# A quarter's income in one category above this is a typing error, not an income (yuan).
INCOME_MAX = Decimal("10000000.00")
VILLAGE_INCOME_MAX = Decimal("1000000000.00")
_money = {"max_digits": 12, "decimal_places": 2}
_non_negative = [MinValueValidator(Decimal("0")), MaxValueValidator(INCOME_MAX)]
_signed = [MinValueValidator(-INCOME_MAX), MaxValueValidator(INCOME_MAX)]
_quarter_valid = Q(quarter__gte=1, quarter__lte=4)


class WindowExtension(models.Model):
    """An office's extension of a quarter's entry for one helper, one unit or one area."""

    # The region the extension belongs to for scoping: the helper's or unit's, or the area.
    AREA_PATH = "region"

    year = models.PositiveSmallIntegerField("年度")
    quarter = models.PositiveSmallIntegerField("季度")
    helper = models.ForeignKey(
        "register.Helper",
        verbose_name="帮扶责任人",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="window_extensions",
    )
    unit = models.ForeignKey(
        "register.Unit",
        verbose_name="帮扶单位",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="window_extensions",
    )
    area = models.ForeignKey(
        "regions.Region",
        verbose_name="区域",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    region = models.ForeignKey(
        "regions.Region", verbose_name="所属区划", on_delete=models.PROTECT, related_name="+"
    )
    until = models.DateTimeField("延期至")
    reason = models.CharField("理由", max_length=200)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="批准人", on_delete=models.PROTECT, related_name="+"
    )
    granted_at = models.DateTimeField("批准时间", default=timezone.now)

    class Meta:
        verbose_name = "录入延期"
        verbose_name_plural = "录入延期"
        ordering = ["-granted_at"]
        constraints = [
            models.CheckConstraint(condition=_quarter_valid, name="extension_quarter_valid"),
            # Exactly one target: a helper, a unit, or an area.
            models.CheckConstraint(
                condition=Q(helper__isnull=False, unit__isnull=True, area__isnull=True)
                | Q(helper__isnull=True, unit__isnull=False, area__isnull=True)
                | Q(helper__isnull=True, unit__isnull=True, area__isnull=False),
                name="extension_one_target",
            ),
        ]
        indexes = [models.Index(fields=["year", "quarter", "until"])]

    def __str__(self) -> str:
        return f"{self.year}Q{self.quarter} → {self.until:%Y-%m-%d %H:%M}"


class CoordSystemChoice(models.TextChoices):
    WGS84 = "wgs84", "WGS-84"
    GCJ02 = "gcj02", "GCJ-02"
    BD09 = "bd09", "BD-09"


class _Position(models.Model):
    """Where the visit happened: stored WGS-84, with what the phone sent kept beside it."""

    lat = models.DecimalField("纬度(WGS-84)", max_digits=9, decimal_places=6)
    lon = models.DecimalField("经度(WGS-84)", max_digits=9, decimal_places=6)
    accuracy_m = models.DecimalField(
        "定位精度(米)", max_digits=9, decimal_places=1, null=True, blank=True
    )
    coord_system = models.CharField(
        "上报坐标系", max_length=8, choices=CoordSystemChoice.choices, default="wgs84"
    )
    raw_lat = models.DecimalField("上报纬度", max_digits=9, decimal_places=6)
    raw_lon = models.DecimalField("上报经度", max_digits=9, decimal_places=6)

    class Meta:
        abstract = True


class VisitBase(_Position):
    """What a household visit and a weak-village visit share: the client's key, the village
    (scoping and coverage need no join), who sent it, the quarter it counts for, when it
    happened, the notes, the extension that allowed it, and the request's content hash."""

    AREA_PATH = "village"

    id = models.UUIDField("编号", primary_key=True, editable=False)
    village = models.ForeignKey(
        "regions.Region", verbose_name="村(居)", on_delete=models.PROTECT, related_name="+"
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="提交人", on_delete=models.PROTECT, related_name="+"
    )
    year = models.PositiveSmallIntegerField("年度")
    quarter = models.PositiveSmallIntegerField("季度")
    visited_at = models.DateTimeField("走访时间")
    notes = models.TextField("备注", blank=True, max_length=2000)
    extension = models.ForeignKey(
        WindowExtension,
        verbose_name="所用延期",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    content_hash = models.CharField("请求内容哈希", max_length=64)
    created_at = models.DateTimeField("提交时间", default=timezone.now)

    class Meta:
        abstract = True


class Visit(VisitBase):
    """A helper's visit to a paired household (走访)."""

    household = models.ForeignKey(
        "register.Household",
        verbose_name="低收入户",
        on_delete=models.PROTECT,
        related_name="visits",
    )
    helper = models.ForeignKey(
        "register.Helper",
        verbose_name="帮扶责任人",
        on_delete=models.PROTECT,
        related_name="visits",
    )
    pairing = models.ForeignKey(
        "register.Pairing", verbose_name="结对关系", on_delete=models.PROTECT, related_name="visits"
    )
    wages = models.DecimalField("工资性收入", **_money, validators=_non_negative)
    operating = models.DecimalField("经营性收入", **_money, validators=_signed)
    property = models.DecimalField("财产性收入", **_money, validators=_non_negative)
    transfers = models.DecimalField("转移性收入", **_money, validators=_non_negative)
    passbook_checked = models.BooleanField("已核对一折通")

    class Meta:
        verbose_name = "走访"
        verbose_name_plural = "走访"
        ordering = ["-visited_at", "id"]
        constraints = [
            models.CheckConstraint(condition=_quarter_valid, name="visit_quarter_valid"),
            models.CheckConstraint(
                condition=Q(wages__gte=0, property__gte=0, transfers__gte=0),
                name="visit_income_non_negative",
            ),
        ]
        indexes = [
            models.Index(fields=["household", "year", "quarter"]),
            models.Index(fields=["helper", "visited_at"]),
            models.Index(fields=["year", "quarter", "village"]),
        ]

    def __str__(self) -> str:
        return f"{self.household_id} {self.year}Q{self.quarter} {self.id}"


class VillageVisit(VisitBase):
    """A pairing unit's visit to its weak village, with the village's collective income."""

    weak_village = models.ForeignKey(
        "register.WeakVillage",
        verbose_name="经济薄弱村",
        on_delete=models.PROTECT,
        related_name="visits",
    )
    unit = models.ForeignKey(
        "register.Unit", verbose_name="帮扶单位", on_delete=models.PROTECT, related_name="+"
    )
    unit_pairing = models.ForeignKey(
        "register.UnitPairing", verbose_name="挂钩关系", on_delete=models.PROTECT, related_name="+"
    )
    collective_income = models.DecimalField(
        "村集体收入(本季度)",
        max_digits=14,
        decimal_places=2,
        validators=[
            MinValueValidator(-VILLAGE_INCOME_MAX),
            MaxValueValidator(VILLAGE_INCOME_MAX),
        ],
    )

    class Meta:
        verbose_name = "薄弱村走访"
        verbose_name_plural = "薄弱村走访"
        ordering = ["-visited_at", "id"]
        constraints = [
            models.CheckConstraint(condition=_quarter_valid, name="villagevisit_quarter_valid"),
        ]
        indexes = [models.Index(fields=["weak_village", "year", "quarter"])]

    def __str__(self) -> str:
        return f"{self.weak_village_id} {self.year}Q{self.quarter} {self.id}"


class VisitPhoto(models.Model):
    """A photo attached to one visit (household or village). One use per photo, ever."""

    photo = models.OneToOneField(
        "media.Photo", verbose_name="照片", on_delete=models.PROTECT, related_name="visit_use"
    )
    visit = models.ForeignKey(
        Visit,
        verbose_name="走访",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="visit_photos",
    )
    village_visit = models.ForeignKey(
        VillageVisit,
        verbose_name="薄弱村走访",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="visit_photos",
    )
    kind = models.CharField("类别", max_length=16)

    class Meta:
        verbose_name = "走访照片"
        verbose_name_plural = "走访照片"
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(visit__isnull=False, village_visit__isnull=True)
                | Q(visit__isnull=True, village_visit__isnull=False),
                name="visitphoto_one_visit",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.photo_id}"


class PhotoHash(models.Model):
    """A visit photo's perceptual hash with when and where it was used: what the near-duplicate
    search (`visits.neardup`) loads into memory and checks its candidates against.

    Written once both the photo's hash and its visit exist (whichever comes second), by
    `neardup.photo_hashes_record` only: it appends under a table lock, so `id` order is commit
    order and a worker that has read up to an id has missed nothing below it.
    """

    id = models.BigAutoField(primary_key=True)
    photo = models.OneToOneField(
        "media.Photo", verbose_name="照片", on_delete=models.CASCADE, related_name="+"
    )
    visit = models.ForeignKey(
        Visit,
        verbose_name="走访",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    village_visit = models.ForeignKey(
        VillageVisit,
        verbose_name="薄弱村走访",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    # The household of a household visit (forms are compared within one household only).
    household = models.ForeignKey(
        "register.Household",
        verbose_name="低收入户",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
    )
    village = models.ForeignKey(
        "regions.Region",
        verbose_name="村(居)",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    kind = models.CharField("类别", max_length=16)
    # The 64 bits of `Photo.phash` as a signed integer (what PostgreSQL's bigint holds).
    phash = models.BigIntegerField("感知哈希", db_index=True)
    visited_at = models.DateTimeField("走访时间", db_index=True)

    class Meta:
        verbose_name = "走访照片哈希"
        verbose_name_plural = "走访照片哈希"
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(visit__isnull=False, village_visit__isnull=True)
                | Q(visit__isnull=True, village_visit__isnull=False),
                name="photohash_one_visit",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.photo_id} {self.phash & 0xFFFF_FFFF_FFFF_FFFF:016x}"


class QuarterIncome(models.Model):
    """A household's income for one quarter; a later visit's record replaces it (history kept)."""

    AREA_PATH = "household__village"

    household = models.ForeignKey(
        "register.Household",
        verbose_name="低收入户",
        on_delete=models.PROTECT,
        related_name="quarter_incomes",
    )
    year = models.PositiveSmallIntegerField("年度")
    quarter = models.PositiveSmallIntegerField("季度")
    wages = models.DecimalField("工资性收入", **_money, validators=_non_negative)
    operating = models.DecimalField("经营性收入", **_money, validators=_signed)
    property = models.DecimalField("财产性收入", **_money, validators=_non_negative)
    transfers = models.DecimalField("转移性收入", **_money, validators=_non_negative)
    visit = models.OneToOneField(
        Visit, verbose_name="来源走访", on_delete=models.PROTECT, related_name="income_record"
    )
    # History: a later visit in the same quarter adds a record that `replaces` this one, and
    # this one stops being `current` (the database keeps one current record per quarter).
    replaces = models.OneToOneField(
        "self",
        verbose_name="替代的记录",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="replaced_by",
    )
    current = models.BooleanField("当前有效", default=True)
    recorded_at = models.DateTimeField("记录时间", default=timezone.now)

    class Meta:
        verbose_name = "季度收入"
        verbose_name_plural = "季度收入"
        ordering = ["household_id", "-year", "-quarter", "-recorded_at"]
        constraints = [
            models.CheckConstraint(condition=_quarter_valid, name="income_quarter_valid"),
            # One current record per household and quarter.
            models.UniqueConstraint(
                fields=["household", "year", "quarter"],
                condition=Q(current=True),
                name="income_one_current_per_quarter",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.household_id} {self.year}Q{self.quarter}"

    # (no @property here: the field named `property` shadows the builtin in this class body)
    def total(self) -> Decimal:
        return self.wages + self.operating + self.property + self.transfers

    def categories(self) -> dict[str, Decimal]:
        return {k: getattr(self, k) for k in INCOME_CATEGORIES}


INCOME_CATEGORIES = ("wages", "operating", "property", "transfers")


class FlagKind(models.TextChoices):
    NO_EXIF_TIME = "no_exif_time", "照片无拍摄时间"
    # Raised until the app sent the phone's own position with each photo (phones strip GPS from
    # picked photos, so missing EXIF GPS alone says little); kept for the flags stored then.
    NO_EXIF_GPS = "no_exif_gps", "照片无GPS位置"
    NO_POSITION = "no_position", "照片无位置(无GPS且无手机定位)"
    DEVICE_POSITION_INACCURATE = "device_position_inaccurate", "手机定位精度不足"
    POSITION_MISMATCH = "position_mismatch", "照片GPS与手机定位不一致"
    DEVICE_TIME_MISMATCH = "device_time_mismatch", "手机时间与照片拍摄时间不一致"
    CAPTURE_TIME_GAP = "capture_time_gap", "拍摄时间与走访时间相差过大"
    CAPTURE_OUTSIDE_WINDOW = "capture_outside_window", "拍摄时间不在录入窗口内"
    PHOTO_FAR_FROM_HOME = "photo_far_from_home", "照片位置距住址过远"
    VISIT_FAR_FROM_HOME = "visit_far_from_home", "走访位置距住址过远"
    DUPLICATE_PHOTO = "duplicate_photo", "照片与其他走访重复"
    NEAR_DUPLICATE_PHOTO = "near_duplicate_photo", "照片与其他走访高度相似"
    IMPOSSIBLE_TRAVEL = "impossible_travel", "连续走访间移动速度不合常理"
    INCOME_UNCHANGED = "income_unchanged", "收入与上季度完全相同"
    INCOME_CUMULATIVE = "income_cumulative", "收入疑似累计填报"


class VisitFlag(models.Model):
    """A reason to doubt a visit, with the numbers that raised it. It never blocks the visit."""

    AREA_PATH = "visit__village"

    visit = models.ForeignKey(
        Visit, verbose_name="走访", on_delete=models.CASCADE, related_name="flags"
    )
    kind = models.CharField("类别", max_length=32, choices=FlagKind.choices)
    photo = models.ForeignKey(
        "media.Photo",
        verbose_name="照片",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    detail = models.JSONField("依据", default=dict)
    created_at = models.DateTimeField("发现时间", default=timezone.now)

    class Meta:
        verbose_name = "疑点"
        verbose_name_plural = "疑点"
        ordering = ["visit_id", "kind", "id"]
        constraints = [
            # A flag is raised once per visit, kind and photo, however often a check reruns.
            models.UniqueConstraint(
                fields=["visit", "kind", "photo"],
                condition=Q(photo__isnull=False),
                name="flag_once_per_photo",
            ),
            models.UniqueConstraint(
                fields=["visit", "kind"],
                condition=Q(photo__isnull=True),
                name="flag_once_per_visit",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.visit_id} {self.kind}"


# --- Supervision (spot checks) ---


class SpotCheckDraw(models.Model):
    """A supervisor's random sample of one quarter's visits in an area (art. 31).

    The seed, the flag weight `k` and a digest of the candidates (visit ids with their flag
    counts) are recorded, so the sample can be drawn again and compared: the same seed over
    the same candidates gives the same visits, in the same order.
    """

    AREA_PATH = "region"

    supervisor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="抽查人", on_delete=models.PROTECT, related_name="+"
    )
    region = models.ForeignKey(
        "regions.Region", verbose_name="抽查区域", on_delete=models.PROTECT, related_name="+"
    )
    year = models.PositiveSmallIntegerField("被抽查年度")
    quarter = models.PositiveSmallIntegerField("被抽查季度")
    seed = models.PositiveBigIntegerField("随机种子")
    sample_size = models.PositiveIntegerField("抽取数量")
    flag_weight = models.DecimalField("疑点权重系数k", max_digits=8, decimal_places=3)
    population = models.PositiveIntegerField("候选走访数")
    flagged_population = models.PositiveIntegerField("其中有疑点的")
    candidates_digest = models.CharField("候选集摘要(SHA-256)", max_length=64)
    drawn_at = models.DateTimeField("抽取时间", default=timezone.now)

    class Meta:
        verbose_name = "抽查批次"
        verbose_name_plural = "抽查批次"
        ordering = ["-drawn_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=_quarter_valid, name="spotdraw_quarter_valid"),
            models.CheckConstraint(condition=Q(sample_size__gte=1), name="spotdraw_size_positive"),
        ]
        indexes = [models.Index(fields=["year", "quarter", "region"])]

    def __str__(self) -> str:
        return f"{self.year}Q{self.quarter} {self.region_id} #{self.pk}"


class SpotCheckOutcome(models.TextChoices):
    PENDING = "pending", "待核查"
    CONFIRMED = "confirmed", "核实无误"
    PROBLEM_FOUND = "problem_found", "发现问题"


class SpotCheck(models.Model):
    """One drawn visit and what the supervisor found when checking it."""

    AREA_PATH = "visit__village"

    draw = models.ForeignKey(
        SpotCheckDraw, verbose_name="抽查批次", on_delete=models.CASCADE, related_name="checks"
    )
    visit = models.ForeignKey(
        Visit, verbose_name="走访", on_delete=models.PROTECT, related_name="spot_checks"
    )
    rank = models.PositiveIntegerField("抽中顺序")
    # What the draw saw: the visit's flags then, and the weight they gave it.
    flag_count = models.PositiveIntegerField("抽取时疑点数")
    weight = models.FloatField("抽取权重")
    outcome = models.CharField(
        "核查结果",
        max_length=16,
        choices=SpotCheckOutcome.choices,
        default=SpotCheckOutcome.PENDING,
    )
    notes = models.TextField("核查说明", blank=True, max_length=4000)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="核查人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    checked_at = models.DateTimeField("核查时间", null=True, blank=True)

    class Meta:
        verbose_name = "抽查核查"
        verbose_name_plural = "抽查核查"
        ordering = ["draw_id", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["draw", "visit"], name="spotcheck_visit_once"),
            models.UniqueConstraint(fields=["draw", "rank"], name="spotcheck_rank_once"),
            models.CheckConstraint(
                condition=Q(outcome__in=[choice.value for choice in SpotCheckOutcome]),
                name="spotcheck_outcome_valid",
            ),
            # A recorded outcome says who recorded it and when; a pending one says neither.
            models.CheckConstraint(
                condition=Q(outcome="pending", checked_by__isnull=True, checked_at__isnull=True)
                | (~Q(outcome="pending") & Q(checked_by__isnull=False, checked_at__isnull=False)),
                name="spotcheck_recorded_consistent",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.draw_id}.{self.rank} {self.visit_id} {self.outcome}"


class SpotCheckPhoto(models.Model):
    """A photo the supervisor took while checking (media kind `spot_check`), used once."""

    photo = models.OneToOneField(
        "media.Photo", verbose_name="照片", on_delete=models.PROTECT, related_name="spot_check_use"
    )
    spot_check = models.ForeignKey(
        SpotCheck, verbose_name="抽查核查", on_delete=models.CASCADE, related_name="photos"
    )

    class Meta:
        verbose_name = "核查照片"
        verbose_name_plural = "核查照片"
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.spot_check_id} {self.photo_id}"
