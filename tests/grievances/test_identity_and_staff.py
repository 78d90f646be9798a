"""Identity protection, area scoping, outsiders, query counts, statistics, pages and exports."""

import pytest
from django.test import Client

from accounts.models import AuditEntry
from grievances import workflow
from grievances.models import Kind
from tests.grievances.conftest import at

NAME, PHONE = "李秘密", "13799998888"


@pytest.fixture
def protected_case(file_case, drive):
    """An anonymous case that left a contact phone, assigned to dept A."""
    filed = file_case(anonymous=True, name="", phone=PHONE, now=at(2026, 9, 14))
    return drive(filed.grievance, "assigned", now=at(2026, 9, 14))


@pytest.fixture
def wrongdoing_case(file_case, drive):
    filed = file_case(kind=Kind.WRONGDOING, name=NAME, phone=PHONE, now=at(2026, 9, 14))
    return drive(filed.grievance, "assigned", now=at(2026, 9, 14))


def _web(user) -> Client:
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


@pytest.mark.parametrize("case_fixture", ["protected_case", "wrongdoing_case"])
def test_department_never_sees_protected_identity(case_fixture, request, api_client, handler_a):
    case = request.getfixturevalue(case_fixture)
    client = api_client.as_user(handler_a)
    bodies = [
        client.get("/grievances/cases").content,
        client.get(f"/grievances/cases/{case.pk}").content,
        client.get("/grievances/cases.xlsx").content,
        client.get("/grievances/stats.xlsx", {"year": 2026, "quarter": 3}).content,
    ]
    web = _web(handler_a)
    bodies += [
        web.get("/grievances/staff/").content,
        web.get(f"/grievances/staff/{case.pk}/").content,
        web.get("/grievances/staff/export.xlsx").content,
    ]
    # A reply moves it on; its answer must not leak either.
    bodies.append(
        client.post(
            f"/grievances/cases/{case.pk}/actions", {"action": "reply", "note": "已受理"}
        ).content
    )
    for raw in bodies:
        assert NAME.encode() not in raw
        assert PHONE.encode() not in raw
        # openpyxl may store strings in shared strings; check the UTF-8 XML inside too.
    import io
    import zipfile

    for raw in (bodies[2], bodies[6]):
        with zipfile.ZipFile(io.BytesIO(raw)) as book:
            for name in book.namelist():
                data = book.read(name)
                assert NAME.encode() not in data
                assert PHONE.encode() not in data
    assert client.get(f"/grievances/cases/{case.pk}").json()["complainant"] is None
    assert not AuditEntry.objects.filter(action="view_complainant").exists()


def test_supervisor_does_not_see_protected_identity(api_client, supervisor, wrongdoing_case):
    raw = api_client.as_user(supervisor).get(f"/grievances/cases/{wrongdoing_case.pk}").content
    assert PHONE.encode() not in raw
    assert NAME.encode() not in raw


def test_area_office_sees_identity_and_it_is_audited(api_client, town_a_office, wrongdoing_case):
    response = api_client.as_user(town_a_office).get(f"/grievances/cases/{wrongdoing_case.pk}")
    assert response.json()["complainant"] == {"name": NAME, "phone": PHONE}
    entry = AuditEntry.objects.get(action="view_complainant")
    assert (entry.actor_id, entry.target_id) == (town_a_office.pk, str(wrongdoing_case.pk))
    # Lists never carry identity, so they audit nothing.
    raw = api_client.get("/grievances/cases").content
    assert PHONE.encode() not in raw
    assert AuditEntry.objects.filter(action="view_complainant").count() == 1
    page = _web(town_a_office).get(f"/grievances/staff/{wrongdoing_case.pk}/")
    assert PHONE in page.content.decode()
    assert AuditEntry.objects.filter(action="view_complainant").count() == 2


def test_named_complaint_identity_reaches_the_department(api_client, handler_a, file_case, drive):
    case = drive(
        file_case(name="赵公开", now=at(2026, 9, 14)).grievance, "assigned", now=at(2026, 9, 14)
    )
    body = api_client.as_user(handler_a).get(f"/grievances/cases/{case.pk}").json()
    assert body["complainant"]["name"] == "赵公开"
    assert AuditEntry.objects.filter(action="view_complainant", actor=handler_a).count() == 1


