"""The working-day calendar on real days, and loading a newly announced year.

2026 comes from the chinese-calendar package (seeded by a migration). 2027 is not in it: the
2027 files below are TEST DATA, invented in the shape of the State Council's schedule
(元旦, 春节 with make-up Saturdays and Sundays, ...), not the official arrangement.
"""

import io
from datetime import date

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from openpyxl import Workbook

from workdays.calendar import Calendar, add_workdays, is_workday, workdays_between
from workdays.models import CalendarYear, DayKind, SpecialDay
from workdays.services import CalendarFileInvalid, calendar_load, calendar_loaded

pytestmark = pytest.mark.django_db

SAMPLE = "workdays/samples/2027_example.csv"

# TEST DATA (invented): 2027 with a correction of December 2026 in the manner of 2018-12-29:
# New Year's Eve 2026-12-31 becomes a holiday, paid back by Saturday 2026-12-26.
TEST_2027 = """date,kind,name
2026-12-26,班,元旦
2026-12-31,休,元旦
2027-01-01,休,元旦
2027-01-02,休,元旦
2027-01-03,holiday,元旦
2027-01-31,workday,春节
2027-02-06,休,春节
2027-02-07,休,春节
2027-02-08,休,春节
2027-02-09,休,春节
2027-02-10,休,春节
2027-02-11,休,春节
2027-02-12,休,春节
2027-02-20,班,春节
2027-05-01,休,劳动节
2027-05-02,休,劳动节
2027-05-03,休,劳动节
2027-05-04,休,劳动节
2027-05-05,休,劳动节
2027-05-08,班,劳动节
2027-10-01,休,国庆节
2027-10-02,休,国庆节
2027-10-03,休,国庆节
2027-10-04,休,国庆节
2027-10-05,休,国庆节
2027-10-06,休,国庆节
2027-10-07,休,国庆节
2027-10-09,班,国庆节
"""


def csv_file(text: str, name: str = "2027.csv") -> io.BytesIO:
    data = io.BytesIO(text.encode("utf-8"))
    data.name = name
    return data


@pytest.fixture
def hook_calls(monkeypatch):
    """Replace the registered hooks by one that records its calls."""
    monkeypatch.setattr(calendar_loaded, "fns", [record_hook])
    _HOOK_CALLS.clear()
    yield _HOOK_CALLS
    _HOOK_CALLS.clear()


_HOOK_CALLS: list[list[int]] = []


def record_hook(*, years: list[int]) -> None:
    _HOOK_CALLS.append(years)


def failing_hook(*, years: list[int]) -> None:
    raise RuntimeError("a hook that fails")


# --- The package's years -------------------------------------------------------------------


def test_national_day_2026_is_a_holiday_week():
    for day in range(1, 8):
        answer = is_workday(date(2026, 10, day))
        assert answer.workday is False, f"2026-10-0{day}"
        assert answer.provisional is False


def test_make_up_saturday_2026_10_10_is_a_working_day():
    assert date(2026, 10, 10).weekday() == 5
    assert is_workday(date(2026, 10, 10)).workday is True
    assert is_workday(date(2026, 9, 20)).workday is True  # the make-up Sunday before
    assert is_workday(date(2026, 10, 11)).workday is False  # an ordinary Sunday


def test_add_workdays_across_national_day():
    # 10-08 Thu, 10-09 Fri, 10-10 Sat (make-up), 10-12 Mon, 10-13 Tue.
    assert add_workdays(date(2026, 9, 30), 5).day == date(2026, 10, 13)
    assert add_workdays(date(2026, 9, 30), 10).day == date(2026, 10, 20)
    assert add_workdays(date(2026, 9, 30), 10).provisional is False


def test_the_day_of_receipt_does_not_count():
    # Received on a Monday: five working days end on the next Monday.
    assert add_workdays(date(2026, 6, 1), 5).day == date(2026, 6, 8)
    with pytest.raises(ValueError):
        add_workdays(date(2026, 6, 1), 0)


