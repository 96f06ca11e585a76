"""Service time: seconds since the service's first start, kept across restarts (the store holds
when it first started and the last time it saw). Monotonic within a process."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from shockwave.service.store import Store


class Clock(Protocol):
    def now(self) -> float: ...


class ServiceClock:
    """``now()`` = seconds since the first start of the service that owns ``store``; time while
    the service was down counts (by the wall clock), and it never goes back."""

    def __init__(self, store: Store, wall: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._store, self._monotonic = store, monotonic
        first = store.get_meta("first_start_wall")
        if first is None:
            first = repr(wall())
            store.set_meta("first_start_wall", first)
        last = float(store.get_meta("last_now_s") or 0.0)
        self._base = max(wall() - float(first), last)
        self._start = monotonic()

    def now(self) -> float:
        return self._base + (self._monotonic() - self._start)

    def persist(self) -> None:
        """Remember the time seen, so that a restart never goes back before it."""
        self._store.set_meta("last_now_s", repr(self.now()))


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, now_s: float = 0.0) -> None:
        self.now_s = now_s

    def now(self) -> float:
        return self.now_s

    def advance(self, seconds: float) -> float:
        self.now_s += seconds
        return self.now_s

    def persist(self) -> None:
        pass