def test_departments_see_only_their_cases(api_client, handler_a, handler_b, protected_case):
    assert api_client.as_user(handler_a).get("/grievances/cases").json()["count"] == 1
    other = api_client.as_user(handler_b)
    assert other.get("/grievances/cases").json()["count"] == 0
    assert other.get(f"/grievances/cases/{protected_case.pk}").status_code == 404


def test_outsider_refused_on_every_object_endpoint(api_client, outsider_office, protected_case):
    client = api_client.as_user(outsider_office)
    missing = client.get("/grievances/cases/999999")
    pk = protected_case.pk
    responses = [
        client.get(f"/grievances/cases/{pk}"),
        client.get(f"/grievances/cases/{pk}/departments"),
        client.post(f"/grievances/cases/{pk}/actions", {"action": "press", "note": "x"}),
        client.post(f"/grievances/cases/{pk}/actions", {"action": "reply", "note": "x"}),
    ]
    for response in responses:
        assert response.status_code == 404
        assert response.content == missing.content
    assert client.get("/grievances/cases").json()["count"] == 0
    web = _web(outsider_office)
    assert web.get(f"/grievances/staff/{pk}/").status_code == 404
    assert web.post(f"/grievances/staff/{pk}/", {"action": "press"}).status_code == 404
    assert protected_case.events.count() == 3


def test_staff_endpoints_need_login(api_client, protected_case):
    anon = api_client.anonymous()
    assert anon.get("/grievances/cases").status_code == 401
    assert anon.get(f"/grievances/cases/{protected_case.pk}").status_code == 401
    assert Client().get("/grievances/staff/").status_code == 302


def test_case_list_query_count(
    api_client, town_a_office, file_case, drive, django_assert_max_num_queries
):
    for day in range(14, 19):
        drive(file_case(now=at(2026, 9, day)).grievance, "assigned", now=at(2026, 9, day))
    client = api_client.as_user(town_a_office)
    client.get("/grievances/cases")  # warm the token's last-used stamp
    with django_assert_max_num_queries(4):
        response = client.get("/grievances/cases")
    assert response.json()["count"] == 5


def test_office_assigns_over_the_api(api_client, town_a_office, file_case, dept_a, handler_a):
    case = file_case(now=at(2026, 9, 14)).grievance
    client = api_client.as_user(town_a_office)
    accepted = client.post(
        f"/grievances/cases/{case.pk}/actions", {"action": "accept", "category": "policy"}
    )
    assert accepted.status_code == 200
    assert accepted.json()["category"] == "policy"
    departments = client.get(f"/grievances/cases/{case.pk}/departments").json()
    assert [d["id"] for d in departments] == [dept_a.pk]
    assigned = client.post(
        f"/grievances/cases/{case.pk}/actions", {"action": "assign", "department_id": dept_a.pk}
    )
    assert assigned.status_code == 200
    assert assigned.json()["state"] == "assigned"
    again = client.post(
        f"/grievances/cases/{case.pk}/actions", {"action": "assign", "department_id": dept_a.pk}
    )
    assert again.status_code == 409
    assert again.json()["code"] == "invalid_state"
    assert handler_a.notifications.filter(kind="grievance_assigned").count() == 1


