"""Two offices assigning the same case at once: one wins, the other gets 409 (PostgreSQL)."""

import threading

import pytest
from django.conf import settings
from django.db import connection

from common.errors import AppError
from grievances import workflow
from grievances.models import GrievanceAssignment

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.IS_POSTGRES, reason="row locks need PostgreSQL"),
]


def test_concurrent_assignment_one_wins(file_case, town_a_office, county_office, dept_a, dept_b):
    case = file_case().grievance
    case = workflow.transition(case, "accept", town_a_office)
    barrier = threading.Barrier(2)
    results: dict[str, object] = {}

    def assign(name, user, unit):
        try:
            barrier.wait()
            workflow.transition(case, "assign", user, "", None, department=unit)
            results[name] = "ok"
        except AppError as exc:
            results[name] = exc.status
        finally:
            connection.close()

    threads = [
        threading.Thread(target=assign, args=("town", town_a_office, dept_a)),
        threading.Thread(target=assign, args=("county", county_office, dept_b)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(map(str, results.values())) == ["409", "ok"]
    assert GrievanceAssignment.objects.filter(grievance=case).count() == 1
    assert case.events.filter(action="assign").count() == 1


def test_two_job_runners_do_not_double_mark(file_case, town_a_office, dept_a):
    from grievances import jobs
    from notifications.models import Notification
    from tests.grievances.conftest import at

    for _ in range(3):
        c = file_case(now=at(2026, 9, 14)).grievance
        c = workflow.transition(c, "accept", town_a_office, "", at(2026, 9, 14))
        workflow.transition(c, "assign", town_a_office, "", at(2026, 9, 14), department=dept_a)
    barrier = threading.Barrier(2)
    totals = []

    def run():
        try:
            barrier.wait()
            totals.append(jobs.run(now=at(2026, 10, 30))["overdue"])
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(totals) == 3
    assert (
        Notification.objects.filter(kind="grievance_overdue", recipient=town_a_office).count() == 3
    )
