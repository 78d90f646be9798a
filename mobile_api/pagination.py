"""The API's page-number pagination, with a bounded page number.

django-ninja's own accepts any page ≥ 1; page × page size beyond a 64-bit OFFSET made the
database fail (SQLite "datatype mismatch", a 500) instead of answering an empty page or a 422.
"""

from ninja import Field, Schema
from ninja.pagination import PageNumberPagination

# 1,000,000 pages of the largest page size (200) is far beyond any list here, and its offset
# far within a 64-bit integer.
PAGE_MAX = 1_000_000


class Pagination(PageNumberPagination):
    class Input(Schema):
        page: int = Field(1, ge=1, le=PAGE_MAX, description="页码,从 1 开始")
        page_size: int | None = Field(
            None, ge=1, le=PAGE_MAX, description="每页条数(超过上限按上限)"
        )


class Mapped:
    """A queryset whose rows `fn` turns into dicts, only for the page asked for.

    For lists whose row shape lives in a presenter shared with the pages (grievances.present):
    the pagination counts in the database and slices the queryset, and only that page's rows
    are built."""

    def __init__(self, queryset, fn):
        self.queryset, self.fn = queryset, fn

    def all(self) -> "Mapped":
        return self

    def count(self) -> int:
        return self.queryset.count()

    def __getitem__(self, page: slice) -> list:
        return [self.fn(obj) for obj in self.queryset[page]]
