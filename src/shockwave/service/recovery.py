"""Start-up reconciliation, before the service serves anything (Ray's ``_recover_running_jobs``,
a Kubernetes controller's resync): every attempt the store says may be running is either adopted
(the backend says its processes live: it gets a fresh lease to resume heartbeating) or ended
(never started, or started but unrecorded: lost; the backend then ends what it started for them,
``reap_orphans``). Attempts whose processes died while the service
was down are left to the first tick, whose ``poll`` reads their report file (or records them
lost)."""

from __future__ import annotations

from dataclasses import dataclass, field

from shockwave.service.backends.base import AttemptExit, Backend
from shockwave.service.config import Settings
from shockwave.service.outcomes import finish_attempt
from shockwave.service.states import LIVE_ATTEMPT_STATES, JobState, Outcome
from shockwave.service.store import Store


@dataclass
class Recovery:
    """What recovery found: attempt ids adopted, ended, and left for the first poll."""

    adopted: list[int] = field(default_factory=list)
    lost: list[int] = field(default_factory=list)
    dead: list[int] = field(default_factory=list)
    failed_jobs: list[int] = field(default_factory=list)
    orphans: int = 0
    """What the backend ended that no recorded attempt owned (started, never recorded)."""


def recover(store: Store, backend: Backend, settings: Settings, now_s: float) -> Recovery:
    found = Recovery()
    for attempt in store.attempts(states=list(LIVE_ATTEMPT_STATES)):
        if attempt.handle is None:
            finish_attempt(store, settings, attempt, AttemptExit(None), now_s, outcome=Outcome.lost,
                           why="the service stopped before its processes were recorded")
            found.lost.append(attempt.id)
        elif backend.alive(attempt.handle):
            lease = max(attempt.lease_expires_s or 0.0, now_s + settings.lease_ttl_s)
            store.update_attempt(attempt.id, lease_expires_s=lease)
            store.add_event(now_s, "attempt", job_id=attempt.job_id, attempt_id=attempt.id,
                            reason="adopted after a restart")
            found.adopted.append(attempt.id)
        else:
            found.dead.append(attempt.id)
    live = [a.handle for a in store.attempts(states=list(LIVE_ATTEMPT_STATES)) if a.handle]
    found.orphans = backend.reap_orphans(live)
    _requeue_orphans(store, now_s)
    for job in store.jobs([JobState.QUEUED]):
        if job.spec.gpus > settings.gpus:
            store.transition_job(job.id, JobState.QUEUED, JobState.FAILED, now_s=now_s,
                                 note="does not fit", finished_s=now_s,
                                 reason=f"asks for {job.spec.gpus} slots; the service now has "
                                        f"{settings.gpus}")
            found.failed_jobs.append(job.id)
    store.add_event(now_s, "service", reason="started",
                    data={"adopted": found.adopted, "lost": found.lost, "dead": found.dead,
                          "orphans": found.orphans})
    return found


def _requeue_orphans(store: Store, now_s: float) -> None:
    """A RUNNING job without a live attempt (not possible with whole transactions; kept as a
    guard) goes back to the queue."""
    live = {a.job_id for a in store.attempts(states=list(LIVE_ATTEMPT_STATES))}
    for job in store.jobs([JobState.RUNNING]):
        if job.id not in live:
            store.transition_job(job.id, JobState.RUNNING, JobState.QUEUED, now_s=now_s,
                                 note="running without an attempt after a restart")


__all__ = ["Recovery", "recover"]
