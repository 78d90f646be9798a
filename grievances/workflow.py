"""The one state machine of a case.

`RULES` maps (state, action) to the next state, the actors allowed and the extra checks;
`transition()` is the only code that changes a case's state. It locks the row, checks, applies,
appends the timeline entry, keeps the pending deadline (`next_due`) in step and sends live
updates and notifications after commit.

Refusals, in this order: an actor who may not see the case gets 404 (the same as a case that
does not exist); an action the state does not allow gets 409 (so of two offices assigning the
same case at once, the second finds it already assigned); a role the rule does not list gets
403; a failed extra check gets 422 (or 409 when it is about what already happened).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role, is_office
from accounts.scoping import code_in_area
from common.errors import AppError, Conflict, Forbidden, NotFound, Unprocessable
from common.live import group_name, send_on_commit
from grievances import deadlines, selectors
from grievances.models import (
    Action,
    Category,
    DueKind,
    Grievance,
    GrievanceAssignment,
    GrievanceEvent,
    Kind,
    State,
)
from notifications.services import notify
from register.models import Unit


class Actor(StrEnum):
    OFFICE = "office"
    DEPARTMENT = "department"
    SUPERVISOR = "supervisor"
    RESIDENT = "resident"
    SYSTEM = "system"


class _Principal:
    """Stand-ins for the callers who are not users: the resident holding code and key, and the
    scheduled jobs."""

    def __init__(self, actor: Actor):
        self.actor = actor
        self.pk = None
        self.is_authenticated = False

    def __repr__(self) -> str:
        return f"<{self.actor}>"


RESIDENT = _Principal(Actor.RESIDENT)
SYSTEM = _Principal(Actor.SYSTEM)

OFFICE = frozenset({Actor.OFFICE})
DEPARTMENT = frozenset({Actor.DEPARTMENT})


@dataclass
class Context:
    case: Grievance
    actor: Actor
    user: object
    note: str
    now: datetime
    params: dict
    data: dict = field(default_factory=dict)
    # Set by an effect that found nothing to change (a recomputation with the same dates).
    skip: bool = False


Check = Callable[[Context], None]
Effect = Callable[[Context], None]


@dataclass(frozen=True)
class Rule:
    to: State | None  # None: the state stays
    actors: frozenset[Actor]
    effect: Effect
    checks: tuple[Check, ...] = ()
    public: bool = True  # shown to the resident on the tracking page
    note_required: bool = False


# --- Checks ---------------------------------------------------------------------------------


def _note(ctx: Context) -> None:
    if not ctx.note.strip():
        raise Unprocessable("请填写说明或理由", code="note_required")


def _department(ctx: Context) -> None:
    unit = ctx.params.get("department")
    if not isinstance(unit, Unit):
        raise Unprocessable("请选择承办部门", code="department_required")
    if not unit.handles_grievances or unit.region_id not in selectors.area_codes(
        ctx.case.region_id
    ):
        raise Unprocessable("该部门不承办本区域的诉求", code="department_invalid")


def _classification(ctx: Context) -> None:
    category = ctx.params.get("category") or ctx.case.category
    kind = ctx.params.get("kind") or ctx.case.kind
    if category not in Category.values:
        raise Unprocessable("诉求分类无效", code="category_invalid")
    if kind not in Kind.values:
        raise Unprocessable("诉求类型无效", code="kind_invalid")


def _not_returned_before(ctx: Context) -> None:
    if ctx.case.returned_count >= 1:
        raise Conflict("每件诉求只能退回一次,请办理", code="already_returned")


def _not_rated(ctx: Context) -> None:
    if ctx.case.rating is not None:
        raise Conflict("已经评价过了", code="already_rated")
    rating = ctx.params.get("rating")
    if not isinstance(rating, int) or not 1 <= rating <= 5:
        raise Unprocessable("评分应为1到5", code="rating_invalid")


def _may_reopen(ctx: Context) -> None:
    if ctx.case.reopened_count >= 1:
        raise Conflict("每件诉求只能申请重新办理一次", code="already_reopened")
    limit = timedelta(days=settings.GRIEVANCE_REOPEN_DAYS)
    if ctx.case.closed_at is None or ctx.now - ctx.case.closed_at > limit:
        raise Conflict(
            f"办结超过{settings.GRIEVANCE_REOPEN_DAYS}天,不能再申请重新办理",
            code="reopen_expired",
        )


def _is_overdue(ctx: Context) -> None:
    if not deadlines.is_past(ctx.case.next_due, ctx.now):
        raise Conflict("该诉求未超期,无需督办", code="not_overdue")


def _newly_overdue(ctx: Context) -> None:
    if ctx.case.overdue or not deadlines.is_past(ctx.case.next_due, ctx.now):
        raise Conflict("该诉求未超期或已标记超期", code="not_overdue")


# --- Effects --------------------------------------------------------------------------------


def _accept(ctx: Context) -> None:
    case = ctx.case
    old = (case.kind, case.category)
    case.kind = ctx.params.get("kind") or case.kind
    case.category = ctx.params.get("category") or case.category
    case.accepted_at = ctx.now
    ctx.data.update(kind=case.kind, category=case.category)
    if old != (case.kind, case.category):
        ctx.data["reclassified_from"] = {"kind": old[0], "category": old[1]}


def _reject(ctx: Context) -> None:
    ctx.case.reject_reason = ctx.note
    ctx.case.closed_at = ctx.now


def _assign(ctx: Context) -> None:
    case, unit = ctx.case, ctx.params["department"]
    GrievanceAssignment.objects.filter(grievance=case, current=True).update(current=False)
    received = deadlines.local_date(ctx.now)
    due = deadlines.department_deadlines(received)
    assignment = GrievanceAssignment.objects.create(
        grievance=case,
        department=unit,
        assigned_by=ctx.user if isinstance(ctx.user, User) else None,
        received_at=ctx.now,
        reply_due=due.reply.day,
        reply_due_provisional=due.reply.provisional,
        result_due=due.result.day,
        result_due_provisional=due.result.provisional,
    )
    case.department = unit
    case.assigned_at = ctx.now
    case.reply_due, case.reply_due_provisional = due.reply.day, due.reply.provisional
    case.result_due, case.result_due_provisional = due.result.day, due.result.provisional
    case.replied_at = case.resolved_at = case.closed_at = None
    case.reply_text = case.result_text = ""
    ctx.data.update(
        department_id=unit.pk,
        department=unit.name,
        assignment_id=assignment.pk,
        received_on=received.isoformat(),
        reply_due=due.reply.day.isoformat(),
        result_due=due.result.day.isoformat(),
        provisional=due.reply.provisional or due.result.provisional,
    )
    notify(
        recipients=selectors.department_handlers(unit_id=unit.pk),
        kind="grievance_assigned",
        title=f"新交办诉求 {case.display_code}",
        body=f"请于{due.reply.day:%Y-%m-%d}前受理回复,{due.result.day:%Y-%m-%d}前报送办理结果。",
        link=f"/grievances/staff/{case.pk}/",
        dedupe_key=f"grievance:{case.pk}:assigned:{assignment.pk}",
        payload={"grievance_id": case.pk},
    )


def _current_assignment(case: Grievance) -> GrievanceAssignment | None:
    return GrievanceAssignment.objects.filter(grievance=case, current=True).first()


def _return(ctx: Context) -> None:
    case = ctx.case
    ctx.data["department_id"] = case.department_id
    GrievanceAssignment.objects.filter(grievance=case, current=True).update(
        returned_at=ctx.now, current=False
    )
    case.returned_count += 1
    case.department = None
    case.reply_due = case.result_due = None
    case.reply_due_provisional = case.result_due_provisional = False
    _tell_offices(ctx, "grievance_returned", f"诉求 {case.display_code} 被部门退回,请重新交办")


def _reply(ctx: Context) -> None:
    case = ctx.case
    case.reply_text, case.replied_at = ctx.note, ctx.now
    assignment = _current_assignment(case)
    if assignment is not None:
        assignment.replied_at = ctx.now
        assignment.reply_workdays = deadlines.workdays_taken(assignment.received_at, ctx.now)
        assignment.save(update_fields=["replied_at", "reply_workdays"])
        ctx.data["workdays"] = assignment.reply_workdays
    ctx.data["on_time"] = not deadlines.is_past(case.reply_due, ctx.now)


def _resolve(ctx: Context) -> None:
    case = ctx.case
    case.result_text, case.resolved_at = ctx.note, ctx.now
    assignment = _current_assignment(case)
    if assignment is not None:
        assignment.resolved_at = ctx.now
        assignment.resolve_workdays = deadlines.workdays_taken(assignment.received_at, ctx.now)
        assignment.save(update_fields=["resolved_at", "resolve_workdays"])
        ctx.data["workdays"] = assignment.resolve_workdays
    ctx.data["on_time"] = not deadlines.is_past(case.result_due, ctx.now)
    _tell_offices(ctx, "grievance_resolved", f"诉求 {case.display_code} 已报送办理结果,请审核")


def _close(ctx: Context) -> None:
    ctx.case.closed_at = ctx.now


def _send_back(ctx: Context) -> None:
    case = ctx.case
    case.resolved_at = None
    GrievanceAssignment.objects.filter(grievance=case, current=True).update(
        resolved_at=None, resolve_workdays=None
    )
    notify(
        recipients=selectors.department_handlers(unit_id=case.department_id),
        kind="grievance_sent_back",
        title=f"诉求 {case.display_code} 被退回重办",
        body=ctx.note,
        link=f"/grievances/staff/{case.pk}/",
        dedupe_key=f"grievance:{case.pk}:sent_back:{ctx.now.isoformat()}",
    )


def _rate(ctx: Context) -> None:
    case = ctx.case
    case.rating, case.rating_comment, case.rated_at = ctx.params["rating"], ctx.note, ctx.now
    ctx.data["rating"] = case.rating


def _reopen(ctx: Context) -> None:
    case = ctx.case
    case.reopened_count += 1
    ctx.data["department_id"] = case.department_id
    GrievanceAssignment.objects.filter(grievance=case, current=True).update(current=False)
    case.department = None
    case.closed_at = None
    case.reply_due = case.result_due = None
    case.reply_due_provisional = case.result_due_provisional = False
    _tell_offices(ctx, "grievance_reopened", f"诉求 {case.display_code} 群众申请重新办理")


def _press(ctx: Context) -> None:
    case = ctx.case
    case.pressed_count += 1
    case.last_pressed_at = ctx.now
    ctx.data["press_no"] = case.pressed_count
    recipients = (
        selectors.department_handlers(unit_id=case.department_id)
        if case.department_id
        else selectors.office_recipients(region_code=case.region_id)
    )
    notify(
        recipients=recipients,
        kind="grievance_pressed",
        title=f"督办:诉求 {case.display_code} 已超期",
        body=ctx.note or "请立即办理并反馈。",
        link=f"/grievances/staff/{case.pk}/",
        dedupe_key=f"grievance:{case.pk}:press:{case.pressed_count}",
        sms=True,
    )


def _mark_overdue(ctx: Context) -> None:
    case = ctx.case
    case.overdue, case.overdue_since = True, ctx.now
    assert case.next_due is not None  # _newly_overdue let only a past due day through
    ctx.data.update(due_kind=case.next_due_kind, due=case.next_due.isoformat())
    label = DueKind(case.next_due_kind).label if case.next_due_kind else "期限"
    notify(
        recipients=[
            *selectors.office_recipients(region_code=case.region_id),
            *selectors.supervisor_recipients(region_code=case.region_id),
            *selectors.department_handlers(unit_id=case.department_id),
        ],
        kind="grievance_overdue",
        title=f"诉求 {case.display_code} 已超过{label}",
        body=f"{label}为{case.next_due:%Y-%m-%d},已超期。",
        link=f"/grievances/staff/{case.pk}/",
        dedupe_key=f"grievance:{case.pk}:overdue:{case.next_due_kind}:{case.next_due}",
        payload={"grievance_id": case.pk},
        sms=True,
    )


def _recompute(ctx: Context) -> None:
    """Recount the case's deadlines now that the calendar may know more years."""
    case = ctx.case
    calendar = ctx.params.get("calendar")
    changes: dict[str, dict] = {}

    def put(name: str, new) -> None:
        old_day, old_prov = getattr(case, name), getattr(case, f"{name}_provisional")
        if (old_day, old_prov) != (new.day, new.provisional):
            changes[name] = {
                "from": old_day.isoformat() if old_day else None,
                "to": new.day.isoformat(),
                "provisional": new.provisional,
            }
            setattr(case, name, new.day)
            setattr(case, f"{name}_provisional", new.provisional)

    put("accept_due", deadlines.accept_due(deadlines.local_date(case.submitted_at), calendar))
    if case.assigned_at is not None and case.department_id is not None:
        due = deadlines.department_deadlines(deadlines.local_date(case.assigned_at), calendar)
        put("reply_due", due.reply)
        put("result_due", due.result)
        if "reply_due" in changes or "result_due" in changes:
            GrievanceAssignment.objects.filter(grievance=case, current=True).update(
                reply_due=due.reply.day,
                reply_due_provisional=due.reply.provisional,
                result_due=due.result.day,
                result_due_provisional=due.result.provisional,
            )
    if not changes:
        ctx.skip = True
    ctx.data["changes"] = changes


