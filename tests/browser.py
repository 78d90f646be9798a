"""Headless Chromium for the page and app tests: Debian's `chromium` and `chromedriver`
driven by Selenium, with Chrome DevTools commands for what a phone does (network off or slow,
a GPS position). `.ci/run` installs both; without them a test is skipped and says why.

Screenshots go to `var/artifacts/screenshots/` (or `$ARTIFACTS_DIR/screenshots/`): CI keeps
that folder, and a developer opens the PNGs to look at what the test saw.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver") or (
    "/usr/bin/chromedriver" if os.path.exists("/usr/bin/chromedriver") else None
)
# A mid-size Android phone (CSS pixels); pages and the app must work at 360-430 px wide.
PHONE = (390, 844)
DESKTOP = (1280, 1600)
ARTIFACTS = Path(
    os.environ.get("ARTIFACTS_DIR", Path(__file__).parent.parent / "var" / "artifacts")
)
SKIP_REASON = (
    "headless Chromium not installed: apt-get install chromium chromium-driver "
    "(.ci/run does this) to run the browser tests"
)


def require_chromium() -> None:
    if not CHROMIUM or not CHROMEDRIVER:
        pytest.skip(SKIP_REASON)
    pytest.importorskip("selenium.webdriver", reason="selenium not installed")


@contextmanager
def chromium(
    *,
    size: tuple[int, int] = PHONE,
    mobile: bool = True,
    network_log: bool = False,
    profile: Path | None = None,
) -> Iterator:
    """A fresh headless Chromium with an empty profile; `mobile` emulates a touch phone;
    `network_log` keeps DevTools' Network events for `network_events`. With `profile` (a
    folder) the browser keeps its data there, and a later Chromium on the same folder is the
    same browser opened again."""
    require_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    keep = profile is not None
    profile = str(profile) if keep else tempfile.mkdtemp(prefix="chromium-test-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",  # the tests may run as root (CI containers)
        "--disable-gpu",
        "--disable-dev-shm-usage",
        # This machine's network is closed: background connections only fail, many at a time.
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
        f"--window-size={size[0]},{size[1]}",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    if network_log:
        options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(30)
    if mobile:
        driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": size[0], "height": size[1], "deviceScaleFactor": 2, "mobile": True},
        )
        driver.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": True})
    try:
        yield driver
    finally:
        driver.quit()
        if not keep:
            shutil.rmtree(profile, ignore_errors=True)


def screenshot(driver, name: str, *, full_page: bool = False) -> Path:
    """Save what the browser shows as `<ARTIFACTS>/screenshots/<name>.png`; `full_page`: the
    whole page, below the fold too (a long form)."""
    folder = ARTIFACTS / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    if full_page:
        import base64

        size = driver.execute_script(
            "return [document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
        )
        shot = driver.execute_cdp_cmd(
            "Page.captureScreenshot",
            {
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": size[0], "height": size[1], "scale": 1},
            },
        )
        path.write_bytes(base64.b64decode(shot["data"]))
    else:
        driver.save_screenshot(str(path))
    return path


def set_offline(driver, offline: bool) -> None:
    """Cut the page's network (or give it back), as airplane mode would."""
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd(
        "Network.emulateNetworkConditions",
        {"offline": offline, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )


def set_position(driver, *, lat: float, lng: float, accuracy: float = 10.0) -> None:
    """What the Geolocation API answers from now on (WGS-84 degrees, accuracy in metres)."""
    driver.execute_cdp_cmd(
        "Emulation.setGeolocationOverride",
        {"latitude": lat, "longitude": lng, "accuracy": accuracy},
    )


def set_network(
    driver, *, latency_ms: float = 0, down_kbit: float = -1, up_kbit: float = -1
) -> None:
    """A slow link for the page (`-1`: unthrottled): latency added to each request, and
    download and upload throughput in kbit/s."""
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": latency_ms,
            "downloadThroughput": down_kbit * 1000 / 8 if down_kbit > 0 else -1,
            "uploadThroughput": up_kbit * 1000 / 8 if up_kbit > 0 else -1,
        },
    )


def block_urls(driver, patterns: list[str]) -> None:
    """Requests of the page matching these patterns (`*/api/v1/*`) fail as if unreachable;
    an empty list lifts the block."""
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": patterns})


def grant(driver, origin: str, permissions: list[str]) -> None:
    """Answer the permission prompts (`["geolocation"]`) for an origin with yes."""
    driver.execute_cdp_cmd(
        "Browser.grantPermissions", {"origin": origin, "permissions": permissions}
    )


def network_events(driver) -> list[dict]:
    """DevTools' Network events since the last call (needs `chromium(network_log=True)`)."""
    import json

    events = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"].startswith("Network."):
            events.append(message)
    return events
