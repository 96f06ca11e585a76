"""The round loop: one ``tick()`` reconciles everything, and it is the only place that decides
(adaptdl's ``_sync_job``). The API only records intent (a submission, a cancel request, a
heartbeat); the loop acts on it.

Each tick, in order: collect the exits the backend reports; follow the backend's inventory
(slots of a server that left are taken out of the planner's cluster, and a new round is planned
at once); expire silent leases; act on cancel requests; send SIGTERM and kills whose time has
come; tell the planner which jobs it schedules (``job_added`` / ``job_removed``: jobs queued or
running, not in back-off, not being cancelled); at a round boundary report the last round's
time to the planner (``job_ran``), call ``RoundPlanner.next_round`` on a view built from
measured progress, and diff its placement against the running attempts: the same slots keep
their attempt (the lease simply continues), revoked attempts get ``checkpoint_and_stop`` with a
soft deadline, then SIGTERM, then a kill after the grace period; finally start the planned jobs
whose slots are free. Every change is written to the store before it is acted on.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from shockwave.config import make_sim_config
from shockwave.model import Cluster, JobId
from shockwave.planner import RoundPlanner
from shockwave.policies.params import build_policy
from shockwave.protocol import (
    ENV_ADAPTATION,
    ENV_ATTEMPT_ID,
    ENV_BATCH_SIZE,
    ENV_CHECKPOINT_DIR,
    ENV_CHECKPOINT_INTERVAL_S,
    ENV_GRACE_S,
    ENV_HEARTBEAT_S,
    ENV_JOB_ID,
    ENV_LEASE_S,
    ENV_MAX_BATCH_SIZE,
    ENV_MIN_BATCH_SIZE,
    ENV_REPORT_FILE,
    ENV_SEED,
    ENV_SERVER,
    ENV_TOKEN,
    ENV_TOTAL_EPOCHS,
    ExitReport,
)
from shockwave.service import logs
from shockwave.service.backends.base import AttemptExit, AttemptSpec, Backend, SlotsUnavailable
from shockwave.service.clock import Clock
from shockwave.service.config import Settings
from shockwave.service.jobspec import JobSubmit
from shockwave.service.leases import CANCELLED, REVOKED, expire_leases, new_token
from shockwave.service.outcomes import finish_attempt
from shockwave.service.states import (
    CURRENT_ATTEMPT_STATES,
    LIVE_ATTEMPT_STATES,
    AttemptState,
    JobState,
    Outcome,
)
from shockwave.service.store import AttemptRow, JobRow, RoundRow, Store
from shockwave.service.views import SpeedModel, available_cluster, cluster_view, make_cluster

log = logging.getLogger("shockwave.service")

SCHEDULED_STATES = (JobState.QUEUED, JobState.RUNNING)


def make_planner(settings: Settings) -> RoundPlanner:
    """The simulator's planner with the policy ``settings`` names (checked: ``InputError``)."""
    policy = build_policy(settings.policy, dict(settings.params),
                          config_path=settings.policy_config)
    return RoundPlanner(policy, make_cluster(settings), make_sim_config(round_s=settings.round_s))


class RoundObserver(Protocol):
    """Told of every round the loop plans (the service's metrics, ``telemetry.py``): the loop
    stays free of any metrics library."""

    def round_planned(self, row: RoundRow, previous: RoundRow | None) -> None:
        """``row`` was just recorded, its ``bookkeeping_s`` filled in; ``previous`` is the round
        it follows (``None`` for the first round this store has seen)."""


@dataclass
class TickStats:
    """What the last tick did (tests and logs)."""

    exits: list[int] = field(default_factory=list)
    expired: list[int] = field(default_factory=list)
    started: list[int] = field(default_factory=list)
    round_index: int | None = None


