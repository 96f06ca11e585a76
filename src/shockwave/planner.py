"""``RoundPlanner``: when to re-plan, the policy, then the mechanism. Both drivers (the simulator
and the service) call it at every round boundary, so they make the same schedule."""

from __future__ import annotations

from collections.abc import Mapping

from shockwave.config import SimConfig
from shockwave.mechanism import (
    ServerLayout,
    TypedAccounting,
    fastest_types,
    place_gangs,
    select_typed_gangs,
    selectable_pairs,
    shares_by_type,
)
from shockwave.model import Cluster, JobId, RoundPlan
from shockwave.policies.base import ClusterView, Policy


class RoundPlanner:
    """Turns a policy's shares into one round's placement.

    Time-share policies (``plans_rounds = False``) are re-solved when the job set changed (and, in
    the default mode, when a batch size changed), at most once per
    ``config.min_reallocation_interval_s``; between re-solves Gavel's priorities decide each round.
    Round-planning policies are asked every round and their chosen jobs are placed as they are.

    On a cluster of several GPU types the priorities are per (job, type) and each chosen job
    runs on one type (``mechanism``); a round-planning policy's chosen jobs each get the
    fastest type for them that still has room. Gangs are then placed type by type, on that
    type's servers.
    """

    def __init__(self, policy: Policy, cluster: Cluster, config: SimConfig) -> None:
        self.policy = policy
        self.cluster = cluster
        self.config = config
        self.accounting = TypedAccounting(round_s=config.round_s, gpu_types=cluster.gpu_types,
                                          deficit_resolution_s=config.deficit_resolution_s)
        self.needs_allocation = False
        self.allocations_computed = 0
        self._previous: dict[JobId, tuple[int, ...]] = {}
        self._layout(cluster)

    def _layout(self, cluster: Cluster) -> None:
        """The cluster's types, their GPU counts and servers, looked up once per cluster (every
        round reads them; ``place_gangs`` never changes a ``ServerLayout``)."""
        self._types = cluster.gpu_types
        self._counts = {t: cluster.count(t) for t in self._types}
        self._servers = {t: ServerLayout.of(cluster.servers_of(t)) for t in self._types}

    # Events reported by the driver -------------------------------------------------------
    def job_added(self, job_id: JobId) -> None:
        self.accounting.add_job(job_id)
        self.needs_allocation = True

    def job_removed(self, job_id: JobId) -> None:
        self.accounting.remove_job(job_id)
        self.needs_allocation = True

    def job_ran(self, job_id: JobId, exec_s: float, gpu_type: str | None = None) -> None:
        """``job_id`` ran ``exec_s`` on GPUs of ``gpu_type`` (default: the cluster's first
        type, so a driver of a one-type cluster need not say)."""
        self.accounting.record_run(job_id, gpu_type or self._types[0], exec_s)

    def batch_size_changed(self, job_id: JobId) -> None:
        if not self.config.reference:
            self.needs_allocation = True

    def cluster_changed(self, cluster: Cluster) -> None:
        """Servers left or came back (the service on a multi-node cluster): place on
        ``cluster`` from now on, with shares re-solved for it. Its GPU types must be the
        ones the planner started with (time received is kept per type)."""
        if cluster.gpu_types != self.cluster.gpu_types:
            raise ValueError(f"the cluster's GPU types changed from {self.cluster.gpu_types} "
                             f"to {cluster.gpu_types}")
        self.cluster = cluster
        self._layout(cluster)
        self.needs_allocation = True

    # The decision -------------------------------------------------------------------------
    def next_round(self, view: ClusterView) -> RoundPlan:
        """The placement for the round starting at ``view.now_s``."""
        if self.policy.plans_rounds:
            chosen, gpus = self._planned_round(view)
        else:
            chosen, gpus = self._time_share_round(view)
        placements: dict[JobId, tuple[int, ...]] = {}
        for gpu_type in self._types:
            jobs = chosen.get(gpu_type)
            if not jobs:
                continue
            placements.update(place_gangs(jobs, gpus, self._servers[gpu_type], self._previous))
        self._previous = placements
        return RoundPlan(round_index=view.round_index, placements=placements)

    def _capacity(self) -> dict[str, int]:
        return dict(self._counts)

    def _planned_round(self, view: ClusterView) -> tuple[dict[str, list[JobId]], dict[JobId, int]]:
        """A round-planning policy's jobs for this round (share >= 0.5), each on the fastest
        type with room; a typed share restricts the job to the types it gives >= 0.5. With
        the gang widths of the jobs it wanted, which placing the chosen ones reads."""
        shares = self.policy.allocate(view)
        wanted, allowed = [], {}
        types = self._types
        for job_id, share in shares.items():
            if job_id not in view.jobs:
                continue
            if isinstance(share, Mapping):
                allowed[job_id] = [t for t in types if share.get(t, 0.0) >= 0.5]
                if allowed[job_id]:
                    wanted.append(job_id)
            elif share >= 0.5:
                allowed[job_id] = list(types)
                wanted.append(job_id)
        gpus = {j: view.jobs[j].gpus for j in wanted}
        rates = {j: view.jobs[j].throughputs_by_type for j in wanted}
        return fastest_types(wanted, gpus, rates, self._capacity(), allowed), gpus

    def _time_share_round(self, view: ClusterView,
                          ) -> tuple[dict[str, list[JobId]], dict[JobId, int]]:
        """Gavel's round: re-solve when due, then the (job, type) pairs it may choose by
        priority, greedily. With every job's gang width, which placing the chosen ones reads
        (one map for every type, not one per type)."""
        accounting = self.accounting
        if self.needs_allocation and (
            view.now_s - accounting.last_reset_s >= self.config.min_reallocation_interval_s
            or accounting.last_reset_s == 0
        ):
            accounting.reset_by_type(view.now_s,
                                     shares_by_type(self.policy.allocate(view), self.cluster))
            self.needs_allocation = False
            self.allocations_computed += 1
        rates = {j: job.throughputs_by_type for j, job in view.jobs.items()}
        reference = self.config.reference
        pairs = selectable_pairs(accounting, rates, unallocated=reference,
                                 zero_priority=getattr(self.policy, "work_conserving", True))
        gpus = {j: job.spec.gpus for j, job in view.jobs.items()}
        selected = select_typed_gangs(pairs, gpus, self._capacity())
        if not reference:
            # The default mode never selects a job without a share (``unallocated`` is off).
            return selected, gpus
        allocated = accounting.allocated_jobs()
        # The reference selects jobs that arrived after the last allocation but cannot place
        # them, so their GPUs idle for the round (docs/simulator.md, row 4).
        return {t: [j for j in jobs if j in allocated] for t, jobs in selected.items()}, gpus
