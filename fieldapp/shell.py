"""The app shell: the files the service worker keeps on the phone, and the version that names
them.

Every file under `fieldapp/static/fieldapp/` belongs to the shell, with the page at `/app/`.
They are addressed by their plain static URLs (`/static/fieldapp/...`), not by the hashed names
of the production storage: the ES modules import each other by relative path, which a hashed
name would break, and the service worker serves them from a cache named after `version()`, so
the browser's HTTP cache never decides which copy the app runs. A deploy that changes any of
these files, or the page or worker templates, changes the version: the phone installs the new
worker, which fetches the new files (bypassing the HTTP cache) before it takes over.
"""

import functools
import hashlib
from pathlib import Path

from django.conf import settings

HERE = Path(__file__).resolve().parent
STATIC_ROOT = HERE / "static"
APP_FILES = STATIC_ROOT / "fieldapp"
TEMPLATES = [HERE / "templates" / "fieldapp" / name for name in ("index.html", "sw.js")]
PAGE_URL = "/app/"


def _files() -> list[Path]:
    return sorted(p for p in APP_FILES.rglob("*") if p.is_file() and not p.name.startswith("."))


def url(name: str) -> str:
    """The plain static URL of one shell file (`url("app.css")`)."""
    return f"{settings.STATIC_URL}fieldapp/{name}"


def asset_urls() -> list[str]:
    """The static URLs of the shell's files, in a stable order."""
    return [settings.STATIC_URL + p.relative_to(STATIC_ROOT).as_posix() for p in _files()]


@functools.cache
def version() -> str:
    """A short digest of every shell file and template: what the service worker's cache is
    named after. Computed once a process (a deploy restarts the processes)."""
    digest = hashlib.sha256()
    for path in [*_files(), *TEMPLATES]:
        digest.update(path.relative_to(HERE).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]