class RoundLoop:
    """Owns the planner and every decision. ``tick()`` is called from one thread only."""

    def __init__(self, settings: Settings, store: Store, backend: Backend, clock: Clock,
                 planner: RoundPlanner, observer: RoundObserver | None = None) -> None:
        self.settings, self.store, self.backend, self.clock = settings, store, backend, clock
        self.planner = planner
        self.observer = observer
        self.cluster: Cluster | None = make_cluster(settings)
        self.unavailable: frozenset[int] = frozenset()
        """Slots whose server left the cluster (the backend's inventory)."""
        self._replan = False
        self.speeds = SpeedModel.from_settings(settings)
        self.known: set[JobId] = set()
        self._batch_sizes: dict[JobId, int] = {}
        self.round: RoundRow | None = store.latest_round()
        self.last = TickStats()

    # -- the tick --------------------------------------------------------------------------------
    def tick(self) -> TickStats:
        now = self.clock.now()
        stats = TickStats()
        stats.exits = self._collect_exits(now)
        self._track_inventory(now)
        stats.expired = expire_leases(self.store, self.settings, now)
        self._act_on_cancels(now)
        self._drive_deadlines(now)
        self._sync_planner(now)
        if self._round_due(now):
            stats.round_index = self._new_round(now)
        stats.started = self._launch(now)
        persist = getattr(self.clock, "persist", None)
        if persist is not None:
            persist()
        self.last = stats
        return stats

    def run(self, stop: threading.Event) -> None:
        """Tick every ``tick_s`` until ``stop`` is set; a failing tick is logged, not fatal."""
        while not stop.is_set():
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - the loop must outlive one bad tick
                log.exception("round loop tick failed")
            stop.wait(self.settings.tick_s)

    # -- exits, leases, cancels, deadlines ------------------------------------------------------
    def _collect_exits(self, now: float) -> list[int]:
        ended = []
        for attempt_id, handle in self.store.handles(list(CURRENT_ATTEMPT_STATES)):
            result = self.backend.poll(handle)
            attempt = self.store.attempt(attempt_id) if result is not None else None
            if attempt is not None and result is not None and finish_attempt(
                    self.store, self.settings, attempt, _with_posted_report(attempt, result), now):
                ended.append(attempt.id)
        return ended

    def _act_on_cancels(self, now: float) -> None:
        for job in self.store.jobs(SCHEDULED_STATES, cancel_requested=True):
            live = self._live_attempt(job.id)
            if live is None:
                self.store.transition_job(job.id, job.state, JobState.CANCELLED, now_s=now,
                                          note="cancelled before it ran again", finished_s=now,
                                          reason="cancelled")
            elif live.state == AttemptState.RUNNING:
                self.store.transition_attempt(
                    live.id, AttemptState.RUNNING, AttemptState.DRAINING, now_s=now,
                    note="job cancelled", stop_reason=CANCELLED, stop_by_s=now, sigterm_at_s=now,
                    kill_at_s=now + self.settings.grace_s)

    def _drive_deadlines(self, now: float) -> None:
        for attempt in self.store.attempts(states=[AttemptState.DRAINING]):
            if attempt.handle is None:
                continue
            if not attempt.sigterm_sent and now >= (attempt.sigterm_at_s or now):
                self.store.update_attempt(attempt.id, sigterm_sent=True)
                self.store.add_event(now, "attempt", job_id=attempt.job_id,
                                     attempt_id=attempt.id, reason="SIGTERM sent")
                self.backend.stop(attempt.handle, self.settings.grace_s)
            if not attempt.kill_sent and attempt.kill_at_s is not None \
                    and now >= attempt.kill_at_s:
                self.store.update_attempt(attempt.id, kill_sent=True)
                self.store.add_event(now, "attempt", job_id=attempt.job_id,
                                     attempt_id=attempt.id, reason="killed at the grace deadline")
                self.backend.kill(attempt.handle)

    def _track_inventory(self, now: float) -> None:
        """When servers leave, the planner places on what is left, from a new round at once
        (attempts there are lost with their server: the backend reports them as such)."""
        unavailable = frozenset(self.backend.unavailable_slots())
        if unavailable == self.unavailable:
            return
        self.unavailable = unavailable
        self.cluster = available_cluster(self.settings, unavailable)
        if self.cluster is not None:
            self.planner.cluster_changed(self.cluster)
        self._replan = True
        self.store.add_event(now, "service", reason="slots unavailable" if unavailable
                             else "every slot available",
                             data={"unavailable": sorted(unavailable)})
        log.warning("slots unavailable now: %s", sorted(unavailable) or "none")

    # -- the planner's job set -----------------------------------------------------------------
    def _sync_planner(self, now: float) -> None:
        """Report arrivals, departures and approved batch-size changes to the planner at once
        (a change is a re-plan event, as in the simulator's default mode)."""
        wanted = set(self.store.scheduled_job_ids(now))
        for job_id in sorted(self.known - wanted):
            self.planner.job_removed(job_id)
            self._batch_sizes.pop(job_id, None)
        for job_id in sorted(wanted - self.known):
            self.planner.job_added(job_id)
        self.known = wanted
        for job_id, batch in sorted(self.store.scheduled_batch_sizes(SCHEDULED_STATES).items()):
            if job_id in wanted and self._batch_sizes.setdefault(job_id, batch) != batch:
                self._batch_sizes[job_id] = batch
                self.planner.batch_size_changed(job_id)

    # -- rounds ----------------------------------------------------------------------------------
    def _round_due(self, now: float) -> bool:
        if not self.known or self.cluster is None:
            return False
        if self.round is None or now >= self.round.end_s or self._replan:
            return True
        # Everything idle and nothing of this round left to start: do not wait for its end.
        if self.store.held_slots(LIVE_ATTEMPT_STATES):
            return False
        return not self._launchable(self.round) and now - self.round.start_s >= self.settings.tick_s

    def _new_round(self, now: float) -> int:
        started = time.perf_counter()
        self._replan = False
        index = self.round.idx + 1 if self.round is not None else 0
        # The new round starts on the grid of rounds (the tick that noticed the boundary came
        # up to a tick late); the planner sees that instant, as the simulator's round start.
        start = self._round_start(now)
        if self.round is not None:
            self._account(self.round, now, start)
        jobs = {job.id: job for job in self.store.jobs(SCHEDULED_STATES) if job.id in self.known}
        view = cluster_view(list(jobs.values()), self.settings, now_s=start, round_index=index,
                            cluster=self.cluster, speeds=self.speeds,  # type: ignore[arg-type]
                            measured=self.store.speeds(sorted(jobs)))
        decided = time.perf_counter()
        plan = self.planner.next_round(view)
        decision_s = time.perf_counter() - decided
        placements = {j: tuple(g) for j, g in plan.placements.items()}
        kept, revoked = [], []
        with self.store.atomic():
            for attempt in self.store.attempts(states=[AttemptState.RUNNING]):
                if placements.get(attempt.job_id) == attempt.slots:
                    kept.append(attempt.job_id)
                elif self._still_starting(attempt, now):
                    # Not revoked yet: stopping it now would throw its start-up away for
                    # nothing. The slots stay busy; the jobs planned on them start after it.
                    kept.append(attempt.job_id)
                    self.store.add_event(now, "attempt", job_id=attempt.job_id,
                                         attempt_id=attempt.id,
                                         reason="revocation deferred: still starting")
                else:
                    self._revoke(attempt, now)
                    revoked.append(attempt.job_id)
            added = sorted(set(placements) - set(kept))
            row = RoundRow(idx=index, start_s=start, end_s=start + self.settings.round_s,
                           placements=placements, kept=sorted(kept), revoked=sorted(revoked),
                           added=added, decision_s=decision_s, bookkeeping_s=0.0)
            self.store.add_round(row)
        previous, self.round = self.round, row
        bookkeeping = time.perf_counter() - started - decision_s
        self.store.set_round_bookkeeping(index, bookkeeping)
        if self.observer is not None:
            self.observer.round_planned(replace(row, bookkeeping_s=bookkeeping), previous)
        return index

    def _round_start(self, now: float) -> float:
        """Where the new round starts: on the grid of rounds when it follows the last one
        within a tick or two (the tick that noticed the boundary came up to ``tick_s`` late;
        without this the rounds would drift by half a tick each), else now."""
        previous = self.round
        if previous is not None and previous.end_s <= now < previous.end_s + 2 * self.settings.tick_s:
            return previous.end_s
        return now

    def _account(self, previous: RoundRow, now: float, boundary: float) -> None:
        """Tell the planner how much of the round that just ended each planned job had, and
        keep the counters the view shows (rounds received, attained time, throughput timeline).

        The planner is credited as the simulator credits it: a job planned in the round owns
        its slots from the round's start (its start-up is its own restart cost) until the
        round's end, ``boundary`` (the next round's start), or until its attempt ended inside
        the round (finished, failed). Jobs placed alike are thus credited alike, and Gavel's
        deficits do not order them by the milliseconds their processes took to launch or the
        round loop's tick took to notice the boundary. The view's attained time is the time
        the job's attempts actually held slots, until ``now``."""
        held: dict[JobId, float] = {}
        last_end: dict[JobId, float] = {}
        for attempt in self.store.attempts_since(previous.start_s):
            start = max(attempt.started_s or now, previous.start_s)
            end = min(attempt.ended_s if attempt.ended_s is not None else now, now)
            if end > start:
                held[attempt.job_id] = held.get(attempt.job_id, 0.0) + end - start
                last_end[attempt.job_id] = max(last_end.get(attempt.job_id, 0.0),
                                               min(end, boundary))
        credited = {job_id: last_end[job_id] - previous.start_s
                    for job_id in previous.placements if job_id in last_end}
        measured = self.store.speeds(sorted(held))
        with self.store.atomic():
            for job_id, seconds in sorted(held.items()):
                job = self.store.job(job_id)
                if job is None:
                    continue
                batch = max(1, job.batch_size)
                speed, _ = self.speeds.speed(job, measured.get(job_id, ()), batch)
                timeline = [*job.timeline, [previous.idx, speed / batch, batch]]
                self.store.update_job(job_id, rounds_received=job.rounds_received + 1,
                                      attained_s=job.attained_s + seconds,
                                      last_round_ran=previous.idx, timeline=timeline)
        for job_id, seconds in sorted(credited.items()):
            self.planner.job_ran(job_id, seconds)

    def _still_starting(self, attempt: AttemptRow, now: float) -> bool:
        """Whether ``attempt`` has not trained a step yet and is still within its start-up
        lease (with ``min_train_s`` 0, nothing is)."""
        return (self.settings.min_train_floor_s > 0 and attempt.training_since_s is None
                and attempt.started_s is not None
                and now < attempt.started_s + self.settings.startup_s)

    def _revoke(self, attempt: AttemptRow, now: float) -> None:
        """Its slots belong to another job from this round on: it is told to checkpoint and
        stop at its next step, gets SIGTERM after the grace period, and is killed after another.
        The soft deadline is now (a later one lets it train into the next round while the job
        it made room for waits), unless it began training less than its floor ago: it trains
        ``min_train_s``, and at least as long as its start-up took, so that a restart never
        costs more than the training it buys."""
        grace = self.settings.grace_s
        stop_by = revocation_deadline(attempt, now, self.settings.min_train_floor_s)
        self.store.transition_attempt(
            attempt.id, AttemptState.RUNNING, AttemptState.DRAINING, now_s=now,
            note="revoked: not in this round's plan", stop_reason=REVOKED, stop_by_s=stop_by,
            sigterm_at_s=stop_by + grace, kill_at_s=stop_by + 2 * grace)

    # -- launching -------------------------------------------------------------------------------
    def _launchable(self, plan: RoundRow) -> list[JobId]:
        """Planned jobs that may start now: scheduled, no live attempt, none started in this
        round yet, and every slot of their gang free. A slot is free once its attempt has
        posted its exit report: the job has checkpointed and said its last word, and the next
        job's start-up (Python, torch, its data: seconds) overlaps the old process's exit
        (interpreter and torch teardown, up to a second) instead of following it."""
        live = self.store.held_slots(LIVE_ATTEMPT_STATES)
        busy = {slot for _, slots in self.store.held_slots(LIVE_ATTEMPT_STATES, unreported=True)
                for slot in slots}
        running_jobs = {job_id for job_id, _ in live}
        tried = self.store.jobs_with_attempts_in_round(plan.idx)
        ready = []
        for job_id, slots in sorted(plan.placements.items()):
            if job_id not in self.known or job_id in running_jobs or job_id in tried \
                    or self.unavailable.intersection(slots):
                continue
            if busy.isdisjoint(slots):
                ready.append(job_id)
                busy.update(slots)
        return ready

    def _launch(self, now: float) -> list[int]:
        if self.round is None:
            return []
        started = []
        for job_id in self._launchable(self.round):
            job = self.store.job(job_id)
            if job is not None and job.state == JobState.QUEUED:
                attempt_id = self._start(job, self.round.placements[job_id], now)
                if attempt_id is not None:
                    started.append(attempt_id)
        return started

    def _start(self, job: JobRow, slots: Sequence[int], now: float) -> int | None:
        token, token_hash = new_token()
        with self.store.atomic():
            attempt = self.store.add_attempt(
                job.id, slots, token_hash, batch_size=job.batch_size, round_index=self.round.idx,
                now_s=now, start_samples=job.checkpoint_samples)  # type: ignore[union-attr]
            if not self.store.transition_job(job.id, JobState.QUEUED, JobState.RUNNING, now_s=now,
                                             note=f"attempt {attempt.id} on slots {list(slots)}",
                                             started_s=job.started_s if job.started_s is not None
                                             else now):
                self.store.transition_attempt(attempt.id, AttemptState.PENDING,
                                              AttemptState.EXITED, now_s=now, note="job moved on",
                                              outcome=Outcome.lost, ended_s=now)
                return None
            self.store.transition_attempt(attempt.id, AttemptState.PENDING, AttemptState.LAUNCHING,
                                          now_s=now, note="starting", started_s=now,
                                          lease_expires_s=now + self.settings.startup_s)
        spec = self._attempt_spec(job, attempt, token)
        try:
            handle = self.backend.start(spec)
        except SlotsUnavailable as exc:  # not the job's fault: requeued, not counted
            fresh = self.store.attempt(attempt.id)
            finish_attempt(self.store, self.settings, fresh or attempt, AttemptExit(None), now,
                           outcome=Outcome.lost, why=f"could not start: {exc}")
            return None
        except (OSError, ValueError, subprocess.SubprocessError) as exc:
            fresh = self.store.attempt(attempt.id)
            finish_attempt(self.store, self.settings, fresh or attempt, AttemptExit(None), now,
                           outcome=Outcome.failed, why=f"could not start: {exc}")
            return None
        self.store.transition_attempt(attempt.id, AttemptState.LAUNCHING, AttemptState.RUNNING,
                                      now_s=now, note="started", handle=handle)
        return attempt.id

    def _attempt_spec(self, job: JobRow, attempt: AttemptRow, token: str) -> AttemptSpec:
        return attempt_spec(self.settings, job.id, job.spec, job.batch_size, attempt.id,
                            attempt.slots, token)

    def _live_attempt(self, job_id: JobId) -> AttemptRow | None:
        live = self.store.attempts(job_id=job_id, states=list(LIVE_ATTEMPT_STATES))
        return live[-1] if live else None


