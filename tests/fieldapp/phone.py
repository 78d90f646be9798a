"""Driving the phone app in headless Chromium as a helper would: log in, open a household,
take the photos, type the income, save; and reading what the app shows and what it holds in
IndexedDB. The screens expose their state as data attributes (`data-status`, `data-state`,
`data-waiting`), so the tests read what the helper sees rather than the app's internals."""

from __future__ import annotations

import time
from pathlib import Path

from tests.browser import screenshot

KINDS = ("location", "scene", "passbook", "handbook")
WAIT = 30

READ_DB = """
const done = arguments[arguments.length - 1];
const request = indexedDB.open("relief-fieldapp");
request.onerror = () => done({error: String(request.error)});
request.onsuccess = () => {
  const db = request.result;
  if (!db.objectStoreNames.contains("outbox")) {
    db.close();
    done({outbox: [], photos: [], drafts: []});
    return;
  }
  const tx = db.transaction(["outbox", "photos", "drafts"], "readonly");
  const outbox = tx.objectStore("outbox").getAll();
  const photos = tx.objectStore("photos").getAll();
  const drafts = tx.objectStore("drafts").getAll();
  tx.oncomplete = () => {
    db.close();
    done({
      outbox: outbox.result.map((r) => ({id: r.id, state: r.state, owner: r.owner,
        code: r.lastError ? r.lastError.code : null, refusedAt: r.refusedAt || null,
        photoIds: r.photoIds})),
      photos: photos.result.map((p) => ({id: p.id, visitId: p.visitId, sent: p.sent,
        size: p.blob.size, fix: p.fix})),
      drafts: drafts.result.map((d) => d.key),
    });
  };
};
"""


class PhoneApp:
    def __init__(self, driver, base_url: str):
        self.driver = driver
        self.base = base_url

    # --- waiting and reading ---------------------------------------------------------------

    def until(self, check, timeout: float = WAIT, what: str = ""):
        """Poll `check()` until it returns something truthy; fail with the screen saved."""
        deadline = time.monotonic() + timeout
        last_error = None
        while time.monotonic() < deadline:
            try:
                value = check()
                if value:
                    return value
            except Exception as exc:  # noqa: BLE001 (the page may be mid-render)
                last_error = exc
            time.sleep(0.2)
        path = screenshot(self.driver, f"failed-{int(time.time())}")
        raise AssertionError(f"timed out waiting for {what or check} ({last_error}); see {path}")

    def js(self, script: str, *args):
        return self.driver.execute_script(script, *args)

    def css(self, selector: str):
        from selenium.webdriver.common.by import By

        return self.driver.find_elements(By.CSS_SELECTOR, selector)

    def wait_css(self, selector: str, timeout: float = WAIT):
        return self.until(lambda: self.css(selector), timeout, selector)[0]

    def tap(self, selector: str, timeout: float = WAIT) -> None:
        """Click the element, found afresh if the screen redrew it meanwhile (a live screen
        redraws when the sync or a refresh changes what it shows)."""

        def click():
            found = self.css(selector)
            if not found:
                return False
            found[0].click()
            return True

        self.until(click, timeout, f"tap {selector}")

    def pill(self) -> dict:
        return self.js(
            "const el = document.getElementById('sync-status');"
            "return {state: el.dataset.state, waiting: Number(el.dataset.waiting || 0),"
            " refused: Number(el.dataset.refused || 0), text: el.textContent};"
        )

    def household_status(self, household_id: int) -> str | None:
        found = self.css(f'a.place[data-key="h:{household_id}"]')
        return found[0].get_attribute("data-status") if found else None

    def stored(self) -> dict:
        """What the phone holds: the outbox, the photos, the drafts (straight from IndexedDB)."""
        return self.driver.execute_async_script(READ_DB)

    def shot(self, name: str, *, full_page: bool = False) -> Path:
        return screenshot(self.driver, name, full_page=full_page)

    def version(self) -> str:
        return self.wait_css("#version").text

    # --- acting ----------------------------------------------------------------------------

    def open(self, hash_: str = "") -> None:
        self.driver.get(f"{self.base}/app/{hash_}")

    def go(self, hash_: str) -> None:
        self.js("location.hash = arguments[0];", hash_)

    def login(self, username: str, password: str) -> None:
        form = self.wait_css("#login-form")
        username_field = form.find_element("name", "username")
        username_field.clear()
        username_field.send_keys(username)
        form.find_element("name", "password").send_keys(password)
        form.find_element("css selector", "button[type=submit]").click()
        self.until(lambda: self.css("#places") or self.css("#window"), what="home after login")

    def wait_offline_ready(self) -> None:
        """The service worker controls the page: from now on the app opens without network."""
        self.until(
            lambda: self.js("return Boolean(navigator.serviceWorker.controller)"),
            what="service worker in control",
        )

    def new_visit(self, household_id: int) -> None:
        self.go(f"#/place/{'h:' + str(household_id)}")
        self.tap("#start-visit")
        self.wait_css("#photos")

    def take_photos(self, files: dict[str, Path], *, gallery: bool = False) -> None:
        which = "gallery" if gallery else "camera"
        for kind, path in files.items():
            field = self.wait_css(f'.slot[data-kind="{kind}"] input.{which}')
            field.send_keys(str(path))
            self.until(
                lambda kind=kind: self.css(f'.slot[data-kind="{kind}"][data-taken="yes"]'),
                what=f"{kind} photo kept",
            )

    def type_income(self, **amounts: str) -> None:
        for name, value in amounts.items():
            field = self.wait_css(f'input[name="{name}"]')
            field.clear()
            field.send_keys(value)

    def save(self) -> None:
        self.tap("#save-visit")
        self.until(lambda: self.css("#places"), what="back home after saving")
