"""What a simulation produces: per-job records, the per-round schedule, and their JSON form."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shockwave.model import JobId


@dataclass(frozen=True)
class JobRecord:
    """One finished job. ``run_time_s`` is its exclusive, adaptation-aware run time (T_j)."""

    job_id: JobId
    model: str
    batch_size: int
    gpus: int
    mode: str
    arrival_s: float
    completion_s: float
    run_time_s: float
    attained_s: float = 0.0
    batch_size_timeline: tuple[tuple[float, int], ...] = ()

    @property
    def jct_s(self) -> float:
        return self.completion_s - self.arrival_s


@dataclass(frozen=True)
class SimResult:
    """The outcome of one simulation run."""

    policy: str
    num_gpus: int
    records: tuple[JobRecord, ...]
    schedule: tuple[Mapping[JobId, tuple[int, ...]], ...]
    round_start_s: tuple[float, ...]
    round_end_s: tuple[float, ...]
    gpu_busy_s: tuple[float, ...]
    makespan_s: float
    num_trace_jobs: int
    inputs: Mapping[str, Any] = field(default_factory=dict)
    stats: Mapping[str, Any] = field(default_factory=dict)

    def record(self, job_id: JobId) -> JobRecord:
        return next(r for r in self.records if r.job_id == job_id)


def result_to_json(result: SimResult) -> dict[str, Any]:
    """The documented JSON form (see docs/results.md); metrics come from ``metrics.summarize``."""
    from shockwave.metrics import ftf_rhos, summarize

    summary = summarize(result)
    rhos = ftf_rhos(result.records, result.num_trace_jobs, result.num_gpus)
    return {
        "policy": result.policy,
        **summary.as_dict(),
        "inputs": dict(result.inputs),
        "num_gpus": result.num_gpus,
        "num_trace_jobs": result.num_trace_jobs,
        "stats": dict(result.stats),
        "jobs": [
            {
                "id": r.job_id, "model": r.model, "batch_size": r.batch_size, "gpus": r.gpus,
                "mode": r.mode, "arrival_s": r.arrival_s, "completion_s": r.completion_s,
                "jct_s": r.jct_s, "run_time_s": r.run_time_s, "attained_s": r.attained_s,
                "ftf_rho": rhos[i],
                "batch_size_timeline": [[t, b] for t, b in r.batch_size_timeline],
            }
            for i, r in enumerate(result.records)
        ],
        "gpu_busy_s": list(result.gpu_busy_s),
        "round_start_s": list(result.round_start_s),
        "round_end_s": list(result.round_end_s),
        "per_round_schedule": [
            {str(job): list(gpus) for job, gpus in plan.items()} for plan in result.schedule
        ],
    }


def result_from_json(data: Mapping[str, Any]) -> SimResult:
    """Rebuild a ``SimResult`` from ``result_to_json`` output (for reports of saved runs)."""
    records = tuple(
        JobRecord(
            job_id=int(j["id"]), model=j["model"], batch_size=int(j["batch_size"]),
            gpus=int(j["gpus"]), mode=j["mode"], arrival_s=float(j["arrival_s"]),
            completion_s=float(j["completion_s"]), run_time_s=float(j["run_time_s"]),
            attained_s=float(j.get("attained_s", 0.0)),
            batch_size_timeline=tuple((float(t), int(b)) for t, b in j.get("batch_size_timeline", [])),
        )
        for j in data["jobs"]
    )
    schedule: Sequence[Mapping[JobId, tuple[int, ...]]] = tuple(
        {int(k): tuple(v) for k, v in plan.items()} for plan in data["per_round_schedule"]
    )
    return SimResult(
        policy=data["policy"], num_gpus=int(data["num_gpus"]), records=records,
        schedule=tuple(schedule), round_start_s=tuple(data["round_start_s"]),
        round_end_s=tuple(data["round_end_s"]), gpu_busy_s=tuple(data["gpu_busy_s"]),
        makespan_s=float(data["makespan_s"]), num_trace_jobs=int(data["num_trace_jobs"]),
        inputs=dict(data.get("inputs", {})), stats=dict(data.get("stats", {})),
    )
