"""Subsidy payments through the one card or passbook (惠民惠农补贴"一卡通"), checked at visits.

- `SubsidyItem`: what is paid, by which department, how much a period, to whom.
- `PaymentBatch` and `Payment`: the lists the one-card system exports, loaded all or nothing;
  a batch is loaded once (its digest tells a repeat from a different list under the same code).
- `PaymentCheck`: what the helper saw in the passbook at a visit, one per payment; a payment
  missing or short opens a case (kind 资金问题) in the complaint workflow.
- `PaymentWarning`: what the warning rules (`payments.rules`) found, each raised once (its
  kind and key are unique), with the numbers that raised it.

Only the masked account number is ever stored. The rules are written down in docs/payments.md.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from payments import periods

AMOUNT_MAX = Decimal("1000000.00")
_money = {"max_digits": 12, "decimal_places": 2}


class PeriodKind(models.TextChoices):
    MONTH = periods.MONTH, "按月"
    QUARTER = periods.QUARTER, "按季"
    YEAR = periods.YEAR, "按年"


class Eligibility(models.TextChoices):
    ANY = "any", "符合条件的群众"
    LOW_INCOME = "low_income", "仅低收入户"


class SubsidyItem(models.Model):
    """A subsidy (补贴项目) on the county's list, as the one-card system names it."""

    # Where it applies (a county or a city): the unpaid-period warning is listed there.
    AREA_PATH = "region"

    code = models.CharField("项目编码", max_length=32, unique=True)
    name = models.CharField("项目名称", max_length=100)
    department = models.ForeignKey(
        "register.Unit",
        verbose_name="主管部门",
        on_delete=models.PROTECT,
        related_name="subsidy_items",
        limit_choices_to={"kind": "department"},
    )
    region = models.ForeignKey(
        "regions.Region", verbose_name="实施区划", on_delete=models.PROTECT, related_name="+"
    )
    period_kind = models.CharField("发放周期", max_length=8, choices=PeriodKind.choices)
    standard_amount = models.DecimalField(
        "每期标准(元)",
        **_money,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text="留空表示金额因人而异,不做金额比对",
    )
    eligibility = models.CharField(
        "发放对象", max_length=16, choices=Eligibility.choices, default=Eligibility.ANY
    )
    # Items paid every period: from this day's period on, a period with no payment at all
    # PAYMENT_UNPAID_DAYS after it ended raises a warning (seed 001: 30 days).
    scheduled_from = models.DateField("按期发放起始日期", null=True, blank=True)
    scheduled_until = models.DateField("按期发放截止日期", null=True, blank=True)
    # Items kept secret by law (涉密补贴) are not published on the villages' disclosure pages.
    published = models.BooleanField("公示", default=True)

    class Meta:
        verbose_name = "补贴项目"
        verbose_name_plural = "补贴项目"
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(period_kind__in=[c.value for c in PeriodKind]),
                name="subsidyitem_period_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(scheduled_until__isnull=True)
                | Q(scheduled_from__isnull=False, scheduled_until__gte=models.F("scheduled_from")),
                name="subsidyitem_schedule_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class PaymentBatch(models.Model):
    """One batch of a payment list (发放批次), loaded once."""

    # The smallest region holding every payee of the batch.
    AREA_PATH = "region"

    code = models.CharField("批次号", max_length=64, unique=True)
    region = models.ForeignKey(
        "regions.Region", verbose_name="所属区划", on_delete=models.PROTECT, related_name="+"
    )
    # SHA-256 over the batch's rows, whatever their order: the same batch loaded again (in any
    # order, from CSV or XLSX) changes nothing; other rows under a loaded code are refused.
    digest = models.CharField("内容摘要", max_length=64)
    rows = models.PositiveIntegerField("笔数")
    total = models.DecimalField("金额合计(元)", max_digits=16, decimal_places=2)
    source_name = models.CharField("来源文件", max_length=200)
    loaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="导入人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    loaded_at = models.DateTimeField("导入时间", default=timezone.now)

    class Meta:
        verbose_name = "发放批次"
        verbose_name_plural = "发放批次"
        ordering = ["-loaded_at", "-id"]

    def __str__(self) -> str:
        return self.code


class Payment(models.Model):
    """One payment to one person's card for one item and period, as the bank reported it."""

    AREA_PATH = "village"

    batch = models.ForeignKey(
        PaymentBatch, verbose_name="批次", on_delete=models.PROTECT, related_name="payments"
    )
    line = models.PositiveIntegerField("文件行号")
    item = models.ForeignKey(
        SubsidyItem, verbose_name="补贴项目", on_delete=models.PROTECT, related_name="payments"
    )
    period = models.CharField("所属期", max_length=8)
    period_start = models.DateField("所属期起")
    period_end = models.DateField("所属期止")
    village = models.ForeignKey(
        "regions.Region", verbose_name="村(居)", on_delete=models.PROTECT, related_name="+"
    )
    # The household whose head holds this ID number, or the one the list names by number;
    # empty when the register does not know the person (a warning says so).
    household = models.ForeignKey(
        "register.Household",
        verbose_name="低收入户",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="payments",
    )
    name = models.CharField("姓名", max_length=50)
    id_number = models.CharField("身份证号", max_length=18)
    amount = models.DecimalField("金额(元)", **_money)
    paid_on = models.DateField("发放日期")
    bank = models.CharField("代发银行", max_length=50)
    account_masked = models.CharField("银行账号(掩码)", max_length=32)

    class Meta:
        verbose_name = "补贴发放记录"
        verbose_name_plural = "补贴发放记录"
        ordering = ["-paid_on", "id"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "line"], name="payment_line_once"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
        ]
        indexes = [
            # The helper's list at a visit: a household's payments by date.
            models.Index(fields=["household", "paid_on"], name="payment_household_paid"),
            # A village's disclosure page and overview row.
            models.Index(fields=["village", "item", "period"], name="payment_village_item"),
            # Paid twice: one person, item and period.
            models.Index(fields=["id_number", "item", "period"], name="payment_person_item"),
            models.Index(fields=["item", "period"], name="payment_item_period"),
        ]

    def __str__(self) -> str:
        return f"{self.item_id} {self.period} {self.amount}"


