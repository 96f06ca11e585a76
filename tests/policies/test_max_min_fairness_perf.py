"""Heterogeneity-aware max-min fairness: hand-solved LPs, the constraints, never worse than the
agnostic split under its own measure, and the homogeneous policy on one GPU type."""

from __future__ import annotations

import numpy as np
import pytest
from hetero_helpers import TJ, as_matrix, assert_typed_feasible, typed_problems, typed_view
from hypothesis import given, settings
from hypothesis import strategies as st
from policy_helpers import J, make_view

from shockwave.errors import SolverError
from shockwave.policies import make_policy
from shockwave.policies import max_min_fairness_perf as module
from shockwave.policies.heterogeneous import (
    effective_throughputs,
    isolated_perf_shares,
    runnable_rates,
    spread,
)
from shockwave.policies.max_min_fairness import MaxMinFairness, max_min_shares
from shockwave.policies.max_min_fairness_perf import (
    MaxMinFairnessPerf,
    max_min_fairness_perf_shares,
    normalised_level_scale,
)

TYPES = [("v100", 1), ("k80", 1)]
THREE_JOBS = np.array([[3.0, 1.0], [1.0, 1.0], [2.0, 1.0]])
THREE_JOBS_SHARES = np.array([[12.0, 0.0], [0.0, 18.0], [11.0, 5.0]]) / 23.0


def _levels(x: np.ndarray, rates: np.ndarray, gpus, counts, weights) -> np.ndarray:
    scale = normalised_level_scale(rates, gpus, counts, weights)
    return (scale * effective_throughputs(runnable_rates(rates, gpus, counts), x))[scale > 0]


def test_the_fast_gpu_goes_to_the_job_it_speeds_up_most() -> None:
    """Three 1-GPU jobs on (v100: 1, k80: 1) with rates (3, 1), (1, 1), (2, 1). Proportional
    throughputs (the mean rate) 2, 1, 1.5, so the measures are (3a0 + b0)/2, a1 + b1,
    (2a2 + b2)/1.5. Per unit of measure job 0 costs 2/3 of a v100 or 2 k80s, job 1 one GPU of
    either, job 2 0.75 v100 or 1.5 k80: job 0 gets only v100, job 1 only k80, and job 2 the rest
    of both. At level z: a0 = 2z/3, b1 = z, a2 = 1 - 2z/3, b2 = 1 - z, and
    2 a2 + b2 = 1.5 z gives z = 18/23. Prices p_v = 2 p_k support it (job 0: 4/3 p_k < 2 p_k,
    job 1: p_k < 2 p_k, strict), so the optimum is unique."""
    x = max_min_fairness_perf_shares(THREE_JOBS, np.ones(3), np.array([1, 1]), np.ones(3))
    assert x == pytest.approx(THREE_JOBS_SHARES, abs=1e-7)
    assert _levels(x, THREE_JOBS, np.ones(3), np.array([1, 1]), np.ones(3)) == \
        pytest.approx([18 / 23] * 3, rel=1e-7)


def test_aware_beats_the_agnostic_split_on_the_same_measure() -> None:
    """The agnostic shares (2/3 each, spread 1/3 per type) reach level 2/3 < 18/23."""
    agnostic = spread(max_min_shares(np.ones(3), np.ones(3), 2), np.array([1, 1]))
    levels = _levels(agnostic, THREE_JOBS, np.ones(3), np.array([1, 1]), np.ones(3))
    assert levels == pytest.approx([2 / 3] * 3)


