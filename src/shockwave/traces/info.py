"""What a trace holds: counts, mixes, duration statistics and a makespan lower bound."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace

import numpy as np

from shockwave.errors import InputError
from shockwave.metrics import (
    makespan_lower_bound_s,
    typed_makespan_lower_bound_s,
    typed_work_bound_s,
)
from shockwave.model import Cluster
from shockwave.traces.trace import Trace
from shockwave.workload.adaptation import (
    WorkloadFacts,
    build_profile,
    build_profiles,
    load_workload_facts,
)
from shockwave.workload.throughput import ThroughputTable

DEFAULT_NUM_GPUS = 32


@dataclass(frozen=True)
class DurationStats:
    """Minimum, median, mean, maximum and sum of a set of durations, in seconds."""

    min_s: float
    median_s: float
    mean_s: float
    max_s: float
    total_s: float

    @classmethod
    def of(cls, values: np.ndarray) -> DurationStats:
        return cls(float(values.min()), float(np.median(values)), float(values.mean()),
                   float(values.max()), float(values.sum()))


@dataclass(frozen=True)
class TraceInfo:
    """A trace described for a cluster of ``num_gpus`` GPUs.

    ``static_duration`` is the trace's own duration column (alone, initial batch size);
    ``run_time`` is the adaptation-aware exclusive run time T_j of the dynamic profile.
    ``work_bound_s`` is ``gpu_seconds / num_gpus`` with ``gpu_seconds`` the sum of
    ``gpus_j * T_j``: no schedule can finish all the work sooner. ``makespan_lower_bound_s``
    (``metrics.makespan_lower_bound_s``) adds the release times and each job's own run time.

    On a cluster of several GPU types (``cluster``, its ``--cluster`` text): ``run_time`` and
    ``gpu_seconds`` count each job on its fastest type (the simulator's T_j), and the bounds are
    ``metrics.typed_work_bound_s`` and ``typed_makespan_lower_bound_s``: GPU-seconds of
    different types are different amounts of work, so the work bound is an LP over how each
    job's work could be split between the types, not a division.
    """

    source: str
    num_jobs: int
    first_arrival_s: float
    last_arrival_s: float
    mean_gap_s: float
    gpus_per_job: dict[int, int]
    modes: dict[str, int]
    models: dict[str, int]
    static_duration: DurationStats
    run_time: DurationStats
    gpu_seconds: float
    num_gpus: int
    work_bound_s: float
    makespan_lower_bound_s: float
    too_wide_job_ids: tuple[int, ...]
    cluster: str | None = None

    @property
    def arrival_span_s(self) -> float:
        return self.last_arrival_s - self.first_arrival_s


def run_times_s(trace: Trace, throughputs: ThroughputTable, gpu_type: str = "v100",
                facts: WorkloadFacts | None = None) -> np.ndarray:
    """Each job's exclusive, adaptation-aware run time T_j (the sum of its profile's epoch
    durations, as the published ``utils.generate_pickle_file`` builds it), in trace order."""
    facts = facts or load_workload_facts()
    trace.check_runnable(throughputs, gpu_type, facts)
    out = np.empty(len(trace))
    for index, job in enumerate(trace.jobs):
        try:
            out[index] = build_profile(job, throughputs, facts, gpu_type).run_time_s
        except InputError as exc:
            raise InputError(exc.reason, path=trace.source, line=trace.line_of(index),
                             field=exc.field) from None
    return out


def _counts(values: list, by_count: bool = False) -> dict:
    counter = Counter(values)
    if by_count:
        return dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))
    return dict(sorted(counter.items()))


def typed_run_times_s(trace: Trace, cluster: Cluster, throughputs: ThroughputTable,
                      facts: WorkloadFacts | None = None) -> np.ndarray:
    """``run_times[j, t]``: job j's T_j on each type of ``cluster`` (cluster order), ``inf`` where
    it cannot run (its gang does not fit the type, or a batch size of its profile has no
    throughput there), as the simulator decides. Refuses, as ``simulate`` does, a trace with a
    job that no type can run."""
    facts = facts or load_workload_facts()
    trace.check_runnable_on(cluster, throughputs, facts)
    types = cluster.gpu_types
    out = np.full((len(trace), len(types)), np.inf)
    for index, job in enumerate(trace.jobs):
        fitting = [t for t in types if cluster.count(t) >= job.gpus]
        for gpu_type, profile in build_profiles(job, throughputs, facts, fitting).items():
            out[index, types.index(gpu_type)] = profile.run_time_s
    return out


def describe_trace_on(trace: Trace, throughputs: ThroughputTable, cluster: Cluster,
                      facts: WorkloadFacts | None = None) -> TraceInfo:
    """``describe_trace`` for a cluster of GPU types (one type: exactly ``describe_trace`` on
    that type, with the cluster's text recorded)."""
    from shockwave.clusters import format_cluster

    if not cluster.is_heterogeneous:
        plain = describe_trace(trace, throughputs, cluster.num_gpus, cluster.gpu_type, facts)
        return replace(plain, cluster=format_cluster(cluster))
    if len(trace) == 0:
        raise InputError("the trace has no jobs", path=trace.source)
    typed = typed_run_times_s(trace, cluster, throughputs, facts)
    counts = np.array([cluster.count(t) for t in cluster.gpu_types], dtype=float)
    arrivals = np.array([job.arrival_s for job in trace.jobs], dtype=float)
    gpus = np.array([job.gpus for job in trace.jobs], dtype=float)
    plain = _describe(trace, typed.min(axis=1), cluster.num_gpus)
    return replace(plain, cluster=format_cluster(cluster),
                   work_bound_s=typed_work_bound_s(gpus, typed, counts),
                   makespan_lower_bound_s=typed_makespan_lower_bound_s(arrivals, gpus, typed,
                                                                       counts))


def describe_trace(
    trace: Trace, throughputs: ThroughputTable, num_gpus: int = DEFAULT_NUM_GPUS,
    gpu_type: str = "v100", facts: WorkloadFacts | None = None,
) -> TraceInfo:
    """The numbers ``shockwave trace info`` prints, for a cluster of ``num_gpus`` GPUs
    (``facts``: the workload facts, by default the bundled ones)."""
    if num_gpus < 1:
        raise InputError(f"must be a positive number of GPUs, got {num_gpus}", field="gpus")
    if len(trace) == 0:
        raise InputError("the trace has no jobs", path=trace.source)
    return _describe(trace, run_times_s(trace, throughputs, gpu_type, facts), num_gpus)


def _describe(trace: Trace, run_times: np.ndarray, num_gpus: int) -> TraceInfo:
    """Everything but the cluster's own numbers, from each job's T_j; bounds for ``num_gpus``
    GPUs of one type."""
    jobs = trace.jobs
    arrivals = np.array([job.arrival_s for job in jobs], dtype=float)
    gpus = np.array([job.gpus for job in jobs], dtype=float)
    gpu_seconds = float((gpus * run_times).sum())
    gap = float(np.diff(arrivals).mean()) if len(jobs) > 1 else 0.0
    return TraceInfo(
        source=trace.source,
        num_jobs=len(jobs),
        first_arrival_s=float(arrivals[0]),
        last_arrival_s=float(arrivals[-1]),
        mean_gap_s=gap,
        gpus_per_job=_counts([job.gpus for job in jobs]),
        modes=_counts([job.mode for job in jobs], by_count=True),
        models=_counts([job.model for job in jobs], by_count=True),
        static_duration=DurationStats.of(np.array([job.duration_s for job in jobs], dtype=float)),
        run_time=DurationStats.of(run_times),
        gpu_seconds=gpu_seconds,
        num_gpus=num_gpus,
        work_bound_s=gpu_seconds / num_gpus,
        makespan_lower_bound_s=makespan_lower_bound_s(arrivals, [job.gpus for job in jobs],
                                                      run_times, num_gpus),
        too_wide_job_ids=tuple(job.job_id for job in jobs if job.gpus > num_gpus),
    )
