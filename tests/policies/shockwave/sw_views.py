"""Synthetic views for Shockwave tests: jobs built by hand, no simulator."""

from __future__ import annotations

import numpy as np

from shockwave.model import Cluster, JobSpec
from shockwave.policies.base import ClusterView, JobView
from shockwave.workload.adaptation import JobProfile
from shockwave.workload.throughput import load_throughputs


def job_view(
    job_id: int, *, gpus: int = 1, epochs: int = 10, epoch_s: float = 60.0, done: int = 0,
    admitted_s: float = 0.0, samples: int = 1000, batch_size: int = 10,
    timeline: tuple[tuple[int, float, int], ...] = (),
) -> JobView:
    """A static job of ``epochs`` epochs of ``epoch_s`` seconds with ``done`` epochs completed."""
    iterations = samples // batch_size
    spec = JobSpec(job_id=job_id, model="ResNet-18", batch_size=batch_size, gpus=gpus,
                   mode="static", total_steps=iterations * epochs, arrival_s=admitted_s,
                   duration_s=epochs * epoch_s)
    profile = JobProfile(epochs, samples, (batch_size,) * epochs, np.full(epochs, epoch_s))
    return JobView(spec=spec, profile=profile, batch_size=batch_size,
                   throughput=iterations / epoch_s, total_steps=float(iterations * epochs),
                   steps_done=float(iterations * done), admitted_s=admitted_s,
                   rounds_received=0, attained_s=0.0, ran_last_round=False,
                   throughputs_by_type={"v100": iterations / epoch_s},
                   throughput_timeline=timeline)


def cluster_view(jobs: list[JobView], *, num_gpus: int = 4, round_index: int = 0,
                 round_s: float = 120.0, compat: str = "reference") -> ClusterView:
    return ClusterView(now_s=round_index * round_s, round_index=round_index, round_s=round_s,
                       cluster=Cluster(num_gpus=num_gpus), jobs={j.job_id: j for j in jobs},
                       throughputs=load_throughputs(), compat=compat)
