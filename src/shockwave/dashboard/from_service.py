"""The dashboard's picture of a running service, read from its store: the same rows the API
reads, through the same functions (``queue_status``), so the page and ``/v1`` always agree."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from shockwave.dashboard.model import (
    GpuCell,
    JobEntry,
    JobPage,
    Lease,
    Snapshot,
    Timeline,
    colour_of,
    palette,
)
from shockwave.service.clock import Clock
from shockwave.service.config import Settings
from shockwave.service.queue_status import QueueContext, job_rho, queue_context, wait_reason
from shockwave.service.rounds import RoundLoop
from shockwave.service.states import LIVE_ATTEMPT_STATES, JobState
from shockwave.service.store import AttemptRow, JobRow, Store

MIN_REFRESH_S, MAX_REFRESH_S = 0.5, 5.0
TIMELINE_ROUNDS = 100
"""The timeline shows the leases of the last this many rounds: a long-lived service's whole
history would grow every poll without bound (``GET /v1/rounds`` and the events keep it all)."""


def refresh_interval_s(round_s: float) -> float:
    """Poll four times a round, between half a second and five seconds: a change shows within
    a quarter round (well inside the two rounds operators expect) without a busy page."""
    return min(MAX_REFRESH_S, max(MIN_REFRESH_S, round_s / 4))


def job_entry(job: JobRow, context: QueueContext) -> JobEntry:
    total = job.spec.samples
    return JobEntry(id=job.id, name=job.name, state=job.state.value, gpus=job.spec.gpus,
                    progress=min(1.0, job.samples / total) if total else 0.0,
                    batch_size=job.batch_size, attempts=job.attempts_count,
                    estimated_rho=job_rho(job, context), wait_reason=wait_reason(job, context),
                    submitted_s=job.submitted_s, finished_s=job.finished_s)


def _server_of(settings: Settings) -> dict[int, int]:
    return {slot: server for server, slots in enumerate(settings.slot_layout) for slot in slots}


def _gpus(settings: Settings, live: Sequence[AttemptRow], unavailable: frozenset[int]
          ) -> list[GpuCell]:
    holder = {slot: attempt.job_id for attempt in live for slot in attempt.slots}
    server = _server_of(settings)
    return [GpuCell(slot=slot, device=settings.slot_device(slot), server=server[slot],
                    job_id=holder.get(slot), available=slot not in unavailable,
                    gpu_type=settings.gpu_type)
            for slot in range(settings.gpus)]


def _timeline(attempts: Sequence[AttemptRow], since_s: float, now_s: float) -> Timeline:
    """One lease per attempt that held its slots after ``since_s``, clipped to it."""
    timeline = Timeline()
    for attempt in attempts:
        if attempt.started_s is not None:
            end = attempt.ended_s if attempt.ended_s is not None else now_s
            start = max(attempt.started_s, since_s)
            timeline.add(attempt.job_id, start, max(end, start), list(attempt.slots))
    return timeline


@dataclass(frozen=True)
class ServiceSource:
    """The dashboard over one service's store, settings, round loop and clock."""

    store: Store
    settings: Settings
    loop: RoundLoop
    clock: Clock

    def snapshot(self, at_s: float | None = None) -> Snapshot:
        """The service now (``at_s`` is for simulations: a service has only the present)."""
        now = self.clock.now()
        context = queue_context(self.store, self.settings, self.loop, now)
        jobs = self.store.jobs()
        since = max(min((job.submitted_s for job in jobs), default=now),
                    now - TIMELINE_ROUNDS * self.settings.round_s)
        live = self.store.attempts(states=list(LIVE_ATTEMPT_STATES))
        counts = {state.value: 0 for state in JobState}
        for job in jobs:
            counts[job.state.value] += 1
        current = self.loop.round
        return Snapshot(
            source="service", title=f"shockwave serve · {self.settings.policy}",
            policy=self.settings.policy, now_s=now, start_s=since, end_s=now,
            round_s=self.settings.round_s,
            round_index=current.idx if current else None,
            round_ends_in_s=max(0.0, current.end_s - now) if current else None,
            counts=counts, gpus=_gpus(self.settings, live, self.loop.unavailable),
            jobs=[job_entry(job, context) for job in jobs],
            timeline=_timeline(self.store.attempts_since(since), since, now),
            palette=list(palette()),
            refresh_s=refresh_interval_s(self.settings.round_s),
            token_required=self.settings.token is not None)

    def job_page(self, job_id: int, at_s: float | None = None) -> JobPage | None:
        """One job's leases (attempts), batch sizes, per-round throughput and events."""
        job = self.store.job(job_id)
        if job is None:
            return None
        now = self.clock.now()
        context = queue_context(self.store, self.settings, self.loop, now)
        attempts = self.store.attempts(job_id=job_id)
        leases = [Lease(number=a.number, slots=list(a.slots), start_s=a.started_s,
                        end_s=a.ended_s, outcome=a.outcome.value if a.outcome else a.state.value,
                        reason=a.reason or a.stop_reason, samples_per_s=a.samples_per_s)
                  for a in attempts if a.started_s is not None]
        starts = self.store.round_starts([int(r) for r, _, _ in job.timeline])
        throughput = [(starts[int(r)], float(iterations) * float(batch))
                      for r, iterations, batch in job.timeline if int(r) in starts]
        events = [(e.at_s, _event_text(e.from_state, e.to_state, e.reason))
                  for e in self.store.events(job_id=job_id, limit=200)]
        return JobPage(source="service", job=job_entry(job, context),
                       leases=leases,
                       batch_sizes=[(float(at), int(b)) for at, _, b in job.batch_sizes],
                       throughput=throughput, events=events, palette_colour=colour_of(job.id))


def _event_text(before: str | None, after: str | None, reason: str | None) -> str:
    move = f"{before} → {after}" if before and after else (after or "")
    return " · ".join(part for part in (move, reason or "") if part)