def test_workdays_between():
    # After 09-30 up to 10-13 inclusive: 10-08, 10-09, 10-10, 10-12, 10-13.
    assert workdays_between(date(2026, 9, 30), date(2026, 10, 13)).days == 5
    assert workdays_between(date(2026, 9, 30), date(2026, 10, 7)).days == 0
    assert workdays_between(date(2026, 10, 13), date(2026, 9, 30)).days == 0
    # A whole ordinary week.
    assert workdays_between(date(2026, 6, 7), date(2026, 6, 14)).days == 5
    assert workdays_between(date(2026, 9, 30), date(2026, 10, 13)).provisional is False


def test_calendar_snapshot_answers_many_questions_in_two_queries(django_assert_num_queries):
    with django_assert_num_queries(2):
        snapshot = Calendar(date(2026, 9, 1), date(2026, 11, 30))
    with django_assert_num_queries(0):
        assert snapshot.add_workdays(date(2026, 9, 30), 5).day == date(2026, 10, 13)
        assert snapshot.workdays_between(date(2026, 9, 30), date(2026, 10, 20)).days == 10
        assert snapshot.add_workdays(date(2026, 11, 20), 30) is None  # past its end


# --- A year the package does not know --------------------------------------------------------


def test_unloaded_year_answers_are_provisional():
    assert not CalendarYear.objects.filter(year=2027, published=True).exists()
    answer = is_workday(date(2027, 1, 1))
    assert answer.workday is True  # a Friday, as far as anyone knows yet
    assert answer.provisional is True
    assert is_workday(date(2027, 1, 2)).workday is False  # weekends are always known


def test_deadline_in_an_unloaded_year_is_provisional_until_loaded(
    hook_calls, django_capture_on_commit_callbacks
):
    received = date(2026, 12, 28)
    # 12-29, 12-30, 12-31, then 2027-01-01 (not yet known to be 元旦), 01-04.
    before = add_workdays(received, 5)
    assert before.day == date(2027, 1, 4)
    assert before.provisional is True

    with django_capture_on_commit_callbacks(execute=True):
        report = calendar_load(
            rows_or_file=csv_file(TEST_2027), year=2027, source="测试数据", user=None
        )
    assert hook_calls == [[2026, 2027]]

    # Now 12-31 and 01-01..03 are 元旦; the Saturday 12-26 was worked instead.
    # 12-29, 12-30, 01-04, 01-05, 01-06.
    after = add_workdays(received, 5)
    assert after.day == date(2027, 1, 6)
    assert after.provisional is False
    assert report.years == [2026, 2027]


def test_load_2027_marks_the_year_published_and_stores_its_days(make_user, regions):
    office = make_user("city_office", regions.city, is_staff=True)
    report = calendar_load(
        rows_or_file=csv_file(TEST_2027), year=2027, source="国办发明电〔2026〕X号", user=office
    )
    year = CalendarYear.objects.get(year=2027)
    assert year.published is True
    assert year.source == "国办发明电〔2026〕X号"
    assert year.loaded_by == office
    assert report.holidays == 22  # 元旦 3, 春节 7, 劳动节 5, 国庆节 7
    assert report.workdays == 4  # 2027's own make-up days; 2026-12-26 is a correction
    assert is_workday(date(2027, 2, 20)).workday is True  # make-up Saturday
    assert is_workday(date(2027, 2, 8)).workday is False  # Monday in 春节
    assert is_workday(date(2027, 10, 9)).workday is True
    assert SpecialDay.objects.get(date=date(2027, 1, 31)).kind == DayKind.WORKDAY
    # The spring-festival week: 02-05 Fri, 02-20 Sat, 02-22 Mon ... after the holiday.
    due = add_workdays(date(2027, 2, 5), 5)
    assert due.day == date(2027, 2, 19)  # 02-15..02-19
    assert due.provisional is False


