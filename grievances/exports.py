"""XLSX exports (openpyxl write-only, so memory stays flat). Exports never carry the
complainant's name or phone, for any reader."""

from collections.abc import Iterable
from io import BytesIO

from django.utils import timezone
from openpyxl import Workbook

from common import xlsx
from common.quarters import Quarter
from grievances.models import Grievance

STATS_HEADER = [
    "承办部门",
    "收到件数",
    "按时回复",
    "按时办结",
    "当前超期",
    "退回",
    "平均回复用时(工作日)",
    "平均办结用时(工作日)",
]


def _save(workbook: Workbook) -> bytes:
    out = BytesIO()
    workbook.save(out)
    return out.getvalue()


def stats_xlsx(rows: list[dict], quarter: Quarter) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(quarter.label)
    sheet.append(STATS_HEADER)
    for r in rows:
        sheet.append(
            xlsx.row(
                [
                    r["department_name"],
                    r["received"],
                    r["replied_on_time"],
                    r["resolved_on_time"],
                    r["overdue_now"],
                    r["returned"],
                    r["avg_reply_workdays"],
                    r["avg_resolve_workdays"],
                ]
            )
        )
    return _save(workbook)


QUEUE_HEADER = [
    "查询码",
    "类型",
    "分类",
    "状态",
    "区划",
    "承办部门",
    "提交时间",
    "当前期限",
    "超期",
    "内容",
]


def queue_xlsx(cases: Iterable[Grievance]) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("诉求清单")
    sheet.append(QUEUE_HEADER)
    for case in cases:
        sheet.append(
            xlsx.row(
                [
                    case.display_code,
                    case.get_kind_display(),
                    case.get_category_display(),
                    case.get_state_display(),
                    case.region.name,
                    case.department.name if case.department_id else "",
                    timezone.localtime(case.submitted_at).strftime("%Y-%m-%d %H:%M"),
                    case.next_due.isoformat() if case.next_due else "",
                    "是" if case.overdue else "",
                    case.text[:500],
                ]
            )
        )
    return _save(workbook)
