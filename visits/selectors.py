"""Reads of the visits domain, always through the area rule (`in_area`) or the caller's own.

List selectors return ordered querysets with their joins and annotations, so a page costs a
fixed number of queries whatever its length.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, TypedDict

from django.conf import settings
from django.db.models import (
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Coalesce

from accounts.models import User
from accounts.roles import Role, reads_area
from accounts.scoping import in_area
from common.quarters import Quarter
from register.models import (
    Household,
    HouseholdStatus,
    IncomeThreshold,
    UnitPairing,
    WeakVillage,
)
from visits.models import (
    INCOME_CATEGORIES,
    QuarterIncome,
    VillageVisit,
    Visit,
    VisitFlag,
    VisitPhoto,
    WindowExtension,
)

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

_money = DecimalField(max_digits=14, decimal_places=2)


def _reader(user: User) -> bool:
    return reads_area(user) or user.is_superuser


def visit_list(*, user: User) -> QuerySet[Visit]:
    """Visits the user may see: a helper's own, the area's for staff who read it."""
    qs = Visit.objects.select_related("household", "helper").annotate(
        flag_count=Count("flags", distinct=True)
    )
    if user.role == Role.HELPER:
        if user.helper_id is None:
            return qs.none()
        qs = qs.filter(helper_id=user.helper_id)
    elif not _reader(user):
        return qs.none()
    return in_area(qs, user).order_by("-visited_at", "id")


def visit_detail_qs(*, user: User) -> QuerySet[Visit]:
    """`visit_list` with the photos and flags one visit shows."""
    return visit_list(user=user).prefetch_related(
        Prefetch("visit_photos", queryset=VisitPhoto.objects.order_by("kind", "id")),
        Prefetch("flags", queryset=VisitFlag.objects.order_by("kind", "id")),
    )


def village_visit_list(*, user: User) -> QuerySet[VillageVisit]:
    qs = VillageVisit.objects.select_related("unit", "village")
    if user.role == Role.UNIT:
        if user.unit_id is None:
            return qs.none()
        qs = qs.filter(unit_id=user.unit_id)
    elif not _reader(user):
        return qs.none()
    return in_area(qs, user).order_by("-visited_at", "id")


def quarter_visits(quarter: Quarter, household_ref: str = "pk") -> QuerySet[Visit]:
    """The visits of `quarter` to the household named by the outer query's `household_ref`:
    the subquery every "visited this quarter?" count and status is built on."""
    return Visit.objects.filter(
        household_id=OuterRef(household_ref), year=quarter.year, quarter=quarter.q
    )


def my_households(*, user: User, quarter: Quarter, day: date) -> QuerySet[Household]:
    """The helper's households paired on `day`, each with the quarter's status: visits in the
    quarter, flags on them, and the latest visit ever (subqueries), and the current income
    records of the quarter's year and the quarter before, for `income_reference` (one more
    query a page)."""
    if user.role != Role.HELPER or user.helper_id is None:
        return Household.objects.none()
    this_quarter = quarter_visits(quarter)
    count_visits = (
        this_quarter.order_by().values("household_id").annotate(n=Count("pk")).values("n")
    )
    count_flags = (
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
    latest = Visit.objects.filter(household_id=OuterRef("pk")).order_by("-visited_at", "id")
    paired = (
        Household.objects.filter(
            pairings__helper_id=user.helper_id,
            pairings__start_date__lte=day,
        )
        .filter(Q(pairings__end_date__isnull=True) | Q(pairings__end_date__gt=day))
        .distinct()
    )
    return (
        paired.select_related("village")
        .annotate(
            quarter_visits=Coalesce(Subquery(count_visits, output_field=IntegerField()), 0),
            quarter_flags=Coalesce(Subquery(count_flags, output_field=IntegerField()), 0),
            last_visit_id=Subquery(latest.values("pk")[:1]),
            last_visited_at=Subquery(latest.values("visited_at")[:1]),
        )
        .prefetch_related(
            Prefetch(
                "quarter_incomes",
                queryset=QuarterIncome.objects.filter(
                    current=True, year__in={quarter.year, quarter.shift(-1).year}
                ).order_by("year", "quarter"),
                to_attr="recent_incomes",
            )
        )
        .order_by("village_id", "number")
    )


@dataclass(frozen=True)
class IncomeReference:
    """What a helper sees beside the income fields of a new visit: last quarter's figures,
    and the sum of this year's earlier quarters with the quarters it covers (figures equal to
    that sum, or far above last quarter's, look year-to-date rather than the quarter's own)."""

    previous_quarter: Quarter
    previous: dict[str, Decimal] | None
    earlier_quarters: list[Quarter]
    earlier_sum: dict[str, Decimal] | None


def income_reference(records: list[QuarterIncome], quarter: Quarter) -> IncomeReference:
    """From a household's current income records (`my_households`' `recent_incomes`)."""
    by_quarter = {Quarter(r.year, r.quarter): r.categories() for r in records}
    previous = quarter.shift(-1)
    earlier = [q for q in sorted(by_quarter) if q.year == quarter.year and q < quarter]
    earlier_sum = None
    if earlier:
        earlier_sum = {
            k: sum((by_quarter[q][k] for q in earlier), Decimal("0")) for k in INCOME_CATEGORIES
        }
    return IncomeReference(previous, by_quarter.get(previous), earlier, earlier_sum)


def my_visits(*, user: User, quarter: Quarter) -> QuerySet[Visit]:
    """The helper's own visits of a quarter with their photos and the flags raised (what the
    app lists under "my visits"); nothing for anyone else."""
    if user.role != Role.HELPER or user.helper_id is None:
        return Visit.objects.none()
    return visit_detail_qs(user=user).filter(year=quarter.year, quarter=quarter.q)


def my_village_visits(*, user: User, quarter: Quarter) -> QuerySet[VillageVisit]:
    """A pairing unit's own visits to its weak villages in a quarter; nothing for others."""
    if user.role != Role.UNIT or user.unit_id is None:
        return VillageVisit.objects.none()
    return village_visit_list(user=user).filter(year=quarter.year, quarter=quarter.q)