def test_december_correction_of_2026_is_applied_by_the_2027_file(hook_calls):
    assert is_workday(date(2026, 12, 31)).workday is True
    assert is_workday(date(2026, 12, 26)).workday is False
    calendar_load(rows_or_file=csv_file(TEST_2027), year=2027, source="测试数据", user=None)
    assert is_workday(date(2026, 12, 31)).workday is False
    assert is_workday(date(2026, 12, 26)).workday is True
    # 2026's other days were not touched.
    assert is_workday(date(2026, 10, 10)).workday is True
    assert not is_workday(date(2026, 10, 1)).workday


def test_a_weekday_workday_correction_removes_an_earlier_holiday(hook_calls):
    calendar_load(rows_or_file=csv_file(TEST_2027), year=2027, source="第一版", user=None)
    assert is_workday(date(2026, 12, 31)).workday is False
    # A corrected notice puts New Year's Eve back to work: a weekday marked 班 (warned).
    fixed = TEST_2027.replace("2026-12-31,休,元旦", "2026-12-31,班,元旦")
    report = calendar_load(rows_or_file=csv_file(fixed), year=2027, source="第二版", user=None)
    assert is_workday(date(2026, 12, 31)).workday is True
    assert not SpecialDay.objects.filter(date=date(2026, 12, 31)).exists()
    assert any(w.row == 3 for w in report.warnings)


def test_reloading_a_year_replaces_its_days(hook_calls):
    calendar_load(rows_or_file=csv_file(TEST_2027), year=2027, source="第一版", user=None)
    smaller = "date,kind,name\n2027-01-01,休,元旦\n"
    report = calendar_load(rows_or_file=csv_file(smaller), year=2027, source="第二版", user=None)
    assert report.replaced == 26
    assert list(SpecialDay.objects.filter(date__year=2027).values_list("date", flat=True)) == [
        date(2027, 1, 1)
    ]
    # The December correction of the first file stays (a later file only upserts December).
    assert is_workday(date(2026, 12, 31)).workday is False
    assert CalendarYear.objects.get(year=2027).source == "第二版"


def test_bad_file_changes_nothing_and_names_each_bad_row(
    hook_calls, django_capture_on_commit_callbacks
):
    bad = (
        "date,kind,name\n"
        "2027-01-01,休,元旦\n"  # row 2: fine
        "2027-13-01,休,元旦\n"  # row 3: no such date
        "2027-02-06,放风筝,春节\n"  # row 4: unknown kind
        "2026-06-01,休,儿童节\n"  # row 5: in 2026 but not December
        "2028-01-01,休,元旦\n"  # row 6: another year
        "\n"  # row 7: blank, skipped
        "2027-01-01,休,元旦\n"  # row 8: duplicate of row 2
        "2027-02-20,班,春节\n"  # row 9: fine
    )
    before = list(SpecialDay.objects.order_by("date").values_list("date", "kind"))
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(CalendarFileInvalid) as caught,
    ):
        calendar_load(rows_or_file=csv_file(bad), year=2027, source="坏文件", user=None)
    assert callbacks == []
    errors = caught.value.detail["errors"]
    assert [e["row"] for e in errors] == [3, 4, 5, 6, 8]
    messages = {e["row"]: e["message"] for e in errors}
    assert "2027-13-01" in messages[3]
    assert "放风筝" in messages[4]
    assert "2026-06-01" in messages[5]
    assert "2028-01-01" in messages[6]
    assert "第2行" in messages[8]
    assert list(SpecialDay.objects.order_by("date").values_list("date", "kind")) == before
    assert not CalendarYear.objects.filter(year=2027).exists()
    assert hook_calls == []
    assert is_workday(date(2027, 1, 1)).provisional is True


def test_missing_columns_and_empty_year_are_refused():
    with pytest.raises(CalendarFileInvalid) as caught:
        calendar_load(
            rows_or_file=csv_file("day,type\n2027-01-01,休\n"), year=2027, source="", user=None
        )
    assert caught.value.detail["errors"][0]["row"] == 1
    with pytest.raises(CalendarFileInvalid) as caught:
        calendar_load(
            rows_or_file=csv_file("date,kind\n2026-12-31,休\n"), year=2027, source="", user=None
        )
    assert "2027" in caught.value.detail["errors"][0]["message"]
    assert not SpecialDay.objects.filter(date=date(2026, 12, 31)).exists()


