"""Text with control characters (a NUL, a bell, an escape) is refused with a 422 naming the
field, before anything is stored; tabs and line breaks are ordinary text."""

import pytest

from grievances.models import Grievance
from mobile_api.schemas.common import has_control_characters
from tests.grievances.helpers import file_grievance

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("bad", ["\x00", "\x07", "\x1b[31m", "\x7f", "\x85"])
def test_control_characters_are_refused(api_client, regions, bad):
    response = file_grievance(api_client, regions, text=f"低保金{bad}被截留")
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["code"] == "invalid_request"
    assert "text" in str(body["detail"])
    assert "控制字符" in str(body["detail"])
    assert not Grievance.objects.exists()


def test_tabs_and_line_breaks_are_text(api_client, regions):
    response = file_grievance(api_client, regions, text="第一行\n第二行\r\n\t缩进")
    assert response.status_code == 201, response.content
    assert Grievance.objects.get().text.startswith("第一行\n第二行")


def test_the_rule():
    assert not has_control_characters("帮扶走访 2026\n\t")
    assert has_control_characters("a\x00b")
    assert has_control_characters("\u0085")


def test_register_edits_refuse_them_too(api_client, town_a_office, household_a):
    response = api_client.as_user(town_a_office).patch(
        f"/households/{household_a.pk}", {"head_name": "张\x00三"}
    )
    assert response.status_code == 422
    household_a.refresh_from_db()
    assert "\x00" not in household_a.head_name
