"""Copy the holidays the `chinese-calendar` package knows into the database."""

from chinese_calendar import constants

from workdays.models import DayKind


def known_years() -> range:
    first = min(constants.holidays).year
    last = max(max(constants.holidays), max(constants.workdays)).year
    return range(first, last + 1)


def seed_from_chinese_calendar(special_day_model, calendar_year_model) -> int:
    """Insert the package's holidays and make-up working days; mark its years published.

    Years already in the table are left as they are: an office's later load wins.
    """
    version = getattr(constants, "__version__", "") or "chinese-calendar"
    existing = set(calendar_year_model.objects.values_list("year", flat=True))
    years = [y for y in known_years() if y not in existing]
    rows = [
        special_day_model(date=day, kind=DayKind.HOLIDAY, name=str(name))
        for day, name in constants.holidays.items()
        if day.year in years
    ] + [
        special_day_model(date=day, kind=DayKind.WORKDAY, name=str(name))
        for day, name in constants.workdays.items()
        if day.year in years
    ]
    special_day_model.objects.bulk_create(rows, batch_size=500, ignore_conflicts=True)
    calendar_year_model.objects.bulk_create(
        [calendar_year_model(year=y, published=True, source=f"{version} package") for y in years]
    )
    return len(rows)
