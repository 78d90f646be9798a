"""Text messages behind a small interface. The console backend (default) writes to the log;
a deployment names its gateway's backend in `SMS_BACKEND`."""

import logging
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


class SmsSender(Protocol):
    def send(self, *, phone: str, text: str) -> None: ...


class ConsoleSmsSender:
    def send(self, *, phone: str, text: str) -> None:
        logger.info("SMS to %s: %s", phone, text)


class MemorySmsSender:
    """Keeps what was sent, for tests and demos."""

    outbox: list[tuple[str, str]] = []

    def send(self, *, phone: str, text: str) -> None:
        MemorySmsSender.outbox.append((phone, text))


def sms_sender() -> SmsSender:
    return import_string(settings.SMS_BACKEND)()
