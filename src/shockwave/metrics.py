"""Metrics of a simulation (docs/results.md), as pure functions of job records and the round schedule.

Every number a table, plot or report shows is computed here, the same way for every policy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from shockwave.model import JobId
from shockwave.sim.result import JobRecord, SimResult

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
