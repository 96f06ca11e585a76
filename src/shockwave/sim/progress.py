"""Advancing jobs through one round: launching tasks, progress from the throughput model,
restart penalties, batch-size changes and completions (docs/simulator.md; the
published ``Scheduler.simulate`` and ``Scheduler._done_callback``)."""

from __future__ import annotations

from typing import Any

from shockwave.config import SimConfig
from shockwave.model import Cluster, JobId, RoundPlan
from shockwave.planner import RoundPlanner
from shockwave.policies.base import JobView
from shockwave.sim import batch_size
from shockwave.sim.result import JobRecord, SimResult
from shockwave.sim.state import JobState, Task
from shockwave.workload.adaptation import WorkloadFacts
from shockwave.workload.throughput import ThroughputTable

RESTART_WINDOW_S = 5.0
"""The reference charges the restart penalty only to tasks longer than ``round_s - 5``."""

MAX_FAILED_TASKS = 5
"""The reference drops a job after this many consecutive failed tasks (no steps, no time)."""


class RoundRunner:
    """Owns the active jobs and turns each round's plan into progress."""

    def __init__(self, cluster: Cluster, config: SimConfig, throughputs: ThroughputTable,
                 facts: WorkloadFacts, planner: RoundPlanner) -> None:
        self.cluster, self.config, self.throughputs, self.facts = cluster, config, throughputs, facts
        self.planner = planner
        self.active: dict[JobId, JobState] = {}
        self.records: dict[JobId, JobRecord] = {}
        self.gpu_busy_s = [0.0] * cluster.num_gpus
        self.batch_size_changes = 0
        self.forced_completions = 0
        self.failed_tasks = 0
        self._views: dict[JobId, JobView] = {}
        # Every GPU's type, looked up once (a launch asks it of every task's first GPU).
        self._type_of = {gpu: cluster.type_of(gpu) for server in cluster.servers for gpu in server}
        self._launched: set[JobId] = set()
        self._ran_last: set[JobId] = set()

    def active_count(self) -> int:
        return len(self.active)

    def completed_count(self) -> int:
        return len(self.records)

    def stalled_jobs(self) -> list[tuple[JobId, int]]:
        """The active jobs, least progressed first, with the rounds each received."""
        by_progress = sorted(self.active.values(),
                             key=lambda j: (j.steps_done / max(j.total_steps, 1.0), j.job_id))
        return [(job.job_id, job.rounds_received) for job in by_progress]

    def admit(self, job: JobState) -> None:
        self.active[job.job_id] = job
        self.planner.job_added(job.job_id)

    def views(self, round_index: int) -> dict[JobId, JobView]:
        """Every active job's view at ``round_index``, by job id.

        Views are kept between rounds, because most jobs do not run in a given round and
        building hundreds of views a round was a fifth of a baseline's run. A kept view is
        rebuilt when it can be stale: its job was launched since it was built (a round's tasks
        are the only jobs whose ``JobState`` changes), or it says the job ran the round before
        it was built (its job ran then and has not run since, so at any later round the flag
        is false). Only those jobs are looked at, not every active job.
        """
        kept, active = self._views, self.active
        for job_id in self._launched | self._ran_last:
            kept.pop(job_id, None)
        self._launched.clear()
        self._ran_last = set()
        for job_id in active.keys() - kept.keys():
            view = kept[job_id] = active[job_id].view(round_index)
            if view.ran_last_round:
                self._ran_last.add(job_id)
        return {job_id: kept[job_id] for job_id in sorted(active)}

    # Launch ------------------------------------------------------------------------------
    def launch(self, plan: RoundPlan, now_s: float, round_index: int) -> list[Task]:
        tasks = []
        self._launched.update(plan.placements)
        reference, round_s = self.config.reference, self.config.round_s
        restart_s = min(self.config.preemption_penalty_s, round_s)
        type_of = self._type_of.__getitem__
        for job_id, gpus in plan.placements.items():
            job = self.active[job_id]
            # A gang is on one type: its rate this round is its rate there.
            job.gpu_type = type_of(gpus[0])
            job.throughput = job.rates.get(job.gpu_type, job.throughput)
            if reference:
                steps = min(float(int(job.throughput * round_s)), job.remaining_steps)
                finish = now_s + steps / job.throughput
                tasks.append(Task(finish, job_id, tuple(gpus), steps, now_s))
                continue
            overhead = 0.0 if job.last_round == round_index - 1 else restart_s
            segments = batch_size.plan_segments(
                job, round_s - overhead, self.throughputs, job.gpu_type
            )
            work_s = sum([s.duration_s for s in segments])
            steps = sum([s.steps for s in segments])
            tasks.append(Task(now_s + overhead + work_s, job_id, tuple(gpus), steps, now_s,
                              overhead, tuple(segments)))
        return tasks

    # Completion --------------------------------------------------------------------------
    def complete_round(self, tasks: list[Task], round_start_s: float, round_index: int) -> None:
        reference = self.config.reference
        busy_s, job_ran = self.gpu_busy_s, self.planner.job_ran
        for task in sorted(tasks, key=lambda t: (t.finish_s, t.job_id)):
            job = self.active[task.job_id]
            exec_s, steps = self._useful_time(job, task, round_start_s, round_index)
            # Only the reference has tasks that fail; in the default mode a task without work
            # spent the whole round restarting (a restart cost at least a round long).
            if reference and steps <= 0 and exec_s <= 0:
                self._fail_task(job, task, exec_s, round_index)
                continue
            job.failed_tasks = 0
            if reference:
                job.steps_done += steps
            else:
                changes = batch_size.apply_segments(job, task.segments, task.start_s + task.overhead_s)
                self.batch_size_changes += changes
                if changes:
                    batch_size.refresh_rates(job, self.throughputs)
                    self.planner.batch_size_changed(job.job_id)
            job.attained_s += exec_s
            job.rounds_received += 1
            job.last_round = round_index
            if exec_s > 0:
                measured = steps / exec_s if reference else job.throughput
                job.timeline.append((round_index, measured, job.batch_size))
            for gpu in task.gpus:
                busy_s[gpu] += exec_s
            job_ran(job.job_id, exec_s + task.overhead_s, job.gpu_type)
            done = self._is_done(job)
            if job.pending_batch_size is not None:  # only the reference sets one
                self._apply_pending_batch_size(job, task.finish_s)
            if done:
                self._complete(job, task.finish_s)

    def _fail_task(self, job: JobState, task: Task, exec_s: float, round_index: int) -> None:
        """A task that did nothing: in the reference this happens when a batch-size change rounded
        progress past the end, leaving negative steps. The job is retried, then dropped."""
        job.failed_tasks += 1
        job.attained_s += exec_s
        job.last_round = round_index
        self.failed_tasks += 1
        self.planner.needs_allocation = True
        if job.failed_tasks >= MAX_FAILED_TASKS:
            # Its last timestamp is the later of the task's start and its (earlier) finish.
            self._complete(job, max(task.finish_s, task.start_s))

    def _useful_time(self, job: JobState, task: Task, round_start_s: float,
                     round_index: int) -> tuple[float, float]:
        """Seconds of useful work and steps done, after the reference's restart penalty."""
        if not self.config.reference:
            return task.finish_s - task.start_s - task.overhead_s, task.steps
        exec_s = task.finish_s - round_start_s
        steps = task.steps
        penalty = self.config.preemption_penalty_s
        restarted = round_index != 0 and job.last_round != round_index - 1
        if restarted and exec_s > self.config.round_s - RESTART_WINDOW_S:
            steps = int(steps * (exec_s - penalty) / exec_s)
            exec_s -= penalty
        return exec_s, steps

    def _is_done(self, job: JobState) -> bool:
        """Finished its steps, or ran past ``max_run_time_factor`` times its run time (on its
        slowest type: a job placed on slow GPUs is not cut short for being slow)."""
        if self.config.reference and job.remaining_steps <= 0:
            return True
        if not self.config.reference and job.epochs_done >= job.total_epochs - 1e-9:
            return True
        limit = int(self.config.max_run_time_factor * job.longest_run_time_s)
        if job.attained_s > limit:
            self.forced_completions += 1
            return True
        return False

    def _complete(self, job: JobState, finish_s: float) -> None:
        spec = job.spec
        self.records[job.job_id] = JobRecord(
            job_id=job.job_id, model=spec.model, batch_size=spec.batch_size, gpus=spec.gpus,
            mode=spec.mode, arrival_s=spec.arrival_s, completion_s=finish_s,
            run_time_s=job.profile.run_time_s, attained_s=job.attained_s,
            batch_size_timeline=tuple(job.batch_size_timeline),
        )
        del self.active[job.job_id]
        self._views.pop(job.job_id, None)
        self.planner.job_removed(job.job_id)

    # Batch sizes -------------------------------------------------------------------------
    def check_batch_sizes(self, now_s: float) -> None:
        """At a round boundary: the reference decides each job's next batch size (the published
        ``Scheduler._simulate_accordion`` / ``_simulate_gns``);
        the default mode switches inside tasks (``batch_size.plan_segments``) instead."""
        if not self.config.reference:
            return
        for job in self.active.values():
            target = batch_size.reference_target(job, self.facts)
            if target is not None:
                job.pending_batch_size = target

    def _apply_pending_batch_size(self, job: JobState, now_s: float) -> None:
        """The reference applies a pending change after the job's next round has run."""
        target, job.pending_batch_size = job.pending_batch_size, None
        if target is None or self.facts.is_max_batch_size(job.spec.model, job.spec.batch_size):
            return
        if batch_size.apply_reference_change(job, target, self.throughputs, job.gpu_type, now_s):
            self.batch_size_changes += 1
            self.planner.batch_size_changed(job.job_id)

    # Result ------------------------------------------------------------------------------
    def result(self, policy: str, plans: list[RoundPlan], starts: list[float], ends: list[float],
               num_trace_jobs: int, inputs: dict[str, Any], never_admitted: int = 0) -> SimResult:
        records = tuple(self.records[j] for j in sorted(self.records))
        return SimResult(
            policy=policy, num_gpus=self.cluster.num_gpus, records=records,
            gpu_types=tuple(t for t, count, _ in self.cluster.groups for _ in range(count)),
            schedule=tuple(dict(p.placements) for p in plans), round_start_s=tuple(starts),
            round_end_s=tuple(ends), gpu_busy_s=tuple(self.gpu_busy_s),
            makespan_s=max((r.completion_s for r in records), default=0.0),
            num_trace_jobs=num_trace_jobs, inputs=inputs,
            stats={
                "allocations_computed": self.planner.allocations_computed,
                "batch_size_changes": self.batch_size_changes,
                "forced_completions": self.forced_completions,
                "failed_tasks": self.failed_tasks,
                "unfinished_jobs": len(self.active),
                "never_admitted": never_admitted,
            },
        )
