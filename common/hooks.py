"""Plug-in points that a lower layer calls and a higher layer fills.

A lower app (media, workdays, notifications) must not import the apps built on it, yet it has
to tell them that something happened (a photo is processed, a calendar year was loaded) or run
their scheduled work. It owns a `Hooks` list; each higher app registers its function in its
`AppConfig.ready()`, where a reader (and a tool) can follow the call. Registration is by
function, not by dotted path in settings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

F = TypeVar("F", bound=Callable[..., object])


def dotted_name(fn: Callable[..., object]) -> str:
    """`module.function`: the name a hook is logged, and a scheduled job is locked, under."""
    return f"{fn.__module__}.{fn.__qualname__}"


class Hooks(Generic[F]):
    """An ordered list of callables, each registered once."""

    def __init__(self, purpose: str) -> None:
        self.purpose = purpose
        # Public so that a test can swap the whole list (monkeypatch.setattr(hooks, "fns", [...])).
        self.fns: list[F] = []

    def register(self, fn: F) -> F:
        if fn not in self.fns:
            self.fns.append(fn)
        return fn

    def __iter__(self) -> Iterator[F]:
        return iter(list(self.fns))

    def names(self) -> list[str]:
        return [dotted_name(fn) for fn in self.fns]

    def __repr__(self) -> str:
        return f"Hooks({self.purpose!r}: {', '.join(self.names()) or 'none'})"
