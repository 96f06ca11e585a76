"""What an operator asks of the queue, answered from the store: how fair each job's finish is
shaping up (``estimated_rho``) and why a queued job is not running (``wait_reason``).

Pure functions of rows and numbers (and one reader of the facts they need): the API, the dashboard and ``/metrics`` all call these, so
the three always agree."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from shockwave.metrics import estimated_rho, fair_share_factor
from shockwave.service.config import Settings
from shockwave.service.states import JobState
from shockwave.service.store import JobRow, RoundRow, Store

if TYPE_CHECKING:
    from shockwave.service.rounds import RoundLoop


@dataclass(frozen=True)
class QueueContext:
    """The cluster-wide facts a job's status depends on, read once per request."""

    now_s: float
    scheduled_jobs: int
    """Jobs queued or running: N of the contention factor max(1, N/G)."""
    slots: int
    """Slots the planner can place on now: G."""
    round: RoundRow | None
    policy: str

    @property
    def contention(self) -> float:
        return fair_share_factor(max(1, self.scheduled_jobs), max(1, self.slots))


def queue_context(store: Store, settings: Settings, loop: RoundLoop, now_s: float) -> QueueContext:
    """The facts as they stand: jobs scheduled, slots placeable now, the round in progress."""
    counts = store.job_counts()
    scheduled = counts.get(JobState.QUEUED, 0) + counts.get(JobState.RUNNING, 0)
    return QueueContext(now_s=now_s, scheduled_jobs=scheduled,
                        slots=settings.gpus - len(loop.unavailable), round=loop.round,
                        policy=settings.policy)


def job_rho(job: JobRow, context: QueueContext) -> float | None:
    """``estimated_rho`` of a queued or running job; ``None`` for one that has ended."""
    if job.state not in (JobState.QUEUED, JobState.RUNNING):
        return None
    return estimated_rho(context.now_s - job.submitted_s, job.spec.samples, job.samples,
                         job.samples_per_s, context.contention)


def wait_reason(job: JobRow, context: QueueContext) -> str | None:
    """Why a queued job is not training now, in words; ``None`` for a job that is not queued.

    In order: a requested cancel; the back-off after a failure; a gang larger than the slots
    left; no round decided since it arrived; placed this round but its slots still held by
    attempts that are stopping (a job leaves QUEUED as soon as its attempt is recorded); not
    placed this round."""
    if job.state != JobState.QUEUED:
        return None
    if job.cancel_requested:
        return "cancel requested: it ends without running again"
    if job.not_before_s > context.now_s:
        return (f"back-off after failure {job.failures} of {job.spec.max_failures}: retried "
                f"in {job.not_before_s - context.now_s:.0f} s")
    if job.spec.gpus > context.slots:
        return f"needs {job.spec.gpus} GPUs; {context.slots} are available"
    current = context.round
    if current is None or current.start_s < job.submitted_s:
        return "waiting for the next round's decision"
    if job.id in current.placements:
        return (f"placed in round {current.idx}; starts when its slots are released by "
                "the jobs stopping there")
    return (f"not placed in round {current.idx}: {context.policy} gave the GPUs to other jobs "
            "this round")
