"""Loading a year of the State Council's holiday schedule (节假日安排) into the calendar.

An office loads a newly announced year from a CSV or XLSX file with the columns `date`
(YYYY-MM-DD), `kind` (`holiday`/`workday`, or 休/班) and an optional `name`. The file may also
correct days of December of the previous year: the schedule for a year can move late-December
days of the year before (it did for 2018-12-29).

Every row is checked first and every bad row is reported by its number and reason; when any
row is bad nothing changes. A good file replaces that year's special days in one transaction,
upserts the December corrections and marks the year published. After commit the
`calendar_loaded` hooks (registered by apps in `AppConfig.ready()`) are called with
`years=[...]`, so that provisional deadlines are recomputed at once (the periodic job
recomputes them too, should a hook fail).
"""

import csv
import io
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from common.errors import AppError
from common.hooks import Hooks, dotted_name
from workdays.models import CalendarYear, DayKind, SpecialDay

logger = logging.getLogger(__name__)

# Called with `years=[...]` after an office loads (publishes) calendar years.
calendar_loaded: Hooks[Callable[..., object]] = Hooks("calendar loaded")

# Accepted spellings of each column and of each kind; the first is the canonical one.
COLUMN_NAMES = {
    "date": ("date", "日期"),
    "kind": ("kind", "类型"),
    "name": ("name", "节日", "名称", "说明"),
}
KIND_NAMES = {
    "holiday": DayKind.HOLIDAY,
    "休": DayKind.HOLIDAY,
    "假": DayKind.HOLIDAY,
    "放假": DayKind.HOLIDAY,
    "workday": DayKind.WORKDAY,
    "班": DayKind.WORKDAY,
    "上班": DayKind.WORKDAY,
}
NAME_MAX = SpecialDay._meta.get_field("name").max_length
# A calendar file has at most a few dozen rows; anything far larger is the wrong file.
MAX_ROWS = 1000
FIRST_LOADABLE_YEAR = 2000


class CalendarFileInvalid(AppError):
    """The file has bad rows (or is not a calendar file at all); nothing was changed."""

    status = 422
    code = "calendar_file_invalid"


@dataclass(frozen=True)
class RowProblem:
    row: int | None  # the row number as a spreadsheet shows it (header = 1); None: the file
    message: str

    def __str__(self) -> str:
        return f"第{self.row}行:{self.message}" if self.row is not None else self.message


@dataclass(frozen=True)
class CalendarRow:
    row: int
    day: date
    kind: DayKind
    name: str


@dataclass
class CalendarLoadReport:
    year: int
    holidays: int = 0
    workdays: int = 0
    replaced: int = 0  # special days of `year` there were before the load
    corrections: list[CalendarRow] = field(default_factory=list)
    warnings: list[RowProblem] = field(default_factory=list)

    @property
    def years(self) -> list[int]:
        """The years whose answers may have changed (the hooks get them)."""
        return sorted({self.year} | {c.day.year for c in self.corrections})

    def lines(self) -> list[str]:
        """The report as a person reads it."""
        out = [
            f"{self.year}年日历已载入:放假 {self.holidays} 天,调休上班 {self.workdays} 天"
            f"(替换原有 {self.replaced} 条)。"
        ]
        for c in self.corrections:
            out.append(f"更正 {c.day.isoformat()}:{c.kind.label} {c.name}".rstrip())
        out.extend(f"提示:{w}" for w in self.warnings)
        return out


# --- Reading the file -------------------------------------------------------------------------


RawRow = tuple[int, Mapping[str, Any]]


def _canonical_header(cell: Any) -> str | None:
    text = str(cell or "").strip().lstrip("\ufeff").lower()
    for canonical, spellings in COLUMN_NAMES.items():
        if text in spellings:
            return canonical
    return None


def _rows_from_table(table: Iterable[tuple[int, list[Any]]]) -> list[RawRow]:
    """Turn (row number, cells) into dicts keyed by canonical column, skipping blanks/comments."""
    header: list[str | None] | None = None
    rows: list[RawRow] = []
    for number, cells in table:
        values = list(cells)
        first = str(values[0]).strip() if values and values[0] is not None else ""
        if first.startswith("#") or all(v is None or str(v).strip() == "" for v in values):
            continue  # comments (the sample file labels itself with them) and blank lines
        if header is None:
            header = [_canonical_header(v) for v in values]
            missing = [c for c in ("date", "kind") if c not in header]
            if missing:
                raise CalendarFileInvalid(
                    "文件缺少必需的列",
                    detail={
                        "errors": [
                            {
                                "row": number,
                                "message": "表头必须包含 date(日期)和 kind(类型)两列,"
                                "可选 name(节日)",
                            }
                        ]
                    },
                )
            continue
        rows.append((number, {h: v for h, v in zip(header, values, strict=False) if h}))
        if len(rows) > MAX_ROWS:
            raise CalendarFileInvalid(
                f"文件行数超过 {MAX_ROWS} 行,不像是年度日历文件",
                detail={"errors": [{"row": None, "message": "行数过多"}]},
            )
    if header is None:
        raise CalendarFileInvalid(
            "文件为空", detail={"errors": [{"row": None, "message": "文件中没有表头和数据"}]}
        )
    return rows


