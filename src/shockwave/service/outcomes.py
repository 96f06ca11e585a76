"""How an attempt ended (its ``Outcome``) and what that means for its job (reference/RUNTIME.md
section 5): completed -> the job is COMPLETED; yielded, killed or lost (heartbeats stopped, or
the backend says the infrastructure ended it: a node died) -> requeued, nothing counted;
failed -> counted, retried from the last acknowledged checkpoint after a back-off, or FAILED
with the reason and the log tail once the budget is spent. A job whose cancel was asked
for ends CANCELLED. Work done after the last acknowledged checkpoint is lost: the job's progress
goes back to it."""

from __future__ import annotations

from typing import Any

from shockwave.protocol import EXIT_FINISHED, EXIT_SIGTERM, EXIT_YIELDED
from shockwave.service.backends.base import AttemptExit
from shockwave.service.config import Settings
from shockwave.service.leases import LEASE_EXPIRED
from shockwave.service.logs import attempt_log_tail
from shockwave.service.states import LIVE_ATTEMPT_STATES, AttemptState, JobState, Outcome
from shockwave.service.store import AttemptRow, JobRow, Store

SIGKILL_CODE = 128 + 9


def classify(attempt: AttemptRow, ended: AttemptExit) -> tuple[Outcome, str]:
    """The outcome of ``attempt`` from its exit, and why, in words."""
    code, asked = ended.exit_code, attempt.stop_reason
    if code == EXIT_FINISHED:
        return Outcome.completed, "finished"
    if ended.report is not None and ended.report.reason == "finished":
        # Trained to the end and said so (final state saved first); only its exit was slow.
        return Outcome.completed, f"finished (reported; the process then ended with {code})"
    if ended.lost:
        return Outcome.lost, ended.note or "lost with its server"
    if code is None:
        return Outcome.lost, "ended while the service was down and left no report"
    if asked == LEASE_EXPIRED and attempt.last_heartbeat_s is None:
        # Not speaking the protocol at all is the job's fault (else it would restart forever).
        return Outcome.failed, f"sent no heartbeat within the start-up lease (exit {code})"
    if attempt.kill_sent and code == SIGKILL_CODE:
        if asked != LEASE_EXPIRED:
            return Outcome.killed, "still running at the grace deadline: process group killed"
        return Outcome.lost, "heartbeats stopped: killed at lease expiry plus grace"
    if code == EXIT_YIELDED:
        return Outcome.yielded, "yielded after a checkpoint (exit 75)"
    if code == EXIT_SIGTERM:
        if asked is not None:
            return Outcome.yielded, "stopped by SIGTERM (exit 143)"
        return Outcome.lost, "stopped by a SIGTERM the service did not send (exit 143)"
    signal = f" (signal {ended.signal})" if ended.signal else ""
    message = f": {ended.report.message}" if ended.report and ended.report.message else ""
    note = f" ({ended.note})" if ended.note else ""
    return Outcome.failed, f"exit code {code}{signal}{message}{note}"


def backoff_s(settings: Settings, failures: int) -> float:
    """Seconds before retrying after the ``failures``-th failure: doubling, capped."""
    return min(settings.backoff_s * 2 ** max(0, failures - 1), settings.max_backoff_s)


def finish_attempt(store: Store, settings: Settings, attempt: AttemptRow, ended: AttemptExit,
                   now_s: float, *, outcome: Outcome | None = None,
                   why: str | None = None) -> bool:
    """Record that ``attempt`` ended and move its job on, in one transaction. ``False`` if it
    was already recorded."""
    if outcome is None or why is None:
        outcome, why = classify(attempt, ended)
    values: dict[str, Any] = {"outcome": outcome, "ended_s": now_s, "reason": why,
                              "exit_code": ended.exit_code, "signal": ended.signal}
    if ended.report is not None:
        values["report"] = ended.report.model_dump()
        if ended.report.progress is not None:
            values.update(samples=ended.report.progress.samples,
                          epoch=ended.report.progress.epoch, step=ended.report.progress.step)
    with store.atomic():
        if not store.transition_attempt(attempt.id, list(LIVE_ATTEMPT_STATES),
                                        AttemptState.EXITED, now_s=now_s, note=why, **values):
            return False
        report = ended.report
        if report is not None and report.checkpoint_id and report.progress is not None:
            # Named in the final report: acknowledged, even if the job could not post it.
            store.add_checkpoint(attempt.id, report.checkpoint_id, report.progress.model_dump(),
                                 now_s)
        job = store.job(attempt.job_id)
        if job is not None and job.state == JobState.RUNNING:
            if outcome == Outcome.completed and report is not None and report.progress:
                final = report.progress
                store.update_job(job.id, samples=final.samples, epoch=final.epoch,
                                 step=final.step, batch_size=final.batch_size)
            _move_job(store, settings, job, attempt, outcome, why, now_s)
    return True


def _move_job(store: Store, settings: Settings, job: JobRow, attempt: AttemptRow,
              outcome: Outcome, why: str, now_s: float) -> None:
    note = f"attempt {attempt.id} {outcome}: {why}"
    running = JobState.RUNNING
    if outcome == Outcome.completed:
        store.transition_job(job.id, running, JobState.COMPLETED, now_s=now_s, note=note,
                             finished_s=now_s, reason="completed")
        return
    progress = job.checkpoint_progress or {}
    resume = {"samples": job.checkpoint_samples, "epoch": progress.get("epoch", 0),
              "step": progress.get("step", 0)}
    if job.cancel_requested:
        store.transition_job(job.id, running, JobState.CANCELLED, now_s=now_s, note=note,
                             finished_s=now_s, reason="cancelled", **resume)
    elif outcome != Outcome.failed:
        store.transition_job(job.id, running, JobState.QUEUED, now_s=now_s, note=note, **resume)
    else:
        _fail(store, settings, job, attempt, why, now_s, note, resume)


def _fail(store: Store, settings: Settings, job: JobRow, attempt: AttemptRow, why: str,
          now_s: float, note: str, resume: dict[str, Any]) -> None:
    failures = job.failures + 1
    tail = attempt_log_tail(settings, attempt.id, len(attempt.slots), settings.log_tail_lines)
    if failures > job.spec.max_failures:
        reason = (f"{failures} failed attempt(s) with a budget of {job.spec.max_failures} "
                  f"retries; the last (attempt {attempt.id}): {why}")
        store.transition_job(job.id, JobState.RUNNING, JobState.FAILED, now_s=now_s, note=note,
                             finished_s=now_s, failures=failures, log_tail=tail, reason=reason,
                             **resume)
        return
    wait_s = backoff_s(settings, failures)
    store.transition_job(job.id, JobState.RUNNING, JobState.QUEUED, now_s=now_s,
                         note=f"{note}; retry in {wait_s:g} s", failures=failures, log_tail=tail,
                         not_before_s=now_s + wait_s, reason=f"retrying after: {why}", **resume)
