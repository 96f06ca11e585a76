"""``RoundPlanner``: when to re-plan, the policy, then the mechanism. Both drivers (the simulator
and the service) call it at every round boundary, so they make the same schedule."""

from __future__ import annotations

from shockwave.config import SimConfig
from shockwave.mechanism import PriorityAccounting, place_gangs, priority_order, select_gangs
from shockwave.model import Cluster, JobId, RoundPlan
from shockwave.policies.base import ClusterView, Policy


class RoundPlanner:
    """Turns a policy's shares into one round's placement.

    Time-share policies (``plans_rounds = False``) are re-solved when the job set changed (and, in
    the default mode, when a batch size changed), at most once per
    ``config.min_reallocation_interval_s``; between re-solves Gavel's priorities decide each round.
    Round-planning policies are asked every round and their chosen jobs are placed as they are.
    """

    def __init__(self, policy: Policy, cluster: Cluster, config: SimConfig) -> None:
        self.policy = policy
        self.cluster = cluster
        self.config = config
        self.accounting = PriorityAccounting(round_s=config.round_s)
        self.needs_allocation = False
        self.allocations_computed = 0
        self._previous: dict[JobId, tuple[int, ...]] = {}

    # Events reported by the driver -------------------------------------------------------
    def job_added(self, job_id: JobId) -> None:
        self.accounting.add_job(job_id)
        self.needs_allocation = True

    def job_removed(self, job_id: JobId) -> None:
        self.accounting.remove_job(job_id)
        self.needs_allocation = True

    def job_ran(self, job_id: JobId, exec_s: float) -> None:
        self.accounting.record_run(job_id, exec_s)

    def batch_size_changed(self, job_id: JobId) -> None:
        if not self.config.reference:
            self.needs_allocation = True

    def cluster_changed(self, cluster: Cluster) -> None:
        """Servers left or came back (the service on a multi-node cluster): place on
        ``cluster`` from now on, with shares re-solved for it."""
        self.cluster = cluster
        self.needs_allocation = True

    # The decision -------------------------------------------------------------------------
    def next_round(self, view: ClusterView) -> RoundPlan:
        """The placement for the round starting at ``view.now_s``."""
        if self.policy.plans_rounds:
            shares = self.policy.allocate(view)
            wanted = [j for j, share in shares.items() if share >= 0.5 and j in view.jobs]
            gpus = {j: view.jobs[j].gpus for j in wanted}
            selected = select_gangs(wanted, gpus, view.num_gpus)
            placeable = selected
        else:
            selected, placeable = self._time_share_round(view)
        gpus = {j: view.jobs[j].gpus for j in placeable}
        placements = place_gangs(placeable, gpus, self.cluster.servers, self._previous)
        self._previous = placements
        return RoundPlan(round_index=view.round_index, placements=placements)

    def _time_share_round(self, view: ClusterView) -> tuple[list[JobId], list[JobId]]:
        accounting = self.accounting
        if self.needs_allocation and (
            view.now_s - accounting.last_reset_s >= self.config.min_reallocation_interval_s
            or accounting.last_reset_s == 0
        ):
            accounting.reset(view.now_s, self.policy.allocate(view))
            self.needs_allocation = False
            self.allocations_computed += 1
        throughputs = {j: job.throughput for j, job in view.jobs.items()}
        order = priority_order(accounting, throughputs)
        fills_idle = getattr(self.policy, "work_conserving", True)
        prio = accounting.priorities(throughputs) if not fills_idle else {}
        eligible = {
            j: throughputs.get(j, 0.0) > 0
            and (fills_idle or prio.get(j, 0.0) > 0)
            and (self.config.reference or j in accounting.allocation)
            for j in order
        }
        gpus = {j: view.jobs[j].gpus for j in order}
        selected = select_gangs(order, gpus, view.num_gpus, eligible=eligible)
        # The reference selects jobs that arrived after the last allocation but cannot place
        # them, so their GPUs idle for the round (docs/simulator.md, row 4); the default mode
        # never selects them.
        placeable = [j for j in selected if j in accounting.allocation]
        return selected, placeable