def _tell_offices(ctx: Context, kind: str, title: str) -> None:
    notify(
        recipients=selectors.office_recipients(region_code=ctx.case.region_id),
        kind=kind,
        title=title,
        body=ctx.note,
        link=f"/grievances/staff/{ctx.case.pk}/",
        dedupe_key=f"grievance:{ctx.case.pk}:{kind}:{ctx.now.isoformat()}",
    )


# --- The table ------------------------------------------------------------------------------

_PRESSERS = frozenset({Actor.OFFICE, Actor.SUPERVISOR})
_SYSTEM = frozenset({Actor.SYSTEM})
_RESIDENT = frozenset({Actor.RESIDENT})

RULES: dict[tuple[State, Action], Rule] = {
    (State.SUBMITTED, Action.ACCEPT): Rule(State.ACCEPTED, OFFICE, _accept, (_classification,)),
    (State.SUBMITTED, Action.REJECT): Rule(State.REJECTED, OFFICE, _reject, note_required=True),
    (State.ACCEPTED, Action.ASSIGN): Rule(State.ASSIGNED, OFFICE, _assign, (_department,)),
    (State.REOPENED, Action.ASSIGN): Rule(State.ASSIGNED, OFFICE, _assign, (_department,)),
    (State.RETURNED, Action.REASSIGN): Rule(State.ASSIGNED, OFFICE, _assign, (_department,)),
    (State.ASSIGNED, Action.RETURN): Rule(
        State.RETURNED, DEPARTMENT, _return, (_not_returned_before,), False, True
    ),
    (State.ASSIGNED, Action.REPLY): Rule(State.REPLIED, DEPARTMENT, _reply, note_required=True),
    (State.REPLIED, Action.RESOLVE): Rule(State.RESOLVED, DEPARTMENT, _resolve, note_required=True),
    (State.RESOLVED, Action.CLOSE): Rule(State.CLOSED, OFFICE, _close),
    (State.RESOLVED, Action.SEND_BACK): Rule(
        State.REPLIED, OFFICE, _send_back, public=False, note_required=True
    ),
    (State.CLOSED, Action.RATE): Rule(None, _RESIDENT, _rate, (_not_rated,)),
    (State.CLOSED, Action.REOPEN): Rule(
        State.REOPENED, _RESIDENT, _reopen, (_may_reopen,), note_required=True
    ),
    **{
        (state, Action.PRESS): Rule(None, _PRESSERS, _press, (_is_overdue,), public=False)
        for state in (State.SUBMITTED, State.ASSIGNED, State.REPLIED)
    },
    **{
        (state, Action.MARK_OVERDUE): Rule(
            None, _SYSTEM, _mark_overdue, (_newly_overdue,), public=False
        )
        for state in (State.SUBMITTED, State.ASSIGNED, State.REPLIED)
    },
    **{
        (state, Action.RECOMPUTE): Rule(None, _SYSTEM, _recompute, public=True)
        for state in (
            State.SUBMITTED,
            State.ACCEPTED,
            State.ASSIGNED,
            State.RETURNED,
            State.REPLIED,
            State.RESOLVED,
            State.REOPENED,
        )
    },
}

