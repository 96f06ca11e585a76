"""The RoundPlanner by hand (docs/simulator.md, step 4): which shares of a round-planning policy
mean "runs this round", when a time-share policy is re-solved, and which jobs the mechanism may
pick between re-solves."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from shockwave.config import make_sim_config
from shockwave.model import Cluster, JobSpec
from shockwave.planner import RoundPlanner
from shockwave.policies.base import ClusterView, JobView
from shockwave.workload.adaptation import JobProfile
from shockwave.workload.throughput import load_throughputs


def job(job_id: int, throughput: float = 1.0, gpus: int = 1) -> JobView:
    spec = JobSpec(job_id=job_id, model="ResNet-18", batch_size=32, gpus=gpus, mode="static",
                   total_steps=1000, arrival_s=0.0, duration_s=1000.0)
    profile = JobProfile(1, 1000, (32,), np.array([1000.0]))
    return JobView(spec=spec, profile=profile, batch_size=32, throughput=throughput,
                   total_steps=1000.0, steps_done=0.0, admitted_s=0.0, rounds_received=0,
                   attained_s=0.0, ran_last_round=False,
                   throughputs_by_type={"v100": throughput})


def view(jobs: list[JobView], now_s: float = 0.0, num_gpus: int = 4, round_index: int = 0):
    return ClusterView(now_s=now_s, round_index=round_index, round_s=120.0,
                       cluster=Cluster(num_gpus), jobs={j.job_id: j for j in jobs},
                       throughputs=load_throughputs())


class Shares:
    """A policy returning fixed shares (and counting its calls)."""

    name: ClassVar[str] = "shares"

    def __init__(self, shares: dict[int, float], plans_rounds: bool = False,
                 work_conserving: bool = True) -> None:
        self.shares = shares
        self.plans_rounds = plans_rounds
        self.work_conserving = work_conserving
        self.calls: list[float] = []

    def allocate(self, v: ClusterView) -> dict[int, float]:
        self.calls.append(v.now_s)
        return {j: x for j, x in self.shares.items() if j in v.jobs or j >= 90}


def planner(policy, **config) -> RoundPlanner:
    return RoundPlanner(policy, Cluster(4), make_sim_config("fixed", **config))


def test_a_round_plan_runs_the_jobs_with_a_share_of_at_least_one_half():
    p = planner(Shares({0: 0.5, 1: 0.49, 2: 0.0, 3: 1.0, 99: 1.0}, plans_rounds=True))
    plan = p.next_round(view([job(0), job(1), job(2), job(3)]))
    assert sorted(plan.placements) == [0, 3]  # job 99 is not in the view
    assert plan.round_index == 0


def test_a_fresh_planner_solves_nothing_until_a_job_arrives():
    policy = Shares({})
    p = planner(policy)
    assert p.next_round(view([])).placements == {}
    assert policy.calls == [] and p.allocations_computed == 0


def test_a_change_is_solved_once_the_interval_has_passed_exactly():
    policy = Shares({0: 1.0, 1: 1.0})
    p = planner(policy, min_reallocation_interval_s=100.0)
    p.job_added(0)
    p.next_round(view([job(0)], now_s=10.0))  # the first allocation is always made
    p.job_added(1)
    p.next_round(view([job(0), job(1)], now_s=109.0))  # too soon
    p.next_round(view([job(0), job(1)], now_s=110.0))
    assert policy.calls == [10.0, 110.0]
    assert p.allocations_computed == 2
    p.next_round(view([job(0), job(1)], now_s=300.0))  # nothing changed since
    assert p.allocations_computed == 2


def test_jobs_without_throughput_are_never_picked():
    policy = Shares({0: 0.5, 1: 0.5, 2: 0.5})
    p = planner(policy)
    for j in (0, 1, 2):
        p.job_added(j)
    plan = p.next_round(view([job(0, throughput=0.0), job(1, throughput=0.5), job(2)]))
    assert sorted(plan.placements) == [1, 2]


def test_a_policy_that_is_not_work_conserving_leaves_zero_priority_jobs_out():
    jobs = [job(0), job(1)]
    for conserving, placed in ((True, [0, 1]), (False, [0])):
        p = planner(Shares({0: 1.0, 1: 0.0}, work_conserving=conserving))
        p.job_added(0)
        p.job_added(1)
        assert sorted(p.next_round(view(jobs)).placements) == placed, conserving


def test_a_changed_cluster_is_placed_on_and_re_solved_for():
    policy = Shares({0: 1.0})
    p = planner(policy)
    p.job_added(0)
    assert p.next_round(view([job(0, gpus=2)])).placements == {0: (0, 1)}
    assert len(policy.calls) == 1 and p.needs_allocation is False
    p.cluster_changed(Cluster.from_layout([[2, 3]]))  # the server of GPUs 0-1 left
    plan = p.next_round(view([job(0, gpus=2)], now_s=1e6, num_gpus=2))
    assert len(policy.calls) == 2 and plan.placements == {0: (2, 3)}
