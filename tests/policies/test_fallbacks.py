"""Each LP/solver policy's defined fallback (docs/baseline-policies.md, "When a solve fails"), and
the numerical cases that used to need one: ties up to rounding, degenerate boxes, negative
denominators."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from policy_helpers import J, assert_feasible, make_view

from shockwave import solver
from shockwave.errors import SolverError
from shockwave.policies import allox, max_min_fairness, max_sum_throughput, min_total_duration
from shockwave.policies.allox import Allox
from shockwave.policies.finish_time_fairness import FinishTimeFairness, min_max_rho_shares
from shockwave.policies.isolated import Isolated
from shockwave.policies.max_min_fairness import MaxMinFairness
from shockwave.policies.max_sum_throughput import MaxSumThroughput
from shockwave.policies.min_total_duration import MinTotalDuration


@pytest.fixture(autouse=True)
def _no_runtime_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        yield


def _fail(*args, **kwargs):
    raise SolverError("forced failure")


def test_a_bound_equal_to_one_up_to_rounding_is_not_centred():
    """Issue 8, case (a): an interval [1 - 2e-16, 1] left Newton's method nothing to work on."""
    lower = np.array([0.9999999999999998, 0.2])
    x = solver.box_knapsack_center(lower, np.array([1.0, 1.0]), 1.9)
    assert lower[0] <= x[0] <= 1.0 and 0.2 < x[1] < 1.0
    assert x.sum() <= 1.9


def test_the_start_point_replaces_a_centre_that_does_not_converge(monkeypatch):
    monkeypatch.setattr(solver, "_damped_newton", _fail)
    lower, weights = np.array([0.1, 0.3]), np.array([1.0, 2.0])
    x = solver.box_knapsack_interior(lower, weights, 2.0)
    assert x == pytest.approx(solver.box_knapsack_start(lower, weights, 2.0))
    assert np.all(x > lower) and np.all(x < 1) and weights @ x < 2.0
    with pytest.raises(SolverError, match="no interior"):
        solver.box_knapsack_interior(np.array([0.9]), np.array([2.0]), 1.0)


def test_themis_with_finish_time_ratios_tied_up_to_rounding():
    """The shares of issue 8's four jobs at 720 s: all full-speed ratios are 1 up to rounding."""
    x = min_max_rho_shares(
        np.array([620666.148176, 76136.67860400002, 187991.7765568]),
        np.array([169.3497942, 36.34211305, 46.82253256]),
        np.full(3, 720.0000000000001),
        np.array([4384.99499516959, 2814.998672731276, 4734.985227804602]),
        np.array([1.0, 2.0, 1.0]), 8,
    )
    assert x == pytest.approx([1.0, 1.0, 1.0])


def test_themis_falls_back_to_isolated_when_a_denominator_is_not_positive():
    """Issue 8, case (b): isolated time accumulated across batch-size changes went negative. The
    reference's SOCP is then not convex (DCPError) and it falls back to Isolated, as we do."""
    view = make_view([J(thr=2.0, rem=500.0), J(thr=1.0, rem=100.0), J(gpus=2)], num_gpus=2, now_s=60.0)
    policy = FinishTimeFairness(isolated_time_s={0: -1e6, 1: 0.0, 2: 0.0})
    policy._prev_steps = {j: job.remaining_steps for j, job in view.jobs.items()}
    policy._prev_isolated_thr = {0: 1.0, 1: 1.0, 2: 1.0}
    policy._prev_batch = {0: 32, 1: 32, 2: 32}
    assert policy.allocate(view) == Isolated().allocate(view)


@pytest.mark.parametrize(("compat", "expected_s"), [("fixed", 10.0), ("reference", -80.0)])
def test_themis_counts_progress_across_a_batch_size_change(compat, expected_s):
    """100 iterations left at batch size 32, then 180 left at batch size 16 (= 90 at 32): the job
    did 10 iterations' worth of samples. The default mode credits 10 s of isolated time (one job
    alone, 1 it/s); the reference's iteration count credits 100 - 180 = -80 s (issue 8, case b)."""
    from dataclasses import replace

    first = make_view([J(thr=1.0, rem=100.0)], num_gpus=1)
    first = replace(first, compat=compat)
    policy = FinishTimeFairness()
    policy.allocate(first)
    job = first.jobs[0]
    shrunk = replace(job, batch_size=16, total_steps=180.0, steps_done=0.0)
    policy.allocate(replace(first, now_s=10.0, jobs={0: shrunk}))
    assert policy.isolated_time_s[0] == pytest.approx(expected_s)


@pytest.mark.parametrize(("module", "cls", "attribute"), [
    (max_min_fairness, MaxMinFairness, "max_min_shares"),
    (min_total_duration, MinTotalDuration, "min_total_duration_shares"),
])
def test_time_share_lps_fall_back_to_isolated(monkeypatch, module, cls, attribute):
    view = make_view([J(thr=2.0), J(rem=50.0), J(gpus=2, weight=2.0)], num_gpus=2)
    monkeypatch.setattr(module, attribute, _fail)
    assert cls().allocate(view) == Isolated().allocate(view)


@pytest.mark.parametrize(("module", "cls"), [
    (max_min_fairness, MaxMinFairness), (min_total_duration, MinTotalDuration),
])
def test_an_uncentred_optimum_when_only_the_centring_fails(monkeypatch, module, cls):
    view = make_view([J(thr=2.0, rem=400.0), J(rem=50.0), J(gpus=2, rem=10.0)], num_gpus=4)
    exact = cls().allocate(view)
    monkeypatch.setattr(solver, "_damped_newton", _fail)
    shares = cls().allocate(view)
    assert_feasible(shares, view)
    assert shares != exact and shares != Isolated().allocate(view)


def test_max_sum_throughput_splits_a_tie_evenly_when_centring_fails(monkeypatch):
    monkeypatch.setattr(max_sum_throughput, "_center_on_slice", _fail)
    # Job 0 (1 step/s per GPU) fills one GPU; jobs 1 and 2 tie at 0.5 and share the other.
    view = make_view([J(thr=1.0), J(thr=1.0, gpus=2), J(thr=0.5)], num_gpus=2)
    x = max_sum_throughput.max_sum_throughput_shares(
        np.array([1.0, 1.0, 0.5]), np.array([1.0, 2.0, 1.0]), 2)
    assert x == pytest.approx([1.0, 1 / 3, 1 / 3])
    assert_feasible(MaxSumThroughput().allocate(view), view)


def test_allox_keeps_its_previous_allocation_when_the_matching_fails(monkeypatch):
    view = make_view([J(), J(rem=10.0), J(rem=30.0)], num_gpus=1)
    policy = Allox()
    first = policy.allocate(view)

    def broken(*args, **kwargs):
        raise ValueError("cost matrix is infeasible")

    monkeypatch.setattr(allox, "positional_assignment", broken)
    policy.previous = {**first, 0: 0.0, 1: 0.0, 2: 0.0}
    assert policy.allocate(view) == {0: 0.0, 1: 0.0, 2: 0.0}
