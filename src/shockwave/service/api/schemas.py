"""What the API returns: wire models separate from the store's rows (the CLI reads the same
JSON). Times are service seconds (``now_s`` of ``/v1/cluster``); ages and leases are relative."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from shockwave.protocol import BatchSizeChange
from shockwave.service.config import Settings
from shockwave.service.jobspec import JobSubmit
from shockwave.service.queue_status import QueueContext, job_rho, wait_reason
from shockwave.service.states import AttemptState, JobState, Outcome
from shockwave.service.store import AttemptRow, CheckpointRow, EventRow, JobRow, RoundRow, Speed


class ProgressOut(BaseModel):
    samples: int
    total_samples: int
    fraction: float
    epoch: int
    step: int
    batch_size: int
    samples_per_epoch: int


class BatchSizeOut(BaseModel):
    """The job's batch size from ``at_s`` on: the submitted one, then each approved change
    (``round_index``: the round in which it was approved; ``None`` before the first round)."""

    at_s: float
    round_index: int | None
    batch_size: int


class SpeedOut(BaseModel):
    """The job's speed as the service measured it at one batch size and gang size."""

    batch_size: int
    gpus: int
    samples_per_s: float
    measurements: int


class CheckpointOut(BaseModel):
    checkpoint_id: str
    attempt_id: int
    samples: int
    at_s: float


class AttemptOut(BaseModel):
    id: int
    job_id: int
    number: int
    state: AttemptState
    outcome: Outcome | None
    slots: list[int]
    devices: list[str]
    round_index: int
    created_s: float
    started_s: float | None
    ended_s: float | None
    lease_expires_in_s: float | None
    last_heartbeat_age_s: float | None
    stop_reason: str | None
    stop_by_in_s: float | None
    exit_code: int | None
    signal: int | None
    reason: str | None
    batch_size: int
    start_samples: int
    samples: int | None
    samples_per_s: float | None
    batch_sizes: list[BatchSizeChange] = []
    """The job's batch sizes from its start, as the attempt's exit report gave them (empty
    before it reports, or when its job library does not say)."""


class JobOut(BaseModel):
    id: int
    name: str
    state: JobState
    gpus: int
    adaptation: str
    submitted_s: float
    started_s: float | None
    finished_s: float | None
    reason: str | None
    failures: int
    max_failures: int
    cancel_requested: bool
    retry_in_s: float | None
    progress: ProgressOut
    samples_per_s: float | None
    noise_scale: float | None
    batch_sizes: list[BatchSizeOut]
    rounds_received: int
    attained_s: float
    attempts_count: int
    slots: list[int] | None
    last_checkpoint: CheckpointOut | None
    log_tail: str | None
    spec: JobSubmit
    estimated_rho: float | None = None
    """The finish-time fairness the job is heading for at its fair share from now on
    (``queue_status.estimated_rho``); ``None`` before its speed is measured and once it ended."""
    wait_reason: str | None = None
    """Why a queued job is not running, in words (``queue_status.wait_reason``)."""


class JobDetail(JobOut):
    attempts: list[AttemptOut]
    speeds: list[SpeedOut]


class SlotOut(BaseModel):
    slot: int
    device: str
    available: bool = True
    """False once the slot's server left the cluster (a Ray node died)."""
    job_id: int | None
    job_name: str | None
    attempt_id: int | None
    attempt_state: AttemptState | None


class ClusterOut(BaseModel):
    now_s: float
    policy: str
    round_s: float
    round_index: int | None
    round_start_s: float | None
    round_ends_in_s: float | None
    slots: list[SlotOut]
    jobs: dict[str, int]


class RoundOut(BaseModel):
    index: int
    start_s: float
    end_s: float
    placements: dict[str, list[int]]
    kept: list[int]
    revoked: list[int]
    added: list[int]
    decision_s: float
    bookkeeping_s: float


class EventOut(BaseModel):
    id: int
    at_s: float
    entity: str
    job_id: int | None
    attempt_id: int | None
    from_state: str | None
    to_state: str | None
    reason: str | None
    data: dict[str, Any] | None


class Accepted(BaseModel):
    """The answer to a checkpoint or exit report: ``accepted`` is False for a duplicate."""

    accepted: bool
    detail: str


class Health(BaseModel):
    status: str
    now_s: float
    version: str


def progress_fraction(job: JobRow) -> float:
    """The share of its samples ``job`` has trained: ``progress.fraction``, and the progress
    ``/metrics`` exports (one formula, so the two agree)."""
    total = job.spec.samples
    return min(1.0, job.samples / total) if total else 0.0


