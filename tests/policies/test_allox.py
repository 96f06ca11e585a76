"""AlloX: SciPy-1.5 matching, shortest-remaining-first per GPU, memory across calls."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from policy_helpers import J, assert_feasible, make_view
from scipy.optimize import linear_sum_assignment

from shockwave.policies import make_policy
from shockwave.policies.allox import Allox, linear_sum_assignment_v15


@pytest.mark.parametrize("shape", [(1, 1), (3, 3), (4, 9), (6, 24), (5, 3)])
def test_matching_is_optimal_like_scipy(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(sum(shape))
    cost = rng.uniform(0, 100, shape)
    rows, cols = linear_sum_assignment_v15(cost)
    ref_rows, ref_cols = linear_sum_assignment(cost)
    assert cost[rows, cols].sum() == pytest.approx(cost[ref_rows, ref_cols].sum())
    assert list(cols) == list(ref_cols)


def test_constant_costs_give_the_identity() -> None:
    """SciPy 1.5 scans columns from the last, so a constant matrix yields the identity."""
    rows, cols = linear_sum_assignment_v15(np.ones((3, 5)))
    assert list(rows) == [0, 1, 2] and list(cols) == [0, 1, 2]


def test_shortest_job_runs_first_on_the_gpu() -> None:
    """One GPU, two jobs: running the 10-step job first costs 10 + 110 < 100 + 110."""
    shares = Allox(alpha=1.0).allocate(make_view([J(rem=100), J(rem=10)], num_gpus=1))
    assert shares == {0: 0.0, 1: 1.0}


def test_only_the_oldest_jobs_are_considered() -> None:
    """alpha * m = 0.4 rounds down, so only as many jobs as free GPUs (the oldest) are matched."""
    view = make_view([J(rem=100, arrival_s=-50.0), J(rem=10)], num_gpus=1)
    assert Allox().allocate(view) == {0: 1.0, 1: 0.0}


def test_allocation_is_kept_until_the_job_leaves() -> None:
    policy = Allox()
    policy.allocate(make_view([J(rem=100, arrival_s=-50.0), J(rem=10)], num_gpus=1))
    again = policy.allocate(make_view([J(rem=90, arrival_s=-50.0), J(rem=10)], num_gpus=1))
    assert again == {0: 1.0, 1: 0.0}
    after = policy.allocate(make_view([J(rem=10)], num_gpus=1, ids=[1]))
    assert after == {1: 1.0}


def test_gangs_get_one_over_their_width() -> None:
    shares = Allox().allocate(make_view([J(gpus=2), J(gpus=4)], num_gpus=2))
    assert shares == {0: 0.5, 1: 0.25}


def test_alpha_is_a_parameter() -> None:
    assert make_policy("allox", alpha=0.5).alpha == 0.5


@settings(max_examples=40, deadline=None)
@given(
    jobs=st.lists(
        st.builds(J, rem=st.floats(1.0, 1e4), thr=st.floats(0.1, 50.0),
                  arrival_s=st.sampled_from([0.0, 100.0, 200.0])),
        min_size=1, max_size=12,
    ),
    num_gpus=st.sampled_from([1, 2, 4]),
)
def test_never_more_jobs_than_gpus(jobs: list[J], num_gpus: int) -> None:
    view = make_view(jobs, num_gpus=num_gpus, now_s=300.0)
    shares = Allox().allocate(view)
    assert_feasible(shares, view)
    assert sum(1 for x in shares.values() if x > 0) <= num_gpus
