"""The scheduled jobs: one idempotent entry point that cron or a timer calls every few minutes.

Each job in `due_jobs` is a function `run(*, now) -> dict`, registered by its app in
`AppConfig.ready()` and locked under its dotted name (`grievances.jobs.run`). A job runs inside
a transaction that holds its `JobLock` row: a second runner (another cron tick that overlaps,
or another machine) skips it instead of doing the same work twice. The jobs themselves are
idempotent too (dedupe keys, state changes), so a crash half-way is safe to re-run.
"""

import logging
from collections.abc import Callable
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from common.hooks import Hooks, dotted_name
from notifications.models import JobLock

Job = Callable[..., dict]
due_jobs: Hooks[Job] = Hooks("scheduled jobs")

logger = logging.getLogger(__name__)


def run_due_jobs(*, now: datetime | None = None, only: list[str] | None = None) -> dict:
    now = now or timezone.now()
    results: dict[str, dict] = {}
    for job in due_jobs:
        path = dotted_name(job)
        if only and path not in only:
            continue
        try:
            results[path] = run_one(job, now=now)
        except Exception as exc:
            # One broken job must not starve the others (its transaction rolled back, so the
            # next tick retries it); the command exits non-zero so cron reports it.
            logger.exception("scheduled job %s failed", path)
            results[path] = {"error": f"{type(exc).__name__}: {exc}"}
    return results


def run_one(job: Job, *, now: datetime) -> dict:
    path = dotted_name(job)
    JobLock.objects.get_or_create(name=path)
    with transaction.atomic():
        qs = JobLock.objects.filter(name=path)
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True)
        lock = qs.first()
        if lock is None:
            return {"skipped": "另一个进程正在执行该任务"}
        lock.last_started_at = timezone.now()
        summary = job(now=now)
        lock.last_finished_at = timezone.now()
        lock.last_summary = _jsonable(summary)
        lock.save()
    return summary


def _jsonable(summary: dict) -> dict:
    return {
        str(k): v if isinstance(v, int | float | str | bool | None) else str(v)
        for k, v in (summary or {}).items()
    }
