"""The simulator keeps job views between rounds (``RoundRunner.views``): every kept view must
equal the view built from scratch from the job's state, in every round of random runs."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sim_strategies import traces

from shockwave import Cluster, make_sim_config, simulate
from shockwave.sim.progress import RoundRunner

POLICIES = ["fifo", "gandiva_fair", "max_min_fairness", "min_total_duration", "allox",
            "max_sum_throughput", "finish_time_fairness", "shockwave"]


@pytest.mark.parametrize("compat", ["fixed", "reference"])
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(jobs=traces(), num_gpus=st.integers(min_value=4, max_value=8),
       policy=st.sampled_from(POLICIES))
def test_kept_views_equal_views_built_from_scratch(compat, jobs, num_gpus, policy):
    kept_views = RoundRunner.views
    rounds = []

    def checked(runner: RoundRunner, round_index: int):
        views = kept_views(runner, round_index)
        fresh = {j: runner.active[j].view(round_index) for j in sorted(runner.active)}
        assert list(views) == list(fresh)
        assert views == fresh
        rounds.append(round_index)
        return views

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(RoundRunner, "views", checked)
        simulate(jobs, Cluster(num_gpus), policy, make_sim_config(compat))
    assert rounds
