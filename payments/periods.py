"""The period a subsidy payment is for: a month (2026-03), a quarter (2026Q1) or a year (2026).

One canonical text per period is stored beside its first and last day, so payments of one
period group by an exact match and the "unpaid N days after the period" rule compares dates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

MONTH = "month"
QUARTER = "quarter"
YEAR = "year"

_MONTH = re.compile(r"^(\d{4})\s*(?:[-/.年]\s*)?(\d{1,2})\s*月?$")
_QUARTER = re.compile(r"^(\d{4})\s*(?:[Qq]|年\s*第?\s*)([1-4])\s*(?:季度?)?$")
_YEAR = re.compile(r"^(\d{4})\s*年?(?:度)?$")


@dataclass(frozen=True, order=True)
class Period:
    kind: str
    year: int
    number: int  # month 1-12, quarter 1-4, 1 for a year

    @classmethod
    def parse(cls, text: str, kind: str) -> Period:
        """The period of `kind` that `text` names, or ValueError (with a reason to show).

        Months: 2026-03, 2026/3, 202603, 2026年3月; quarters: 2026Q1, 2026年第1季度;
        years: 2026, 2026年, 2026年度."""
        text = (text or "").strip()
        if kind == MONTH:
            if re.fullmatch(r"\d{6}", text):
                text = f"{text[:4]}-{text[4:]}"
            match = _MONTH.match(text)
            if match and 1 <= int(match.group(2)) <= 12:
                return cls(MONTH, _year(match.group(1)), int(match.group(2)))
            raise ValueError(f"所属期「{text}」应为月份,如 2026-03")
        if kind == QUARTER:
            match = _QUARTER.match(text)
            if match:
                return cls(QUARTER, _year(match.group(1)), int(match.group(2)))
            raise ValueError(f"所属期「{text}」应为季度,如 2026Q1")
        if kind == YEAR:
            match = _YEAR.match(text)
            if match:
                return cls(YEAR, _year(match.group(1)), 1)
            raise ValueError(f"所属期「{text}」应为年度,如 2026")
        raise ValueError(f"未知的发放周期「{kind}」")

    @classmethod
    def containing(cls, day: date, kind: str) -> Period:
        if kind == MONTH:
            return cls(MONTH, day.year, day.month)
        if kind == QUARTER:
            return cls(QUARTER, day.year, (day.month - 1) // 3 + 1)
        return cls(YEAR, day.year, 1)

    def __str__(self) -> str:
        if self.kind == MONTH:
            return f"{self.year}-{self.number:02d}"
        if self.kind == QUARTER:
            return f"{self.year}Q{self.number}"
        return f"{self.year}"

    @property
    def label(self) -> str:
        if self.kind == MONTH:
            return f"{self.year}年{self.number}月"
        if self.kind == QUARTER:
            return f"{self.year}年第{self.number}季度"
        return f"{self.year}年度"

    @property
    def start(self) -> date:
        if self.kind == MONTH:
            return date(self.year, self.number, 1)
        if self.kind == QUARTER:
            return date(self.year, 3 * self.number - 2, 1)
        return date(self.year, 1, 1)

    @property
    def end(self) -> date:
        """The period's last day."""
        return self.next().start - timedelta(days=1)

    def next(self) -> Period:
        if self.kind == MONTH:
            year, month0 = divmod(self.year * 12 + self.number, 12)  # the next month, from 0
            return Period(MONTH, year, month0 + 1)
        if self.kind == QUARTER:
            return (
                Period(QUARTER, self.year, self.number + 1)
                if self.number < 4
                else Period(QUARTER, self.year + 1, 1)
            )
        return Period(YEAR, self.year + 1, 1)


def previous_period(period: Period) -> Period:
    if period.kind == MONTH:
        return (
            Period(MONTH, period.year, period.number - 1)
            if period.number > 1
            else Period(MONTH, period.year - 1, 12)
        )
    if period.kind == QUARTER:
        return (
            Period(QUARTER, period.year, period.number - 1)
            if period.number > 1
            else Period(QUARTER, period.year - 1, 4)
        )
    return Period(YEAR, period.year - 1, 1)


def periods_between(first: Period, last: Period) -> list[Period]:
    """Every period from `first` to `last`, both included."""
    out = []
    current = first
    while current <= last:
        out.append(current)
        current = current.next()
    return out


def _year(text: str) -> int:
    year = int(text)
    if not 2000 <= year <= 2100:
        raise ValueError(f"年份「{year}」超出范围")
    return year