def test_gbk_csv_with_chinese_headers(hook_calls):
    text = "日期,类型,节日\n2027-01-01,休,元旦\n2027-02-20,班,春节\n"
    data = io.BytesIO(text.encode("gb18030"))
    data.name = "2027.csv"
    report = calendar_load(rows_or_file=data, year=2027, source="Excel 另存", user=None)
    assert (report.holidays, report.workdays) == (1, 1)
    assert SpecialDay.objects.get(date=date(2027, 1, 1)).name == "元旦"


def test_xlsx_file_with_date_cells(hook_calls):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["date", "kind", "name"])
    sheet.append([date(2027, 1, 1), "休", "元旦"])
    sheet.append(["2027-02-20", "班", "春节"])
    sheet.append(["2027-02-30", "休", "春节"])  # row 4: bad
    data = io.BytesIO()
    workbook.save(data)
    data.seek(0)
    data.name = "2027.xlsx"
    with pytest.raises(CalendarFileInvalid) as caught:
        calendar_load(rows_or_file=data, year=2027, source="", user=None)
    assert [e["row"] for e in caught.value.detail["errors"]] == [4]

    sheet.delete_rows(4)
    data = io.BytesIO()
    workbook.save(data)
    data.seek(0)
    report = calendar_load(rows_or_file=data, year=2027, source="xlsx", user=None)
    assert (report.holidays, report.workdays) == (1, 1)
    assert is_workday(date(2027, 1, 1)).workday is False


def test_rows_can_be_given_directly(hook_calls):
    rows = [{"date": "2027-01-01", "kind": "holiday", "name": "元旦"}]
    calendar_load(rows_or_file=rows, year=2027, source="rows", user=None)
    assert is_workday(date(2027, 1, 1)).workday is False


def test_a_failing_hook_does_not_undo_the_load(
    monkeypatch, caplog, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(calendar_loaded, "fns", [failing_hook, record_hook])
    _HOOK_CALLS.clear()
    with django_capture_on_commit_callbacks(execute=True):
        calendar_load(rows_or_file=csv_file(TEST_2027), year=2027, source="", user=None)
    assert CalendarYear.objects.get(year=2027).published
    assert "failing_hook" in caplog.text
    assert _HOOK_CALLS == [[2026, 2027]]  # the next hook still ran


# --- The command and the sample ------------------------------------------------------------


def test_load_calendar_command_loads_the_sample(hook_calls):
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "load_calendar", SAMPLE, "--year", "2027", "--source", "示例", stdout=out, stderr=err
    )
    assert "2027年日历已载入" in out.getvalue()
    assert "更正 2026-12-31" in out.getvalue()
    assert CalendarYear.objects.get(year=2027).source == "示例"
    assert is_workday(date(2027, 10, 1)).workday is False


def test_load_calendar_command_lists_bad_rows_and_fails(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("date,kind\n2027-01-01,休\n2027-02-31,班\n2027-03-01,加班\n", encoding="utf-8")
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("load_calendar", str(bad), "--year", "2027", stderr=err)
    assert "第3行" in err.getvalue()
    assert "第4行" in err.getvalue()
    assert not CalendarYear.objects.filter(year=2027).exists()


def test_reloading_the_year_before_keeps_the_later_years_december_corrections(hook_calls):
    calendar_load(rows_or_file=csv_file(TEST_2027), year=2027, source="测试数据", user=None)
    assert is_workday(date(2026, 12, 31)).workday is False
    # 2026 reloaded afterwards (its own file knows nothing of 2027's New Year arrangement).
    calendar_load(
        rows_or_file=csv_file("date,kind,name\n2026-10-01,休,国庆节\n"),
        year=2026,
        source="重新载入",
        user=None,
    )
    assert is_workday(date(2026, 12, 31)).workday is False
    assert is_workday(date(2026, 12, 26)).workday is True
    assert not is_workday(date(2026, 10, 1)).workday