def test_slack_goes_where_it_adds_throughput() -> None:
    """(v100: 2, k80: 2): a 2-GPU job with gang rates (4, 2) and two 1-GPU jobs at (1, 1). The
    1-GPU jobs cannot exceed measure 1 (a whole GPU), so the level is 1 and many points reach
    it; the second LP maximises the summed measure: the 1-GPU jobs on the k80s and the 2-GPU job
    on both v100s full time (measure 2 * 4 / 3 = 8/3; its proportional throughput is 3)."""
    rates = np.array([[4.0, 2.0], [1.0, 1.0], [1.0, 1.0]])
    gpus, counts = np.array([2, 1, 1]), np.array([2, 2])
    x = max_min_fairness_perf_shares(rates, gpus, counts, np.ones(3))
    assert x == pytest.approx(np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]]), abs=1e-7)
    assert _levels(x, rates, gpus, counts, np.ones(3)) == pytest.approx([8 / 3, 1, 1], rel=1e-7)


def test_priority_weights_scale_the_level() -> None:
    """Three 1-GPU jobs at (1, 1) on (v100: 1, k80: 1), weights 1, 1, 2: level z with
    z + z + 2z = 2 GPUs, so effective throughputs 1/2, 1/2, 1."""
    rates = np.ones((3, 2))
    x = max_min_fairness_perf_shares(rates, np.ones(3), np.array([1, 1]), np.array([1, 1, 2.0]))
    assert effective_throughputs(rates, x) == pytest.approx([0.5, 0.5, 1.0], abs=1e-7)


def test_a_job_that_runs_nowhere_gets_nothing_and_does_not_pin_the_level() -> None:
    """Job 0 has no rate; job 1 alone on the v100 (the k80 is too small for its 2-GPU gang)."""
    rates = np.array([[0.0, 0.0], [5.0, 9.0]])
    x = max_min_fairness_perf_shares(rates, np.array([1, 2]), np.array([2, 1]), np.ones(2))
    assert x == pytest.approx(np.array([[0.0, 0.0], [1.0, 0.0]]), abs=1e-9)


def test_the_policy_returns_typed_shares_on_a_typed_cluster() -> None:
    view = typed_view([TJ(tuple(r)) for r in THREE_JOBS], TYPES)
    shares = MaxMinFairnessPerf().allocate(view)
    assert set(shares) == {0, 1, 2} and all(set(s) == {"v100", "k80"} for s in shares.values())
    assert as_matrix(shares, ["v100", "k80"]) == pytest.approx(THREE_JOBS_SHARES, abs=1e-7)


def test_the_policy_is_max_min_fairness_on_one_type() -> None:
    """Flat shares, equal to the plain policy's to the bit."""
    jobs = [TJ((2.0,), gpus=1), TJ((5.0,), gpus=2, weight=2.0), TJ((1.0,), gpus=4)]
    flat = MaxMinFairness().allocate(make_view(
        [J(thr=j.rates[0], gpus=j.gpus, weight=j.weight) for j in jobs], num_gpus=4))
    assert MaxMinFairnessPerf().allocate(typed_view(jobs, [("v100", 4)])) == flat


def test_a_failed_solve_falls_back_to_the_isolated_split(monkeypatch) -> None:
    def fail(*args, **kwargs):
        raise SolverError("time limit")

    monkeypatch.setattr(module, "max_min_fairness_perf_shares", fail)
    shares = MaxMinFairnessPerf().allocate(typed_view([TJ((4.0, 0.0)), TJ((2.0, 1.0))], TYPES))
    expected = isolated_perf_shares(np.array([[4.0, 0.0], [2.0, 1.0]]), np.ones(2), np.ones(2))
    assert as_matrix(shares, ["v100", "k80"]).tolist() == expected.tolist()


@pytest.mark.parametrize("name", ["max_min_fairness_perf", "gavel_perf", "las_perf"])
def test_registry_names(name: str) -> None:
    policy = make_policy(name)
    assert isinstance(policy, MaxMinFairnessPerf) and policy.name == "max_min_fairness_perf"
    assert type(make_policy("las")) is MaxMinFairness


weights_strategy = st.lists(st.sampled_from([1.0, 2.0, 0.5]), min_size=6, max_size=6)


