"""The payments overview as an XLSX workbook (every cell through `common.xlsx`, which drops
control characters and keeps text that looks like a formula as text)."""

from __future__ import annotations

import io

from openpyxl import Workbook

from common import xlsx
from payments.selectors import Overview, OverviewRow

HEADER = [
    "区划代码",
    "名称",
    "发放笔数",
    "发放金额(元)",
    "走访已核对",
    "尚未核对",
    "核对率(%)",
    "问题未办结",
    "问题已办结",
    "未处理预警",
]


def _row(r: OverviewRow) -> list:
    return [
        r.code,
        r.name,
        r.payments,
        r.amount,
        r.checked,
        r.unchecked,
        r.checked_percent if r.checked_percent is not None else "",
        r.discrepancies_open,
        r.discrepancies_closed,
        r.warnings_open,
    ]


def overview_xlsx(overview: Overview) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(f"补贴核对{overview.year}")
    sheet.append(xlsx.row([f"{overview.region.name} {overview.year}年补贴发放与核对情况"]))
    sheet.append(xlsx.row(HEADER))
    sheet.append(xlsx.row(_row(overview.total)))
    for child in overview.children:
        sheet.append(xlsx.row(_row(child)))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
