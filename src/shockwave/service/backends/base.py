"""The backend interface the round loop drives, and what it exchanges with it.

A handle is a JSON-able mapping the backend returns from ``start``; the store persists it, so
that a restarted service can hand it back to ``alive``/``poll``/``stop``/``kill`` and adopt the
attempt (or learn that it ended) without having started it itself."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError

from shockwave.protocol import ExitReport

Handle = dict[str, Any]


@dataclass(frozen=True)
class AttemptSpec:
    """Everything needed to start one attempt: the command, the environment every rank shares
    (the protocol's variables and the job's own), and the slots of its gang (rank i on
    ``slots[i]``). Logs and the report file live in ``attempt_dir``."""

    attempt_id: int
    job_id: int
    argv: tuple[str, ...]
    working_dir: str | None
    env: Mapping[str, str]
    slots: tuple[int, ...]
    attempt_dir: Path
    report_file: Path


@dataclass(frozen=True)
class AttemptExit:
    """How an attempt ended. ``exit_code`` follows the shell: 128 + N for a rank ended by signal
    N (then ``signal`` is N); ``None`` when nobody knows (it ended while the service was down and
    left no report). ``lost``: the infrastructure ended it, not the job (its node died, its
    slots could not be had): it is requeued and not counted against the job's failure budget.
    ``note``: the backend's own words on how it ended, if it has any."""

    exit_code: int | None
    signal: int | None = None
    report: ExitReport | None = None
    lost: bool = False
    note: str | None = None


class SlotsUnavailable(OSError):
    """``start`` cannot have the slots now (their server is gone or busy with something the
    service does not know of): not the job's fault."""


class Backend(Protocol):
    """Four verbs, plus ``alive`` and ``reap_orphans`` for recovery and ``unavailable_slots``
    for the inventory. None of them blocks for long; deadlines (when to send SIGTERM, when to kill) are the round loop's,
    persisted in the store."""

    def start(self, spec: AttemptSpec) -> Handle:
        """Start every rank of the gang together; raise ``OSError`` if it cannot."""
        ...

    def poll(self, handle: Handle) -> AttemptExit | None:
        """``None`` while it runs; how it ended once every rank is gone."""
        ...

    def stop(self, handle: Handle, grace_s: float) -> None:
        """Ask it to stop now (SIGTERM); it has ``grace_s`` before ``kill``."""
        ...

    def kill(self, handle: Handle) -> None:
        """End it and everything it started, now."""
        ...

    def alive(self, handle: Handle) -> bool:
        """Whether any of its processes still runs (after a restart: adopt or not)."""
        ...

    def unavailable_slots(self) -> frozenset[int]:
        """Slots that cannot run anything now (their server left the cluster)."""
        ...

    def reap_orphans(self, live: list[Handle]) -> int:
        """After a restart: end what this service started for attempts other than ``live``
        (started, then the service died before it recorded the handle); how many."""
        ...


def read_report(path: str | Path) -> ExitReport | None:
    """The ``ExitReport`` rank 0 wrote to ``$SHOCKWAVE_REPORT_FILE``, or ``None`` if it wrote
    none (or something unreadable)."""
    try:
        return ExitReport.model_validate(json.loads(Path(path).read_text()))
    except (OSError, ValueError, ValidationError):
        return None
