"""Concurrency on PostgreSQL: scheduled-job runners that overlap (threads, and two real
`manage.py run_due_jobs` processes) send each reminder, warning and text message once, and
a runner that finds a job's lock taken skips it at once instead of waiting or repeating it.

Covered elsewhere (not repeated here): the same visit posted 10 times at once
(tests/visits/test_concurrency.py), the same photo 10 times (tests/media/test_concurrency.py),
two offices assigning one case (tests/grievances/test_concurrency.py), the visits job and the
grievances job each raced against itself (tests/reminders, tests/grievances).
"""

import ast
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db import connection, connections, transaction

from accounts.roles import Role
from coverage import jobs as coverage_jobs
from grievances import jobs as grievances_jobs
from grievances import services as grievance_services
from grievances import workflow
from grievances.models import Category, Grievance, Kind
from notifications.jobs import due_jobs, run_due_jobs
from notifications.models import JobLock, Notification
from notifications.sms import MemorySmsSender
from register.models import UnitKind
from tests import factories as f

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not settings.IS_POSTGRES,
        reason="row locks (FOR UPDATE SKIP LOCKED) and truly concurrent writers need PostgreSQL",
    ),
]

SH = ZoneInfo("Asia/Shanghai")
ROOT = Path(__file__).resolve().parent.parent.parent
# 8 January 2027: the Q4 window is open and closes in three days, and cases assigned in early
# December are long past their reply deadline.
NOW = datetime(2027, 1, 8, 9, 0, tzinfo=SH)
JOBS = [grievances_jobs.run, coverage_jobs.run]


def at(y, m, d, hh=10) -> datetime:
    return datetime(y, m, d, hh, tzinfo=SH)


@pytest.fixture
def memory_sms(settings, monkeypatch):
    settings.SMS_BACKEND = "notifications.sms.MemorySmsSender"
    monkeypatch.setattr(due_jobs, "fns", JOBS)
    MemorySmsSender.outbox.clear()
    yield MemorySmsSender.outbox
    MemorySmsSender.outbox.clear()


@pytest.fixture
def due_work(regions, helper_a_user, household_a, town_a_office, supervisor, make_user):
    """Work for both jobs: two overdue cases (texts to the handler), one case due today (a
    warning), and a helper with a phone whose household is not visited yet (texts)."""
    helper_a_user.phone = "13900000011"
    helper_a_user.save(update_fields=["phone"])
    dept = f.UnitFactory(
        name="如东县民政局",
        kind=UnitKind.DEPARTMENT,
        region=regions.county,
        handles_grievances=True,
    )
    handler = make_user(Role.DEPARTMENT, regions.county, unit=dept, phone="13900000012")

    def submit(now):
        return grievance_services.grievance_submit(
            kind=Kind.COMPLAINT,
            category=Category.FUNDS,
            region_code=regions.village_a1.code,
            text="村里的扶贫资金发放不公开,请调查。",
            anonymous=False,
            name="张秀英",
            phone="13812345678",
            now=now,
        ).grievance

    for day in (1, 2):
        case = submit(at(2026, 12, day))
        case = workflow.transition(case, "accept", town_a_office, "", at(2026, 12, day))
        workflow.transition(case, "assign", town_a_office, "", at(2026, 12, day), department=dept)
    submit(at(2027, 1, 7))  # to be accepted within a working day: due today
    return {"helper": helper_a_user, "handler": handler}


def race(target, n: int = 2) -> list:
    barrier = threading.Barrier(n)
    results, errors = [], []

    def worker():
        try:
            barrier.wait()
            results.append(target())
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return results


def summed(results: list[dict], job: str, key: str) -> int:
    return sum(r[job].get(key, 0) for r in results)


def test_two_runners_at_once_notify_and_text_each_person_once(due_work, memory_sms):
    results = race(lambda: run_due_jobs(now=NOW))
    assert summed(results, "grievances.jobs.run", "overdue") == 2
    assert summed(results, "grievances.jobs.run", "warned") == 1
    assert summed(results, "coverage.jobs.run", "closing_sent") == 1
    assert Grievance.objects.filter(overdue=True).count() == 2

    texted = Notification.objects.filter(sms_sent_at__isnull=False)
    assert Counter(memory_sms).most_common(1)[0][1] == 1  # no text went out twice
    assert len(memory_sms) == texted.count() >= 3
    assert {phone for phone, _ in memory_sms} >= {"13900000011", "13900000012"}
    per_person = list(Notification.objects.values_list("recipient_id", "dedupe_key"))
    assert len(per_person) == len(set(per_person))

    # Everything is done: a third run (cron's next tick) sends nothing.
    before = Notification.objects.count()
    again = run_due_jobs(now=NOW)
    assert Notification.objects.count() == before
    assert again["grievances.jobs.run"]["overdue"] == again["grievances.jobs.run"]["warned"] == 0
    assert len(memory_sms) == texted.count()


def test_a_runner_finding_the_lock_taken_skips_that_job_without_waiting(due_work, memory_sms):
    JobLock.objects.get_or_create(name="coverage.jobs.run")
    held, release = threading.Event(), threading.Event()

    def hold_lock():
        # Another runner (another machine) in the middle of the visits job.
        try:
            with transaction.atomic():
                JobLock.objects.select_for_update().get(name="coverage.jobs.run")
                held.set()
                release.wait(30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    try:
        assert held.wait(10)
        started = time.monotonic()
        result = run_due_jobs(now=NOW)
        assert time.monotonic() - started < 10  # skipped, not blocked behind the lock
        assert result["coverage.jobs.run"] == {"skipped": "另一个进程正在执行该任务"}
        assert result["grievances.jobs.run"]["overdue"] == 2  # the other job still ran
        assert not Notification.objects.filter(kind__startswith="visit_").exists()
    finally:
        release.set()
        holder.join()
    # Lock free again: the next tick does the visits job.
    assert run_due_jobs(now=NOW)["coverage.jobs.run"]["closing_sent"] == 1
    assert JobLock.objects.get(name="coverage.jobs.run").last_finished_at is not None


def test_two_run_due_jobs_processes_at_once_do_nothing_twice(due_work):
    """Two cron hosts: real `manage.py run_due_jobs` processes against this test database.
    The console SMS backend logs each text; the log lines of both processes are compared."""
    db = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL",)}
    env.update(
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}",
        SMS_BACKEND="notifications.sms.ConsoleSmsSender",
        LOG_LEVEL="INFO",
    )
    cmd = [sys.executable, "manage.py", "run_due_jobs", "--now", NOW.isoformat()]
    procs = [
        subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    outputs = [proc.communicate(timeout=180) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], outputs

    summaries: list[dict] = []
    texts: list[str] = []
    for out, err in outputs:
        lines = out.decode().splitlines()
        summaries.append(
            {line.split(": ", 1)[0]: ast.literal_eval(line.split(": ", 1)[1]) for line in lines}
        )
        texts += [
            line.split("SMS to ", 1)[1] for line in err.decode().splitlines() if "SMS to " in line
        ]
    assert summed(summaries, "grievances.jobs.run", "overdue") == 2
    assert summed(summaries, "coverage.jobs.run", "closing_sent") == 1
    assert Grievance.objects.filter(overdue=True).count() == 2
    texted = Notification.objects.filter(sms_sent_at__isnull=False).count()
    assert len(texts) == len(set(texts)) == texted >= 3
