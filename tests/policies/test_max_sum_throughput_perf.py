"""Heterogeneity-aware max-sum-throughput: hand-solved LPs, the constraints, never below the
agnostic split's total, and the homogeneous knapsack on one GPU type."""

from __future__ import annotations

import numpy as np
import pytest
from hetero_helpers import TJ, as_matrix, assert_typed_feasible, typed_problems, typed_view
from hypothesis import assume, given, settings
from policy_helpers import J, make_view

from shockwave.policies import make_policy
from shockwave.policies.heterogeneous import (
    effective_throughputs,
    proportional_split,
    runnable_rates,
    spread,
)
from shockwave.policies.max_sum_throughput import MaxSumThroughput, max_sum_throughput_shares
from shockwave.policies.max_sum_throughput_perf import (
    MaxSumThroughputPerf,
    max_sum_throughput_perf_shares,
)


def _total(x: np.ndarray, rates: np.ndarray) -> float:
    return float(effective_throughputs(rates, x).sum())


def test_each_job_gets_the_type_where_it_adds_most() -> None:
    """(v100: 1, k80: 1), 1-GPU jobs at (3, 1) and (2, 1.5) it/s: job 0 on the v100 and job 1 on
    the k80 make 4.5 it/s, the swap 3.5; the agnostic split (both jobs half of each type)
    3.75. The constraints form a transportation polytope with integral vertices, so the best
    assignment is the unique optimum."""
    rates = np.array([[3.0, 1.0], [2.0, 1.5]])
    x = max_sum_throughput_perf_shares(rates, np.ones(2), np.array([1, 1]))
    assert x == pytest.approx(np.eye(2), abs=1e-9)
    assert _total(x, rates) == pytest.approx(4.5)
    assert _total(spread(np.ones(2), np.array([1, 1])), rates) == pytest.approx(3.75)


def test_gang_widths_count_against_the_type() -> None:
    """(v100: 2, k80: 2): a 2-GPU job at gang rates (5, 2), 1-GPU jobs at (3, 2) and (1, 1).
    Best: the 2-GPU job on both v100s, the others on the k80s: 5 + 2 + 1 = 8 it/s. Duals
    p_v = 2.25, p_k = 1 with row prices 0.5, 1, 0 price every unused pair strictly below its
    rate (job 1 on v100: 3 < 3.25; job 2 on v100: 1 < 2.25; job 0 on k80: 2 < 2.5): unique."""
    rates = np.array([[5.0, 2.0], [3.0, 2.0], [1.0, 1.0]])
    x = max_sum_throughput_perf_shares(rates, np.array([2, 1, 1]), np.array([2, 2]))
    assert x == pytest.approx(np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]]), abs=1e-9)
    assert _total(x, rates) == pytest.approx(8.0)


def test_a_type_too_small_for_the_gang_is_not_used() -> None:
    """A 4-GPU job fastest on the 2 k80s runs on the 4 v100s; a fractional k80 share would never
    be placed."""
    x = max_sum_throughput_perf_shares(np.array([[1.0, 50.0]]), np.array([4]), np.array([4, 2]))
    assert x.tolist() == [[1.0, 0.0]]


def test_the_policy_returns_typed_shares_on_a_typed_cluster() -> None:
    view = typed_view([TJ((3.0, 1.0)), TJ((2.0, 1.5))], [("v100", 1), ("k80", 1)])
    shares = MaxSumThroughputPerf().allocate(view)
    assert as_matrix(shares, ["v100", "k80"]) == pytest.approx(np.eye(2), abs=1e-9)


def test_the_policy_is_max_sum_throughput_on_one_type() -> None:
    """Flat shares, equal to the plain policy's (central-path point included) to the bit."""
    jobs = [TJ((2.0,)), TJ((5.0,), gpus=2), TJ((1.0,), gpus=4), TJ((3.0,))]
    flat = MaxSumThroughput().allocate(make_view(
        [J(thr=j.rates[0], gpus=j.gpus) for j in jobs], num_gpus=4))
    assert MaxSumThroughputPerf().allocate(typed_view(jobs, [("v100", 4)])) == flat


@pytest.mark.parametrize("name", ["max_sum_throughput_perf", "mst_perf"])
def test_registry_names(name: str) -> None:
    policy = make_policy(name)
    assert type(policy) is MaxSumThroughputPerf and policy.name == "max_sum_throughput_perf"


@settings(max_examples=50, deadline=None)
@given(problem=typed_problems())
def test_shares_are_feasible_and_no_worse_than_the_agnostic_split(problem) -> None:
    """The agnostic optimum (the knapsack on proportional throughputs, spread by type size, on
    the pairs where the job can run) is feasible here, so its total is a lower bound."""
    rates, gpus, counts = problem
    x = max_sum_throughput_perf_shares(rates, gpus, counts)
    assert_typed_feasible(x, rates, gpus, counts)
    runnable = runnable_rates(rates, gpus, counts)
    prop = effective_throughputs(runnable, proportional_split(len(gpus), counts))
    flat = max_sum_throughput_shares(prop, gpus, int(counts.sum()))
    agnostic = np.where(runnable > 0, spread(flat, counts), 0.0)
    assert _total(x, runnable) >= _total(agnostic, runnable) * (1 - 1e-7) - 1e-9


@settings(max_examples=50, deadline=None)
@given(problem=typed_problems(types=(1, 1), zeros=False, fit=True))
def test_on_one_type_it_is_the_knapsack(problem) -> None:
    """The same shares as ``max_sum_throughput_shares`` when rates per GPU are distinct (then
    the optimum is unique)."""
    rates, gpus, counts = problem
    ratio = rates[:, 0] / gpus
    assume(len(set(ratio.tolist())) == ratio.size)
    x = max_sum_throughput_perf_shares(rates, gpus, counts)
    expected = max_sum_throughput_shares(rates[:, 0], gpus, int(counts[0]))
    assert x[:, 0] == pytest.approx(expected, abs=1e-7)