# What each actor could ever do, for the pages' buttons and the API's documentation.
STAFF_ACTIONS = sorted(
    {
        a.value
        for (_, a), r in RULES.items()
        if r.actors & {Actor.OFFICE, Actor.DEPARTMENT, Actor.SUPERVISOR}
    }
)


def actor_of(case: Grievance, user) -> Actor | None:
    """Who `user` is for this case, or None when the case is not theirs to see."""
    if user is RESIDENT:
        return Actor.RESIDENT
    if user is SYSTEM:
        return Actor.SYSTEM
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser or (is_office(user) and code_in_area(user, case.region_id)):
        return Actor.OFFICE
    if user.role == Role.SUPERVISOR and code_in_area(user, case.region_id):
        return Actor.SUPERVISOR
    if (
        user.role == Role.DEPARTMENT
        and user.unit_id is not None
        and user.unit_id == case.department_id
    ):
        return Actor.DEPARTMENT
    return None


def allowed_actions(case: Grievance, user, now: datetime | None = None) -> list[Action]:
    """The actions `user` may take on the case now (checks included), for buttons."""
    actor = actor_of(case, user)
    if actor is None:
        return []
    out = []
    for (state, action), rule in RULES.items():
        if state != case.state or actor not in rule.actors or actor == Actor.SYSTEM:
            continue
        ctx = Context(case, actor, user, "x", now or timezone.now(), {"rating": 5})
        try:
            for check in rule.checks:
                if check not in (_department, _classification):
                    check(ctx)
        except AppError:
            continue
        out.append(action)
    return out