def _decode(data: bytes) -> str:
    # Excel on Chinese Windows saves CSV as GB18030 (GBK); everything else writes UTF-8.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise CalendarFileInvalid(
        "无法识别文件编码,请另存为 UTF-8 编码的 CSV",
        detail={"errors": [{"row": None, "message": "文件编码无法识别"}]},
    )


def _csv_rows(data: bytes) -> list[RawRow]:
    reader = csv.reader(io.StringIO(_decode(data), newline=""))
    return _rows_from_table((reader.line_num, cells) for cells in reader)


def _xlsx_rows(data: bytes) -> list[RawRow]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a file that is not a workbook
        raise CalendarFileInvalid(
            "无法读取 XLSX 文件",
            detail={"errors": [{"row": None, "message": f"不是有效的 Excel 文件({exc})"}]},
        ) from exc
    try:
        sheet = workbook.worksheets[0]
        return _rows_from_table(
            (number, list(cells))
            for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1)
        )
    finally:
        workbook.close()


def read_calendar_file(source: str | Path | IO[bytes], *, filename: str | None = None) -> list:
    """The file's data rows as (row number, {column: value}); XLSX by name or by its zip magic."""
    if isinstance(source, str | Path):
        path = Path(source)
        data, filename = path.read_bytes(), filename or path.name
    else:
        data = source.read()
        if isinstance(data, str):
            data = data.encode()
        filename = filename or getattr(source, "name", "") or ""
    is_xlsx = str(filename).lower().endswith(".xlsx") or data[:4] == b"PK\x03\x04"
    return _xlsx_rows(data) if is_xlsx else _csv_rows(data)


# --- Checking the rows ------------------------------------------------------------------------


def _parse_day(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text.replace("/", "-"))
    except ValueError:
        return None


def check_rows(rows: list[RawRow], *, year: int) -> tuple[list[CalendarRow], list[RowProblem]]:
    """Parse and check every row: the parsed rows and the warnings.

    Raises CalendarFileInvalid listing every bad row (all of them, not just the first).
    """
    errors: list[RowProblem] = []
    warnings: list[RowProblem] = []
    parsed: list[CalendarRow] = []
    seen: dict[date, int] = {}
    for number, cells in rows:
        raw_day, raw_kind = cells.get("date"), cells.get("kind")
        day = _parse_day(raw_day)
        kind = KIND_NAMES.get(str(raw_kind or "").strip().lower())
        name = str(cells.get("name") or "").strip()
        problems = []
        if day is None:
            problems.append(f"日期“{raw_day or ''}”无效,应为 YYYY-MM-DD")
        elif not (day.year == year or (day.year == year - 1 and day.month == 12)):
            problems.append(
                f"日期 {day.isoformat()} 不在 {year} 年内,也不是 {year - 1} 年12月的更正"
            )
        elif day in seen:
            problems.append(f"日期 {day.isoformat()} 与第{seen[day]}行重复")
        if kind is None:
            problems.append(f"类型“{raw_kind or ''}”无效,应为 holiday/休 或 workday/班")
        if len(name) > NAME_MAX:
            problems.append(f"节日名称超过 {NAME_MAX} 个字")
        if problems:
            errors.append(RowProblem(number, ";".join(problems)))
            continue
        assert day is not None and kind is not None
        seen[day] = number
        if kind == DayKind.WORKDAY and day.weekday() < 5:
            warnings.append(
                RowProblem(number, f"{day.isoformat()} 是周一至周五,本来就是工作日,不必标注班")
            )
        parsed.append(CalendarRow(number, day, kind, name))
    if not errors and not any(r.day.year == year for r in parsed):
        errors.append(RowProblem(None, f"文件中没有 {year} 年的日期"))
    if errors:
        raise CalendarFileInvalid(
            f"日历文件有 {len(errors)} 处错误,未做任何修改",
            detail={"errors": [{"row": e.row, "message": e.message} for e in errors]},
        )
    if not any(r.kind == DayKind.HOLIDAY and r.day.year == year for r in parsed):
        warnings.append(RowProblem(None, f"文件中没有 {year} 年的放假日期,请确认文件是否完整"))
    return parsed, warnings


