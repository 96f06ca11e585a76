"""Metrics of a simulation (docs/results.md), as pure functions of job records and the round schedule.

Every number a table, plot or report shows is computed here, the same way for every policy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np

from shockwave.model import JobId
from shockwave.sim.result import JobRecord, SimResult

if TYPE_CHECKING:
    from shockwave.model import Cluster, JobSpec
    from shockwave.workload.adaptation import WorkloadFacts
    from shockwave.workload.throughput import ThroughputTable

UNFAIR_RHO = 1.05
"""A job is unfair when its finish-time-fairness rho exceeds this (the paper's threshold)."""


def makespan_s(records: Sequence[JobRecord]) -> float:
    """Completion time of the last job, from t = 0 (the trace start)."""
    return max((r.completion_s for r in records), default=0.0)


def jcts_s(records: Sequence[JobRecord]) -> np.ndarray:
    return np.array([r.jct_s for r in records], dtype=float)


def fair_share_factor(num_jobs: int, num_gpus: int) -> float:
    """The contention factor of the static FTF definition: ``max(1, N/G)``."""
    return max(1.0, num_jobs / num_gpus)


def ftf_rho(record: JobRecord, num_jobs: int, num_gpus: int) -> float:
    """Finish-time fairness ``rho = JCT / (T_j * max(1, N/G))`` (static contention factor, as
    the published ``Scheduler.get_finish_time_fairness``; docs/results.md)."""
    return record.jct_s / (record.run_time_s * fair_share_factor(num_jobs, num_gpus))


def ftf_rhos(records: Sequence[JobRecord], num_jobs: int, num_gpus: int) -> list[float]:
    return [ftf_rho(r, num_jobs, num_gpus) for r in records]


def estimated_rho(elapsed_s: float, total_samples: int, samples_done: int,
                  samples_per_s: float | None, contention: float) -> float | None:
    """The finish-time fairness the job is heading for if, from now on, it gets its fair share
    of the cluster: ``rho = (elapsed + T_rem * c) / (T_alone * c)``, where ``T_alone`` is its
    whole run time alone at its measured speed, ``T_rem`` what is left of it, and ``c = max(1,
    N/G)`` the contention factor of the static definition (``ftf_rho``), with N the jobs
    scheduled now. At completion it is the realized JCT over the fair-share finish time.

    ``None`` until the job's speed has been measured (nothing honest can be said before)."""
    if samples_per_s is None or samples_per_s <= 0 or total_samples <= 0:
        return None
    alone_s = total_samples / samples_per_s
    remaining_s = max(0, total_samples - samples_done) / samples_per_s
    return (max(0.0, elapsed_s) + remaining_s * contention) / (alone_s * contention)


def active_jobs_per_round(records: Sequence[JobRecord],
                          round_start_s: Sequence[float]) -> np.ndarray:
    """How many jobs were in the system (arrived, not completed) at the start of each round."""
    starts = np.asarray(round_start_s, dtype=float)
    arrivals = np.sort(np.array([r.arrival_s for r in records], dtype=float))
    completions = np.sort(np.array([r.completion_s for r in records], dtype=float))
    arrived = np.searchsorted(arrivals, starts, side="right")
    completed = np.searchsorted(completions, starts, side="right")
    return (arrived - completed).astype(float)


def themis_rhos(records: Sequence[JobRecord], round_start_s: Sequence[float],
                num_gpus: int) -> list[float]:
    """Finish-time fairness with Themis's contention factor (SPEC section 5): ``rho = JCT /
    (T_j * max(1, c_j / G))``, ``c_j`` the mean number of jobs in the system over the rounds of
    the job's life (from the first round starting at or after its arrival to the last starting
    before its completion). Unlike the static factor N/G over the whole trace, it sees the
    contention a job actually met: on a long trace, a job that waited through a busy month is
    not excused by the quiet months around it."""
    if not records:
        return []
    starts = np.asarray(round_start_s, dtype=float)
    active = active_jobs_per_round(records, starts)
    prefix = np.concatenate(([0.0], np.cumsum(active)))
    rhos = []
    for r in records:
        first = int(np.searchsorted(starts, r.arrival_s, side="left"))
        last = int(np.searchsorted(starts, r.completion_s, side="left"))
        mean = float(prefix[last] - prefix[first]) / (last - first) if last > first else 0.0
        rhos.append(r.jct_s / (r.run_time_s * max(1.0, mean / num_gpus)))
    return rhos


def makespan_lower_bound_s(arrivals_s: Sequence[float], gpus: Sequence[int],
                           run_times_s: Sequence[float], num_gpus: int) -> float:
    """A makespan no schedule on ``num_gpus`` GPUs can beat: the larger of
    - each job's own critical path, its arrival plus its exclusive run time ``T_j``;
    - for every arrival time t, t plus the work (``gpus_j * T_j``) of the jobs arriving at or
      after t, spread over every GPU (at t = the first arrival: all the work).
    Both hold for any schedule that runs a job on its own gang at its profiled speed."""
    if not len(arrivals_s):
        return 0.0
    order = np.argsort(np.asarray(arrivals_s, dtype=float), kind="stable")
    arrivals = np.asarray(arrivals_s, dtype=float)[order]
    runs = np.asarray(run_times_s, dtype=float)[order]
    work = np.asarray(gpus, dtype=float)[order] * runs
    later_work = np.cumsum(work[::-1])[::-1]  # work of the jobs from each one on
    first_of_time = np.r_[True, arrivals[1:] != arrivals[:-1]]
    by_release = float((arrivals + later_work / num_gpus)[first_of_time].max())
    return max(by_release, float((arrivals + runs).max()))


def proportional_run_time_s(durations_by_type: Mapping[str, Sequence[float]],
                            counts: Mapping[str, int]) -> float:
    """A job's run time alone on Gavel's proportional split of the cluster: every type ``t`` for
    a fraction ``counts[t] / G`` of the time (``G`` all GPUs of ``counts``), the share that
    ``max_min_fairness_perf`` normalises by. ``durations_by_type[t]`` is the job's exclusive
    duration of each epoch on type ``t``, only for the types it can run on (a missing type runs
    at 0 but still takes its fraction of the time, as in Gavel's split).

    Epoch by epoch, the split runs at ``sum_t (counts[t] / G) / d[t, e]`` epochs per second, so
    the epoch takes the inverse: exact across batch-size changes, since they happen at epoch
    boundaries and change every type's duration at once. On one type this is the exclusive run
    time. ``inf`` when the job can run on no type of ``counts``."""
    total = sum(counts.values())
    rates = [(counts[t] / total) / np.asarray(d, dtype=float)
             for t, d in durations_by_type.items() if counts.get(t, 0) > 0]
    if not rates or total <= 0:
        return float("inf")
    return float((1.0 / np.sum(rates, axis=0)).sum())


@dataclass(frozen=True)
class AloneRunTimes:
    """A job's run time alone, of exactly the work the simulator gives it: on its fastest type,
    and on Gavel's proportional split of the cluster (``proportional_run_time_s``)."""

    fastest_s: float
    proportional_s: float


def epoch_seconds(durations: np.ndarray, sizes: Sequence[int], samples_per_epoch: int,
                  total_epochs: float) -> np.ndarray:
    """A profile's per-epoch durations turned into the time the simulator takes for the job's
    actual work: an epoch is ``ceil(samples / b)`` iterations there (the profile counts
    ``samples / b``), and the job ends ``total_epochs`` (``total_steps`` over the first epoch's
    iterations) into its profile, inside its last epoch (the profile counts that epoch whole:
    the reference's rounding, kept in ``T_j``)."""
    sizes_array = np.asarray(sizes, dtype=float)
    per_epoch = samples_per_epoch / sizes_array
    scaled = np.asarray(durations, dtype=float) * np.ceil(per_epoch) / per_epoch
    weights = np.ones(len(scaled))
    if len(weights):
        weights[-1] = total_epochs - (len(weights) - 1)
    return scaled * weights


def alone_run_times(jobs: Iterable[JobSpec], cluster: Cluster, throughputs: ThroughputTable,
                    facts: WorkloadFacts | None = None) -> dict[JobId, AloneRunTimes]:
    """``AloneRunTimes`` of every job of ``jobs`` on ``cluster``, from the profiles the simulator
    builds (``build_profiles``: the same epochs, batch sizes and rates; a type counts only where
    the job's gang fits, as the simulator admits it). Why not ``JobRecord.run_time_s``: it counts
    the last started epoch whole (the reference's ``T_j``), which for a job shorter than an
    epoch can be many times its real work; these objectives compare the real work with the
    time it took."""
    from shockwave.workload.adaptation import build_profiles, load_workload_facts

    facts = facts or load_workload_facts()
    counts = {t: cluster.count(t) for t in cluster.gpu_types}
    times: dict[JobId, AloneRunTimes] = {}
    for spec in jobs:
        fitting = [t for t in cluster.gpu_types if counts[t] >= spec.gpus]
        profiles = build_profiles(spec, throughputs, facts, fitting)
        total_epochs = spec.total_steps / facts.iterations_per_epoch(spec.model, spec.batch_size)
        seconds = {t: epoch_seconds(p.duration_every_epoch, p.batch_size_every_epoch,
                                    p.samples_per_epoch, total_epochs)
                   for t, p in profiles.items()}
        times[spec.job_id] = AloneRunTimes(
            fastest_s=min((float(d.sum()) for d in seconds.values()), default=float("inf")),
            proportional_s=proportional_run_time_s(seconds, counts))
    return times


def normalized_shares(records: Sequence[JobRecord],
                      alone: Mapping[JobId, AloneRunTimes]) -> list[float]:
    """Each job's share of the cluster over its stay, in the terms ``max_min_fairness_perf``
    (Gavel's heterogeneity-aware LAS) maximises the least of: ``gpus_j * T_prop_j / JCT_j``.

    Why this is LAS's objective measured after the fact: the policy maximises
    ``min_j gpus_j thr_j(X) / thr_prop_j``, a job's effective throughput over its throughput on
    the proportional split (``proportional_run_time_s``), times its gang width. Over a whole
    stay, the job's average effective throughput is ``steps / JCT`` and on the split it would be
    ``steps / T_prop``, so their ratio is ``T_prop / JCT``: 1 for a one-GPU job that ran the
    whole time it was in the system at the proportional split's speed; more when it ran on
    faster types than that mix; less for the time it waited. ``alone`` is by job id
    (``alone_run_times``): the same numbers for every policy run on one trace and cluster."""
    return [r.gpus * alone[r.job_id].proportional_s / r.jct_s for r in records]


def speed_efficiency(records: Sequence[JobRecord], gpu_busy_s: Sequence[float],
                     alone: Mapping[JobId, AloneRunTimes]) -> float:
    """The useful work per busy GPU-second, in units of each job's fastest type:
    ``sum_j gpus_j W_j / sum_i busy_i`` (``W_j = alone[j].fastest_s``, the job's work alone on
    its fastest type; ``busy_i`` GPU i's seconds of useful work). 1 when every job ran only on
    its fastest type; on one type, 1 (up to jobs cut short by the forced-completion rule).

    Why this stands for max-sum-throughput's objective: over a trace that runs to completion
    the total work is fixed, so throughput integrated over time says nothing; what a
    throughput-maximising policy changes is how fast each busy GPU-second advances its job.
    Unlike Gavel's raw sum of iterations/s (which ``max_sum_throughput_perf`` maximises, and
    which weighs models by their iteration rate), every job's work counts here in its own
    fastest-type seconds, the same units for every model. 0 when nothing ran."""
    busy = float(np.sum(np.asarray(gpu_busy_s, dtype=float)))
    if busy <= 0:
        return 0.0
    return sum(r.gpus * alone[r.job_id].fastest_s for r in records) / busy


MAX_RELEASE_BOUNDS = 64
"""Release times at which ``typed_makespan_lower_bound_s`` solves its LP (each a valid bound on
its own; more would only tighten it, at one LP each)."""


def typed_work_bound_s(gpus: np.ndarray, run_times_s: np.ndarray, counts: np.ndarray) -> float:
    """The least time in which a cluster of GPU types could do all the work of some jobs, if
    they could be split freely: over fractions ``f[j, t] >= 0`` of each job's work done on each
    type (``sum_t f[j, t] = 1``), the least ``W`` with ``sum_j f[j, t] gpus_j T[j, t] <=
    counts[t] W`` for every type. ``run_times_s[j, t]`` is job j's exclusive run time on type t,
    ``inf`` where it cannot run. Preemption, migration and fractional gangs are all allowed, so
    no real schedule does better; on one type it is ``sum_j gpus_j T_j / G``.

    Raises:
        SolverError: the LP fails (a job that can run nowhere makes it infeasible).
    """
    from scipy import sparse

    from shockwave.solver import solve_lp

    times = np.asarray(run_times_s, dtype=float)
    if times.size == 0:
        return 0.0
    job_of, type_of = np.nonzero(np.isfinite(times))
    pairs = job_of.size
    work = np.asarray(gpus, dtype=float)[job_of] * times[job_of, type_of]
    m, k = times.shape
    # rows: per type, work placed there minus counts[t] * W <= 0
    load = sparse.csr_array((work, (type_of, np.arange(pairs))), shape=(k, pairs + 1)).tolil()
    load[:, pairs] = -np.asarray(counts, dtype=float)[:, None]
    whole = sparse.csr_array((np.ones(pairs), (job_of, np.arange(pairs))), shape=(m, pairs + 1))
    cost = np.zeros(pairs + 1)
    cost[-1] = 1.0
    solution = solve_lp(cost, a_ub=load.tocsr(), b_ub=np.zeros(k), a_eq=whole, b_eq=np.ones(m))
    return float(solution.x[-1])


def typed_makespan_lower_bound_s(arrivals_s: Sequence[float], gpus: Sequence[int],
                                 run_times_s: np.ndarray, counts: Sequence[int]) -> float:
    """``makespan_lower_bound_s`` on a cluster of GPU types (``run_times_s[j, t]`` as in
    ``typed_work_bound_s``): the larger of
    - each job's arrival plus its run time on its fastest type;
    - for a release time t, t plus ``typed_work_bound_s`` of the jobs arriving at or after t,
      tried at the first arrival and at most ``MAX_RELEASE_BOUNDS`` distinct arrival times in
      all, evenly spread (each is a valid bound by itself; the maximum of valid bounds is one).
    """
    arrivals = np.asarray(arrivals_s, dtype=float)
    if not arrivals.size:
        return 0.0
    times = np.asarray(run_times_s, dtype=float)
    widths = np.asarray(gpus, dtype=float)
    releases = np.unique(arrivals)
    if releases.size > MAX_RELEASE_BOUNDS:
        picks = np.linspace(0, releases.size - 1, MAX_RELEASE_BOUNDS).round().astype(int)
        releases = releases[np.unique(picks)]
    by_release = max(
        t + typed_work_bound_s(widths[arrivals >= t], times[arrivals >= t], np.asarray(counts))
        for t in releases)
    return max(by_release, float((arrivals + times.min(axis=1)).max()))


def slowdowns(records: Sequence[JobRecord]) -> list[float]:
    """Each job's JCT over its exclusive run time ``T_j`` (1: it never waited or shared)."""
    return [r.jct_s / r.run_time_s for r in records]


def unfair_fraction_pct(rhos: Sequence[float], threshold: float = UNFAIR_RHO) -> float:
    """Percentage of jobs whose rho exceeds ``threshold``."""
    if not rhos:
        return 0.0
    return 100.0 * sum(1 for rho in rhos if rho > threshold) / len(rhos)


def utilization(gpu_busy_s: Sequence[float], makespan: float) -> float:
    """Mean over GPUs of the share of ``[0, makespan]`` spent running useful work."""
    if makespan <= 0 or not gpu_busy_s:
        return 0.0
    return float(np.mean(np.asarray(gpu_busy_s, dtype=float) / makespan))


def utilization_by_type(gpu_busy_s: Sequence[float], gpu_types: Sequence[str],
                        makespan: float) -> dict[str, float]:
    """``utilization`` of each GPU type's GPUs (``gpu_types[i]`` is GPU i's type), in the order
    the types first appear: on a cluster of one type, ``{type: utilization(...)}``."""
    busy: dict[str, list[float]] = {}
    for seconds, gpu_type in zip(gpu_busy_s, gpu_types, strict=True):
        busy.setdefault(gpu_type, []).append(seconds)
    return {gpu_type: utilization(values, makespan) for gpu_type, values in busy.items()}


def lease_extension_pct(
    schedule: Sequence[Mapping[JobId, tuple[int, ...]]],
    round_start_s: Sequence[float] | None = None,
    completion_s: Mapping[JobId, float] | None = None,
) -> float:
    """Share of lease-extension opportunities taken: a job placed in round r-1 that is still
    active when round r starts is an opportunity; it is taken when round r gives the job exactly
    the same GPUs (as the reference counts it). Without times, every placement counts."""
    kept = chances = 0
    for r in range(1, len(schedule)):
        before, after = schedule[r - 1], schedule[r]
        for job, gpus in before.items():
            if round_start_s is not None and completion_s is not None:
                if completion_s.get(job, float("inf")) <= round_start_s[r]:
                    continue
            chances += 1
            kept += set(after.get(job, ())) == set(gpus)
    return 100.0 * kept / chances if chances else 0.0


@dataclass(frozen=True)
class Summary:
    """The headline metrics of one run."""

    makespan_s: float
    makespan_over_lb: float
    """The makespan over ``makespan_lower_bound_s`` of the completed jobs (1: optimal)."""
    avg_jct_s: float
    p50_jct_s: float
    p99_jct_s: float
    worst_ftf_rho: float
    worst_themis_rho: float
    max_slowdown: float
    unfair_fraction_pct: float
    cluster_util: float
    rounds: int
    lease_extension_pct: float
    jobs_completed: int

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def summarize(result: SimResult) -> Summary:
    """All headline metrics of ``result``."""
    records = result.records
    jct = jcts_s(records)
    rhos = ftf_rhos(records, result.num_trace_jobs, result.num_gpus)
    span = makespan_s(records)
    bound = makespan_lower_bound_s([r.arrival_s for r in records], [r.gpus for r in records],
                                   [r.run_time_s for r in records], result.num_gpus)
    return Summary(
        makespan_s=span,
        makespan_over_lb=span / bound if bound > 0 else 0.0,
        avg_jct_s=float(jct.mean()) if len(jct) else 0.0,
        p50_jct_s=float(np.percentile(jct, 50)) if len(jct) else 0.0,
        p99_jct_s=float(np.percentile(jct, 99)) if len(jct) else 0.0,
        worst_ftf_rho=max(rhos, default=0.0),
        worst_themis_rho=max(themis_rhos(records, result.round_start_s, result.num_gpus),
                             default=0.0),
        max_slowdown=max(slowdowns(records), default=0.0),
        unfair_fraction_pct=unfair_fraction_pct(rhos),
        cluster_util=utilization(result.gpu_busy_s, span),
        rounds=len(result.schedule),
        lease_extension_pct=lease_extension_pct(
            result.schedule, result.round_start_s, {r.job_id: r.completion_s for r in records}
        ),
        jobs_completed=len(records),
    )
