"""The cluster as it stands (slots and who holds them), the rounds decided, events, health."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from shockwave.service.api.deps import ClockDep, LoopDep, SettingsDep, StoreDep, UserDep
from shockwave.service.api.schemas import (
    ClusterOut,
    EventOut,
    Health,
    RoundOut,
    SlotOut,
    event_out,
    round_out,
)
from shockwave.service.states import LIVE_ATTEMPT_STATES, JobState

router = APIRouter(prefix="/v1", tags=["cluster"])


@router.get("/healthz", response_model=Health)
def healthz(request: Request, clock: ClockDep) -> Health:
    """Liveness (no token needed)."""
    return Health(status="ok", now_s=clock.now(), version=request.app.version)


@router.get("/cluster", response_model=ClusterOut, dependencies=[UserDep])
def cluster(store: StoreDep, settings: SettingsDep, clock: ClockDep, loop: LoopDep) -> ClusterOut:
    """Every slot with the attempt holding it, the round in progress, job counts by state."""
    now = clock.now()
    holders = {}
    for attempt in store.attempts(states=list(LIVE_ATTEMPT_STATES)):
        for slot in attempt.slots:
            holders[slot] = attempt
    names = {job.id: job.name for job in store.jobs([JobState.QUEUED, JobState.RUNNING])}
    slots = []
    for slot in range(settings.gpus):
        held = holders.get(slot)
        slots.append(SlotOut(slot=slot, device=settings.slot_device(slot),
                             available=slot not in loop.unavailable,
                             job_id=held.job_id if held else None,
                             job_name=names.get(held.job_id) if held else None,
                             attempt_id=held.id if held else None,
                             attempt_state=held.state if held else None))
    counts = {state.value: 0 for state in JobState}
    for state, count in store.job_counts().items():
        counts[state] = count
    current = loop.round
    return ClusterOut(now_s=now, policy=settings.policy, round_s=settings.round_s,
                      round_index=current.idx if current else None,
                      round_start_s=current.start_s if current else None,
                      round_ends_in_s=max(0.0, current.end_s - now) if current else None,
                      slots=slots, jobs=counts)


@router.get("/rounds", response_model=list[RoundOut], dependencies=[UserDep])
def rounds(store: StoreDep, limit: Annotated[int, Query(ge=1, le=100_000)] = 100) -> list[RoundOut]:
    """The last ``limit`` rounds: placements, kept (lease extended), revoked, added; the
    planner's decision time and the service's own bookkeeping time."""
    return [round_out(r) for r in store.rounds(limit)]


@router.get("/events", response_model=list[EventOut], dependencies=[UserDep])
def events(store: StoreDep, job_id: int | None = None,
           limit: Annotated[int, Query(ge=1, le=100_000)] = 1000) -> list[EventOut]:
    """The event log, oldest first (the last ``limit``)."""
    return [event_out(e) for e in store.events(job_id=job_id, limit=limit)]
