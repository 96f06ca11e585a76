"""What running jobs send (reference/RUNTIME.md 3.4), each authenticated by the attempt's own
token: heartbeats (progress in, lease and action out), committed checkpoints, the final report.
They are ``async``: each is a short SQLite transaction (a quarter of a millisecond), cheaper in the
event loop than a hop to the thread pool, which matters at a thousand heartbeats a second.

Only the current attempt of a job is listened to: a heartbeat of an attempt that has ended gets
``stop_now`` and is not recorded; its checkpoints and reports are refused (409), so a zombie's
late writes never count as progress."""

from __future__ import annotations

import time

from fastapi import APIRouter, HTTPException, status

from shockwave.protocol import CheckpointReport, ExitReport, Heartbeat, HeartbeatReply
from shockwave.service.api.deps import (
    AttemptDep,
    ClockDep,
    SettingsDep,
    StartedDep,
    StoreDep,
    TelemetryDep,
)
from shockwave.service.api.schemas import Accepted
from shockwave.service.leases import on_heartbeat
from shockwave.service.states import CURRENT_ATTEMPT_STATES
from shockwave.service.store import AttemptRow
from shockwave.service.telemetry import Telemetry

router = APIRouter(prefix="/v1/attempts", tags=["attempts"])


def _current(attempt: AttemptRow, kind: str, telemetry: Telemetry) -> None:
    if attempt.state not in CURRENT_ATTEMPT_STATES:
        telemetry.report_refused(kind)
        raise HTTPException(status.HTTP_409_CONFLICT,
                            detail=f"attempt {attempt.id} is {attempt.state}: not the job's "
                                   "current attempt; ignored")


@router.post("/{attempt_id}/heartbeat", response_model=HeartbeatReply)
async def heartbeat(started: StartedDep, attempt: AttemptDep, beat: Heartbeat, store: StoreDep,
                    settings: SettingsDep, clock: ClockDep,
                    telemetry: TelemetryDep) -> HeartbeatReply:
    """Progress and speed in; the lease (relative seconds) and what to do next out. A stale or
    duplicate ``seq`` changes nothing and gets the current answer."""
    now = clock.now()
    reply = on_heartbeat(store, settings, now, attempt, beat)
    telemetry.heartbeat_handled(time.perf_counter() - started, attempt, beat, now)
    return reply


@router.post("/{attempt_id}/checkpoints", response_model=Accepted)
async def checkpoint(attempt: AttemptDep, report: CheckpointReport, store: StoreDep,
                     clock: ClockDep, telemetry: TelemetryDep) -> Accepted:
    """A committed checkpoint: from now on the job resumes from it (idempotent on its id)."""
    _current(attempt, "checkpoint", telemetry)
    new = store.add_checkpoint(attempt.id, report.checkpoint_id, report.progress.model_dump(),
                               clock.now())
    if new:
        telemetry.checkpoint_saved(report.duration_s)
    return Accepted(accepted=new, detail="acknowledged" if new else "already acknowledged")


@router.post("/{attempt_id}/exit", response_model=Accepted)
async def exit_report(attempt: AttemptDep, report: ExitReport, store: StoreDep,
                      clock: ClockDep, telemetry: TelemetryDep) -> Accepted:
    """Rank 0's last word. The outcome is decided when the process has exited; this report says
    why (and names its last checkpoint, which counts as acknowledged)."""
    _current(attempt, "exit", telemetry)
    if attempt.report is not None:
        return Accepted(accepted=False, detail="already reported")
    now = clock.now()
    with store.atomic():
        store.update_attempt(attempt.id, report=report.model_dump())
        if report.checkpoint_id and report.progress is not None:
            store.add_checkpoint(attempt.id, report.checkpoint_id, report.progress.model_dump(),
                                 now)
        store.add_event(now, "attempt", job_id=attempt.job_id, attempt_id=attempt.id,
                        reason=f"exit report: {report.reason} ({report.exit_code})")
    return Accepted(accepted=True, detail="recorded")
