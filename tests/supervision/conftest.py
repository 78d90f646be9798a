from datetime import datetime

import pytest
from django.utils import timezone

from tests.supervision.data import at


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


@pytest.fixture
def clock(monkeypatch):
    """Set the service's "now" (django.utils.timezone.now) to a moment in Asia/Shanghai."""

    class Clock:
        def set(self, moment: datetime | str) -> datetime:
            moment = at(moment) if isinstance(moment, str) else moment
            monkeypatch.setattr(timezone, "now", lambda: moment)
            return moment

    return Clock()


@pytest.fixture
def draw_days(clock):
    """22 October 2026: inside the spot-check days, sampling 2026Q3."""
    return clock.set("2026-10-22 10:00")
