"""Visit coverage (走访覆盖率) for offices and supervisors: computed by the database.

For a quarter and a region: households with a pairing during the quarter (`paired`), those
visited at least once for the quarter (`visited`), flagged visits, and weak villages paired /
visited. Every number is an aggregate query (EXISTS semi-joins, conditional COUNT, GROUP BY on
the code prefix `Substr(village_id, 1, n)`), never a loop over households in Python.

Rules that shape the queries:
- A household counts once however many pairings it had in the quarter: `paired` is an EXISTS
  over the pairings overlapping the quarter's dates, not a join.
- A household counts as visited when a visit was entered *for* the quarter (year, quarter),
  which may be dated in the window's first days of the next quarter.
- At village level each household is shown with its *responsible* helper: the helper paired on
  the date of the quarter's latest visit (the pairing the visit belongs to), or, when nobody
  visited, the helper of the latest pairing overlapping the quarter. A changed pairing thus
  credits the visit to whoever held the household when it was made, and leaves an unvisited
  household on the current helper's list.

Access, in one place (`coverage_region`): offices, supervisors and admins (`reads_area`) read
their area; others are refused (403); a region outside the area or unknown is a 404.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import astuple, dataclass, field
from datetime import date

from django.db.models import (
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce, Substr

from accounts.roles import reads_coverage
from accounts.scoping import code_in_area, in_area
from common import versions
from common.errors import Forbidden, NotFound
from common.quarters import Quarter
from regions.models import CHILD_LEVEL, PREFIX_DIGITS, Level, Region
from regions.selectors import region_path
from register.models import Helper, Household, Pairing, UnitPairing, WeakVillage
from visits.models import VillageVisit, Visit, VisitFlag

_CODE_RE = re.compile(r"^\d{12}$")
TREND_MAX = 12


# --- Access -----------------------------------------------------------------------------------


def _root_code() -> str | None:
    return (
        Region.objects.filter(parent__isnull=True).order_by("code").values_list("code", flat=True)
    ).first()


def coverage_region(user, code: str | None) -> Region:
    """The region a coverage read is about: `code`, or the user's own region.

    Forbidden (403) for a role that does not read coverage; NotFound (404) for a code that is
    malformed, unknown or outside the user's area (the same answer for all three).
    """
    if not reads_coverage(user):
        raise Forbidden("您的角色无权查看走访覆盖率", code="forbidden")
    code = (code or "").strip() or user.region_id or _root_code()
    if not code or not _CODE_RE.match(code) or not code_in_area(user, code):
        raise NotFound("区划不存在", code="not_found")
    region = Region.objects.filter(pk=code).first()
    if region is None:
        raise NotFound("区划不存在", code="not_found")
    return region


def quarter_dates(quarter: Quarter) -> tuple[date, date]:
    """[first day, first day of the next quarter): the dates a pairing must overlap."""
    return quarter.first_day, quarter.shift(1).first_day


# --- Numbers ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    paired: int = 0
    visited: int = 0
    flagged_visits: int = 0
    weak_paired: int = 0
    weak_visited: int = 0

    @property
    def pending(self) -> int:
        return self.paired - self.visited

    @property
    def percent(self) -> float | None:
        """Visited share of paired households, one decimal; None when nobody is paired."""
        return round(100.0 * self.visited / self.paired, 1) if self.paired else None

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.paired + other.paired,
            self.visited + other.visited,
            self.flagged_visits + other.flagged_visits,
            self.weak_paired + other.weak_paired,
            self.weak_visited + other.weak_visited,
        )


@dataclass(frozen=True)
class AreaRow:
    code: str
    name: str
    level: str
    counts: Counts


@dataclass
class CoverageReport:
    quarter: Quarter
    region: Region
    total: Counts
    children: list[AreaRow] = field(default_factory=list)
    path: list[Region] = field(default_factory=list)
    # True when served from a cache entry older than the newest data (see `village_counts`).
    stale: bool = False

    @property
    def child_level(self) -> Level | None:
        return CHILD_LEVEL.get(Level(self.region.level))


def _pairing_overlaps(quarter: Quarter, household_ref: str = "pk") -> QuerySet[Pairing]:
    start, end = quarter_dates(quarter)
    return Pairing.objects.overlapping(start, end).filter(household_id=OuterRef(household_ref))


def _quarter_visits(quarter: Quarter, household_ref: str = "pk") -> QuerySet[Visit]:
    return Visit.objects.filter(
        household_id=OuterRef(household_ref), year=quarter.year, quarter=quarter.q
    )


def paired_households(user, quarter: Quarter, prefix: str) -> QuerySet[Household]:
    """Households under `prefix` with at least one pairing overlapping the quarter."""
    qs = Household.objects.filter(village__code__startswith=prefix).filter(
        Exists(_pairing_overlaps(quarter))
    )
    return in_area(qs, user)


def grouped_counts(user, quarter: Quarter, prefix: str, digits: int) -> dict[str, Counts]:
    """Counts under `prefix`, grouped by the first `digits` digits of the village code.

    Three aggregate queries (households, flagged visits, weak villages), whatever the size.
    """
    key = Substr("village_id", 1, digits)
    # EXISTS, not `pk IN (subquery)`: PostgreSQL hashes an IN only when the ids fit in work_mem
    # and otherwise rescans the subquery for every household (minutes on a city); EXISTS lets
    # it choose between a hashed scan and an index probe per household.
    visited = Q(Exists(_quarter_visits(quarter)))
    households = (
        paired_households(user, quarter, prefix)
        .annotate(key=key)
        .order_by()
        .values("key")
        .annotate(paired=Count("pk"), visited=Count("pk", filter=visited))
    )
    low, high = code_range(prefix)
    flagged = (
        in_area(
            # The code as a range too: with it the (year, quarter, village) index finds the
            # quarter's visits of the area; LIKE alone made PostgreSQL intersect a bitmap of
            # all the quarter's visits (41 ms for one village of 1M households).
            Visit.objects.filter(
                village__code__startswith=prefix,
                village__code__gte=low,
                village__code__lt=high,
                year=quarter.year,
                quarter=quarter.q,
            ).filter(Exists(VisitFlag.objects.filter(visit_id=OuterRef("pk")))),
            user,
        )
        .annotate(key=key)
        .order_by()
        .values("key")
        .annotate(n=Count("pk"))
    )
    start, end = quarter_dates(quarter)
    weak = (
        in_area(
            WeakVillage.objects.filter(village__code__startswith=prefix).filter(
                Exists(
                    UnitPairing.objects.overlapping(start, end).filter(
                        weak_village_id=OuterRef("pk")
                    )
                )
            ),
            user,
        )
        .annotate(key=key)
        .order_by()
        .values("key")
        .annotate(
            paired=Count("pk"),
            visited=Count(
                "pk",
                filter=Q(
                    Exists(
                        VillageVisit.objects.filter(
                            weak_village_id=OuterRef("pk"), year=quarter.year, quarter=quarter.q
                        )
                    )
                ),
            ),
        )
    )
    out: dict[str, dict[str, int]] = {}
    for row in households:
        out.setdefault(row["key"], {}).update(paired=row["paired"], visited=row["visited"])
    for row in flagged:
        out.setdefault(row["key"], {})["flagged_visits"] = row["n"]
    for row in weak:
        out.setdefault(row["key"], {}).update(
            weak_paired=row["paired"], weak_visited=row["visited"]
        )
    return {k: Counts(**v) for k, v in out.items()}


# Counting a region takes the database about 3 ms per thousand households on two cores (a
# million-household city: seconds; a 100,000-household town: ~300 ms), so the village-level
# counts of every region are kept in the cache, keyed by a stamp that moves with every new
# visit, flag, pairing, household or weak-village visit. Only towns and up may be served a
# few seconds stale while a burst of visits arrives; a village is always fresh.
STALE_LEVELS = frozenset({Level.PROVINCE, Level.CITY, Level.COUNTY, Level.TOWN})


def _setting(name: str, default: int) -> int:
    from django.conf import settings

    return int(getattr(settings, name, default))


def cache_enabled() -> bool:
    return bool(_setting("COVERAGE_CACHE", 1))


def cache_seconds() -> int:
    return _setting("COVERAGE_CACHE_SECONDS", 600)


def data_stamp(quarter: Quarter) -> str:
    """A value that changes when anything coverage counts for `quarter` changes: the newest
    visit and weak-village visit of the quarter, the newest flag, pairing, unit pairing and
    household (one query, each part served by an index), and the version counters that visit
    and register writes move on commit (`backend/versions.py`), for what adds no row (a
    pairing ended, a household renamed) or commits out of order."""
    from django.db import connection

    tables = {
        "visit": Visit._meta.db_table,
        "village_visit": VillageVisit._meta.db_table,
        "flag": VisitFlag._meta.db_table,
        "pairing": Pairing._meta.db_table,
        "unit_pairing": UnitPairing._meta.db_table,
        "household": Household._meta.db_table,
    }
    sql = (
        "SELECT (SELECT max(created_at) FROM {visit} WHERE year = %s AND quarter = %s), "
        "(SELECT max(created_at) FROM {village_visit} WHERE year = %s AND quarter = %s), "
        "(SELECT max(id) FROM {flag}), (SELECT max(id) FROM {pairing}), "
        "(SELECT max(id) FROM {unit_pairing}), (SELECT max(id) FROM {household})"
    ).format(**{k: connection.ops.quote_name(v) for k, v in tables.items()})
    with connection.cursor() as cursor:
        cursor.execute(sql, [quarter.year, quarter.q] * 2)
        newest = cursor.fetchone()
    moved = (versions.current(versions.VISITS), versions.current(versions.REGISTER))
    return "|".join(str(v) for v in (*newest, *moved))


def village_counts(user, quarter: Quarter, region: Region) -> tuple[dict[str, Counts], bool]:
    """Counts of every village under `region` (({village code: Counts}, stale)).

    From the cache while the data stamp is unchanged. When it has moved, a town or larger
    still gets an entry younger than COVERAGE_CACHE_FRESH_SECONDS (flagged stale), so a burst
    of visits costs one recount per interval, not one per page view; a village, cheap to
    recount and where an office looks for the visit just made, is recounted at once. Access
    must be checked already (`coverage_region`): the numbers of a region in the user's area do
    not depend on who asks.
    """
    from django.core.cache import cache

    digits = PREFIX_DIGITS[Level.VILLAGE]
    if not cache_enabled():
        return grouped_counts(user, quarter, region.prefix, digits), False
    key = f"coverage:v1:{quarter}:{region.prefix}"
    stamp = data_stamp(quarter)
    entry = cache.get(key)
    now = time.time()
    if entry is not None:
        fresh = entry["stamp"] == stamp
        young = now - entry["at"] < _setting("COVERAGE_CACHE_FRESH_SECONDS", 15)
        if fresh or (young and Level(region.level) in STALE_LEVELS):
            return {k: Counts(*v) for k, v in entry["counts"].items()}, not fresh
    counts = grouped_counts(user, quarter, region.prefix, digits)
    cache.set(
        key,
        {"stamp": stamp, "at": now, "counts": {k: astuple(c) for k, c in counts.items()}},
        cache_seconds(),
    )
    return counts, False


def roll_up(counts: dict[str, Counts], digits: int) -> dict[str, Counts]:
    """Village counts summed by the first `digits` digits (exact: a household is in exactly one
    village). Loops over villages, never households."""
    out: dict[str, Counts] = {}
    for code, c in counts.items():
        out[code[:digits]] = out.get(code[:digits], Counts()) + c
    return out


def coverage_report(user, quarter: Quarter, region: Region) -> CoverageReport:
    """The region's totals and one row per child region (none below a village).

    `region` must come from `coverage_region` (access already checked). The numbers roll up
    the region's (cached) village counts, grouped by the database on the village code.
    """
    level = Level(region.level)
    child = CHILD_LEVEL.get(level)
    digits = PREFIX_DIGITS[child] if child else PREFIX_DIGITS[level]
    villages, stale = village_counts(user, quarter, region)
    counts = roll_up(villages, digits)
    total = sum(counts.values(), Counts())
    children: list[AreaRow] = []
    if child is not None:
        for r in (
            Region.objects.filter(parent=region).order_by("code").only("code", "name", "level")
        ):
            children.append(AreaRow(r.code, r.name, r.level, counts.get(r.code[:digits], Counts())))
    return CoverageReport(quarter, region, total, children, region_path(region), stale)


def trend(user, region: Region, quarter: Quarter, n: int = 4) -> list[tuple[Quarter, Counts]]:
    """The region's totals for the `n` quarters ending at `quarter`, oldest first."""
    n = max(1, min(TREND_MAX, n))
    out = []
    for q in (quarter.shift(-i) for i in range(n - 1, -1, -1)):
        counts, _ = village_counts(user, q, region)
        out.append((q, sum(counts.values(), Counts())))
    return out


