"""A flagged photo beside the photo of another visit it repeats (the same bytes or a near
copy): what a supervisor looks at before deciding whether a visit was fabricated.

Both sides show the photo, the helper (or pairing unit), the household, the place and the
dates. The flagged visit must lie in the reader's area; the other visit may not (the search
spans a county, or the whole deployment): then only its place and date are shown, which the
flag itself records, and neither its photo nor who took it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from django.db.models import Model, QuerySet

from accounts.models import User
from accounts.roles import reads_coverage
from accounts.scoping import in_area
from common.errors import NotFound
from media.models import Photo
from media.selectors import photo_url
from visits.models import FlagKind, VillageVisit, Visit, VisitFlag

PAIR_KINDS = (FlagKind.DUPLICATE_PHOTO, FlagKind.NEAR_DUPLICATE_PHOTO)
M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class Side:
    title: str
    visible: bool  # in the reader's area: photo and people shown
    place: str
    visited_at: datetime | None
    photo_src: str | None = None
    photo_kind: str = ""
    taken_at: datetime | None = None
    who: str = ""  # the helper, or the pairing unit of a village visit
    household: str = ""
    visit_id: str = ""


@dataclass(frozen=True)
class PhotoPair:
    flag: VisitFlag
    ours: Side
    other: Side
    distance: int | None  # bits apart (None: the same bytes)
    max_distance: int | None

    @property
    def sides(self) -> tuple[Side, Side]:
        return (self.ours, self.other)


def _place(village) -> str:
    """'County Town Village' (the town and county are loaded with the village)."""
    town = village.parent
    county = town.parent if town else None
    return " ".join(r.name for r in (county, town, village) if r is not None)


def _photo(photo_id: object) -> Photo | None:
    try:
        return Photo.objects.filter(pk=uuid.UUID(str(photo_id))).first()
    except ValueError:
        return None


def _visit_side(title: str, visit: Visit, photo: Photo | None) -> Side:
    return Side(
        title=title,
        visible=True,
        place=_place(visit.village),
        visited_at=visit.visited_at,
        photo_src=photo_url(photo.pk, "display") if photo else None,
        photo_kind=photo.get_kind_display() if photo else "",
        taken_at=photo.taken_at if photo else None,
        who=f"帮扶责任人 {visit.helper.name}",
        household=f"{visit.household.number} {visit.household.head_name}",
        visit_id=str(visit.pk),
    )


def _village_visit_side(title: str, visit: VillageVisit, photo: Photo | None) -> Side:
    return Side(
        title=title,
        visible=True,
        place=_place(visit.village),
        visited_at=visit.visited_at,
        photo_src=photo_url(photo.pk, "display") if photo else None,
        photo_kind=photo.get_kind_display() if photo else "",
        taken_at=photo.taken_at if photo else None,
        who=f"帮扶单位 {visit.unit.name}",
        household="经济薄弱村走访",
        visit_id=str(visit.pk),
    )


def _in_area(qs: QuerySet[M], pk: object, user: User) -> M | None:
    """The row of `qs` with this id, if it lies in the user's area (ids come from a flag's
    detail: anything unreadable is no row)."""
    if not pk:
        return None
    try:
        key = uuid.UUID(str(pk))
    except ValueError:
        return None
    return in_area(qs, user).filter(pk=key).first()


_PLACE = ("village", "village__parent", "village__parent__parent")


def photo_pair(*, user: User, flag_id: int) -> PhotoPair:
    """The pair behind a duplicate or near-duplicate flag of a visit in the user's area; a
    404 for any other flag, a flag outside the area, or a user who does not read an area."""
    if not reads_coverage(user):
        raise NotFound("疑点不存在")
    flag = (
        in_area(VisitFlag.objects.select_related("photo"), user)
        .filter(pk=flag_id, kind__in=PAIR_KINDS)
        .first()
    )
    if flag is None:
        raise NotFound("疑点不存在")
    visits = Visit.objects.select_related("household", "helper", *_PLACE)
    visit = _in_area(visits, flag.visit_id, user)
    assert visit is not None  # the flag is in the area: so is its visit
    ours = _visit_side("本次走访(被标记)", visit, flag.photo)
    detail = flag.detail
    other_photo = _photo(detail.get("other_photo"))
    other_visit = _in_area(visits, detail.get("other_visit"), user)
    village_visits = VillageVisit.objects.select_related("unit", *_PLACE)
    other_village_visit = _in_area(village_visits, detail.get("other_village_visit"), user)
    if other_visit is not None:
        other = _visit_side("另一次走访", other_visit, other_photo)
    elif other_village_visit is not None:
        other = _village_visit_side("另一次走访", other_village_visit, other_photo)
    else:
        # Outside the reader's area (or gone): what the flag recorded, nothing personal.
        at = detail.get("other_visited_at")
        other = Side(
            title="另一次走访(不在您的辖区)",
            visible=False,
            place=detail.get("other_place", ""),
            visited_at=datetime.fromisoformat(at) if at else None,
        )
    return PhotoPair(
        flag=flag,
        ours=ours,
        other=other,
        distance=detail.get("hamming_distance"),
        max_distance=detail.get("max_distance"),
    )
