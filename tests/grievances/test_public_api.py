"""The resident's side over the API: filing, tracking with code and key, rating, reopening."""

import re
import uuid

import pytest

from grievances import codes, workflow
from grievances.models import Grievance
from tests.grievances.conftest import at
from tests.grievances.helpers import file_grievance

CODE_RE = re.compile(r"^[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{2}$")


def test_file_and_track(api_client, regions):
    response = file_grievance(api_client, regions)
    assert response.status_code == 201, response.content
    body = response.json()
    assert CODE_RE.match(body["code"])
    assert "0" not in body["code"]
    assert "O" not in body["code"]
    assert len(body["key"].replace("-", "")) == 12
    case = Grievance.objects.get()
    # Only the key's hash is stored.
    assert body["key"].replace("-", "") not in (case.key_hash, case.code)
    assert case.key_hash == codes.hash_key(body["key"].replace("-", ""))

    # Codes are typed back loosely: lower case, spaces, no hyphens.
    loose = body["code"].lower().replace("-", " ")
    tracked = api_client.get("/grievances/track", {"code": loose, "key": body["key"]})
    assert tracked.status_code == 200
    data = tracked.json()
    assert data["state"] == "submitted"
    assert data["timeline"][0]["action"] == "submit"
    raw = tracked.content.decode()
    assert "王建国" not in raw
    assert "13911112222" not in raw
    assert "id" not in data
    posted = api_client.post("/grievances/track", {"code": body["code"], "key": body["key"]})
    assert posted.status_code == 200
    assert posted.json() == data


def test_wrong_key_and_unknown_code_answer_the_same(api_client, regions):
    body = file_grievance(api_client, regions).json()
    wrong_key = api_client.get("/grievances/track", {"code": body["code"], "key": "2222-2222-2222"})
    unknown = api_client.get("/grievances/track", {"code": "2222-2222-22", "key": body["key"]})
    garbage = api_client.get("/grievances/track", {"code": "O0I1", "key": "x"})
    assert wrong_key.status_code == unknown.status_code == garbage.status_code == 404
    assert wrong_key.content == unknown.content == garbage.content


def test_filing_validates(api_client, regions):
    response = file_grievance(api_client, regions, name="", phone="", text="短")
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert {"name", "phone", "text"} <= set(detail)
    response = file_grievance(api_client, regions, region="999999999999")
    assert response.status_code == 422
    assert "region" in response.json()["detail"]
    assert Grievance.objects.count() == 0
    # Anonymous: no name needed.
    assert file_grievance(api_client, regions, anonymous=True, name="", phone="").status_code == 201


def test_rate_limits(api_client, regions, settings):
    settings.GRIEVANCE_SUBMIT_LIMIT = 2
    settings.GRIEVANCE_TRACK_LIMIT = 3
    # An address of this test's own: the counters live in the shared cache.
    ip = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    first = file_grievance(api_client, regions, ip=ip).json()
    assert file_grievance(api_client, regions, ip=ip).status_code == 201
    throttled = file_grievance(api_client, regions, ip=ip)
    assert throttled.status_code == 429
    assert throttled.json()["code"] == "throttled"
    # Another address is counted apart.
    other = api_client.anonymous().post(
        "/grievances",
        {
            "kind": "help",
            "category": "living",
            "region": regions.village_a1.code,
            "text": "家里房子漏雨,申请帮助。",
            "anonymous": True,
        },
        REMOTE_ADDR="192.0.2." + str(uuid.uuid4().int % 250),
    )
    assert other.status_code == 201
    for _ in range(3):
        assert (
            api_client.get(
                "/grievances/track", {"code": first["code"], "key": "x"}, REMOTE_ADDR=ip
            ).status_code
            == 404
        )
    # Even the right key is refused once over the limit: guessing stops here.
    blocked = api_client.get(
        "/grievances/track", {"code": first["code"], "key": first["key"]}, REMOTE_ADDR=ip
    )
    assert blocked.status_code == 429
    assert Grievance.objects.count() == 3