# --- Loading ------------------------------------------------------------------------------------


def _stored(row: CalendarRow) -> SpecialDay | None:
    """The row as stored: a weekday marked 班 is an ordinary day and needs no row.

    (As a December correction it still matters: it removes a holiday stored earlier.)
    """
    if row.kind == DayKind.WORKDAY and row.day.weekday() < 5:
        return None
    return SpecialDay(date=row.day, kind=row.kind, name=row.name)


def _apply_corrections(rows: list[CalendarRow]) -> None:
    """Upsert December corrections; a weekday marked 班 removes a stored holiday instead."""
    for row in rows:
        stored = _stored(row)
        if stored is None:
            SpecialDay.objects.filter(date=row.day).delete()
        else:
            SpecialDay.objects.update_or_create(
                date=row.day, defaults={"kind": row.kind, "name": row.name}
            )


def _correction_row(saved: Mapping[str, Any]) -> CalendarRow:
    day = date.fromisoformat(saved["date"])
    return CalendarRow(row=0, day=day, kind=DayKind(saved["kind"]), name=saved["name"])


def calendar_load(
    *,
    rows_or_file: str | Path | IO[bytes] | list[RawRow] | list[Mapping[str, Any]],
    year: int,
    source: str,
    user: User | None,
    filename: str | None = None,
) -> CalendarLoadReport:
    """Load `year`'s holidays and make-up workdays, replacing what the year had.

    `rows_or_file` is a path, an open (binary) file or an uploaded file, or already-read rows:
    dicts with `date`/`kind`/`name`, or (row number, dict) pairs. Raises CalendarFileInvalid
    naming every bad row, having changed nothing.
    """
    if not FIRST_LOADABLE_YEAR <= year <= 2100:
        raise CalendarFileInvalid(
            "年度无效", detail={"errors": [{"row": None, "message": f"年度 {year} 不在有效范围"}]}
        )
    if isinstance(rows_or_file, list):
        raw = [
            item if isinstance(item, tuple) else (number, item)
            for number, item in enumerate(rows_or_file, start=2)
        ]
    else:
        raw = read_calendar_file(rows_or_file, filename=filename)
    parsed, warnings = check_rows(raw, year=year)
    report = CalendarLoadReport(year=year, warnings=warnings)
    in_year = [r for r in parsed if r.day.year == year]
    report.corrections = [r for r in parsed if r.day.year == year - 1]

    with transaction.atomic():
        # Lock the year's row first: two offices loading the same year at once take turns,
        # and the second one's file wins whole rather than the two files interleaving.
        CalendarYear.objects.get_or_create(year=year)
        calendar_year = CalendarYear.objects.select_for_update().get(year=year)
        if not CalendarYear.objects.filter(year=year - 1, published=True).exists() and (
            report.corrections
        ):
            report.warnings.append(
                RowProblem(None, f"{year - 1} 年日历尚未载入,其12月的更正已保存但仍为暂定")
            )
        year_days = SpecialDay.objects.filter(date__year=year)
        report.replaced = year_days.count()
        year_days.delete()
        SpecialDay.objects.bulk_create([s for s in map(_stored, in_year) if s is not None])
        _apply_corrections(report.corrections)
        # The next year's file, loaded earlier, corrected this December: it is the later
        # notice, so its corrections still stand over this file's December.
        later = CalendarYear.objects.filter(year=year + 1, published=True).first()
        if later is not None:
            _apply_corrections([_correction_row(c) for c in later.corrections])
        report.holidays = sum(r.kind == DayKind.HOLIDAY for r in in_year)
        report.workdays = sum(_stored(r) is not None and r.kind == DayKind.WORKDAY for r in in_year)
        calendar_year.published = True
        calendar_year.corrections = [
            {"date": r.day.isoformat(), "kind": r.kind, "name": r.name} for r in report.corrections
        ]
        calendar_year.source = (source or "").strip()[:200]
        calendar_year.loaded_by = user if user is not None and user.is_authenticated else None
        calendar_year.loaded_at = timezone.now()
        calendar_year.full_clean()
        calendar_year.save()
        years = report.years
        transaction.on_commit(lambda: run_loaded_hooks(years=years))
    return report


def run_loaded_hooks(*, years: list[int]) -> None:
    """Call each `calendar_loaded` hook with the years that changed.

    A failing hook is logged and the others still run: the load itself has committed, and the
    periodic job recomputes provisional deadlines anyway.
    """
    for hook in calendar_loaded:
        try:
            hook(years=years)
        except Exception:
            logger.exception(
                "calendar-loaded hook %s failed for years %s", dotted_name(hook), years
            )
