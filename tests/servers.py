"""A real server for the tests that need one: `uvicorn backend.asgi:application` in a
subprocess, against the test database, which it can only share on PostgreSQL (SQLite's test
database lives in the test's own process). Killed (SIGKILL) and started again on the same port,
it is a server crash and restart as a client sees it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from django.conf import settings as django_settings
from django.db import connection

from tests.netproxy import free_port

ROOT = Path(__file__).resolve().parent.parent
needs_postgres = pytest.mark.skipif(
    not django_settings.IS_POSTGRES,
    reason="a server subprocess must see the test's rows: needs PostgreSQL (SQLite's test "
    "database lives in this process)",
)


class Server:
    """`uvicorn backend.asgi:application` in a subprocess, against the test database."""

    def __init__(
        self, var_dir: Path, *, port: int | None = None, database_url: str | None = None, **env
    ):
        self.port = port or free_port()
        db = connection.settings_dict
        self.env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("REDIS_URL", "DATABASE_URL", "TASKS_BACKEND", "PRODUCTION")
        }
        self.env.update(
            DATABASE_URL=database_url
            or f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/"
            f"{db['NAME']}",
            VAR_DIR=str(var_dir),
            LOG_LEVEL="WARNING",
            AXES_ENABLED="0",
            PYTHONUNBUFFERED="1",
            **env,
        )
        self.log = var_dir / "server.log"
        self.proc: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v1"

    def start(self) -> Server:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "backend.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                "1",
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()
            try:
                httpx.get(f"{self.base}/visits/window", timeout=2)
                return self
            except httpx.HTTPError:
                time.sleep(0.2)
        raise AssertionError(f"server did not start: {self.log.read_text()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no finishing of requests in flight."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
