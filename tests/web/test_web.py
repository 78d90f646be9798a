import pytest
from django.test import Client

from common.charts import Bar, bar_chart, line_chart


def test_bar_chart_escapes_labels_and_scales_bars():
    svg = str(bar_chart([Bar("<script>x</script>", 50.0, "1/2"), Bar("全覆盖", 100.0)]))
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    assert 'width="240.0"' in svg
    assert 'width="480.0"' in svg


def test_bar_chart_clamps_out_of_range_values():
    svg = str(bar_chart([Bar("a", 150.0), Bar("b", -5.0)]))
    assert 'width="480.0"' in svg
    assert 'width="0.0"' in svg


def test_line_chart_has_a_point_per_quarter():
    svg = str(line_chart([("2026Q1", 80.0), ("2026Q2", 90.5), ("2026Q3", 99.0)]))
    assert svg.count("<circle") == 3
    assert "2026Q2" in svg
    assert "90.5" in svg


@pytest.mark.django_db
def test_login_page_and_home(town_a_office):
    client = Client()
    assert client.get("/").status_code == 302
    page = client.get("/login/")
    assert page.status_code == 200
    assert "工作人员登录" in page.content.decode()
    response = client.post(
        "/login/", {"username": town_a_office.username, "password": "correct-horse-battery"}
    )
    assert response.status_code == 302
    home = client.get("/")
    assert home.status_code == 200
    assert "管理后台" in home.content.decode()


@pytest.mark.django_db
def test_login_page_locks_out_after_repeated_failures(town_a_office, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/login/", {"username": town_a_office.username, "password": "wrong"})
    response = client.post(
        "/login/", {"username": town_a_office.username, "password": "correct-horse-battery"}
    )
    assert response.status_code == 429
    assert "锁定" in response.content.decode()
