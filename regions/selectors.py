"""Reads of the region tree."""

from django.db.models import QuerySet

from regions.models import CHILD_LEVEL, PREFIX_DIGITS, Level, Region


def region_children(region: Region) -> QuerySet[Region]:
    return Region.objects.filter(parent=region).order_by("code")


def region_descendants(region: Region, *, level: Level | None = None) -> QuerySet[Region]:
    qs = Region.objects.filter(code__startswith=region.prefix).exclude(code=region.code)
    if level is not None:
        qs = qs.filter(level=level)
    return qs.order_by("code")


def region_path(region: Region) -> list[Region]:
    """The region and its ancestors, root first, in one query."""
    codes = []
    for level in (Level.PROVINCE, Level.CITY, Level.COUNTY, Level.TOWN):
        ancestor = region.code[: PREFIX_DIGITS[level]].ljust(12, "0")
        if ancestor != region.code and ancestor not in codes:
            codes.append(ancestor)
    ancestors = {r.code: r for r in Region.objects.filter(code__in=codes)}
    return [ancestors[c] for c in codes if c in ancestors] + [region]


def child_level(region: Region) -> Level | None:
    return CHILD_LEVEL.get(Level(region.level))
