"""Rank 0's background thread: a heartbeat every interval, replies into the control block, and
checkpoint reports delivered as soon as they are queued. Training never waits on the network."""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable

from shockwave.job.lease import Clock, ControlBlock
from shockwave.job.transport import Transport
from shockwave.protocol import CheckpointReport, Heartbeat

log = logging.getLogger("shockwave.job")

Snapshot = Callable[[int], Heartbeat]
"""Builds the heartbeat with the given sequence number from the job's latest state."""


class HeartbeatThread:
    """Posts ``snapshot(seq)`` at once and then every ``interval_s``; applies each reply to
    ``control``. ``stop()`` ends the thread and delivers the checkpoint reports still queued."""

    def __init__(self, transport: Transport, control: ControlBlock, snapshot: Snapshot,
                 interval_s: float, clock: Clock = time.monotonic) -> None:
        self._transport = transport
        self._control = control
        self._snapshot = snapshot
        self._interval_s = interval_s
        self._clock = clock
        self._seq = 0
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._outbox: collections.deque[CheckpointReport] = collections.deque()
        self._thread = threading.Thread(target=self._run, name="shockwave-heartbeat",
                                        daemon=True)

    @property
    def sent(self) -> int:
        """Heartbeats posted so far."""
        return self._seq

    def start(self) -> None:
        self._thread.start()

    def report_checkpoint(self, report: CheckpointReport) -> None:
        """Queue a committed checkpoint's report; the thread posts it right away."""
        self._outbox.append(report)
        self._wake.set()

    def beat_now(self) -> None:
        """Ask for a heartbeat without waiting for the interval (e.g. after a checkpoint)."""
        self._wake.set()

    def stop(self, timeout_s: float = 5.0) -> None:
        """End the thread; then post what is still queued from the caller's thread."""
        self._stopping.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        self._flush()

    def _run(self) -> None:
        next_beat = self._clock()
        while not self._stopping.is_set():
            self._flush()
            if self._clock() >= next_beat or self._wake.is_set():
                self._wake.clear()
                self._beat()
                next_beat = self._clock() + self._interval_s
            self._wake.wait(max(0.0, next_beat - self._clock()))

    def _beat(self) -> None:
        try:
            message = self._snapshot(self._seq)
        except Exception:  # noqa: BLE001 - a bug in a snapshot must not kill the thread
            log.exception("shockwave.job: cannot build a heartbeat")
            return
        self._seq += 1
        reply = self._transport.heartbeat(message)
        if reply is not None:
            self._control.apply(reply, self._clock())

    def _flush(self) -> None:
        while self._outbox:
            report = self._outbox[0]
            if not self._transport.checkpoint(report):
                log.warning("shockwave.job: checkpoint %s not acknowledged by the service",
                            report.checkpoint_id)
            self._outbox.popleft()
