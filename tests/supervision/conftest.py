import pytest


@pytest.fixture
def draw_days(clock):
    """22 October 2026: inside the spot-check days, sampling 2026Q3."""
    return clock.set("2026-10-22 10:00")
