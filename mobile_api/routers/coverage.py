"""Coverage over the API: the drill-down, the pending list, the trend and the XLSX export.

Offices, supervisors and admins only (others 403); a region outside the caller's area, or
unknown, is a 404 with the same body. The numbers come from `coverage.selectors`.
"""

from django.http import FileResponse, HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from accounts.models import AuditAction
from accounts.services import audit_record
from common.errors import Unprocessable
from common.quarters import Quarter
from coverage import exports
from coverage import selectors as coverage
from coverage.selectors import Counts, CoverageReport
from coverage.village import helper_ref, village_detail
from mobile_api.auth import user_auth
from mobile_api.params import quarter_param
from mobile_api.schemas.common import AUTH_ERRORS
from mobile_api.schemas.coverage import CoverageOut, PendingPageOut, TrendOut
from regions.models import Level, Region

router = Router(tags=["走访覆盖率"], auth=user_auth)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PAGE_SIZE_MAX = 200


def counts_dict(c: Counts) -> dict:
    return {
        "paired": c.paired,
        "visited": c.visited,
        "pending": c.pending,
        "percent": c.percent,
        "flagged_visits": c.flagged_visits,
        "weak_paired": c.weak_paired,
        "weak_visited": c.weak_visited,
    }


def _region_dict(r: Region) -> dict:
    return {"code": r.code, "name": r.name, "level": r.level}


def report_dict(user, report: CoverageReport) -> dict:
    """The drill-down as the API answers it; at village level with households and helpers."""
    out = {
        "quarter": str(report.quarter),
        "quarter_label": report.quarter.label,
        "stale": report.stale,
        "region": {**_region_dict(report.region), **counts_dict(report.total)},
        "path": [_region_dict(r) for r in report.path],
        "child_level": report.child_level,
        "children": [
            {"code": a.code, "name": a.name, "level": a.level, **counts_dict(a.counts)}
            for a in report.children
        ],
        "households": None,
        "helpers": None,
    }
    if report.region.level == Level.VILLAGE:
        detail = village_detail(user, report.quarter, report.region.prefix)
        out["households"], out["helpers"] = detail.households, detail.helpers
    return out


@router.get("/coverage", response={200: CoverageOut, **AUTH_ERRORS})
def coverage_overview(request: HttpRequest, quarter: str | None = None, region: str | None = None):
    """Coverage of `region` (default: mine) for `quarter` (default: the latest whose window
    has opened), with one row per child region; at village level, each household and each
    helper."""
    place = coverage.coverage_region(request.user, region)
    q = quarter_param(quarter)
    return report_dict(request.user, coverage.coverage_report(request.user, q, place))


class PendingQuery(Schema):
    quarter: str | None = None
    region: str | None = None
    page: int = Field(1, ge=1, le=100000)
    page_size: int = Field(50, ge=1, le=PAGE_SIZE_MAX)


@router.get("/coverage/pending", response={200: PendingPageOut, **AUTH_ERRORS})
def coverage_pending(request: HttpRequest, filters: Query[PendingQuery]):
    """The unvisited pairings of the quarter (helper, phone, household, village), in village
    and household-number order. `has_next` instead of a total: the total is the drill-down's
    `pending`, and counting again would cost as much as the page on a large county."""
    place = coverage.coverage_region(request.user, filters.region)
    q = quarter_param(filters.quarter)
    size = filters.page_size
    start = (filters.page - 1) * size
    rows = list(coverage.pending_pairings(request.user, q, place)[start : start + size + 1])
    return {
        "quarter": str(q),
        "region": place.code,
        "page": filters.page,
        "page_size": size,
        "has_next": len(rows) > size,
        "items": [
            {
                "pairing_id": p.pk,
                "household_id": p.household_id,
                "household_number": p.household.number,
                "head_name": p.household.head_name,
                "village": _region_dict(p.household.village),
                "helper": helper_ref(p.helper),
                "pairing_start": p.start_date,
            }
            for p in rows[:size]
        ],
    }


@router.get("/coverage/trend", response={200: TrendOut, **AUTH_ERRORS})
def coverage_trend(
    request: HttpRequest,
    region: str | None = None,
    quarters: int = 4,
    quarter: str | None = None,
):
    """The region's coverage over the `quarters` (1-12) quarters ending at `quarter`."""
    place = coverage.coverage_region(request.user, region)
    if not 1 <= quarters <= coverage.TREND_MAX:
        raise Unprocessable(f"季度数应为1到{coverage.TREND_MAX}", code="bad_quarters")
    points = coverage.trend(request.user, place, quarter_param(quarter), quarters)
    return {
        "region": _region_dict(place),
        "points": [{"quarter": str(q), "label": q.label, **counts_dict(c)} for q, c in points],
    }


@router.get("/coverage/export.xlsx", response={200: None, **AUTH_ERRORS})
def coverage_export(
    request: HttpRequest,
    quarter: str | None = None,
    region: str | None = None,
    households: bool = False,
):
    """The coverage of the region and of every region below it, and the pending list, as one
    workbook; `households=true` adds every paired household's status (slower on a county).
    Recorded in the audit log: it names households and helpers."""
    place = coverage.coverage_region(request.user, region)
    q = quarter_param(quarter)
    return coverage_file_response(request, q, place, households=households)


def coverage_file_response(
    request: HttpRequest, q: Quarter, place: Region, *, households: bool = False
) -> FileResponse:
    """Build the workbook, record the export, and stream the file."""
    out, rows = exports.coverage_xlsx(request.user, q, place, households=households)
    audit_record(
        actor=request.user,
        action=AuditAction.EXPORT,
        target_type="coverage.selectors",
        target_id=f"{q}:{place.code}",
        region_code=place.code,
        request=request,
        detail={"quarter": str(q), "rows": rows},
    )
    response = FileResponse(
        out, content_type=XLSX, as_attachment=True, filename=f"coverage-{place.code}-{q}.xlsx"
    )
    response["Cache-Control"] = "private, no-store"
    return response
