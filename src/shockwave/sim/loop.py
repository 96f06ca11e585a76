"""``simulate()``: the round loop (docs/simulator.md, "The round"; the published
``Scheduler.simulate``) driving the scheduling core with a virtual clock."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from shockwave.config import SimConfig
from shockwave.errors import InputError, ShockwaveError
from shockwave.model import Cluster, JobSpec, RoundPlan
from shockwave.planner import RoundPlanner
from shockwave.policies import make_policy
from shockwave.policies.base import ClusterView, Policy
from shockwave.sim.progress import RoundRunner
from shockwave.sim.result import SimResult
from shockwave.sim.state import JobState, Task
from shockwave.traces.trace import Trace, from_jobs
from shockwave.workload.adaptation import WorkloadFacts, build_profiles, load_workload_facts
from shockwave.workload.throughput import ThroughputTable, load_throughputs


@dataclass(frozen=True)
class RoundProgress:
    """What a progress display needs after each round."""

    round_index: int
    now_s: float
    jobs_done: int
    jobs_total: int


def simulate(
    trace: Trace | Sequence[JobSpec],
    cluster: Cluster,
    policy: Policy | str,
    config: SimConfig | None = None,
    *,
    throughputs: ThroughputTable | None = None,
    on_round: Callable[[RoundProgress], None] | None = None,
    inputs: dict[str, Any] | None = None,
    facts: WorkloadFacts | None = None,
) -> SimResult:
    """Replay ``trace`` on ``cluster`` under ``policy`` and return every job's record.

    Args:
        trace: the jobs, in arrival order (a ``Trace`` or a sequence of ``JobSpec``).
        cluster: GPUs and their grouping into servers.
        policy: a policy instance or a registry name (built with default parameters).
        config: simulator rules; defaults to the fixed mode with 120 s rounds.
        throughputs: the throughput table; defaults to the bundled ``tacc_throughputs.json``.
        on_round: called after every round (progress displays).
        inputs: free-form description of the inputs, stored in the result.
        facts: dataset sizes, batch-size bounds and learned schedules of the models; defaults
            to the bundled ``workload.json`` (``shockwave.workload.facts.load_facts`` merges a
            file over it). The reference mode ignores learned schedules.
    """
    config = config or SimConfig()
    throughputs = throughputs or load_throughputs()
    facts = facts or load_workload_facts()
    if config.reference:
        facts = facts.without_schedules()
    if not isinstance(trace, Trace):
        trace = from_jobs(list(trace))
    check_trace_on(trace, cluster, throughputs, facts, config)
    policy = make_policy(policy) if isinstance(policy, str) else policy
    return _Simulation(trace, cluster, policy, config, throughputs, facts, on_round,
                       inputs or {}).run()


def check_trace_on(trace: Trace, cluster: Cluster, throughputs: ThroughputTable,
                   facts: WorkloadFacts, config: SimConfig) -> None:
    """Refuse, before the run, a trace the cluster cannot run: on one type, the first job its
    type cannot run (its profile included) or its GPUs cannot hold; on several, the first job
    no type can run."""
    if not cluster.is_heterogeneous:
        trace.check_runnable(throughputs, cluster.gpu_type, facts)
        trace.check_fits(cluster.num_gpus)
        trace.check_profiles(throughputs, cluster.gpu_type, facts)
        return
    if config.reference:
        raise InputError("the reference mode replays the published simulator, which knows one "
                         "GPU type; simulate a cluster of several types in the default mode",
                         field="compat")
    trace.check_runnable_on(cluster, throughputs, facts)


def admitted_job(spec: JobSpec, cluster: Cluster, throughputs: ThroughputTable,
                 facts: WorkloadFacts, now_s: float) -> JobState:
    """A newly admitted job: its profile on its fastest type (T_j), its rate on every type of
    the cluster, and as its first type the first of the cluster it can run on."""
    types = [t for t in cluster.gpu_types if cluster.count(t) >= spec.gpus]
    profiles = build_profiles(spec, throughputs, facts, types)
    runnable = tuple(profiles)
    run_times = {t: profile.run_time_s for t, profile in profiles.items()}  # each a sum
    fastest = min(runnable, key=run_times.__getitem__)
    rates = {t: throughputs.lookup(spec.model, spec.batch_size, spec.gpus, t)
             if t in profiles else 0.0 for t in cluster.gpu_types}
    job = JobState(spec=spec, profile=profiles[fastest], batch_size=spec.batch_size,
                   throughput=rates[runnable[0]], total_steps=float(spec.total_steps),
                   admitted_s=now_s, gpu_type=runnable[0], rates=rates, runnable_types=runnable,
                   longest_run_time_s=max(run_times.values()))
    job.total_epochs = spec.total_steps / job.iterations_per_epoch
    job.batch_size_timeline.append((spec.arrival_s, spec.batch_size))
    return job


class _Simulation:
    """One run's mutable world; ``run`` is the loop, the helpers are its named steps."""

    def __init__(self, trace: Trace, cluster: Cluster, policy: Policy, config: SimConfig,
                 throughputs: ThroughputTable, facts: WorkloadFacts,
                 on_round: Callable[[RoundProgress], None] | None,
                 inputs: dict[str, Any]) -> None:
        self.trace, self.cluster, self.policy, self.config = trace, cluster, policy, config
        self.throughputs = throughputs
        self.on_round = on_round
        self.inputs = inputs
        self.facts = facts
        self.planner = RoundPlanner(policy, cluster, config)
        self.runner = RoundRunner(cluster, config, throughputs, self.facts, self.planner)
        self.queue: deque[JobSpec] = deque(trace.jobs)
        self.now_s = 0.0
        self.round_index = 0
        self.plans: list[RoundPlan] = []
        self.round_start_s: list[float] = []
        self.round_end_s: list[float] = []

    def run(self) -> SimResult:
        running: list[Task] = []
        round_start = 0.0
        while self.round_index < self.config.max_rounds:
            if running:
                self.now_s = max(task.finish_s for task in running)
                self.round_end_s.append(self.now_s)
                self.runner.complete_round(running, round_start, self.round_index - 1)
                round_start = self.now_s
                running = []
            elif self.queue and self.runner.active_count() == 0:
                self.now_s = max(self.now_s, self.queue[0].arrival_s)
            elif self.queue:
                self.now_s = self._next_idle_time()
            elif self.runner.active_count():
                self.now_s += self.config.round_s  # nothing could run: let the clock move on
            if not self.config.reference:
                round_start = self.now_s
            self.runner.check_batch_sizes(self.now_s)
            self._admit_arrivals()
            if self.runner.active_count() == 0 and (self.config.reference or not self.queue):
                break
            if self.runner.active_count() == 0:
                continue
            running = self._start_round()
        else:
            raise ShockwaveError(self._round_cap_message())
        self._report_progress()
        return self.runner.result(self.policy.name, self.plans, self.round_start_s,
                                  self.round_end_s, len(self.trace), self.inputs, len(self.queue))

    def _next_idle_time(self) -> float:
        # The reference jumps to the next arrival when nothing ran (``Scheduler.simulate``).
        if self.config.reference:
            return max(self.now_s, self.queue[0].arrival_s)
        return min(max(self.now_s, self.queue[0].arrival_s), self.now_s + self.config.round_s)

    def _admit_arrivals(self) -> None:
        while self.queue and self.queue[0].arrival_s <= self.now_s:
            job = admitted_job(self.queue.popleft(), self.cluster, self.throughputs, self.facts,
                               self.now_s)
            self.runner.admit(job)

    def _start_round(self) -> list[Task]:
        view = ClusterView(
            now_s=self.now_s, round_index=self.round_index, round_s=self.config.round_s,
            cluster=self.cluster, jobs=self.runner.views(self.round_index),
            throughputs=self.throughputs, compat=self.config.compat,
            num_trace_jobs=len(self.trace),
        )
        plan = self.planner.next_round(view)
        self.plans.append(plan)
        self.round_start_s.append(self.now_s)
        tasks = self.runner.launch(plan, self.now_s, self.round_index)
        if not tasks:
            self.round_end_s.append(self.now_s)
        self.round_index += 1
        self._report_progress()
        return tasks

    def _report_progress(self) -> None:
        if self.on_round is not None:
            self.on_round(RoundProgress(self.round_index, self.now_s, self.runner.completed_count(),
                                        len(self.trace)))

    def _round_cap_message(self) -> str:
        """Which jobs were still active at the round cap, by id and trace line."""
        stuck = self.runner.stalled_jobs()
        index = {job.job_id: i for i, job in enumerate(self.trace.jobs)}
        names = ", ".join(
            f"job {job_id} (line {self.trace.line_of(index[job_id])}, {rounds} rounds received)"
            for job_id, rounds in stuck[:10]
        )
        more = f" and {len(stuck) - 10} more" if len(stuck) > 10 else ""
        return (
            f"{self.trace.source}: the simulation did not finish within "
            f"{self.config.max_rounds:,} rounds; {len(stuck)} job(s) could not complete: "
            f"{names}{more}; {len(self.queue)} job(s) had not arrived"
        )
