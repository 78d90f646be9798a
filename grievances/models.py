"""Complaints and requests for help (诉求): the case, its assignments, its timeline, its photos.

A case moves only through `grievances.workflow.transition`. The case row keeps the current
state and the one deadline that is pending now (`next_due`), so the overdue scan and the
department queue are index lookups; each assignment to a department keeps its own deadlines and
outcome in `GrievanceAssignment`, which is the history (a reassignment starts a new row and the
old one stays) and the source of the statistics.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Kind(models.TextChoices):
    COMPLAINT = "complaint", "投诉"
    WRONGDOING = "wrongdoing", "举报(违纪违规问题)"
    HELP = "help", "求助"
    ENQUIRY = "enquiry", "咨询"
    # Opened on its own when a helper finds a subsidy payment missing or short in the
    # household's passbook (payments app); residents may choose it too.
    FUNDS = "funds", "资金问题"


class Category(models.TextChoices):
    IDENTIFICATION = "identification", "低收入户认定"
    HELPER = "helper", "帮扶责任人履职"
    FUNDS = "funds", "扶贫资金使用"
    PROJECT = "project", "扶贫项目"
    POLICY = "policy", "政策落实"
    LIVING = "living", "生活困难求助"
    OTHER = "other", "其他"


class State(models.TextChoices):
    SUBMITTED = "submitted", "待受理"
    ACCEPTED = "accepted", "已受理待交办"
    REJECTED = "rejected", "不予受理"
    ASSIGNED = "assigned", "已交办待回复"
    RETURNED = "returned", "部门退回待重新交办"
    REPLIED = "replied", "已回复调查中"
    RESOLVED = "resolved", "已报结果待审核"
    CLOSED = "closed", "已办结"
    REOPENED = "reopened", "群众申请重新办理"


# States in which the case is still being handled (not finished).
OPEN_STATES = (
    State.SUBMITTED,
    State.ACCEPTED,
    State.ASSIGNED,
    State.RETURNED,
    State.REPLIED,
    State.RESOLVED,
    State.REOPENED,
)
# States with a running deadline, kept in `next_due`.
DUE_STATES = (State.SUBMITTED, State.ASSIGNED, State.REPLIED)


class DueKind(models.TextChoices):
    ACCEPT = "accept", "受理期限"
    REPLY = "reply", "回复期限"
    RESULT = "result", "办结期限"


class Grievance(models.Model):
    AREA_PATH = "region"

    code = models.CharField("查询码", max_length=10, unique=True)
    # SHA-256 of the secret key: the key itself is shown once and never stored.
    key_hash = models.CharField(max_length=64)
    kind = models.CharField("类型", max_length=16, choices=Kind.choices)
    category = models.CharField("分类", max_length=16, choices=Category.choices)
    state = models.CharField("状态", max_length=16, choices=State.choices, default=State.SUBMITTED)
    region = models.ForeignKey(
        "regions.Region", verbose_name="所属区划", on_delete=models.PROTECT, related_name="+"
    )
    household = models.ForeignKey(
        "register.Household",
        verbose_name="涉及农户",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    helper = models.ForeignKey(
        "register.Helper",
        verbose_name="涉及帮扶责任人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    village = models.ForeignKey(
        "regions.Region",
        verbose_name="涉及村(居)",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    text = models.TextField("诉求内容")

    anonymous = models.BooleanField("匿名", default=False)
    # Identity: read only through `services.complainant_identity_for`, which audits each view.
    name = models.CharField("诉求人姓名", max_length=50, blank=True)
    phone = models.CharField("联系电话", max_length=20, blank=True)

    submitted_at = models.DateTimeField("提交时间", default=timezone.now)
    accept_due = models.DateField("受理期限")
    accept_due_provisional = models.BooleanField(default=False)
    accepted_at = models.DateTimeField("受理时间", null=True, blank=True)
    reject_reason = models.TextField("不予受理理由", blank=True)

    department = models.ForeignKey(
        "register.Unit",
        verbose_name="承办部门",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="grievances",
    )
    # Who filed it suggests the department (a subsidy item's department for a payment found
    # missing); the office still assigns, and the assign form starts from this one.
    proposed_department = models.ForeignKey(
        "register.Unit",
        verbose_name="建议承办部门",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    assigned_at = models.DateTimeField("交办(部门收到)时间", null=True, blank=True)
    reply_due = models.DateField("回复期限", null=True, blank=True)
    reply_due_provisional = models.BooleanField(default=False)
    result_due = models.DateField("办结期限", null=True, blank=True)
    result_due_provisional = models.BooleanField(default=False)
    replied_at = models.DateTimeField("回复时间", null=True, blank=True)
    reply_text = models.TextField("受理回复", blank=True)
    resolved_at = models.DateTimeField("报结时间", null=True, blank=True)
    result_text = models.TextField("调查处理结果", blank=True)
    closed_at = models.DateTimeField("办结时间", null=True, blank=True)

    returned_count = models.PositiveSmallIntegerField("退回次数", default=0)
    reopened_count = models.PositiveSmallIntegerField("重新办理次数", default=0)
    rating = models.PositiveSmallIntegerField("满意度评分", null=True, blank=True)
    rating_comment = models.CharField("评价", max_length=500, blank=True)
    rated_at = models.DateTimeField(null=True, blank=True)
    pressed_count = models.PositiveIntegerField("督办次数", default=0)
    last_pressed_at = models.DateTimeField(null=True, blank=True)

    # The pending deadline now (accept, reply or result), for scans and queues; null when none.
    next_due = models.DateField("当前期限", null=True, blank=True)
    next_due_kind = models.CharField(max_length=8, choices=DueKind.choices, blank=True)
    # Reset whenever `next_due` changes: each deadline is warned about and escalated once.
    warned = models.BooleanField(default=False)
    overdue = models.BooleanField("超期", default=False)
    overdue_since = models.DateTimeField(null=True, blank=True)
    # Any deadline of this case computed in an unpublished calendar year.
    due_provisional = models.BooleanField(default=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "诉求"
        verbose_name_plural = "诉求"
        ordering = ["-submitted_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=[c.value for c in State]), name="grievance_state_valid"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=[c.value for c in Kind]), name="grievance_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(returned_count__lte=1), name="grievance_returned_once"
            ),
            models.CheckConstraint(
                condition=Q(reopened_count__lte=1), name="grievance_reopened_once"
            ),
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5),
                name="grievance_rating_range",
            ),
            # A named case says who files it; an anonymous one may leave only a contact phone.
            models.CheckConstraint(
                condition=Q(anonymous=True) | (~Q(name="") & ~Q(phone="")),
                name="grievance_named_has_identity",
            ),
            models.CheckConstraint(
                condition=Q(department__isnull=True) | Q(assigned_at__isnull=False),
                name="grievance_department_has_receipt",
            ),
        ]
        indexes = [
            # The overdue and warning scans: open cases with a running deadline not yet
            # escalated, by due date. Small, because most cases are finished.
            # (next_due, id) is the scan's whole ORDER BY, so a batch stops after its LIMIT;
            # the predicate matches the scan's filter exactly, or PostgreSQL prefers the
            # department index and reads every open case (measured: 50 ms against 8 ms).
            models.Index(
                fields=["next_due", "id"],
                condition=Q(
                    next_due__isnull=False,
                    overdue=False,
                    state__in=["submitted", "assigned", "replied"],
                ),
                name="grievance_open_due",
            ),
            # A department's queue: its cases in a state, by deadline.
            models.Index(
                fields=["department", "state", "next_due"], name="grievance_dept_state_due"
            ),
            # An office's queue: the area (prefix of region) and state, newest first.
            models.Index(fields=["region", "state", "-submitted_at"], name="grievance_area_state"),
            models.Index(
                fields=["id"], condition=Q(due_provisional=True), name="grievance_provisional"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.display_code} {self.get_state_display()}"

    @property
    def display_code(self) -> str:
        return format_code(self.code)

    @property
    def identity_protected(self) -> bool:
        """Anonymous cases and reports of wrongdoing: only the area's office sees who filed."""
        return self.anonymous or self.kind == Kind.WRONGDOING

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


