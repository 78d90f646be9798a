"""The scheduled jobs: one idempotent entry point that cron or a timer calls every few minutes.

Each job named in `settings.DUE_JOBS` is a function `run(*, now) -> dict`. A job runs inside
a transaction that holds its `JobLock` row: a second runner (another cron tick that overlaps,
or another machine) skips it instead of doing the same work twice. The jobs themselves are
idempotent too (dedupe keys, state changes), so a crash half-way is safe to re-run.
"""

import logging
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from notifications.models import JobLock

logger = logging.getLogger(__name__)


def run_due_jobs(*, now: datetime | None = None, only: list[str] | None = None) -> dict:
    now = now or timezone.now()
    results: dict[str, dict] = {}
    for path in settings.DUE_JOBS:
        if only and path not in only:
            continue
        try:
            results[path] = run_one(path, now=now)
        except Exception as exc:
            # One broken job must not starve the others (its transaction rolled back, so the
            # next tick retries it); the command exits non-zero so cron reports it.
            logger.exception("scheduled job %s failed", path)
            results[path] = {"error": f"{type(exc).__name__}: {exc}"}
    return results


def run_one(path: str, *, now: datetime) -> dict:
    JobLock.objects.get_or_create(name=path)
    with transaction.atomic():
        qs = JobLock.objects.filter(name=path)
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True)
        lock = qs.first()
        if lock is None:
            return {"skipped": "另一个进程正在执行该任务"}
        lock.last_started_at = timezone.now()
        summary = import_string(path)(now=now)
        lock.last_finished_at = timezone.now()
        lock.last_summary = _jsonable(summary)
        lock.save()
    return summary


def _jsonable(summary: dict) -> dict:
    return {
        str(k): v if isinstance(v, int | float | str | bool | None) else str(v)
        for k, v in (summary or {}).items()
    }
