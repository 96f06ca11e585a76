"""Submitting a replay's jobs at their arrival times and waiting until every one has ended.

The replay starts when ``replay`` is called: its start in service time is the service's clock
then (``/v1/healthz``), and job ``i`` is submitted ``arrival_s x time_scale`` seconds later. The
service is polled every ``poll_s`` for the jobs still queued or running; a job of ours that is no
longer among them has ended. Ctrl-C stops the replay (``ReplayInterrupted``), and so does a
request the service fails (``ReplayBroken``); both say which jobs were submitted (they stay on
the service)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from shockwave.errors import ShockwaveError
from shockwave.replay.mapping import Submission

LIVE_STATES = ["QUEUED", "RUNNING"]


@dataclass(frozen=True)
class ReplayProgress:
    """Where a replay stands: counts, seconds since its start, and what happened since the
    last report (one line each)."""

    elapsed_s: float
    total: int
    submitted: int
    running: int
    ended: int
    news: tuple[str, ...] = ()


@dataclass
class ReplayRun:
    """A replay the service has run: its start (service seconds), the last round decided
    before it (-1: none), and the service's id of each trace job (trace index -> job id)."""

    start_s: float
    after_round: int
    job_ids: dict[int, int] = field(default_factory=dict)


def _submitted(run: ReplayRun, total: int) -> str:
    """Which trace jobs a replay submitted, in words."""
    if not run.job_ids:
        return f"none of the {total} trace jobs was submitted"
    ids = ", ".join(str(i) for i in run.job_ids.values())
    return (f"submitted {len(run.job_ids)} of {total} trace jobs (service job ids {ids}); "
            "they stay on the service: `shockwave cancel ID` stops one")


class ReplayInterrupted(ShockwaveError):
    """Ctrl-C during a replay: which trace jobs had been submitted, under which service ids."""

    def __init__(self, run: ReplayRun, total: int) -> None:
        self.run = run
        super().__init__(f"interrupted: {_submitted(run, total)}; no results were written")


class ReplayBroken(ShockwaveError):
    """The service failed a request in the middle of a replay (it stopped, say)."""

    def __init__(self, cause: ShockwaveError, run: ReplayRun, total: int) -> None:
        self.run = run
        super().__init__(f"{cause} (the replay stopped: {_submitted(run, total)}; no results "
                         "were written)")


def replay(client: Any, jobs: Sequence[Submission], *, time_scale: float = 1.0,
           poll_s: float = 0.5, on_progress: Callable[[ReplayProgress], None] | None = None,
           clock: Callable[[], float] = time.monotonic,
           sleep: Callable[[float], None] = time.sleep) -> ReplayRun:
    """Submit ``jobs`` through ``client`` (a ``ServiceClient``) at their arrival times scaled
    by ``time_scale``, and return once every one has ended (COMPLETED, FAILED or CANCELLED)."""
    rounds = client.rounds(limit=1)
    run = ReplayRun(start_s=float(client.health()["now_s"]),
                    after_round=int(rounds[-1]["index"]) if rounds else -1)
    started = clock()
    pending = sorted(jobs, key=lambda j: (j.arrival_s, j.index))
    ended: set[int] = set()
    try:
        while True:
            now = clock() - started
            news: list[str] = []
            while pending and pending[0].arrival_s * time_scale <= now:
                job = pending.pop(0)
                answer = client.submit(job.spec)
                run.job_ids[job.index] = int(answer["id"])
                news.append(f"{now:7.1f} s  submitted trace job {job.index} ({job.workload}) "
                            f"as job {answer['id']}")
            live = {int(j["id"]): j["state"] for j in client.jobs(LIVE_STATES)}
            running = 0
            for index, job_id in run.job_ids.items():
                if job_id in live:
                    running += live[job_id] == "RUNNING"
                elif index not in ended:
                    ended.add(index)
                    state = client.job(job_id)["state"]
                    news.append(f"{now:7.1f} s  trace job {index} (job {job_id}) {state}")
            if on_progress is not None:
                on_progress(ReplayProgress(now, len(jobs), len(run.job_ids), running,
                                           len(ended), tuple(news)))
            if not pending and len(ended) == len(jobs):
                return run
            wait = poll_s
            if pending:
                wait = min(wait, max(0.0, pending[0].arrival_s * time_scale - (clock() - started)))
            sleep(wait)
    except KeyboardInterrupt:
        raise ReplayInterrupted(run, len(jobs)) from None
    except ShockwaveError as exc:
        raise ReplayBroken(exc, run, len(jobs)) from None
