"""What a trace holds: counts, mixes, duration statistics and a makespan lower bound."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from shockwave.errors import InputError
from shockwave.metrics import makespan_lower_bound_s
from shockwave.traces.trace import Trace
from shockwave.workload.adaptation import WorkloadFacts, build_profile, load_workload_facts
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
    jobs = trace.jobs
    arrivals = np.array([job.arrival_s for job in jobs], dtype=float)
    gpus = np.array([job.gpus for job in jobs], dtype=float)
    run_times = run_times_s(trace, throughputs, gpu_type, facts)
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
