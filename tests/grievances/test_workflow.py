"""Every transition of the state machine, allowed and refused, per role (table-driven)."""

import pytest
from django.db import transaction

from common.errors import AppError
from grievances import workflow
from grievances.models import Grievance, GrievanceEvent
from tests.grievances.conftest import at

# The rules as the issue states them, written out independently of workflow.RULES:
# (state, action) -> (actors allowed, next state).
EXPECTED = {
    ("submitted", "accept"): ({"office", "county_office"}, "accepted"),
    ("submitted", "reject"): ({"office", "county_office"}, "rejected"),
    ("accepted", "assign"): ({"office", "county_office"}, "assigned"),
    ("reopened", "assign"): ({"office", "county_office"}, "assigned"),
    ("returned", "reassign"): ({"office", "county_office"}, "assigned"),
    ("assigned", "return"): ({"dept"}, "returned"),
    ("assigned", "reply"): ({"dept"}, "replied"),
    ("replied", "resolve"): ({"dept"}, "resolved"),
    ("resolved", "close"): ({"office", "county_office"}, "closed"),
    ("resolved", "send_back"): ({"office", "county_office"}, "replied"),
    ("closed", "rate"): ({"resident"}, "closed"),
    ("closed", "reopen"): ({"resident"}, "reopened"),
}
STATES = [
    "submitted",
    "accepted",
    "rejected",
    "assigned",
    "returned",
    "replied",
    "resolved",
    "closed",
    "reopened",
]
ACTIONS = sorted({a for _, a in EXPECTED} | {"press"})
ROLES = ["office", "county_office", "supervisor", "dept", "other_dept", "outsider", "resident"]


@pytest.fixture
def actors(town_a_office, county_office, supervisor, handler_a, handler_b, outsider_office):
    return {
        "office": town_a_office,
        "county_office": county_office,
        "supervisor": supervisor,
        "dept": handler_a,
        "other_dept": handler_b,
        "outsider": outsider_office,
        "resident": workflow.RESIDENT,
    }


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("role", ROLES)
def test_transition_table(state, role, actors, file_case, drive, dept_a):
    now = at(2026, 9, 14, 10)  # a Monday; nothing is overdue yet
    driven = drive(file_case(now=now).grievance, state, now=now)
    for action in ACTIONS:
        # Each attempt runs in a savepoint that is rolled back: every action meets the same case.
        with transaction.atomic():
            _attempt(driven.pk, state, action, role, actors, now, dept_a)
            transaction.set_rollback(True)


def _attempt(case_id, state, action, role, actors, now, dept_a):
    case = Grievance.objects.get(pk=case_id)
    before = GrievanceEvent.objects.filter(grievance=case).count()
    allowed, target = EXPECTED.get((state, action), (set(), None))
    if role in allowed:
        case = workflow.transition(
            case, action, actors[role], "理由", now, department=dept_a, rating=4
        )
        assert case.state == target, (state, action, role)
        assert GrievanceEvent.objects.filter(grievance=case).count() == before + 1
        last = case.events.order_by("-id").first()
        assert (last.action, last.from_state, last.to_state) == (action, state, target)
    else:
        with pytest.raises(AppError) as refused:
            workflow.transition(
                case, action, actors[role], "理由", now, department=dept_a, rating=4
            )
        case.refresh_from_db()
        assert case.state == state, (state, action, role)
        assert GrievanceEvent.objects.filter(grievance=case).count() == before
        status = refused.value.status
        if role == "outsider":
            assert status == 404  # an outsider cannot even learn the case exists
        elif role in ("office", "county_office") and (state, action) in EXPECTED:
            assert status == 403
        elif (state, action) not in EXPECTED and action != "press" and role != "other_dept":
            assert status in (404, 409)


def test_statuses_of_refusals(file_case, drive, handler_a, handler_b, town_a_office, dept_a):
    now = at(2026, 9, 14)
    case = drive(file_case(now=now).grievance, "submitted", now=now)
    with pytest.raises(AppError) as exc:  # not assigned to the department: it cannot see it
        workflow.transition(case, "accept", handler_a, "", now)
    assert exc.value.status == 404
    case = drive(case, "assigned", now=now)
    with pytest.raises(AppError) as exc:
        workflow.transition(case, "reply", town_a_office, "回复", now)
    assert exc.value.status == 403
    with pytest.raises(AppError) as exc:
        workflow.transition(case, "reply", handler_b, "回复", now)
    assert exc.value.status == 404
    with pytest.raises(AppError) as exc:
        workflow.transition(case, "close", town_a_office, "", now)
    assert exc.value.status == 409
    with pytest.raises(AppError) as exc:
        workflow.transition(case, "reply", handler_a, "   ", now)  # a reply needs words
    assert exc.value.status == 422
    with pytest.raises(AppError) as exc:
        workflow.transition(case, "fly", handler_a, "x", now)
    assert exc.value.status == 422


