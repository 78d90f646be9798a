"""Coverage's scheduled work, run by `manage.py run_due_jobs` (registered in `CoverageConfig`)."""

from datetime import datetime

from coverage import reminders


def run(*, now: datetime) -> dict:
    """Window-opening, closing-soon and coverage reminders due at `now` (idempotent)."""
    return reminders.run(now=now)