def _lock(case_id: int) -> Grievance:
    # The lock serialises every change of one case: two offices assigning it at once, a
    # department replying while the job marks it overdue. The second waits, then re-reads the
    # state and is refused if the first changed it.
    return Grievance.objects.select_for_update().get(pk=case_id)


def transition(
    case: Grievance,
    action: str,
    user,
    note: str = "",
    now: datetime | None = None,
    **params,
) -> Grievance:
    """Apply `action` by `user` to the case, or raise (404/409/403/422). Returns the case as
    saved. Notifications and live updates go out after commit."""
    now = now or timezone.now()
    note = (note or "").strip()
    try:
        action = Action(action)
    except ValueError as exc:
        raise Unprocessable("未知的办理操作", code="unknown_action") from exc
    if actor_of(case, user) is None:
        raise NotFound("诉求不存在")
    with transaction.atomic():
        locked = _lock(case.pk)
        actor = actor_of(locked, user)
        if actor is None:
            raise NotFound("诉求不存在")
        rule = RULES.get((State(locked.state), action))
        if rule is None:
            raise Conflict(
                f"诉求当前状态为“{locked.get_state_display()}”,不能{action.label}",
                code="invalid_state",
                detail={"state": locked.state, "action": action.value},
            )
        if actor not in rule.actors:
            raise Forbidden(f"您无权对该诉求执行“{action.label}”", code="role_not_allowed")
        ctx = Context(locked, actor, user, note, now, params)
        if rule.note_required:
            _note(ctx)
        for check in rule.checks:
            check(ctx)
        from_state = locked.state
        previous_department = locked.department_id
        rule.effect(ctx)
        if ctx.skip:
            return locked
        if rule.to is not None:
            locked.state = rule.to
        refresh_next_due(locked)
        locked.updated_at = now
        # Field checks only: foreign keys were checked above, constraints are the database's.
        locked.full_clean(
            exclude=["code", "key_hash", "region", "household", "helper", "village", "department"],
            validate_unique=False,
            validate_constraints=False,
        )
        locked.save()
        GrievanceEvent.objects.create(
            grievance=locked,
            at=now,
            actor=user if getattr(user, "is_authenticated", False) else None,
            actor_role=actor.value,
            action=action.value,
            from_state=from_state,
            to_state=locked.state,
            note=note,
            public=rule.public,
            data=ctx.data,
        )
        broadcast(locked, action.value, previous_department)
    return locked


