"""Max-sum-throughput: the fractional knapsack by step rate per GPU, ties at the centre."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from policy_helpers import J, assert_feasible, make_view

from shockwave.policies import make_policy
from shockwave.policies.max_sum_throughput import (
    MaxSumThroughput,
    _center_on_slice,
    max_sum_throughput_shares,
)
from shockwave.solver import central_point, solve_lp


def test_fastest_jobs_take_the_gpus() -> None:
    view = make_view([J(thr=10), J(thr=5), J(thr=1)], num_gpus=2)
    assert MaxSumThroughput().allocate(view) == pytest.approx({0: 1.0, 1: 1.0, 2: 0.0}, abs=1e-9)


def test_left_out_jobs_keep_interior_point_crumbs() -> None:
    """Like an interior-point solver's answer, jobs left out keep a tiny positive share, larger for
    jobs closer to making the cut (x_j ~ mu / reduced cost)."""
    shares = MaxSumThroughput().allocate(
        make_view([J(thr=10), J(thr=5), J(thr=4), J(thr=1)], num_gpus=1)
    )
    assert 0 < shares[3] < shares[2] < shares[1] < 1e-6
    assert shares[0] == pytest.approx(1.0, abs=1e-9)


def test_exact_knapsack_solution() -> None:
    x = max_sum_throughput_shares(np.array([10.0, 5.0, 1.0]), np.ones(3), 2)
    assert list(x) == [1.0, 1.0, 0.0]


def test_rate_per_gpu_decides_and_the_last_job_is_fractional() -> None:
    """Rates per GPU 5, 6, 4: job 1 first, job 0 gets the one GPU left of its two: x = 0.5."""
    view = make_view([J(thr=10, gpus=2), J(thr=6), J(thr=4)], num_gpus=2)
    assert MaxSumThroughput().allocate(view) == pytest.approx({0: 0.5, 1: 1.0, 2: 0.0}, abs=1e-9)


def test_tied_jobs_share_the_remainder_equally() -> None:
    """One fast job, three identical ones for the two GPUs left: 2/3 each."""
    view = make_view([J(thr=10), J(thr=5), J(thr=5), J(thr=5)], num_gpus=3)
    assert MaxSumThroughput().allocate(view) == pytest.approx(
        {0: 1.0, 1: 2 / 3, 2: 2 / 3, 3: 2 / 3}, abs=1e-9
    )


def test_everyone_runs_when_the_cluster_is_big_enough() -> None:
    view = make_view([J(thr=1, gpus=2), J(thr=3)], num_gpus=4)
    assert MaxSumThroughput().allocate(view) == pytest.approx({0: 1.0, 1: 1.0}, abs=1e-9)


def test_registry_aliases() -> None:
    """``mst`` is this policy; ``max_sum_throughput_perf`` (Gavel's name) is now its
    heterogeneity-aware variant, a subclass that returns this policy's shares on one GPU type."""
    assert type(make_policy("mst")) is MaxSumThroughput
    perf = make_policy("max_sum_throughput_perf")
    assert isinstance(perf, MaxSumThroughput) and perf.name == "max_sum_throughput_perf"


@settings(max_examples=60, deadline=None)
@given(
    jobs=st.lists(
        st.builds(J, thr=st.sampled_from([0.5, 1.0, 3.0, 7.5, 20.0]), gpus=st.sampled_from([1, 2, 4])),
        min_size=1,
        max_size=10,
    ),
    num_gpus=st.sampled_from([2, 4, 8]),
)
def test_objective_matches_an_lp_solver(jobs: list[J], num_gpus: int) -> None:
    """Same optimal value as HiGHS on the LP, and feasible."""
    view = make_view(jobs, num_gpus=num_gpus)
    shares = MaxSumThroughput().allocate(view)
    assert_feasible(shares, view)
    thr = np.array([j.thr for j in jobs])
    gpus = np.array([[j.gpus for j in jobs]], dtype=float)
    best = solve_lp(-thr, a_ub=gpus, b_ub=np.array([num_gpus]), bounds=(0.0, 1.0))
    got = sum(view.jobs[i].throughput * x for i, x in shares.items())
    assert got == pytest.approx(-best.objective, rel=1e-8)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(min_value=2, max_value=40), width=st.sampled_from([1.0, 2.0, 4.0, 8.0]),
       fill=st.floats(min_value=0.01, max_value=0.99))
def test_even_point_is_the_newton_centre_of_an_equal_weight_slice(n: int, width: float,
                                                                  fill: float) -> None:
    """The shortcut for tied jobs of equal gangs gives the centre Newton's method finds."""
    weights = np.full(n, width)
    budget = fill * float(weights.sum())
    x0 = np.full(n, budget / float(weights.sum()))
    eye = np.eye(n)
    newton = central_point(np.vstack([-eye, eye]), np.concatenate([np.zeros(n), np.ones(n)]),
                           x0, a_eq=weights[None, :])
    np.testing.assert_allclose(_center_on_slice(weights, budget), newton, rtol=1e-12, atol=1e-14)