def test_statistics(api_client, town_a_office, handler_a, file_case, drive, dept_a, dept_b):
    # Three cases for dept A received in Q4 2026: one on time, one late, one returned.
    def assigned(day):
        return drive(file_case(now=at(2026, 10, day)).grievance, "assigned", now=at(2026, 10, day))

    on_time = assigned(12)  # reply due 19 Oct, result due 26 Oct
    workflow.transition(on_time, "reply", handler_a, "已受理", at(2026, 10, 13))
    workflow.transition(on_time, "resolve", handler_a, "已办结", at(2026, 10, 20))
    late = assigned(12)
    workflow.transition(late, "reply", handler_a, "已受理", at(2026, 10, 22))
    returned = assigned(13)
    workflow.transition(returned, "return", handler_a, "不属本局", at(2026, 10, 14))
    workflow.transition(
        returned, "reassign", town_a_office, "", at(2026, 10, 14), department=dept_b
    )

    client = api_client.as_user(town_a_office)
    body = client.get("/grievances/stats", {"year": 2026, "quarter": 4}).json()
    rows = {r["department_name"]: r for r in body["rows"]}
    a, b = rows["如东县民政局"], rows["如东县农业农村局"]
    assert (a["received"], a["replied_on_time"], a["resolved_on_time"], a["returned"]) == (
        3,
        1,
        1,
        1,
    )
    assert a["avg_reply_workdays"] == 4.5  # (1 + 8) / 2
    assert a["avg_resolve_workdays"] == 6.0
    assert b["received"] == 1
    xlsx = client.get("/grievances/stats.xlsx", {"year": 2026, "quarter": 4})
    assert xlsx.status_code == 200
    assert xlsx.content[:2] == b"PK"
    # A department sees its own row only.
    mine = (
        api_client.as_user(handler_a).get("/grievances/stats", {"year": 2026, "quarter": 4}).json()
    )
    assert [r["department_id"] for r in mine["rows"]] == [dept_a.pk]
    page = _web(town_a_office).get("/grievances/staff/stats/?year=2026&quarter=4")
    assert page.status_code == 200
    assert "如东县民政局" in page.content.decode()


def test_pages_work_for_office_and_department(town_a_office, handler_a, protected_case, dept_a):
    office = _web(town_a_office)
    queue = office.get("/grievances/staff/")
    assert queue.status_code == 200
    assert protected_case.display_code in queue.content.decode()
    dept = _web(handler_a)
    page = dept.get(f"/grievances/staff/{protected_case.pk}/")
    assert page.status_code == 200
    assert "受理回复" in page.content.decode()
    done = dept.post(
        f"/grievances/staff/{protected_case.pk}/", {"action": "reply", "note": "已受理"}
    )
    assert done.status_code == 302
    protected_case.refresh_from_db()
    assert protected_case.state == "replied"


def test_public_pages(regions):
    client = Client()
    assert client.get("/grievances/").status_code == 200
    filed = client.post(
        "/grievances/",
        {
            "kind": "help",
            "category": "living",
            "region": regions.village_a1.code,
            "text": "家中老人生病,申请临时救助。",
            "name": "孙大妈",
            "phone": "13600001111",
        },
    )
    assert filed.status_code == 201
    assert "no-store" in filed["Cache-Control"]
    html = filed.content.decode()
    code = html.split("查询码:<b")[1].split(">")[1].split("<")[0]
    key = html.split("查询密钥:<b")[1].split(">")[1].split("<")[0]
    tracked = client.post("/grievances/track/", {"code": code, "key": key})
    assert tracked.status_code == 200
    assert "待受理" in tracked.content.decode()
    wrong = client.post("/grievances/track/", {"code": code, "key": "2222-2222-2222"})
    unknown = client.post("/grievances/track/", {"code": "2222-2222-22", "key": key})
    assert wrong.status_code == unknown.status_code == 404
    assert "查询码或密钥不正确" in wrong.content.decode()


def test_a_department_user_without_a_unit_reads_no_case_photos(
    api_client, make_user, regions, file_case, town_a_office
):
    import uuid

    from accounts.roles import Role
    from grievances.models import GrievancePhoto
    from media.models import Photo

    case = file_case(anonymous=True).grievance  # not yet assigned: department is empty
    photo = Photo.objects.create(
        id=uuid.uuid4(),
        kind="grievance",
        region=regions.village_a1,
        original="x.jpg",
        sha256="0" * 64,
        size_bytes=1,
        content_type="image/jpeg",
    )
    GrievancePhoto.objects.create(grievance=case, photo=photo)
    unitless = make_user(Role.DEPARTMENT, regions.county)
    assert api_client.as_user(unitless).get(f"/photos/{photo.pk}").status_code == 404
    assert api_client.as_user(town_a_office).get(f"/photos/{photo.pk}").status_code == 200
