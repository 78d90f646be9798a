from datetime import datetime

import pytest
from django.utils import timezone

from tests.visits.helpers import at


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
def in_window(clock):
    """Christmas 2026, inside the Q4 2026 window."""
    return clock.set("2026-12-25 18:00")