# --- Households and helpers (the village level, the export) ------------------------------------


def household_status(user, quarter: Quarter, prefix: str) -> QuerySet[Household]:
    """Paired households under `prefix`, each annotated with the quarter's status.

    `visit_count`, `flag_count` (flags on the quarter's visits), `last_visited_at`, and
    `responsible_helper_id`: the helper paired on the latest visit's date, else the helper of
    the latest pairing overlapping the quarter. One query (correlated subqueries), ordered by
    village and household number.
    """
    visits = _quarter_visits(quarter)
    latest = visits.order_by("-visited_at", "-created_at")
    flags = (
        VisitFlag.objects.filter(
            visit__household_id=OuterRef("pk"),
            visit__year=quarter.year,
            visit__quarter=quarter.q,
        )
        .order_by()
        .values("visit__household_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    count = visits.order_by().values("household_id").annotate(n=Count("pk")).values("n")
    return (
        paired_households(user, quarter, prefix)
        # Only what a row shows: a village of 1,500 households or a town's export stays cheap.
        .only("id", "number", "head_name", "village_id")
        .annotate(
            village_name=F("village__name"),
            visit_count=Coalesce(Subquery(count, output_field=IntegerField()), 0),
            flag_count=Coalesce(Subquery(flags, output_field=IntegerField()), 0),
            last_visited_at=Subquery(latest.values("visited_at")[:1]),
            responsible_helper_id=_responsible_helper(quarter),
        )
        .order_by("village_id", "number")
    )


def _responsible_helper(quarter: Quarter) -> Coalesce:
    """The helper paired on the date of the household's latest visit for the quarter (the
    pairing the visit belongs to), else the helper of its latest pairing in the quarter."""
    latest = _quarter_visits(quarter).order_by("-visited_at", "-created_at")
    current = _pairing_overlaps(quarter).order_by("-start_date", "-pk")
    return Coalesce(
        Subquery(latest.values("pairing__helper_id")[:1]),
        Subquery(current.values("helper_id")[:1]),
    )


def helpers_by_id(ids: Iterable[int | None]) -> dict[int, Helper]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return Helper.objects.select_related("unit").order_by().in_bulk(wanted)


@dataclass(frozen=True)
class HelperRow:
    helper: Helper | None
    paired: int
    visited: int

    @property
    def pending(self) -> int:
        return self.paired - self.visited

    @property
    def percent(self) -> float | None:
        return round(100.0 * self.visited / self.paired, 1) if self.paired else None


def helper_counts(
    user, quarter: Quarter, prefix: str, helpers: dict[int, Helper] | None = None
) -> list[HelperRow]:
    """Per responsible helper: households and visited households (GROUP BY in the database).
    `helpers`: the helpers already read by the caller (`helpers_by_id`), else read here."""
    rows = (
        paired_households(user, quarter, prefix)
        .annotate(responsible_helper_id=_responsible_helper(quarter))
        .order_by()
        .values("responsible_helper_id")
        .annotate(
            paired=Count("pk"), visited=Count("pk", filter=Q(Exists(_quarter_visits(quarter))))
        )
    )
    rows = list(rows)
    wanted = {r["responsible_helper_id"] for r in rows} - {None}
    if helpers is None or not wanted <= helpers.keys():
        helpers = helpers_by_id(wanted)
    out = [
        HelperRow(helpers.get(r["responsible_helper_id"]), r["paired"], r["visited"]) for r in rows
    ]
    return sorted(out, key=lambda r: (-r.pending, r.helper.name if r.helper else "", id(r)))


# --- Pending ----------------------------------------------------------------------------------


def code_range(prefix: str) -> tuple[str, str]:
    """[low, high): the codes starting with `prefix` as a range ('3206' → '3206', '3207')."""
    return prefix, str(int(prefix) + 1).zfill(len(prefix))


def pending_pairings(user, quarter: Quarter, region: Region) -> QuerySet[Pairing]:
    """The unvisited: for each paired household under `region` with no visit for the quarter,
    its latest pairing overlapping the quarter (the helper who should visit). Stable order:
    village, household number."""
    start, end = quarter_dates(quarter)
    later = Pairing.objects.overlapping(start, end).filter(
        Q(start_date__gt=OuterRef("start_date"))
        | Q(start_date=OuterRef("start_date"), pk__gt=OuterRef("pk")),
        household_id=OuterRef("household_id"),
    )
    low, high = code_range(region.prefix)
    qs = (
        Pairing.objects.overlapping(start, end)
        .filter(household__village__code__startswith=region.prefix)
        # The same rows as a range, which the plain village index serves in order, so the page
        # is read village by village and stops after a page (LIKE could only filter it).
        .filter(household__village__code__gte=low, household__village__code__lt=high)
        .filter(~Exists(later), ~Exists(_quarter_visits(quarter, "household_id")))
        .select_related("helper", "helper__unit", "household", "household__village")
    )
    return in_area(qs, user).order_by("household__village_id", "household__number", "pk")


# --- Flagged visits ---------------------------------------------------------------------------


def flagged_visits(user, quarter: Quarter, region: Region, kind: str = "") -> QuerySet[Visit]:
    """The quarter's visits under `region` with at least one flag (of `kind` when given),
    newest first, with what a list shows: household, helper, village, flags and photos."""
    from django.db.models import Prefetch

    from visits.models import VisitPhoto

    flags = VisitFlag.objects.filter(visit_id=OuterRef("pk"))
    if kind:
        flags = flags.filter(kind=kind)
    qs = (
        Visit.objects.filter(
            village__code__startswith=region.prefix, year=quarter.year, quarter=quarter.q
        )
        .filter(Exists(flags))
        .select_related("household", "helper", "village")
        .prefetch_related(
            Prefetch("flags", queryset=VisitFlag.objects.order_by("kind", "id")),
            Prefetch("visit_photos", queryset=VisitPhoto.objects.order_by("kind", "id")),
        )
    )
    return in_area(qs, user).order_by("-visited_at", "id")
