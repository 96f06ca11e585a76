"""Max-min fairness: hand-computed shares and the capacity invariants."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from policy_helpers import J, assert_feasible, make_view

from shockwave.policies import make_policy
from shockwave.policies.max_min_fairness import MaxMinFairness


def test_equal_jobs_split_a_contended_cluster_evenly() -> None:
    """Two 1-GPU jobs on one GPU get half of it each."""
    shares = MaxMinFairness().allocate(make_view([J(), J()], num_gpus=1))
    assert shares == pytest.approx({0: 0.5, 1: 0.5})


def test_wide_jobs_get_less_time_for_the_same_gpu_share() -> None:
    """With more jobs than GPUs every job gets G/m GPUs: x = G / (m sf)."""
    shares = MaxMinFairness().allocate(make_view([J(gpus=1), J(gpus=1), J(gpus=4)], num_gpus=3))
    assert shares == pytest.approx({0: 1.0, 1: 1.0, 2: 0.25})


def test_priority_weights_scale_the_share() -> None:
    """Weights 1 and 2 on one GPU: x = 1/3 and 2/3."""
    shares = MaxMinFairness().allocate(make_view([J(weight=1), J(weight=2)], num_gpus=1))
    assert shares == pytest.approx({0: 1 / 3, 1: 2 / 3})


def test_slack_goes_to_the_analytic_centre() -> None:
    """A 1-GPU and a 2-GPU job on 4 GPUs: the 1-GPU job is the bottleneck at x = 1; the other job
    may take anything in [0.5, 1] and gets the centre of log(2x-1) + log x + log(1-x) + log(3-2x),
    which is x = 0.75."""
    shares = MaxMinFairness().allocate(make_view([J(gpus=1), J(gpus=2)], num_gpus=4))
    assert shares == pytest.approx({0: 1.0, 1: 0.75}, abs=1e-9)


def test_registry_aliases() -> None:
    assert isinstance(make_policy("gavel"), MaxMinFairness)


def test_no_jobs_no_shares() -> None:
    assert MaxMinFairness().allocate(make_view([], num_gpus=2)) == {}


jobs_strategy = st.lists(
    st.builds(
        J,
        thr=st.floats(0.1, 200.0),
        rem=st.floats(1.0, 1e5),
        gpus=st.sampled_from([1, 2, 4, 8]),
        arrival_s=st.floats(0.0, 5000.0),
        weight=st.sampled_from([1.0, 1.0, 2.0]),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(jobs=jobs_strategy, num_gpus=st.sampled_from([8, 16, 32]))
def test_shares_are_feasible_and_max_min(jobs: list[J], num_gpus: int) -> None:
    view = make_view(jobs, num_gpus=num_gpus, now_s=5000.0)
    shares = MaxMinFairness().allocate(view)
    assert_feasible(shares, view)
    level = min(view.jobs[j].gpus * x / view.jobs[j].spec.priority_weight for j, x in shares.items())
    best = min(
        min(j.gpus / j.weight for j in jobs), num_gpus / sum(j.weight for j in jobs)
    )
    assert level == pytest.approx(best, rel=1e-9)
