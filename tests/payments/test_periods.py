"""Periods of payments and the masks of the disclosure page."""

from datetime import date

import pytest

from payments.periods import Period, periods_between, previous_period
from payments.privacy import mask_account, mask_name


@pytest.mark.parametrize(
    ("text", "kind", "canonical", "start", "end"),
    [
        ("2026-03", "month", "2026-03", date(2026, 3, 1), date(2026, 3, 31)),
        ("2026/3", "month", "2026-03", date(2026, 3, 1), date(2026, 3, 31)),
        ("202602", "month", "2026-02", date(2026, 2, 1), date(2026, 2, 28)),
        ("2026年12月", "month", "2026-12", date(2026, 12, 1), date(2026, 12, 31)),
        ("2026Q1", "quarter", "2026Q1", date(2026, 1, 1), date(2026, 3, 31)),
        ("2026年第4季度", "quarter", "2026Q4", date(2026, 10, 1), date(2026, 12, 31)),
        ("2026", "year", "2026", date(2026, 1, 1), date(2026, 12, 31)),
        ("2026年度", "year", "2026", date(2026, 1, 1), date(2026, 12, 31)),
    ],
)
def test_a_period_is_read_in_the_forms_lists_use(text, kind, canonical, start, end):
    period = Period.parse(text, kind)
    assert (str(period), period.start, period.end) == (canonical, start, end)


@pytest.mark.parametrize(
    ("text", "kind"), [("2026-13", "month"), ("2026Q1", "month"), ("2026Q5", "quarter"),
                       ("2026-03", "year"), ("1999", "year"), ("", "month")],
)  # fmt: skip
def test_a_period_of_the_wrong_form_says_what_it_should_be(text, kind):
    with pytest.raises(ValueError, match=r"所属期|年份"):
        Period.parse(text, kind)


def test_periods_follow_each_other_across_the_year():
    dec = Period.parse("2025-12", "month")
    assert str(dec.next()) == "2026-01"
    assert str(previous_period(Period.parse("2026-01", "month"))) == "2025-12"
    assert str(Period.parse("2026Q4", "quarter").next()) == "2027Q1"
    months = periods_between(Period.parse("2025-11", "month"), Period.parse("2026-02", "month"))
    assert [str(p) for p in months] == ["2025-11", "2025-12", "2026-01", "2026-02"]


@pytest.mark.parametrize(
    ("name", "masked"),
    [("张三", "张*"), ("张小明", "张*明"), ("欧阳小明", "欧**明"), ("王", "*"), ("", "")],
)
def test_names_keep_only_their_first_and_last_characters(name, masked):
    assert mask_name(name) == masked


def test_account_numbers_are_stored_masked_only():
    assert mask_account("6228 4800 1234 5678 901") == "6228***********8901"
    assert mask_account("6217****1234") == "6217****1234"
    with pytest.raises(ValueError, match="银行账号") as exc:
        mask_account("62284800123456789X1")
    assert "6228480" not in str(exc.value)
