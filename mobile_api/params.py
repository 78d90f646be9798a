"""Query parameters several routers read the same way."""

from common.errors import Unprocessable
from common.quarters import Quarter, quarter_or_default


def quarter_param(text: str | None, *, default: Quarter | None = None) -> Quarter:
    """`?quarter=2026Q3`; empty: `default`, else the latest quarter whose window has opened
    (offices' and supervisors' default, `common.quarters.default_quarter`). Malformed: a 422."""
    try:
        return quarter_or_default(text, default=default)
    except ValueError as exc:
        raise Unprocessable("季度格式应为如 2026Q3", code="bad_quarter") from exc