def format_code(code: str) -> str:
    """`K7QM4XPD9T` → `K7QM-4XPD-9T`: easy to read aloud and to type back."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


class GrievanceAssignment(models.Model):
    """One assignment of a case to a department, with its deadlines and what became of it.

    Receipt is the assignment time; the reply is due 5 and the result 10 working days after the
    day of receipt. A return or a reassignment ends the row (`current=False`) but keeps it.
    """

    AREA_PATH = "grievance__region"

    grievance = models.ForeignKey(Grievance, on_delete=models.CASCADE, related_name="assignments")
    department = models.ForeignKey(
        "register.Unit", verbose_name="承办部门", on_delete=models.PROTECT, related_name="+"
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    received_at = models.DateTimeField("收到时间")
    reply_due = models.DateField("回复期限")
    reply_due_provisional = models.BooleanField(default=False)
    result_due = models.DateField("办结期限")
    result_due_provisional = models.BooleanField(default=False)
    replied_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    returned_at = models.DateTimeField(null=True, blank=True)
    # Working days from the day of receipt, fixed when the step is done (statistics average them).
    reply_workdays = models.PositiveSmallIntegerField(null=True, blank=True)
    resolve_workdays = models.PositiveSmallIntegerField(null=True, blank=True)
    current = models.BooleanField(default=True)

    class Meta:
        verbose_name = "交办记录"
        verbose_name_plural = "交办记录"
        ordering = ["received_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["grievance"], condition=Q(current=True), name="grievance_one_current"
            ),
        ]
        indexes = [models.Index(fields=["department", "received_at"], name="assignment_dept_recv")]

    def __str__(self) -> str:
        return f"{self.grievance_id} → {self.department_id} @ {self.received_at:%Y-%m-%d}"


class Action(models.TextChoices):
    SUBMIT = "submit", "提交诉求"
    ACCEPT = "accept", "受理并分类"
    REJECT = "reject", "不予受理"
    ASSIGN = "assign", "交办"
    REASSIGN = "reassign", "重新交办"
    RETURN = "return", "部门退回"
    REPLY = "reply", "受理回复"
    RESOLVE = "resolve", "报送调查处理结果"
    CLOSE = "close", "审核办结"
    SEND_BACK = "send_back", "退回重办"
    RATE = "rate", "群众评价"
    REOPEN = "reopen", "群众申请重新办理"
    PRESS = "press", "督办"
    MARK_OVERDUE = "mark_overdue", "超期"
    RECOMPUTE = "recompute", "期限重算"


class GrievanceEvent(models.Model):
    """The append-only timeline: every transition, who made it, when, with what note.

    `public` events (and only their public note) are what the resident sees with code and key.
    """

    grievance = models.ForeignKey(Grievance, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Who acted, as the state machine saw it: office, department, supervisor, resident, system.
    actor_role = models.CharField(max_length=16)
    action = models.CharField(max_length=16, choices=Action.choices)
    from_state = models.CharField(max_length=16, blank=True)
    to_state = models.CharField(max_length=16)
    note = models.TextField(blank=True)
    public = models.BooleanField(default=False)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = "办理记录"
        verbose_name_plural = "办理记录"
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["grievance", "at"], name="grievance_event_case_at")]

    def __str__(self) -> str:
        return f"{self.grievance_id} {self.action} @ {self.at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        # The timeline is evidence: rows are added, never rewritten.
        if self.pk is not None:
            raise ValueError("GrievanceEvent is append-only")
        super().save(*args, **kwargs)


class GrievancePhoto(models.Model):
    """A photo of the case: one the resident attached (uploaded anonymously through media's
    public intake), or evidence from a visit (the passbook page that showed a payment missing).

    A resident's photo belongs to one case, ever; an evidence photo stays the visit's and may
    back several cases (one per department). The department handling a case reads its photos.
    """

    grievance = models.ForeignKey(Grievance, on_delete=models.CASCADE, related_name="photos")
    # The reverse name lets media's area rule find a department's case photos without
    # importing grievances (media sits below it).
    photo = models.ForeignKey(
        "media.Photo", on_delete=models.PROTECT, related_name="grievance_uses"
    )
    evidence = models.BooleanField("走访凭证", default=False)

    class Meta:
        verbose_name = "诉求照片"
        verbose_name_plural = "诉求照片"
        constraints = [
            models.UniqueConstraint(
                fields=["photo"], condition=Q(evidence=False), name="grievancephoto_claimed_once"
            ),
            models.UniqueConstraint(
                fields=["grievance", "photo"], name="grievancephoto_once_per_case"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.grievance_id}: {self.photo_id}"