def refresh_next_due(case: Grievance) -> None:
    """Keep the pending deadline in step with the state; a new deadline is warned and
    escalated afresh."""
    due: date | None
    if case.state == State.SUBMITTED:
        due, kind = case.accept_due, DueKind.ACCEPT.value
    elif case.state == State.ASSIGNED:
        due, kind = case.reply_due, DueKind.REPLY.value
    elif case.state == State.REPLIED:
        due, kind = case.result_due, DueKind.RESULT.value
    else:
        due, kind = None, ""
    if (due, kind) != (case.next_due, case.next_due_kind):
        case.next_due, case.next_due_kind = due, kind
        case.warned = case.overdue = False
        case.overdue_since = None
    case.due_provisional = case.is_open and (
        (case.state == State.SUBMITTED and case.accept_due_provisional)
        or case.reply_due_provisional
        or case.result_due_provisional
    )


def live_payload(case: Grievance, action: str) -> dict:
    """What staff pages receive: no identity, no text."""
    return {
        "id": case.pk,
        "code": case.display_code,
        "state": case.state,
        "state_label": case.get_state_display(),
        "action": action,
        "department_id": case.department_id,
        "next_due": case.next_due.isoformat() if case.next_due else None,
        "overdue": case.overdue,
    }


def department_group(unit_id: int) -> str:
    return group_name("grievances", "dept", unit_id)


def area_group(region_code: str) -> str:
    return group_name("grievances", "area", region_code)


def broadcast(case: Grievance, action: str, previous_department: int | None = None) -> None:
    event = {"type": "grievance.changed", "grievance": live_payload(case, action)}
    groups = [area_group(code) for code in selectors.area_codes(case.region_id)]
    groups += [
        department_group(u) for u in {case.department_id, previous_department} if u is not None
    ]
    send_on_commit(groups, event)