def test_rate_and_reopen_through_the_api(api_client, regions, drive):
    body = file_grievance(api_client, regions).json()
    case = Grievance.objects.get()
    drive(case, "closed", now=at(2026, 9, 14))
    Grievance.objects.filter(pk=case.pk).update(closed_at=at(2026, 9, 14))
    creds = {"code": body["code"], "key": body["key"]}
    tracked = api_client.post("/grievances/track", creds).json()
    assert tracked["may_rate"]
    assert tracked["result"] == "说明理由"
    # Closed long ago (2026-09-14): the reopen window has passed.
    late = api_client.post("/grievances/track/reopen", {**creds, "reason": "不满意"})
    assert late.status_code == 409
    assert late.json()["code"] == "reopen_expired"
    rated = api_client.post("/grievances/track/rate", {**creds, "rating": 2, "comment": "一般"})
    assert rated.status_code == 200
    assert rated.json()["rating"] == 2
    again = api_client.post("/grievances/track/rate", {**creds, "rating": 5})
    assert again.status_code == 409
    bad_key = api_client.post(
        "/grievances/track/rate", {**creds, "key": "2222-2222-2222", "rating": 5}
    )
    assert bad_key.status_code == 404


def test_reopen_within_the_window(api_client, regions, drive, town_a_office):
    from django.utils import timezone

    body = file_grievance(api_client, regions).json()
    case = drive(Grievance.objects.get(), "closed", now=timezone.now())
    creds = {"code": body["code"], "key": body["key"]}
    reopened = api_client.post("/grievances/track/reopen", {**creds, "reason": "问题没有解决"})
    assert reopened.status_code == 200
    assert reopened.json()["state"] == "reopened"
    case.refresh_from_db()
    assert case.reopened_count == 1
    assert town_a_office.notifications.filter(kind="grievance_reopened").exists()


def test_internal_notes_are_not_public(api_client, regions, town_a_office, handler_a, dept_a):
    body = file_grievance(api_client, regions).json()
    case = Grievance.objects.get()
    case = workflow.transition(case, "accept", town_a_office, "内部:此人多次上访", None)
    case = workflow.transition(
        case, "assign", town_a_office, "内部交办意见", None, department=dept_a
    )
    workflow.transition(case, "return", handler_a, "内部:不归我局管", None)
    raw = api_client.get(
        "/grievances/track", {"code": body["code"], "key": body["key"]}
    ).content.decode()
    assert "内部" not in raw
    assert "民政局" not in raw


@pytest.mark.parametrize("photo_count", [1])
def test_photos_attach_once(api_client, regions, photo_count):
    import uuid

    from django.core.files.base import ContentFile

    from media.models import Photo

    photo = Photo(
        id=uuid.uuid4(), kind="grievance", sha256="0" * 64, size_bytes=3, content_type="image/jpeg"
    )
    photo.original.save("x.jpg", ContentFile(b"abc"), save=False)
    photo.save()
    response = file_grievance(api_client, regions, photo_ids=[str(photo.id)])
    assert response.status_code == 201
    photo.refresh_from_db()
    assert photo.region_id == regions.village_a1.code
    # The same photo cannot be claimed by another case.
    response = file_grievance(api_client, regions, photo_ids=[str(photo.id)])
    assert response.status_code == 422
    assert response.json()["code"] == "photo_invalid"


def test_filing_about_a_household_checks_it_lies_in_the_region(
    api_client, regions, household_a, household_b
):
    about_own = file_grievance(api_client, regions, household_id=household_a.pk)
    assert about_own.status_code == 201, about_own.content
    assert Grievance.objects.get().household_id == household_a.pk
    elsewhere = file_grievance(api_client, regions, household_id=household_b.pk)
    assert elsewhere.status_code == 422
    assert Grievance.objects.count() == 1
