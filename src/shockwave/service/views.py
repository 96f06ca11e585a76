"""The ``ClusterView`` the planner sees, built from what real jobs reported instead of from the
throughput model (docs/service.md, "What the planner sees").

For each job: progress in samples (steps = samples / batch size); its speed, in iterations/s of
the whole gang, is the speed ``SpeedModel`` gives for its current batch size and gang (measured
by the service whenever it has a measurement); its profile has one entry per epoch: at the
batch size of its learned schedule when ``serve --workload-facts`` has one (the simulator's
profile of the same job), else at the current batch size; one ``throughput_timeline`` entry per
round it ran."""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from shockwave.model import Cluster, JobSpec
from shockwave.policies.base import ClusterView, JobView
from shockwave.service.config import Settings
from shockwave.service.store import JobRow, Speed
from shockwave.workload.adaptation import JobProfile, WorkloadFacts, schedule_pattern
from shockwave.workload.throughput import ThroughputTable, load_throughputs

_NO_TABLE = ThroughputTable({}, source="<measured by the service>")
_MAX_MODEL_CHARS = 64

SpeedSource = Literal["measured", "profile", "nearest", "hint", "default"]


def make_cluster(settings: Settings) -> Cluster:
    """The cluster the planner places on: the servers of ``settings`` (by default one holding
    every slot: this machine)."""
    if not settings.servers:
        return Cluster(num_gpus=settings.gpus, gpus_per_server=settings.gpus)
    return Cluster.from_layout(settings.slot_layout)


def available_cluster(settings: Settings, unavailable: Collection[int]) -> Cluster | None:
    """``make_cluster`` without the ``unavailable`` slots (their server left); ``None`` when no
    slot is left."""
    if not unavailable:
        return make_cluster(settings)
    gone = set(unavailable)
    servers = [[s for s in server if s not in gone] for server in settings.slot_layout]
    servers = [server for server in servers if server]
    return Cluster.from_layout(servers) if servers else None


@dataclass(frozen=True)
class SpeedModel:
    """A job's speed (samples/s of the whole gang) at a batch size and gang size, from the best
    source there is:

    1. ``measured``: the service's own measurement of this job at that size (heartbeats);
    2. ``profile``: the throughputs table given to ``serve --throughputs`` (e.g. written by
       ``shockwave profile``), looked up under the job's model (its spec's ``model``, else its
       name);
    3. ``nearest``: this job's measurement at the nearest batch size on the same gang (samples/s
       taken as unchanged);
    4. ``hint``: the spec's ``expected_samples_per_s``;
    5. ``default``: ``Settings.default_samples_per_s``.
    """

    table: ThroughputTable | None = None
    gpu_type: str = "v100"
    default_samples_per_s: float = 100.0
    facts: WorkloadFacts | None = None
    """``serve --workload-facts``: learned batch-size schedules of adaptive jobs."""

    @classmethod
    def from_settings(cls, settings: Settings) -> SpeedModel:
        from shockwave.workload.facts import load_facts

        table = load_throughputs(settings.throughputs) if settings.throughputs else None
        facts = load_facts(settings.workload_facts) if settings.workload_facts else None
        return cls(table=table, gpu_type=settings.gpu_type,
                   default_samples_per_s=settings.default_samples_per_s, facts=facts)

    def schedule(self, job: JobRow, num_epochs: int) -> list[int] | None:
        """The batch size of each epoch of ``job`` from its learned schedule (the same one the
        simulator follows), or ``None`` when the facts have none for it."""
        spec = job.spec
        if self.facts is None or spec.adaptation == "static":
            return None
        key = (spec.model_name, spec.adaptation, spec.batch_size, spec.gpus)
        rows = self.facts.schedules.get(key)
        return None if rows is None else schedule_pattern(rows, num_epochs)

    def speed(self, job: JobRow, measured: Sequence[Speed], batch_size: int,
              gpus: int | None = None) -> tuple[float, SpeedSource]:
        """Samples/s of ``job`` at ``batch_size`` on ``gpus`` ranks (its own gang by default),
        and where the figure comes from."""
        gpus = gpus or job.spec.gpus
        same_gang = [m for m in measured if m.gpus == gpus and m.samples_per_s > 0]
        for m in same_gang:
            if m.batch_size == batch_size:
                return m.samples_per_s, "measured"
        name = job.spec.model_name[:_MAX_MODEL_CHARS]
        if self.table is not None and self.table.has(name, batch_size, gpus, self.gpu_type):
            rate = self.table.lookup(name, batch_size, gpus, self.gpu_type) * batch_size
            if rate > 0:
                return rate, "profile"
        if same_gang:
            near = min(same_gang, key=lambda m: (abs(math.log(m.batch_size / batch_size)),
                                                 m.batch_size))
            return near.samples_per_s, "nearest"
        hint = job.spec.expected_samples_per_s
        if hint is not None and hint > 0:
            return float(hint), "hint"
        return self.default_samples_per_s, "default"