def attempt_spec(settings: Settings, job_id: JobId, spec: JobSubmit, batch_size: int,
                 attempt_id: int, slots: Sequence[int], token: str) -> AttemptSpec:
    """How attempt ``attempt_id`` of job ``job_id`` starts: its command and the protocol's
    environment (docs/job-library.md), its checkpoint directory made."""
    argv = [sys.executable, "-m", spec.module] if spec.module else list(spec.command or [])
    checkpoints = logs.checkpoint_dir(settings, job_id)
    checkpoints.mkdir(parents=True, exist_ok=True)
    report = logs.report_file(settings, attempt_id)
    env = {
        **spec.env,
        ENV_SERVER: settings.job_server_url, ENV_JOB_ID: str(job_id),
        ENV_ATTEMPT_ID: str(attempt_id), ENV_TOKEN: token,
        ENV_CHECKPOINT_DIR: str(checkpoints), ENV_REPORT_FILE: str(report),
        ENV_BATCH_SIZE: str(batch_size), ENV_LEASE_S: f"{settings.startup_s:g}",
        ENV_HEARTBEAT_S: f"{settings.heartbeat_s:g}", ENV_GRACE_S: f"{settings.grace_s:g}",
        ENV_CHECKPOINT_INTERVAL_S: f"{spec.checkpoint_interval_s:g}",
        ENV_TOTAL_EPOCHS: str(spec.epochs), ENV_SEED: str(spec.seed),
        ENV_ADAPTATION: spec.adaptation, ENV_MIN_BATCH_SIZE: str(spec.low_batch_size),
        ENV_MAX_BATCH_SIZE: str(spec.high_batch_size),
    }
    return AttemptSpec(attempt_id=attempt_id, job_id=job_id, argv=(*argv, *spec.args),
                       working_dir=spec.working_dir, env=env, slots=tuple(slots),
                       attempt_dir=logs.attempt_dir(settings, attempt_id), report_file=report)


def revocation_deadline(attempt: AttemptRow, now: float, min_train_s: float) -> float:
    """When a revoked ``attempt`` must have stopped: now, or, if it began training recently,
    once it has trained ``min_train_s`` and as long as its start-up took (0: now)."""
    if min_train_s <= 0 or attempt.training_since_s is None:
        return now
    started = attempt.training_since_s if attempt.started_s is None else attempt.started_s
    startup = max(0.0, attempt.training_since_s - started)
    return max(now, attempt.training_since_s + max(min_train_s, startup))


def _with_posted_report(attempt: AttemptRow, ended: AttemptExit) -> AttemptExit:
    """The backend's exit, completed by the report the job posted when no report file was
    found (and its exit code, when nobody could wait for the process)."""
    if ended.report is not None or attempt.report is None:
        return ended
    report = ExitReport.model_validate(attempt.report)
    code = ended.exit_code if ended.exit_code is not None else report.exit_code
    return AttemptExit(code, ended.signal, report)
