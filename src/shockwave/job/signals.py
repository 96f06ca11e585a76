"""SIGTERM and SIGINT turned into a stop flag while a job runs, and the previous handlers put
back afterwards. A second SIGINT behaves as usual (KeyboardInterrupt), so a person at the
terminal can still force-quit."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Any

log = logging.getLogger("shockwave.job")


class StopSignals:
    """Installed by ``install()`` (main thread only), removed by ``restore()``."""

    def __init__(self) -> None:
        self.received = threading.Event()
        self.signal_name: str | None = None
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            log.warning("shockwave.job: not on the main thread; SIGTERM keeps its default action")
            return
        for signum in (signal.SIGTERM, signal.SIGINT):
            self._previous[signum] = signal.signal(signum, self._handle)

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGINT and self.received.is_set():
            signal.signal(signal.SIGINT, signal.default_int_handler)
            raise KeyboardInterrupt
        if not self.received.is_set():
            self.signal_name = signal.Signals(signum).name
            self.received.set()
