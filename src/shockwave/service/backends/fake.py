"""``FakeBackend``: attempts that run nowhere, for the round-loop and API tests (rq's
``SimpleWorker``). Tests end attempts with ``finish``; ``stop`` and ``kill`` behave like an
obedient job (exit 75), an unhandled SIGTERM (143) or a job that ignores SIGTERM; slots in
``down`` are those of a server that left."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from shockwave.protocol import ExitReport
from shockwave.service.backends.base import AttemptExit, AttemptSpec, Handle, SlotsUnavailable

OnStop = Literal["yield", "sigterm", "ignore"]


@dataclass
class FakeAttempt:
    spec: AttemptSpec
    exit: AttemptExit | None = None
    stops: int = 0
    kills: int = 0


@dataclass
class FakeBackend:
    """In-memory attempts keyed by attempt id. ``on_stop`` per job id (default ``yield``)."""

    on_stop: dict[int, OnStop] = field(default_factory=dict)
    fail_start: set[int] = field(default_factory=set)
    """Job ids whose next starts raise ``OSError``."""
    attempts: dict[int, FakeAttempt] = field(default_factory=dict)
    down: set[int] = field(default_factory=set)
    """Slots whose server is gone: ``start`` on them raises ``SlotsUnavailable``."""

    def start(self, spec: AttemptSpec) -> Handle:
        if spec.job_id in self.fail_start:
            raise OSError(f"cannot start {spec.argv[0]}")
        if self.down.intersection(spec.slots):
            raise SlotsUnavailable(f"slots {sorted(self.down.intersection(spec.slots))} are gone")
        spec.attempt_dir.mkdir(parents=True, exist_ok=True)
        (spec.attempt_dir / "rank-0.log").write_text(f"fake attempt {spec.attempt_id} of job "
                                                     f"{spec.job_id} on slots {list(spec.slots)}\n")
        self.attempts[spec.attempt_id] = FakeAttempt(spec)
        return {"fake": spec.attempt_id}

    def poll(self, handle: Handle) -> AttemptExit | None:
        attempt = self.attempts.get(handle["fake"])
        if attempt is None:  # started by another backend object: gone with it
            return AttemptExit(None)
        return attempt.exit

    def stop(self, handle: Handle, grace_s: float) -> None:
        attempt = self.attempts[handle["fake"]]
        attempt.stops += 1
        behaviour = self.on_stop.get(attempt.spec.job_id, "yield")
        if attempt.exit is None and behaviour == "yield":
            attempt.exit = AttemptExit(75, None, ExitReport(reason="yielded", exit_code=75))
        elif attempt.exit is None and behaviour == "sigterm":
            attempt.exit = AttemptExit(143, 15)

    def kill(self, handle: Handle) -> None:
        attempt = self.attempts[handle["fake"]]
        attempt.kills += 1
        if attempt.exit is None:
            attempt.exit = AttemptExit(137, 9)

    def alive(self, handle: Handle) -> bool:
        attempt = self.attempts.get(handle["fake"])
        return attempt is not None and attempt.exit is None

    def unavailable_slots(self) -> frozenset[int]:
        return frozenset(self.down)

    def reap_orphans(self, live: list[Handle]) -> int:
        return 0

    # -- test controls -------------------------------------------------------------------------
    def finish(self, attempt_id: int, exit_code: int | None, report: ExitReport | None = None,
               signal: int | None = None, *, lost: bool = False, note: str | None = None) -> None:
        """End attempt ``attempt_id`` as if its processes exited with ``exit_code`` (``lost``:
        as if its server died under it)."""
        self.attempts[attempt_id].exit = AttemptExit(exit_code, signal, report, lost, note)

    def running(self) -> list[int]:
        """Ids of the attempts still running."""
        return [a for a, attempt in self.attempts.items() if attempt.exit is None]
