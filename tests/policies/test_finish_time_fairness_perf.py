"""Heterogeneity-aware finish-time fairness: a hand-solved case, the bisection against its
definition, the accumulated isolated time, the fallbacks, and Themis on one GPU type."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hetero_helpers import TJ, as_matrix, assert_typed_feasible, typed_problems, typed_view
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from policy_helpers import J, make_view

from shockwave.errors import SolverError
from shockwave.policies import make_policy
from shockwave.policies.finish_time_fairness import FinishTimeFairness, min_max_rho_shares
from shockwave.policies.finish_time_fairness_perf import (
    FinishTimeFairnessPerf,
    finish_time_fairness_perf_shares,
    finish_time_ratios,
)
from shockwave.policies.heterogeneous import (
    effective_throughputs,
    isolated_perf_shares,
    proportional_split,
    runnable_rates,
    spread,
)

TYPES = [("v100", 1), ("k80", 1)]
RATES = np.array([[4.0, 0.0], [2.0, 1.0]])
ROOT3 = math.sqrt(3.0)
SHARES = np.array([[ROOT3 - 1, 0.0], [2 - ROOT3, ROOT3 - 1]])


def test_the_bottleneck_ratios_meet_at_the_optimum() -> None:
    """(v100: 1, k80: 1); job 0 runs only on the v100 at 4 it/s, 400 steps left, arrived 100 s
    ago; job 1 runs at 2 (v100) or 1 (k80) it/s, 150 steps left, just arrived; C = 0. Isolated
    gives each 1/2 of each type: 2 and 1.5 it/s, so the denominators are 200 and 100 s.
    rho_0 = (100 + 400 / (4a)) / 200 = 1/2 + 1/(2a), rho_1 = 150 / (2c + d) / 100. With the
    v100 split a = 1 - c and job 1's row full (d = 1 - c), 2c + d = 1 + c; equal ratios give
    c^2 - 4c + 1 = 0: c = 2 - sqrt 3, rho = (3 + sqrt 3) / 4. Both ratios bind at their bounds,
    so the point is unique (and the k80 is a quarter idle: job 0 cannot use it)."""
    steps, since, den = np.array([400.0, 150.0]), np.array([100.0, 0.0]), np.array([200.0, 100.0])
    x = finish_time_fairness_perf_shares(RATES, np.ones(2), np.array([1, 1]), steps, since, den)
    assert x == pytest.approx(SHARES, rel=1e-6)
    assert finish_time_ratios(RATES, x, steps, since, den) == \
        pytest.approx([(3 + ROOT3) / 4] * 2, rel=1e-6)


def test_the_policy_reads_arrival_times_and_isolated_throughputs_from_the_view() -> None:
    """The same case through the policy: now = 100 s, job 0 arrived at 0 and job 1 at 100."""
    view = typed_view([TJ((4.0, 0.0), rem=400.0), TJ((2.0, 1.0), rem=150.0, arrival_s=100.0)],
                      TYPES, now_s=100.0)
    shares = FinishTimeFairnessPerf().allocate(view)
    assert as_matrix(shares, ["v100", "k80"]) == pytest.approx(SHARES, rel=1e-6)


def test_isolated_time_accumulates_at_the_typed_isolated_throughput() -> None:
    """Job 0's isolated throughput is 2 it/s (half the v100): 100 steps done between two calls
    count as 50 s of isolated time; job 1 (1.5 it/s) did 30 steps: 20 s."""
    policy = FinishTimeFairnessPerf()
    jobs = [TJ((4.0, 0.0), rem=400.0), TJ((2.0, 1.0), rem=150.0)]
    policy.allocate(typed_view(jobs, TYPES))
    later = [TJ((4.0, 0.0), rem=300.0, done=100.0), TJ((2.0, 1.0), rem=120.0, done=30.0)]
    policy.allocate(typed_view(later, TYPES, now_s=60.0))
    assert policy.isolated_time_s == pytest.approx({0: 50.0, 1: 20.0})


def test_a_job_that_can_run_nowhere_falls_back_to_the_isolated_split() -> None:
    """Its ratio is infinite whatever it gets; the reference falls back to Isolated then."""
    view = typed_view([TJ((0.0, 0.0)), TJ((2.0, 1.0))], TYPES)
    shares = FinishTimeFairnessPerf().allocate(view)
    expected = isolated_perf_shares(np.array([[0.0, 0.0], [2.0, 1.0]]), np.ones(2), np.ones(2))
    assert as_matrix(shares, ["v100", "k80"]).tolist() == expected.tolist()
    with pytest.raises(SolverError):
        finish_time_fairness_perf_shares(np.array([[0.0, 0.0]]), np.ones(1), np.ones(2),
                                         np.array([10.0]), np.zeros(1), np.ones(1))


def test_the_policy_is_themis_on_one_type() -> None:
    """Flat shares and accumulated isolated time equal to the plain policy's over two calls."""
    jobs = [J(thr=2.0, rem=400.0), J(thr=1.0, rem=900.0, gpus=2), J(thr=3.0, rem=50.0)]
    typed = [TJ((j.thr,), rem=j.rem, gpus=j.gpus) for j in jobs]
    later = [J(thr=2.0, rem=300.0, done=100.0), J(thr=1.0, rem=850.0, gpus=2, done=50.0),
             J(thr=3.0, rem=20.0, done=30.0)]
    typed_later = [TJ((j.thr,), rem=j.rem, gpus=j.gpus, done=j.done) for j in later]
    plain, aware = FinishTimeFairness(), FinishTimeFairnessPerf()
    for flat, typed_jobs, now in ((jobs, typed, 0.0), (later, typed_later, 120.0)):
        expected = plain.allocate(make_view(flat, num_gpus=2, now_s=now))
        assert aware.allocate(typed_view(typed_jobs, [("v100", 2)], now_s=now)) == expected
    assert aware.isolated_time_s == plain.isolated_time_s


