"""Invariants of the simulator on random small traces and clusters (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sim_strategies import THROUGHPUTS, traces

from shockwave import Cluster, JobSpec, make_sim_config, simulate
from shockwave.sim.batch_size import exclusive_run_time_s
from shockwave.sim.state import JobState
from shockwave.workload.adaptation import build_profile

POLICIES = ["fifo", "gandiva_fair", "isolated", "max_min_fairness", "allox",
            "min_total_duration", "max_sum_throughput", "finish_time_fairness"]


def _exclusive_s(spec: JobSpec) -> float:
    profile = build_profile(spec, THROUGHPUTS)
    state = JobState(spec=spec, profile=profile, batch_size=spec.batch_size,
                     throughput=THROUGHPUTS.lookup(spec.model, spec.batch_size, spec.gpus),
                     total_steps=spec.total_steps, admitted_s=0.0)
    state.total_epochs = spec.total_steps / state.iterations_per_epoch
    return exclusive_run_time_s(state, THROUGHPUTS)


@pytest.mark.parametrize("compat", ["fixed", "reference"])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(jobs=traces(), num_gpus=st.integers(min_value=4, max_value=12),
       per_server=st.sampled_from([1, 2, 4]), policy=st.sampled_from(POLICIES))
def test_random_runs_respect_capacity_gangs_and_finish_every_job(compat, jobs, num_gpus, per_server, policy):
    cluster = Cluster(num_gpus - num_gpus % per_server, per_server)  # whole servers
    result = simulate(jobs, cluster, policy, make_sim_config(compat))
    specs = {job.job_id: job for job in jobs}
    for placements in result.schedule:
        used = [gpu for ids in placements.values() for gpu in ids]
        assert len(used) == len(set(used)) <= num_gpus
        for job_id, ids in placements.items():
            assert len(ids) == specs[job_id].gpus  # a gang runs whole or not at all
    done = {r.job_id for r in result.records}
    if compat == "fixed":
        assert done == set(specs)
    else:  # the reference stops early when the cluster drains before the next arrival
        assert done >= {j for j, spec in specs.items() if spec.arrival_s <= result.makespan_s}
        assert result.stats["never_admitted"] == len(specs) - len(done)
    assert result.stats["unfinished_jobs"] == 0
    for record in result.records:
        assert record.completion_s >= specs[record.job_id].arrival_s
        if compat == "fixed":
            assert record.jct_s >= _exclusive_s(specs[record.job_id]) - 1e-6


def test_a_trace_with_an_idle_gap_runs_every_job_in_the_default_mode():
    """The reference stops when the cluster drains before the next arrival (SPEC 3.2 step 6)."""
    jobs = [
        JobSpec(0, "LM", 20, 1, "static", total_steps=5000, arrival_s=0, duration_s=0),
        JobSpec(1, "LM", 20, 1, "static", total_steps=5000, arrival_s=50_000, duration_s=0),
    ]
    fixed = simulate(jobs, Cluster(2), "gandiva_fair", make_sim_config("fixed"))
    assert [r.job_id for r in fixed.records] == [0, 1]
    assert fixed.records[1].completion_s > 50_000
    reference = simulate(jobs, Cluster(2), "gandiva_fair", make_sim_config("reference"))
    assert [r.job_id for r in reference.records] == [0]


def test_same_inputs_give_identical_results():
    jobs = [JobSpec(i, "ResNet-18", 32, 1 + i % 2, "gns", total_steps=40_000, arrival_s=10.0 * i,
                    duration_s=0) for i in range(6)]
    first = simulate(jobs, Cluster(4), "max_min_fairness")
    second = simulate(jobs, Cluster(4), "max_min_fairness")
    assert first.records == second.records and first.schedule == second.schedule


def test_a_gang_wider_than_the_cluster_is_refused():
    from shockwave.errors import InputError

    jobs = [JobSpec(0, "ResNet-18", 32, 8, "static", total_steps=100, arrival_s=0, duration_s=0)]
    with pytest.raises(InputError, match="needs 8 GPUs but the cluster has 4"):
        simulate(jobs, Cluster(4), "fifo")


def test_a_run_that_cannot_finish_within_its_round_cap_says_so():
    from shockwave.errors import ShockwaveError

    jobs = [JobSpec(0, "LM", 20, 1, "static", total_steps=10**7, arrival_s=0, duration_s=0)]
    with pytest.raises(ShockwaveError, match=r"did not finish within 3 rounds; 1 job\(s\) could "
                       r"not complete: job 0 \(line 1, 2 rounds received\)"):
        simulate(jobs, Cluster(1), "fifo", make_sim_config("fixed", max_rounds=3))
