"""The bottom of the drill-down: a village's households and helpers, as plain rows.

The API, the page and nothing else read a village this way, so the rows are built once, here,
as dicts (a village has up to a few thousand households: model instances and their helpers
cost more than the queries). They are cached under the same data stamp as the town and county
counts, but only while the stamp is unchanged: a village page is where an office checks who
has just been visited, so it is never served stale. On 1,000,000 households the village took
~180 ms to count and ~15 ms from the cache (bench/coverage.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from common.quarters import Quarter
from coverage import selectors as coverage
from register.models import Helper

HOUSEHOLD_FIELDS = (
    "id",
    "number",
    "head_name",
    "village_id",
    "visit_count",
    "flag_count",
    "last_visited_at",
    "responsible_helper_id",
)


def helper_ref(helper: Helper | None) -> dict | None:
    """A helper as lists show one: id, name, phone and unit name."""
    if helper is None:
        return None
    return {
        "id": helper.pk,
        "name": helper.name,
        "phone": helper.phone,
        "unit": helper.unit.name if helper.unit_id else "",
    }


@dataclass(frozen=True)
class VillageDetail:
    # {id, number, head_name, village, visited, visit_count, flag_count, last_visited_at,
    #  helper}: every household paired during the quarter, by number
    households: list[dict]
    # {helper, paired, visited, pending, percent}: most pending first
    helpers: list[dict]


def _build(user, quarter: Quarter, prefix: str) -> VillageDetail:
    rows = list(coverage.household_status(user, quarter, prefix).values(*HOUSEHOLD_FIELDS))
    helpers = coverage.helpers_by_id(r["responsible_helper_id"] for r in rows)
    refs = {pk: helper_ref(h) for pk, h in helpers.items()}
    households = [
        {
            "id": r["id"],
            "number": r["number"],
            "head_name": r["head_name"],
            "village": r["village_id"],
            "visited": r["visit_count"] > 0,
            "visit_count": r["visit_count"],
            "flag_count": r["flag_count"],
            "last_visited_at": r["last_visited_at"],
            "helper": refs.get(r["responsible_helper_id"]),
        }
        for r in rows
    ]
    helper_rows = [
        {
            "helper": helper_ref(row.helper),
            "paired": row.paired,
            "visited": row.visited,
            "pending": row.pending,
            "percent": row.percent,
        }
        for row in coverage.helper_counts(user, quarter, prefix, helpers)
    ]
    return VillageDetail(households, helper_rows)


def village_detail(user, quarter: Quarter, prefix: str) -> VillageDetail:
    """Households and helpers under `prefix` (a village) for `quarter`. Access must be checked
    already (`coverage.coverage_region`): the rows of a village in the user's area do not
    depend on who asks."""
    from django.core.cache import cache

    if not coverage.cache_enabled():
        return _build(user, quarter, prefix)
    key = f"coverage:village:v1:{quarter}:{prefix}"
    stamp = coverage.data_stamp(quarter)
    entry = cache.get(key)
    if entry is not None and entry["stamp"] == stamp:
        return entry["detail"]
    detail = _build(user, quarter, prefix)
    cache.set(key, {"stamp": stamp, "detail": detail}, coverage.cache_seconds())
    return detail
