import pytest

from tests.media.helpers import make_jpeg


@pytest.fixture(autouse=True)
def _photo_storage(monkeypatch, _test_storage):
    """The test's own storage folder (the root conftest's), with no app hooked to processing."""
    from media.processing import processed_hooks

    monkeypatch.setattr(processed_hooks, "fns", [])
    return _test_storage


@pytest.fixture(autouse=True)
def _fresh_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def jpeg_with_gps() -> bytes:
    return make_jpeg(
        taken="2025:12:22 10:30:00",
        gps=((32, 19, 30), "N", (121, 11, 15), "E"),
    )