def test_return_only_once_then_reassign_keeps_old_deadlines(
    file_case, drive, handler_a, handler_b, town_a_office, dept_a, dept_b
):
    now = at(2026, 9, 14)
    case = drive(file_case(now=now).grievance, "returned", now=now)
    assert case.returned_count == 1
    assert case.department_id is None
    case = workflow.transition(
        case, "reassign", town_a_office, "", at(2026, 9, 16), department=dept_b
    )
    assert case.state == "assigned"
    assert case.department_id == dept_b.pk
    # New deadlines from the new receipt (16 Sept; Sunday 20 Sept is a make-up working day,
    # 25-27 Sept the Mid-Autumn holiday): reply 22 Sept, result 30 Sept.
    assert (str(case.reply_due), str(case.result_due)) == ("2026-09-22", "2026-09-30")
    history = list(case.assignments.order_by("id"))
    assert [(a.department_id, a.current, a.returned_at is not None) for a in history] == [
        (dept_a.pk, False, True),
        (dept_b.pk, True, False),
    ]
    assert (str(history[0].reply_due), str(history[0].result_due)) == ("2026-09-20", "2026-09-28")
    with pytest.raises(AppError) as exc:
        workflow.transition(case, "return", handler_b, "又不归我们", at(2026, 9, 17))
    assert exc.value.status == 409
    assert exc.value.code == "already_returned"


def test_reopen_once_within_days(file_case, drive, settings):
    settings.GRIEVANCE_REOPEN_DAYS = 15
    closed_on = at(2026, 9, 14)
    case = drive(file_case(now=closed_on).grievance, "closed", now=closed_on)
    with pytest.raises(AppError) as exc:
        workflow.transition(case, "reopen", workflow.RESIDENT, "", at(2026, 9, 15))
    assert exc.value.status == 422  # a reason is needed
    with pytest.raises(AppError) as exc:
        workflow.transition(case, "reopen", workflow.RESIDENT, "不满意", at(2026, 9, 30))
    assert exc.value.code == "reopen_expired"
    case = workflow.transition(case, "reopen", workflow.RESIDENT, "不满意", at(2026, 9, 28))
    assert case.state == "reopened"
    assert case.department_id is None


def test_second_reopen_refused(file_case, drive, town_a_office, handler_a, dept_a):
    now = at(2026, 9, 14)
    case = drive(file_case(now=now).grievance, "reopened", now=now)
    for action, user in [
        ("assign", town_a_office),
        ("reply", handler_a),
        ("resolve", handler_a),
        ("close", town_a_office),
    ]:
        case = workflow.transition(case, action, user, "再次办理", now, department=dept_a)
    with pytest.raises(AppError) as exc:
        workflow.transition(case, "reopen", workflow.RESIDENT, "还是不满意", now)
    assert exc.value.code == "already_reopened"
    assert case.assignments.count() == 2


def test_rate_once(file_case, drive):
    now = at(2026, 9, 14)
    case = drive(file_case(now=now).grievance, "closed", now=now)
    case = workflow.transition(case, "rate", workflow.RESIDENT, "满意", now, rating=5)
    assert case.rating == 5
    with pytest.raises(AppError) as exc:
        workflow.transition(case, "rate", workflow.RESIDENT, "", now, rating=1)
    assert exc.value.code == "already_rated"


def test_press_only_when_overdue(file_case, drive, supervisor, town_a_office, handler_a):
    case = drive(file_case(now=at(2026, 9, 14)).grievance, "assigned", now=at(2026, 9, 14))
    assert str(case.reply_due) == "2026-09-20"  # Sunday 20 Sept 2026 is a working day
    with pytest.raises(AppError) as exc:
        workflow.transition(case, "press", supervisor, "", at(2026, 9, 20, 23, 59))
    assert exc.value.code == "not_overdue"  # due until 24:00 of its day
    case = workflow.transition(case, "press", supervisor, "请立即办理", at(2026, 9, 21, 0, 1))
    assert case.pressed_count == 1
    event = case.events.order_by("-id").first()
    assert (event.action, event.actor_id, event.public) == ("press", supervisor.pk, False)
    assert handler_a.notifications.filter(kind="grievance_pressed").count() == 1
    with pytest.raises(AppError):
        workflow.transition(case, "press", handler_a, "", at(2026, 9, 21, 1))


def test_assign_to_a_department_that_does_not_handle_cases_is_refused(
    file_case, drive, town_a_office, regions
):
    from tests import factories as f

    other = f.UnitFactory(name="别县局", region=regions.other_county, handles_grievances=True)
    idle = f.UnitFactory(name="不承办的局", region=regions.county, handles_grievances=False)
    case = drive(file_case(now=at(2026, 9, 14)).grievance, "accepted", now=at(2026, 9, 14))
    for unit in (other, idle, None):
        with pytest.raises(AppError) as exc:
            workflow.transition(case, "assign", town_a_office, "", at(2026, 9, 14), department=unit)
        assert exc.value.status == 422