class CheckResult(models.TextChoices):
    SEEN = "seen", "已到账,金额相符"
    MISSING = "missing", "一折通上没有这笔"
    DIFFERENT = "different", "到账金额不符"


class PaymentCheck(models.Model):
    """The helper's reading of one payment in the household's passbook at a visit."""

    AREA_PATH = "village"

    payment = models.OneToOneField(
        Payment, verbose_name="发放记录", on_delete=models.PROTECT, related_name="passbook_check"
    )
    visit = models.ForeignKey(
        "visits.Visit", verbose_name="走访", on_delete=models.PROTECT, related_name="+"
    )
    # The payment's village, for the area rule and the overview without a join.
    village = models.ForeignKey(
        "regions.Region", verbose_name="村(居)", on_delete=models.PROTECT, related_name="+"
    )
    result = models.CharField("核对结果", max_length=16, choices=CheckResult.choices)
    amount_seen = models.DecimalField("一折通显示金额(元)", **_money, null=True, blank=True)
    note = models.CharField("说明", max_length=500, blank=True)
    # The case a discrepancy opened (kind 资金问题), followed in the complaint workflow.
    grievance = models.ForeignKey(
        "grievances.Grievance",
        verbose_name="诉求",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="核对人", on_delete=models.PROTECT, related_name="+"
    )
    checked_at = models.DateTimeField("核对时间", default=timezone.now)

    class Meta:
        verbose_name = "一折通核对"
        verbose_name_plural = "一折通核对"
        ordering = ["-checked_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(result__in=[c.value for c in CheckResult]),
                name="paymentcheck_result_valid",
            ),
            # A different amount says what the passbook showed; the others show nothing else.
            models.CheckConstraint(
                condition=Q(result="different", amount_seen__isnull=False)
                | (~Q(result="different") & Q(amount_seen__isnull=True)),
                name="paymentcheck_amount_when_different",
            ),
            models.CheckConstraint(
                condition=Q(result="seen") | Q(grievance__isnull=False),
                name="paymentcheck_discrepancy_has_case",
            ),
        ]
        indexes = [models.Index(fields=["visit"], name="paymentcheck_visit")]

    def __str__(self) -> str:
        return f"{self.payment_id} {self.result}"

    @property
    def is_discrepancy(self) -> bool:
        return self.result != CheckResult.SEEN


class WarningKind(models.TextChoices):
    PAID_TWICE = "paid_twice", "同一人同一项目同一期重复发放"
    NOT_IN_REGISTER = "not_in_register", "身份证号不在台账中"
    NAME_MISMATCH = "name_mismatch", "姓名与台账不符"
    AFTER_EXIT = "after_exit", "脱贫后仍发放低收入户专项补贴"
    UNPAID = "unpaid", "期满未发放"
    AMOUNT_OFF = "amount_off", "金额与标准不符"
    VILLAGE_MISSING = "village_missing", "同村多户反映未到账"


class PaymentWarning(models.Model):
    """A warning (预警) raised by one rule, once, with the numbers that raised it."""

    AREA_PATH = "region"

    kind = models.CharField("类别", max_length=32, choices=WarningKind.choices)
    # What makes it the same warning when a rule runs again (e.g. the person, item, period).
    key = models.CharField("去重键", max_length=200)
    region = models.ForeignKey(
        "regions.Region", verbose_name="所属区划", on_delete=models.PROTECT, related_name="+"
    )
    item = models.ForeignKey(
        SubsidyItem,
        verbose_name="补贴项目",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    period = models.CharField("所属期", max_length=8, blank=True)
    payment = models.ForeignKey(
        Payment,
        verbose_name="发放记录",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="warnings",
    )
    household = models.ForeignKey(
        "register.Household",
        verbose_name="低收入户",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    detail = models.JSONField("依据", default=dict)
    raised_at = models.DateTimeField("预警时间", default=timezone.now)
    closed_at = models.DateTimeField("处理时间", null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="处理人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    close_note = models.CharField("处理说明", max_length=500, blank=True)

    class Meta:
        verbose_name = "资金预警"
        verbose_name_plural = "资金预警"
        ordering = ["-raised_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "key"], name="paymentwarning_raised_once"),
            models.CheckConstraint(
                condition=Q(kind__in=[c.value for c in WarningKind]),
                name="paymentwarning_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(closed_at__isnull=True, closed_by__isnull=True)
                | Q(closed_at__isnull=False, closed_by__isnull=False),
                name="paymentwarning_closed_consistent",
            ),
        ]
        indexes = [
            models.Index(fields=["region", "-raised_at"], name="paymentwarning_area"),
            models.Index(
                fields=["region"], condition=Q(closed_at__isnull=True), name="paymentwarning_open"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.key}"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None