def job_view(job: JobRow, measured: Sequence[Speed], speeds: SpeedModel,
             round_index: int, gpu_type: str = "v100") -> JobView:
    """The job as the planner sees it; ``gpu_type`` is the cluster's (one type: its speed is
    its rate there)."""
    spec = job.spec
    batch = max(1, job.batch_size)
    speed, _ = speeds.speed(job, measured, batch)
    total = spec.samples
    per_epoch = max(1, job.samples_per_epoch)
    epochs = max(1, math.ceil(total / per_epoch))
    sizes = speeds.schedule(job, epochs) or [batch] * epochs
    rates = {b: speeds.speed(job, measured, b)[0] for b in set(sizes)}
    durations = np.array([per_epoch / rates[b] for b in sizes])
    durations[-1] = (total - per_epoch * (epochs - 1)) / rates[sizes[-1]]
    profile = JobProfile(num_epochs=epochs, samples_per_epoch=per_epoch,
                         batch_size_every_epoch=tuple(sizes), duration_every_epoch=durations)
    job_spec = JobSpec(
        job_id=job.id, model=spec.model_name[:_MAX_MODEL_CHARS], batch_size=spec.batch_size,
        gpus=spec.gpus, mode=spec.adaptation,
        total_steps=max(1, math.ceil(total / spec.batch_size)), arrival_s=job.submitted_s,
        duration_s=total / speed, priority_weight=spec.priority_weight)
    return JobView(
        spec=job_spec, profile=profile, batch_size=batch, throughput=speed / batch,
        total_steps=total / batch, steps_done=min(job.samples, total) / batch,
        admitted_s=job.submitted_s, rounds_received=job.rounds_received,
        attained_s=job.attained_s, ran_last_round=job.last_round_ran == round_index - 1,
        throughputs_by_type={gpu_type: speed / batch},
        throughput_timeline=tuple((int(r), float(t), int(b)) for r, t, b in job.timeline))


def cluster_view(jobs: Sequence[JobRow], settings: Settings, *, now_s: float, round_index: int,
                 cluster: Cluster, speeds: SpeedModel | None = None,
                 measured: Mapping[int, Sequence[Speed]] | None = None) -> ClusterView:
    """The view of ``jobs`` (the ones the planner knows) at the boundary of ``round_index``."""
    speeds = speeds or SpeedModel(default_samples_per_s=settings.default_samples_per_s)
    measured = measured or {}
    views = {job.id: job_view(job, measured.get(job.id, ()), speeds, round_index,
                              cluster.gpu_type)
             for job in sorted(jobs, key=lambda j: j.id)}
    return ClusterView(now_s=now_s, round_index=round_index, round_s=settings.round_s,
                       cluster=cluster, jobs=views, throughputs=_NO_TABLE, compat="fixed",
                       num_trace_jobs=len(views))
