"""Invariants of simulations on random heterogeneous clusters and small random traces
(hypothesis): no type over-committed in any round, every gang on one type (and on one server
when one of its type had room for it), every job completes, each round's progress is at the rate of
the type the job was placed on, and what policies see per type is the table's rate."""

from __future__ import annotations

from unittest import mock

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sim_strategies import THROUGHPUTS, traces

from shockwave import JobSpec, make_sim_config, simulate
from shockwave.errors import InputError
from shockwave.model import Cluster
from shockwave.policies import make_policy
from shockwave.policies.base import ClusterView
from shockwave.sim.progress import RoundRunner
from shockwave.traces.trace import from_jobs
from shockwave.workload.adaptation import load_workload_facts

FACTS = load_workload_facts()
POLICIES = ["fifo", "max_min_fairness", "gandiva_fair", "shockwave", "min_total_duration"]
TYPES = ["v100", "p100", "k80"]


@st.composite
def clusters(draw) -> Cluster:
    kinds = draw(st.lists(st.sampled_from(TYPES), min_size=2, max_size=3, unique=True))
    groups = []
    for gpu_type in kinds:
        per_server = draw(st.sampled_from([1, 2, 3, 4]))
        groups.append((gpu_type, per_server * draw(st.integers(min_value=1, max_value=3)),
                       per_server))
    return Cluster.of_types(groups)


class Watching:
    """A policy that records, every time it is asked, each job's per-type rates and batch
    size, then answers what ``inner`` answers."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.name, self.plans_rounds = inner.name, inner.plans_rounds
        self.work_conserving = getattr(inner, "work_conserving", True)
        self.seen: list[tuple[JobSpec, int, dict[str, float]]] = []

    def allocate(self, view: ClusterView):
        self.seen.extend((job.spec, job.batch_size, dict(job.throughputs_by_type))
                         for job in view.jobs.values())
        return self.inner.allocate(view)


def _runnable(cluster: Cluster, jobs: list[JobSpec]) -> bool:
    try:
        from_jobs(jobs).check_runnable_on(cluster, THROUGHPUTS, FACTS)
    except InputError:
        return False
    return True


def _rate(spec: JobSpec, batch_size: int, gpu_type: str) -> float:
    return THROUGHPUTS.lookup(spec.model, batch_size, spec.gpus, gpu_type)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), cluster=clusters())
@pytest.mark.parametrize("policy_name", POLICIES)
def test_random_heterogeneous_runs_keep_gangs_on_one_type_and_finish(policy_name, data, cluster):
    jobs = data.draw(traces(max_jobs=7, widest=max(count for _, count, _ in cluster.groups),
                                max_duration_s=1200))
    assume(_runnable(cluster, jobs))
    specs = {job.job_id: job for job in jobs}
    policy = Watching(make_policy(policy_name))
    tasks = []
    launch = RoundRunner.launch

    def recording_launch(runner, plan, now_s, round_index):
        launched = launch(runner, plan, now_s, round_index)
        tasks.extend(launched)
        return launched

    with mock.patch.object(RoundRunner, "launch", recording_launch):
        result = simulate(jobs, cluster, policy, make_sim_config("fixed"))

    previous: dict[int, tuple[int, ...]] = {}
    for placements in result.schedule:
        used = [gpu for ids in placements.values() for gpu in ids]
        assert len(used) == len(set(used)) and all(0 <= gpu < cluster.num_gpus for gpu in used)
        for gpu_type in cluster.gpu_types:  # no type over-committed
            assert sum(cluster.type_of(gpu) == gpu_type for gpu in used) <= cluster.count(gpu_type)
        for job_id, ids in placements.items():
            assert len(ids) == specs[job_id].gpus  # the whole gang, or nothing
            kinds = {cluster.type_of(gpu) for gpu in ids}
            assert len(kinds) == 1  # on one type
            gpu_type = kinds.pop()
            assert result.gpu_types[ids[0]] == gpu_type
            servers = cluster.servers_of(gpu_type)
            if previous.get(job_id) != ids and not any(set(ids) <= set(s) for s in servers):
                # across servers only when no server of its type had room for it: none has
                # that many GPUs unused even at the end of the round
                assert all(len(set(s) - set(used)) < len(ids) for s in servers)
        previous = dict(placements)
    assert {r.job_id for r in result.records} == set(specs)  # every job completes
    assert result.stats["unfinished_jobs"] == 0 and result.stats["forced_completions"] == 0
    for task in tasks:  # progress at the rate of the type placed on
        spec, gpu_type = specs[task.job_id], cluster.type_of(task.gpus[0])
        for segment in task.segments:
            assert segment.throughput == _rate(spec, segment.batch_size, gpu_type)
            assert segment.steps == pytest.approx(segment.throughput * segment.duration_s)
        assert task.steps == pytest.approx(sum(s.steps for s in task.segments))
    for spec, batch_size, rates in policy.seen:  # what policies see, per type
        assert set(rates) == set(cluster.gpu_types)
        assert any(rate > 0 for rate in rates.values())
        for gpu_type, rate in rates.items():
            assert rate == 0.0 or rate == _rate(spec, batch_size, gpu_type)
            if spec.gpus > cluster.count(gpu_type):
                assert rate == 0.0
