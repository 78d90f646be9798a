"""Reads of the visits domain, always through the area rule (`in_area`) or the caller's own.

List selectors return ordered querysets with their joins and annotations, so a page costs a
fixed number of queries whatever its length.
"""

from datetime import date
from decimal import Decimal

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
    QuarterIncome,
    VillageVisit,
    Visit,
    VisitFlag,
    VisitPhoto,
    WindowExtension,
)

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


def _quarter_visits(quarter: Quarter):
    return Visit.objects.filter(household_id=OuterRef("pk"), year=quarter.year, quarter=quarter.q)


def my_households(*, user: User, quarter: Quarter, day: date) -> QuerySet[Household]:
    """The helper's households paired on `day`, each with the quarter's status: visits in the
    quarter, flags on them, and the latest visit ever. Subqueries, so one query per page."""
    if user.role != Role.HELPER or user.helper_id is None:
        return Household.objects.none()
    quarter_visits = _quarter_visits(quarter)
    count_visits = (
        quarter_visits.order_by().values("household_id").annotate(n=Count("pk")).values("n")
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
        .order_by("village_id", "number")
    )


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


def with_annual_income(qs: QuerySet[Household], *, quarter: Quarter) -> QuerySet[Household]:
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
            total=Sum(F("wages") + F("operating") + F("property") + F("transfers")),
            n=Count("pk"),
        )
    )
    annual = Coalesce(
        Subquery(summed.values("total"), output_field=_money),
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