@pytest.mark.parametrize("name", ["finish_time_fairness_perf", "themis_perf"])
def test_registry_names(name: str) -> None:
    assert isinstance(make_policy(name), FinishTimeFairnessPerf)


def _problem_data(draw, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    steps = np.array(draw(st.lists(st.floats(10.0, 1e5), min_size=n, max_size=n)))
    since = np.array(draw(st.lists(st.sampled_from([0.0, 0.0, 50.0, 3000.0]),
                                   min_size=n, max_size=n)))
    spent = np.array(draw(st.lists(st.sampled_from([0.0, 100.0, 2000.0]), min_size=n, max_size=n)))
    return steps, since, spent


@settings(max_examples=40, deadline=None)
@given(problem=typed_problems(), data=st.data())
def test_shares_are_feasible_and_no_worse_than_the_agnostic_split(problem, data) -> None:
    """The agnostic optimum (the homogeneous solver on the proportional throughputs, spread by
    type size) is a feasible point of the aware program; its worst ratio is no better."""
    rates, gpus, counts = problem
    runnable = runnable_rates(rates, gpus, counts)
    assume(np.all(runnable.max(axis=1) > 0))
    steps, since, spent = _problem_data(data.draw, len(gpus))
    iso = effective_throughputs(runnable, isolated_perf_shares(rates, gpus, counts))
    den = spent + steps / iso
    x = finish_time_fairness_perf_shares(rates, gpus, counts, steps, since, den)
    assert_typed_feasible(x, rates, gpus, counts)
    prop = effective_throughputs(runnable, proportional_split(len(gpus), counts))
    flat = min_max_rho_shares(steps, prop, since, den, gpus, int(counts.sum()))
    agnostic = np.where(runnable > 0, spread(flat, counts), 0.0)
    worst = finish_time_ratios(runnable, x, steps, since, den).max()
    assert worst <= finish_time_ratios(runnable, agnostic, steps, since, den).max() * (1 + 1e-6)
    assert worst <= finish_time_ratios(runnable, isolated_perf_shares(rates, gpus, counts),
                                       steps, since, den).max() * (1 + 1e-6)


@settings(max_examples=40, deadline=None)
@given(problem=typed_problems(types=(1, 1), max_jobs=8, zeros=False, fit=True), data=st.data(),
       together=st.booleans())
def test_on_one_type_it_solves_the_homogeneous_program(problem, data, together) -> None:
    """Same optimal worst ratio as ``min_max_rho_shares``. When the optimum is unique (no job is
    held at its full gang, so every ratio binds) and the jobs arrived together, the same shares.
    (A job long since arrived has a ratio that barely depends on its share, so there the 1e-8
    bracket on the ratio leaves a much larger slack in the shares.)"""
    rates, gpus, counts = problem
    steps, since, spent = _problem_data(data.draw, len(gpus))
    since = since * (not together)
    thr = rates[:, 0]
    den = spent + steps / (thr * np.minimum(1.0, counts[0] / (len(gpus) * gpus)))
    x = finish_time_fairness_perf_shares(rates, gpus, counts, steps, since, den)
    homogeneous = min_max_rho_shares(steps, thr, since, den, gpus, int(counts[0]))
    ratios = (since + steps / (thr * x[:, 0])) / den
    expected = (since + steps / (thr * homogeneous)) / den
    assert ratios.max() == pytest.approx(expected.max(), rel=1e-6)
    if together and np.all(homogeneous < 1 - 1e-6):
        assert x[:, 0] == pytest.approx(homogeneous, rel=1e-6)
