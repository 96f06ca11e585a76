"""Users' requests: submit, list, get, cancel, logs, events. Thin: they record intent in the
store (the round loop acts on it) and read it back."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse, Response, StreamingResponse

from shockwave.service import logs
from shockwave.service.api.deps import ClockDep, LoopDep, SettingsDep, StoreDep, UserDep
from shockwave.service.api.schemas import (
    EventOut,
    JobDetail,
    JobOut,
    attempt_out,
    event_out,
    job_out,
    speed_out,
)
from shockwave.service.jobspec import JobSubmit, check_submit
from shockwave.service.queue_status import queue_context
from shockwave.service.states import LIVE_ATTEMPT_STATES, JobState, is_terminal
from shockwave.service.store import AttemptRow, JobRow, Store

router = APIRouter(prefix="/v1/jobs", tags=["jobs"], dependencies=[UserDep])


def _job(store: Store, job_id: int) -> JobRow:
    job = store.job(job_id)
    if job is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no job {job_id}")
    return job


def _live_slots(store: Store, job_id: int) -> AttemptRow | None:
    live = store.attempts(job_id=job_id, states=list(LIVE_ATTEMPT_STATES))
    return live[-1] if live else None


@router.post("", status_code=status.HTTP_201_CREATED, response_model=JobOut)
def submit(spec: JobSubmit, store: StoreDep, settings: SettingsDep, clock: ClockDep) -> JobOut:
    """Queue a job. A spec this service cannot run is refused (422 naming the field); nothing is
    stored then."""
    errors = check_submit(spec, settings)
    if errors:
        raise RequestValidationError(errors)
    now = clock.now()
    return job_out(store.add_job(spec, now), now)


@router.get("", response_model=list[JobOut])
def list_jobs(store: StoreDep, clock: ClockDep, settings: SettingsDep, loop: LoopDep,
              state: Annotated[list[JobState] | None, Query()] = None,
              name: Annotated[str | None, Query(max_length=64)] = None) -> list[JobOut]:
    """Jobs in submission order, optionally only those in ``state`` (repeatable) or named
    ``name``."""
    now = clock.now()
    live = {a.job_id: a for a in store.attempts(states=list(LIVE_ATTEMPT_STATES))}
    queue = queue_context(store, settings, loop, now)
    return [job_out(job, now, live.get(job.id), queue) for job in store.jobs(state, name=name)]


@router.get("/{job_id}", response_model=JobDetail)
def get_job(job_id: int, store: StoreDep, clock: ClockDep, settings: SettingsDep,
            loop: LoopDep) -> JobDetail:
    """One job with its attempts and its last acknowledged checkpoint."""
    job = _job(store, job_id)
    now = clock.now()
    attempts = store.attempts(job_id=job_id)
    base = job_out(job, now, _live_slots(store, job_id), queue_context(store, settings, loop, now))
    return JobDetail(**base.model_dump(),
                     attempts=[attempt_out(a, now, settings) for a in attempts],
                     speeds=[speed_out(s) for s in store.speeds([job_id]).get(job_id, [])])


@router.delete("/{job_id}", status_code=status.HTTP_202_ACCEPTED, response_model=JobOut)
def cancel(job_id: int, store: StoreDep, clock: ClockDep) -> JobOut:
    """Ask for the job to be cancelled: a running attempt is told to stop now, SIGTERMed and
    killed after the grace period; the job ends CANCELLED."""
    job = _job(store, job_id)
    now = clock.now()
    if is_terminal(job.state):
        raise HTTPException(status.HTTP_409_CONFLICT,
                            detail=f"job {job_id} is already {job.state}")
    store.request_cancel(job_id, now)
    return job_out(_job(store, job_id), now, _live_slots(store, job_id))


@router.get("/{job_id}/logs", response_class=PlainTextResponse, response_model=None)
def job_logs(job_id: int, store: StoreDep, settings: SettingsDep,
             tail: Annotated[int, Query(ge=0, le=100_000)] = 100,
             follow: bool = False,
             rank: Annotated[int, Query(ge=0)] = 0) -> Response:
    """Rank ``rank``'s output over all attempts (a header line before each attempt): the last
    ``tail`` lines, and with ``follow=true`` what follows until the job ends."""
    _job(store, job_id)
    if follow:
        return StreamingResponse(logs.follow_job(store, settings, job_id, rank, tail),
                                 media_type="text/plain; charset=utf-8")
    lines = logs.job_log(settings, store.attempts(job_id=job_id), rank, tail)
    return PlainTextResponse("".join(line + "\n" for line in lines))


@router.get("/{job_id}/events", response_model=list[EventOut])
def job_events(job_id: int, store: StoreDep,
               limit: Annotated[int, Query(ge=1, le=100_000)] = 1000) -> list[EventOut]:
    """The job's history: every transition of it and its attempts, oldest first."""
    _job(store, job_id)
    return [event_out(e) for e in store.events(job_id=job_id, limit=limit)]
