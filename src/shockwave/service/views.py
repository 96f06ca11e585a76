"""The ``ClusterView`` the planner sees, built from what real jobs reported instead of from the
throughput model (docs/service.md, "What the planner sees").

For each job: progress in samples (steps = samples / batch size); its speed, in iterations/s of
the whole gang, is the measured samples/s over the batch size, or before any measurement the
spec's ``expected_samples_per_s`` hint or ``Settings.default_samples_per_s``; its profile has one
entry per epoch at the current batch size and the current speed (a real job's future batch sizes
are not known in advance); one ``throughput_timeline`` entry per round it ran."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from shockwave.model import Cluster, JobSpec
from shockwave.policies.base import ClusterView, JobView
from shockwave.service.config import Settings
from shockwave.service.store import JobRow
from shockwave.workload.adaptation import JobProfile
from shockwave.workload.throughput import ThroughputTable

_NO_TABLE = ThroughputTable({}, source="<measured by the service>")
_MAX_MODEL_CHARS = 64


def make_cluster(settings: Settings) -> Cluster:
    """This machine: one server holding every slot."""
    return Cluster(num_gpus=settings.gpus, gpus_per_server=settings.gpus)


def samples_per_s(job: JobRow, settings: Settings) -> float:
    """The job's speed estimate, samples/s of the whole gang."""
    for value in (job.samples_per_s, job.spec.expected_samples_per_s):
        if value is not None and value > 0:
            return float(value)
    return settings.default_samples_per_s


def job_view(job: JobRow, settings: Settings, round_index: int) -> JobView:
    spec = job.spec
    speed = samples_per_s(job, settings)
    batch = max(1, job.batch_size)
    total = spec.samples
    per_epoch = max(1, job.samples_per_epoch)
    epochs = max(1, math.ceil(total / per_epoch))
    durations = np.full(epochs, per_epoch / speed)
    durations[-1] = (total - per_epoch * (epochs - 1)) / speed
    profile = JobProfile(num_epochs=epochs, samples_per_epoch=per_epoch,
                         batch_size_every_epoch=(batch,) * epochs,
                         duration_every_epoch=durations)
    job_spec = JobSpec(
        job_id=job.id, model=spec.name[:_MAX_MODEL_CHARS], batch_size=spec.batch_size,
        gpus=spec.gpus, mode=spec.adaptation,
        total_steps=max(1, math.ceil(total / spec.batch_size)), arrival_s=job.submitted_s,
        duration_s=total / speed, priority_weight=spec.priority_weight)
    return JobView(
        spec=job_spec, profile=profile, batch_size=batch, throughput=speed / batch,
        total_steps=total / batch, steps_done=min(job.samples, total) / batch,
        admitted_s=job.submitted_s, rounds_received=job.rounds_received,
        attained_s=job.attained_s, ran_last_round=job.last_round_ran == round_index - 1,
        throughput_timeline=tuple((int(r), float(t), int(b)) for r, t, b in job.timeline))


def cluster_view(jobs: Sequence[JobRow], settings: Settings, *, now_s: float, round_index: int,
                 cluster: Cluster) -> ClusterView:
    """The view of ``jobs`` (the ones the planner knows) at the boundary of ``round_index``."""
    views = {job.id: job_view(job, settings, round_index) for job in sorted(jobs, key=lambda j: j.id)}
    return ClusterView(now_s=now_s, round_index=round_index, round_s=settings.round_s,
                       cluster=cluster, jobs=views, throughputs=_NO_TABLE, compat="fixed",
                       num_trace_jobs=len(views))