def my_villages(*, user: User, quarter: Quarter, day: date) -> QuerySet[WeakVillage]:
    """The unit's weak villages paired on `day`, with the quarter's visit status."""
    if user.role != Role.UNIT or user.unit_id is None:
        return WeakVillage.objects.none()
    quarter_visits = VillageVisit.objects.filter(
        weak_village_id=OuterRef("pk"), year=quarter.year, quarter=quarter.q
    )
    latest = VillageVisit.objects.filter(weak_village_id=OuterRef("pk")).order_by(
        "-visited_at", "id"
    )
    village_ids = (
        UnitPairing.objects.filter(unit_id=user.unit_id).held_on(day).values("weak_village_id")
    )
    return (
        WeakVillage.objects.filter(pk__in=village_ids)
        .select_related("village")
        .annotate(
            quarter_visits=Coalesce(
                Subquery(
                    quarter_visits.order_by()
                    .values("weak_village_id")
                    .annotate(n=Count("pk"))
                    .values("n"),
                    output_field=IntegerField(),
                ),
                0,
            ),
            last_visit_id=Subquery(latest.values("pk")[:1]),
            last_visited_at=Subquery(latest.values("visited_at")[:1]),
            quarter_income=Subquery(
                quarter_visits.order_by("-visited_at").values("collective_income")[:1],
                output_field=_money,
            ),
        )
        .order_by("village_id")
    )


def last_four(quarter: Quarter) -> list[Quarter]:
    return [quarter.shift(-n) for n in range(3, -1, -1)]


class AnnualIncome(TypedDict):
    """What `with_annual_income` annotates a household with."""

    annual_income: Decimal
    quarters_reported: int
    income_per_person: Decimal


def with_annual_income(
    qs: QuerySet[Household], *, quarter: Quarter
) -> "QuerySet[WithAnnotations[Household, AnnualIncome]]":
    """Annotate each household with its income over the four quarters ending at `quarter`
    (current records only), how many of them were reported, and that sum per member; all
    computed by the database."""
    quarters = Q()
    for q in last_four(quarter):
        quarters |= Q(year=q.year, quarter=q.q)
    records = QuarterIncome.objects.filter(quarters, household_id=OuterRef("pk"), current=True)
    summed = (
        records.order_by()
        .values("household_id")
        .annotate(
            sum_total=Sum(F("wages") + F("operating") + F("property") + F("transfers")),
            n=Count("pk"),
        )
    )
    annual = Coalesce(
        Subquery(summed.values("sum_total"), output_field=_money),
        Value(Decimal("0")),
        output_field=_money,
    )
    return qs.annotate(
        annual_income=annual,
        quarters_reported=Coalesce(Subquery(summed.values("n"), output_field=IntegerField()), 0),
        income_per_person=ExpressionWrapper(
            Cast(annual, _money) / Cast(F("members"), _money), output_field=_money
        ),
    )


def income_threshold(year: int) -> Decimal:
    row = IncomeThreshold.objects.filter(year=year).values_list("per_person_yuan", flat=True)
    found = row.first()
    return found if found is not None else Decimal(settings.INCOME_THRESHOLD_DEFAULT)


def exit_candidates(*, user: User, quarter: Quarter) -> tuple[QuerySet[Household], Decimal]:
    """Households of the user's area whose income per person over the last four quarters
    reached the year's line: candidates for exit (脱贫), for the office to confirm."""
    threshold = income_threshold(quarter.year)
    if not _reader(user):
        return Household.objects.none(), threshold
    qs = in_area(
        Household.objects.select_related("village").filter(
            status__in=[HouseholdStatus.ACTIVE, HouseholdStatus.RETURNED]
        ),
        user,
    )
    qs = with_annual_income(qs, quarter=quarter).filter(
        quarters_reported__gt=0, income_per_person__gte=threshold
    )
    return qs.order_by("village_id", "number"), threshold


def extension_list(*, user: User) -> QuerySet[WindowExtension]:
    if not _reader(user):
        return WindowExtension.objects.none()
    return in_area(
        WindowExtension.objects.select_related("helper", "unit", "area", "granted_by"), user
    ).order_by("-granted_at", "-pk")
