"""How an attempt ends: the exit code, the ``ExitReport`` and where it goes."""

from __future__ import annotations

import logging
import signal
import traceback
from dataclasses import dataclass
from pathlib import Path

from shockwave.job.checkpoint import write_atomically
from shockwave.job.transport import Transport
from shockwave.protocol import (
    EXIT_FINISHED,
    EXIT_YIELDED,
    BatchSizeChange,
    ExitReason,
    ExitReport,
    Progress,
)

log = logging.getLogger("shockwave.job")

EXIT_FAILED = 1
"""What the library exits with when the attempt failed (an uncaught exception exits 1 too)."""
MAX_MESSAGE = 4000


@dataclass(frozen=True)
class Outcome:
    """Why the attempt ends and with which exit code."""

    reason: ExitReason
    exit_code: int
    message: str | None = None

    @classmethod
    def finished(cls) -> Outcome:
        return cls("finished", EXIT_FINISHED)

    @classmethod
    def yielded(cls, reason: ExitReason, message: str) -> Outcome:
        return cls(reason, EXIT_YIELDED, message)

    @classmethod
    def failed(cls, message: str, exit_code: int = EXIT_FAILED) -> Outcome:
        return cls("failed", exit_code or EXIT_FAILED, message)

    @classmethod
    def from_exception(cls, exc: BaseException) -> Outcome:
        """A failure caused by ``exc``: its type, message and the end of its traceback."""
        if isinstance(exc, KeyboardInterrupt):
            return cls.failed("interrupted (SIGINT twice)", 128 + signal.SIGINT)
        if isinstance(exc, SystemExit):
            code = exc.code if isinstance(exc.code, int) else EXIT_FAILED
            return cls.failed(f"the script exited with {exc.code!r}", code)
        lines = traceback.format_exception(exc)
        text = f"{type(exc).__name__}: {exc}\n" + "".join(lines[-6:])
        return cls.failed(text[:MAX_MESSAGE])


def deliver(report: ExitReport, report_file: Path | None, transport: Transport) -> None:
    """Write ``report`` to the report file (first: it survives an unreachable service), then
    post it. Neither failure is raised: the exit code still tells the backend what happened."""
    if report_file is not None:
        try:
            data = report.model_dump_json().encode()
            write_atomically(report_file, lambda f: f.write(data))
        except OSError as exc:
            log.warning("shockwave.job: cannot write the report file %s: %s", report_file, exc)
    transport.exit(report)


def build_report(outcome: Outcome, progress: Progress | None, checkpoint_id: str | None, *,
                 samples_per_s: float | None = None, step_time_s: float | None = None,
                 batch_sizes: tuple[BatchSizeChange, ...] = (),
                 checkpoint_failures: int = 0) -> ExitReport:
    """The report of ``outcome``; ``samples_per_s`` (the whole gang) and ``step_time_s`` are
    the attempt's measured speed (after the warm-up steps), ``None`` if never measured;
    ``batch_sizes`` the job's batch sizes since its start; ``checkpoint_failures`` the saves
    of this attempt that failed (a periodic one is otherwise invisible to the service: the job
    trains on)."""
    message = outcome.message[:MAX_MESSAGE] if outcome.message else None
    return ExitReport(reason=outcome.reason, exit_code=outcome.exit_code, progress=progress,
                      checkpoint_id=checkpoint_id, message=message,
                      samples_per_s=samples_per_s, step_time_s=step_time_s,
                      batch_sizes=batch_sizes, checkpoint_failures=checkpoint_failures)
