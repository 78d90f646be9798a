import pytest

from tests.media.helpers import make_jpeg


@pytest.fixture(autouse=True)
def _photo_storage(settings, tmp_path):
    """Files of each test in its own directory, never in var/media."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "media"},
        },
    }
    settings.PHOTO_PROCESSED_HOOKS = []
    return tmp_path / "media"


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
