"""Version counters kept in the cache, which cached reads put into their keys.

A cached read keyed by what it can see in its own tables (the newest row) misses edits that
add no row (a pairing ended, a household renamed) and rows that commit out of order (a visit
that waited on a lock). Writers bump a named counter once their transaction commits, and the
reader's stamp includes it. If the cache loses the counter, it reads 0: the stamp changes and
the reader recounts, which is the safe direction.
"""

from django.core.cache import cache
from django.db import transaction

from common.ratelimit import count

_PREFIX = "version:"

# The counters: visits and their flags (backend: visits.services), the register's edits
# (register). The coverage stamp reads both. Payment lists, checks and warnings (payments).
VISITS = "visits"
REGISTER = "register"
PAYMENTS = "payments"


def bump_on_commit(name: str) -> None:
    """Move the counter `name` once the surrounding transaction commits (at once outside)."""
    transaction.on_commit(lambda: bump(name))


def bump(name: str) -> None:
    count(_PREFIX + name, timeout=None)


def current(name: str) -> int:
    return cache.get(_PREFIX + name, 0)
