"""The area rule, in one place: a staff user sees their region and the regions below it.

Every queryset a user can see passes through `in_area`. Each scoped model names the lookup
path to its region in `AREA_PATH` (for example `"village"` for a household); the filter is a
prefix match on the 12-digit division code, which an index serves.
"""

from typing import TypeVar

from django.db.models import Model, QuerySet

M = TypeVar("M", bound=Model)


def area_prefix(user) -> str | None:
    """The code prefix the user's area covers; None for a superuser, who sees everything.

    An anonymous user, or a staff user with no region, gets a prefix no code has.
    """
    if user is None or not user.is_authenticated or not user.is_active:
        return "-"
    if user.is_superuser:
        return None
    if user.region_id is None:
        return "-"
    from regions.models import prefix_of_code

    return prefix_of_code(user.region_id)


def area_path(model: type[Model]) -> str:
    try:
        return model.AREA_PATH  # type: ignore[attr-defined]
    except AttributeError as exc:
        raise TypeError(f"{model.__name__} has no AREA_PATH: it cannot be area-scoped") from exc


def in_area(qs: QuerySet[M], user, *, path: str | None = None) -> QuerySet[M]:
    """Restrict `qs` to the objects in the user's area."""
    prefix = area_prefix(user)
    if prefix is None:
        return qs
    path = path if path is not None else area_path(qs.model)
    # Filtering on the related code is trimmed by Django to the foreign-key column itself,
    # so the prefix match needs no join to the region table.
    lookup = f"{path}__code__startswith" if path else "code__startswith"
    return qs.filter(**{lookup: prefix})


def code_in_area(user, code: str | None) -> bool:
    """Whether a region code lies in the user's area (for objects already loaded)."""
    prefix = area_prefix(user)
    if prefix is None:
        return True
    return bool(code and code.startswith(prefix))
