"""Helpers shared by the policy tests: hand-made jobs and cluster views, feasibility checks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

from shockwave.model import Cluster, JobSpec
from shockwave.policies.base import ClusterView, JobView
from shockwave.workload.adaptation import JobProfile
from shockwave.workload.throughput import ThroughputTable, load_throughputs


@dataclass(frozen=True)
class J:
    """A job for a test view: throughput (it/s of the gang), remaining steps, GPUs, arrival."""

    thr: float = 1.0
    rem: float = 100.0
    gpus: int = 1
    arrival_s: float = 0.0
    weight: float = 1.0
    done: float = 0.0


@cache
def throughputs() -> ThroughputTable:
    return load_throughputs()


def _job_view(job_id: int, job: J) -> JobView:
    total = job.rem + job.done
    spec = JobSpec(
        job_id=job_id, model="ResNet-18", batch_size=32, gpus=job.gpus, mode="static",
        total_steps=int(np.ceil(total)), arrival_s=job.arrival_s,
        duration_s=total / job.thr if job.thr > 0 else 0.0, priority_weight=job.weight,
    )
    profile = JobProfile(1, 1000, (32,), np.array([spec.duration_s]))
    return JobView(
        spec=spec, profile=profile, batch_size=32, throughput=job.thr, total_steps=total,
        steps_done=job.done, admitted_s=job.arrival_s, rounds_received=0, attained_s=0.0,
        ran_last_round=False, throughputs_by_type={"v100": job.thr},
    )


def make_view(
    jobs: Sequence[J], num_gpus: int = 4, now_s: float = 0.0, ids: Sequence[int] | None = None
) -> ClusterView:
    """A ClusterView of ``jobs`` (ids 0, 1, ... unless given) on ``num_gpus`` GPUs at ``now_s``."""
    keys = list(ids) if ids is not None else list(range(len(jobs)))
    views = {k: _job_view(k, j) for k, j in sorted(zip(keys, jobs, strict=True))}
    return ClusterView(
        now_s=now_s, round_index=0, round_s=120.0, cluster=Cluster(num_gpus=num_gpus),
        jobs=views, throughputs=throughputs(),
    )


def assert_feasible(shares: dict[int, float], view: ClusterView, tol: float = 1e-9) -> None:
    """Every share in [0, 1] and the cluster not over-committed in expectation."""
    assert set(shares) == set(view.jobs)
    for x in shares.values():
        assert -tol <= x <= 1 + tol
    assert sum(view.jobs[j].gpus * x for j, x in shares.items()) <= view.num_gpus + 1e-7
