"""`Mapped` lets the API's pagination count and slice in the database and build only the rows
of the page asked for."""

import pytest

from mobile_api.pagination import Mapped, Pagination
from regions.models import Region

pytestmark = pytest.mark.django_db


def test_only_the_page_is_built(regions, rf, django_assert_max_num_queries):
    built = []

    def row(region):
        built.append(region.pk)
        return {"code": region.pk}

    regions_qs = Region.objects.order_by("code")
    total = regions_qs.count()
    pagination = Pagination()
    with django_assert_max_num_queries(2):  # the count and the page
        page = pagination.paginate_queryset(
            Mapped(regions_qs, row),
            pagination.Input(page=2, page_size=2),
            request=rf.get("/"),
        )
    assert page["count"] == total
    assert len(page["items"]) == len(built) == 2
    assert [r["code"] for r in page["items"]] == list(regions_qs.values_list("pk", flat=True))[2:4]
