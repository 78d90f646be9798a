"""Query parameters several routers read the same way."""

from common.errors import Unprocessable
from coverage import selectors as coverage
from visits.windows import Quarter


def quarter_param(text: str | None) -> Quarter:
    """`?quarter=2026Q3`; empty: the latest quarter whose window has opened (offices' and
    supervisors' default, `coverage.default_quarter`). Malformed: a 422."""
    try:
        return coverage.parse_quarter(text)
    except ValueError as exc:
        raise Unprocessable("季度格式应为如 2026Q3", code="bad_quarter") from exc
