"""The benchmark's bare upload exists only when BENCH_BARE_UPLOAD is on."""

import importlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import clear_url_caches

import backend.urls

pytestmark = pytest.mark.django_db


@pytest.fixture
def bench_urls(settings, tmp_path):
    settings.BENCH_BARE_UPLOAD = True
    settings.VAR_DIR = tmp_path
    importlib.reload(backend.urls)
    clear_url_caches()
    yield
    settings.BENCH_BARE_UPLOAD = False
    importlib.reload(backend.urls)
    clear_url_caches()


def test_the_bare_upload_is_not_mounted_by_default(api_client, helper_a_user):
    response = api_client.as_user(helper_a_user).post(
        "/bench/bare-upload", {"file": SimpleUploadedFile("p.jpg", b"x" * 10)}
    )
    assert response.status_code == 404


def test_with_the_setting_a_helper_writes_bytes_and_an_office_is_refused(
    bench_urls, api_client, helper_a_user, town_a_office, tmp_path
):
    ok = api_client.as_user(helper_a_user).post(
        "/bench/bare-upload", {"file": SimpleUploadedFile("p.jpg", b"x" * 10)}
    )
    assert ok.status_code == 200, ok.content
    assert ok.json() == {"bytes": 10}
    assert len(list((tmp_path / "bench-bare").iterdir())) == 1
    refused = api_client.as_user(town_a_office).post(
        "/bench/bare-upload", {"file": SimpleUploadedFile("p.jpg", b"x")}
    )
    assert refused.status_code == 404