def job_out(job: JobRow, now_s: float, live: AttemptRow | None = None,
            queue: QueueContext | None = None) -> JobOut:
    """The job as the API shows it; with ``queue``, its fairness estimate and wait reason."""
    total = job.spec.samples
    checkpoint = None
    if job.checkpoint_id is not None:
        checkpoint = CheckpointOut(checkpoint_id=job.checkpoint_id,
                                   attempt_id=job.checkpoint_attempt or 0,
                                   samples=job.checkpoint_samples,
                                   at_s=float((job.checkpoint_progress or {}).get("at_s", 0.0)))
    retry = job.not_before_s - now_s if job.state == JobState.QUEUED else None
    return JobOut(
        id=job.id, name=job.name, state=job.state, gpus=job.spec.gpus,
        adaptation=job.spec.adaptation, submitted_s=job.submitted_s, started_s=job.started_s,
        finished_s=job.finished_s, reason=job.reason, failures=job.failures,
        max_failures=job.spec.max_failures, cancel_requested=job.cancel_requested,
        retry_in_s=retry if retry is not None and retry > 0 else None,
        progress=ProgressOut(samples=job.samples, total_samples=total,
                             fraction=progress_fraction(job),
                             epoch=job.epoch, step=job.step, batch_size=job.batch_size,
                             samples_per_epoch=job.samples_per_epoch),
        samples_per_s=job.samples_per_s, noise_scale=job.noise_scale,
        batch_sizes=[BatchSizeOut(at_s=at, round_index=None if r is None else int(r),
                                  batch_size=int(b)) for at, r, b in job.batch_sizes],
        rounds_received=job.rounds_received,
        attained_s=job.attained_s, attempts_count=job.attempts_count,
        slots=list(live.slots) if live is not None else None, last_checkpoint=checkpoint,
        log_tail=job.log_tail, spec=job.spec,
        estimated_rho=job_rho(job, queue) if queue is not None else None,
        wait_reason=wait_reason(job, queue) if queue is not None else None)


def attempt_out(attempt: AttemptRow, now_s: float, settings: Settings) -> AttemptOut:
    def rel(at: float | None) -> float | None:
        return None if at is None or attempt.ended_s is not None else at - now_s

    return AttemptOut(
        id=attempt.id, job_id=attempt.job_id, number=attempt.number, state=attempt.state,
        outcome=attempt.outcome, slots=list(attempt.slots),
        devices=[settings.slot_device(s) for s in attempt.slots], round_index=attempt.round_index,
        created_s=attempt.created_s, started_s=attempt.started_s, ended_s=attempt.ended_s,
        lease_expires_in_s=rel(attempt.lease_expires_s),
        last_heartbeat_age_s=(now_s - attempt.last_heartbeat_s
                              if attempt.last_heartbeat_s is not None else None),
        stop_reason=attempt.stop_reason, stop_by_in_s=rel(attempt.stop_by_s),
        exit_code=attempt.exit_code, signal=attempt.signal, reason=attempt.reason,
        batch_size=attempt.batch_size, start_samples=attempt.start_samples,
        samples=attempt.samples, samples_per_s=attempt.samples_per_s,
        batch_sizes=[BatchSizeChange.model_validate(change)
                     for change in (attempt.report or {}).get("batch_sizes", ())])


def speed_out(speed: Speed) -> SpeedOut:
    return SpeedOut(batch_size=speed.batch_size, gpus=speed.gpus,
                    samples_per_s=speed.samples_per_s, measurements=speed.measurements)


def checkpoint_out(row: CheckpointRow) -> CheckpointOut:
    return CheckpointOut(checkpoint_id=row.checkpoint_id, attempt_id=row.attempt_id,
                         samples=row.samples, at_s=row.at_s)


def round_out(row: RoundRow) -> RoundOut:
    return RoundOut(index=row.idx, start_s=row.start_s, end_s=row.end_s,
                    placements={str(j): list(g) for j, g in row.placements.items()},
                    kept=row.kept, revoked=row.revoked, added=row.added,
                    decision_s=row.decision_s, bookkeeping_s=row.bookkeeping_s)


def event_out(row: EventRow) -> EventOut:
    return EventOut(id=row.id, at_s=row.at_s, entity=row.entity, job_id=row.job_id,
                    attempt_id=row.attempt_id, from_state=row.from_state, to_state=row.to_state,
                    reason=row.reason, data=row.data)
