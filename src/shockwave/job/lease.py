"""The lease on the local monotonic clock and the control block the heartbeat thread fills.

The lease expires unless a heartbeat reply renews it, so a job cut off from the service stops by
itself. A stop request (``checkpoint_and_stop``, ``stop_now``) is sticky: later replies may move
its deadline earlier, never cancel it.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from shockwave.protocol import HeartbeatReply

Clock = Callable[[], float]


@dataclass(frozen=True)
class Control:
    """A consistent copy of what the service has said so far (monotonic times)."""

    lease_expires_at: float | None = None
    """When the lease ends; ``None`` means no lease (standalone)."""
    stop_requested: bool = False
    stop_by: float | None = None
    """The service's deadline for the stop checkpoint; with ``stop_requested`` and no deadline
    the job stops at its next step."""
    stop_action: str | None = None
    """The action that asked for the stop (``checkpoint_and_stop`` or ``stop_now``)."""
    batch_size: int | None = None
    batch_size_version: int = 0
    replies: int = 0


class ControlBlock:
    """Lock-protected ``Control``: the heartbeat thread writes, the training loop reads."""

    def __init__(self, lease_expires_at: float | None) -> None:
        self._lock = threading.Lock()
        self._control = Control(lease_expires_at=lease_expires_at)

    def read(self) -> Control:
        with self._lock:
            return self._control

    def apply(self, reply: HeartbeatReply, received_at: float) -> None:
        """Renew the lease and record the action of a reply that arrived at ``received_at``."""
        with self._lock:
            c = self._control
            stop_requested, stop_by, action = c.stop_requested, c.stop_by, c.stop_action
            if reply.action != "continue":
                action = action or reply.action
                deadline = received_at
                if reply.action == "checkpoint_and_stop" and reply.stop_by_s is not None:
                    deadline = received_at + reply.stop_by_s
                stop_by = deadline if not stop_requested or stop_by is None \
                    else min(stop_by, deadline)
                stop_requested = True
            batch_size, version = c.batch_size, c.batch_size_version
            if reply.batch_size is not None and reply.batch_size_version > version:
                batch_size, version = reply.batch_size, reply.batch_size_version
            self._control = Control(
                lease_expires_at=received_at + reply.lease_expires_in_s,
                stop_requested=stop_requested, stop_by=stop_by, stop_action=action,
                batch_size=batch_size, batch_size_version=version, replies=c.replies + 1)


def initial_lease_expiry(lease_s: float | None, clock: Clock = time.monotonic) -> float | None:
    """The monotonic time at which the initial lease ends: ``lease_s`` counts from the start of
    this process (the backend's clock started when it launched us), not from this call."""
    if lease_s is None:
        return None
    return clock() - process_age_s() + lease_s


def process_age_s() -> float:
    """Seconds since this process started (Linux ``/proc``; 0 where that is not available)."""
    try:
        with open(f"/proc/{os.getpid()}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")
        return max(0.0, time.clock_gettime(time.CLOCK_BOOTTIME) - started)
    except (OSError, ValueError, IndexError, AttributeError):
        return 0.0
