"""The payments' scheduled work, run by `manage.py run_due_jobs` (setting `DUE_JOBS`).

Every warning rule over every payment, whenever something they read has changed since the last
run (a load, a check, an edit of the register) or a new day has begun (the unpaid-period rule
depends on the date alone). Loads and checks already run the rules on what they added; this
catches what changed elsewhere: a household that exited, a person added to the register.
Idempotent, like the rules: a warning is raised once.
"""

from datetime import datetime

from django.core.cache import cache
from django.utils import timezone

from common import versions
from payments import rules

_STAMP_KEY = "payments:rules:stamp"


def _stamp(now: datetime) -> str:
    return ":".join(
        (
            timezone.localtime(now).date().isoformat(),
            str(versions.current(versions.PAYMENTS)),
            str(versions.current(versions.REGISTER)),
        )
    )


def run(*, now: datetime) -> dict:
    stamp = _stamp(now)
    if cache.get(_STAMP_KEY) == stamp:
        return {"skipped": "自上次检查以来没有变化"}
    raised = rules.run_rules(now=now)
    # Losing the stamp (a cache restart) only means one more full run: the safe direction.
    cache.set(_STAMP_KEY, stamp, timeout=2 * 24 * 3600)
    return {f"new_{name}": count for name, count in raised.items()}
