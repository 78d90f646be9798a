"""Coverage as an XLSX workbook (openpyxl write-only: rows go to disk as they are written, so
memory stays flat for a county of 100,000 households).

Sheets: 覆盖率 (the region and every region below it, down to villages), 未走访名单 (the pending
pairings) and, when asked, 走访明细 (every paired household with its quarter's status and
responsible helper). Household rows are read in chunks; each chunk's helpers come in one query.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import IO

from django.utils import timezone
from openpyxl import Workbook

from common import xlsx
from common.quarters import SHANGHAI, Quarter
from coverage import selectors as coverage
from coverage.selectors import Counts
from regions.models import PREFIX_DIGITS, Level, Region

CHUNK = 2000
SUMMARY_HEADER = [
    "区划代码",
    "名称",
    "层级",
    "结对户数",
    "已走访户数",
    "未走访户数",
    "覆盖率(%)",
    "疑点走访数",
    "薄弱村(挂钩)",
    "薄弱村(已走访)",
]
DETAIL_HEADER = [
    "村(居)代码",
    "村(居)",
    "户编号",
    "户主",
    "本季度走访次数",
    "最近走访时间",
    "疑点数",
    "走访情况",
    "帮扶责任人",
    "责任人手机号",
    "所在单位",
]
PENDING_HEADER = [
    "村(居)代码",
    "村(居)",
    "户编号",
    "户主",
    "帮扶责任人",
    "责任人手机号",
    "所在单位",
    "结对开始日期",
]


def summary_row(code: str, name: str, level: str, c: Counts) -> list:
    return [
        code,
        name,
        Level(level).label,
        c.paired,
        c.visited,
        c.pending,
        c.percent if c.percent is not None else "",
        c.flagged_visits,
        c.weak_paired,
        c.weak_visited,
    ]


def summary_rows(user, quarter: Quarter, region: Region) -> Iterator[list]:
    """The region, then every region below it in code order, with its counts.

    One grouped query at village level; each region's numbers are the sum of its villages'
    (a household lies in exactly one village, so the sums are exact).
    """
    by_village, _ = coverage.village_counts(user, quarter, region)
    totals: dict[str, Counts] = {}
    for digits in set(PREFIX_DIGITS.values()):
        totals.update(coverage.roll_up(by_village, digits))
    regions = Region.objects.filter(code__startswith=region.prefix).order_by("code")
    for r in regions.only("code", "name", "level").iterator(chunk_size=CHUNK):
        yield summary_row(r.code, r.name, r.level, totals.get(r.prefix, Counts()))


def _chunks(qs) -> Iterator[list]:
    chunk = []
    for obj in qs.iterator(chunk_size=CHUNK):
        chunk.append(obj)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _local(moment) -> str:
    return timezone.localtime(moment, SHANGHAI).strftime("%Y-%m-%d %H:%M") if moment else ""


DETAIL_FIELDS = (
    "village_id",
    "village_name",
    "number",
    "head_name",
    "visit_count",
    "last_visited_at",
    "flag_count",
    "responsible_helper_id",
)


def detail_rows(user, quarter: Quarter, region: Region) -> Iterator[list]:
    # Plain rows, not model instances: a county's sheet has 100,000 of them.
    qs = coverage.household_status(user, quarter, region.prefix).values_list(*DETAIL_FIELDS)
    for chunk in _chunks(qs):
        helpers = coverage.helpers_by_id(row[-1] for row in chunk)
        for village, village_name, number, head, visits, last, flags, helper_id in chunk:
            helper = helpers.get(helper_id)
            yield [
                village,
                village_name,
                number,
                head,
                visits,
                _local(last),
                flags,
                "已走访" if visits else "未走访",
                helper.name if helper else "",
                helper.phone if helper else "",
                helper.unit.name if helper and helper.unit_id else "",
            ]


def pending_rows(user, quarter: Quarter, region: Region) -> Iterator[list]:
    for p in coverage.pending_pairings(user, quarter, region).iterator(chunk_size=CHUNK):
        yield [
            p.household.village_id,
            p.household.village.name,
            p.household.number,
            p.household.head_name,
            p.helper.name,
            p.helper.phone,
            p.helper.unit.name if p.helper.unit_id else "",
            p.start_date.isoformat(),
        ]


def coverage_xlsx(
    user, quarter: Quarter, region: Region, *, households: bool = False
) -> tuple[IO[bytes], dict[str, int]]:
    """Write the workbook to an anonymous temporary file; return it (at offset 0) and the
    number of rows on each sheet. The caller streams the file and closes it.

    `households` adds the per-household sheet: openpyxl writes ~3,500 rows a second here, so
    a 100,000-household county's sheet alone takes about half a minute; it is asked for, not
    default."""
    workbook = Workbook(write_only=True)
    counts: dict[str, int] = {}
    sheets = [(f"覆盖率 {quarter}", SUMMARY_HEADER, summary_rows(user, quarter, region))]
    if households:
        sheets.append(("走访明细", DETAIL_HEADER, detail_rows(user, quarter, region)))
    sheets.append(("未走访名单", PENDING_HEADER, pending_rows(user, quarter, region)))
    for title, header, rows in sheets:
        sheet = workbook.create_sheet(title)
        sheet.append(header)
        n = 0
        for row in rows:
            sheet.append(xlsx.row(row))
            n += 1
        counts[title] = n
    # Handed to the response, which closes (and so deletes) it once streamed.
    out = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115
    workbook.save(out)
    out.seek(0)
    return out, counts