@settings(max_examples=50, deadline=None)
@given(problem=typed_problems(), weights=weights_strategy)
def test_shares_are_feasible_and_at_least_the_agnostic_level(problem, weights) -> None:
    """Any agnostic flat shares, spread by type size, score ``gpus_j x_j / w_j`` on this measure
    and are feasible here: the aware optimum is at least their level."""
    rates, gpus, counts = problem
    w = np.array(weights[: len(gpus)])
    x = max_min_fairness_perf_shares(rates, gpus, counts, w)
    assert_typed_feasible(x, rates, gpus, counts)
    agnostic = spread(max_min_shares(gpus, w, int(counts.sum())), counts)
    aware_levels = _levels(x, rates, gpus, counts, w)
    if aware_levels.size:
        floor = _levels(agnostic, rates, gpus, counts, w).min()
        assert aware_levels.min() >= floor * (1 - 1e-6) - 1e-9


@settings(max_examples=50, deadline=None)
@given(problem=typed_problems(types=(1, 1), zeros=False, fit=True), weights=weights_strategy)
def test_on_one_type_it_solves_the_homogeneous_program(problem, weights) -> None:
    """Same optimal level as ``max_min_shares``; the same shares whenever they are unique (the
    cluster is contended: ``G / sum w <= min g / w``, every job at the level)."""
    rates, gpus, counts = problem
    w = np.array(weights[: len(gpus)])
    x = max_min_fairness_perf_shares(rates, gpus, counts, w)
    homogeneous = max_min_shares(gpus, w, int(counts[0]))
    assert (gpus * x[:, 0] / w).min() == pytest.approx((gpus * homogeneous / w).min(), rel=1e-6)
    if counts[0] / w.sum() <= (gpus / w).min():
        assert x[:, 0] == pytest.approx(homogeneous, rel=1e-6, abs=1e-9)


@st.composite
def duplicated_problems(draw):
    """A small heterogeneous instance whose jobs come in classes of identical ones (same rates
    row, gang width and weight), shuffled."""
    k = draw(st.integers(2, 3))
    counts = np.array(draw(st.lists(st.integers(1, 6), min_size=k, max_size=k)), dtype=float)
    kinds = draw(st.integers(1, 4))
    rows, gpus, weights = [], [], []
    for _ in range(kinds):
        rate = draw(st.lists(st.sampled_from([0.0, 0.5, 1.0, 1.7, 3.0]), min_size=k, max_size=k))
        width, weight = draw(st.sampled_from([1, 2, 4])), draw(st.sampled_from([1.0, 2.0]))
        for _ in range(draw(st.integers(1, 4))):
            rows.append(rate)
            gpus.append(width)
            weights.append(weight)
    order = np.array(draw(st.permutations(range(len(rows)))))
    return (np.array(rows)[order], np.array(gpus, dtype=float)[order], counts,
            np.array(weights)[order])


@settings(max_examples=100, deadline=None)
@given(problem=duplicated_problems())
def test_the_class_lp_reaches_the_per_job_optimum(problem) -> None:
    """Identical jobs solved as one class (the default) reach the per-job LP's level and summed
    efficiency, each member gets the same shares, and the shares meet every job's and every
    type's capacity."""
    rates, gpus, counts, weights = problem
    by_class = max_min_fairness_perf_shares(rates, gpus, counts, weights)
    per_job = max_min_fairness_perf_shares(rates, gpus, counts, weights, classes=False)
    assert_typed_feasible(by_class, runnable_rates(rates, gpus, counts), gpus, counts)
    a = _levels(by_class, rates, gpus, counts, weights)
    b = _levels(per_job, rates, gpus, counts, weights)
    if b.size:
        assert a.min() == pytest.approx(b.min(), rel=1e-7, abs=1e-9)
        assert a.sum() == pytest.approx(b.sum(), rel=1e-7, abs=1e-9)
    key = np.column_stack([rates, gpus, weights])
    for j in range(len(rates)):
        same = (key == key[j]).all(axis=1)
        assert np.abs(by_class[same] - by_class[j]).max() <= 1e-12
