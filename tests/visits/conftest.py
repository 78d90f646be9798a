import pytest


@pytest.fixture
def in_window(clock):
    """Christmas 2026, inside the Q4 2026 window."""
    return clock.set("2026-12-25 18:00")
