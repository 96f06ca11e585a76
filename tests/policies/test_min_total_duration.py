"""Min-total-duration (OSSP): the bisected horizon and the centred feasible shares."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from policy_helpers import J, assert_feasible, make_view

from shockwave.errors import SolverError
from shockwave.policies import make_policy
from shockwave.policies.min_total_duration import (
    MinTotalDuration,
    bisect_horizon,
    min_horizon_s,
)


def test_horizon_is_within_five_percent_above_the_optimum() -> None:
    """Jobs of 100 and 300 steps at 1 it/s sharing one GPU need T >= 400 s."""
    t = min_horizon_s(np.array([100.0, 300.0]), np.ones(2), np.ones(2), 1)
    assert 400.0 <= t <= 420.0


def test_horizon_search_moves_to_longer_ranges() -> None:
    """A job of 5e6 s of work is found on [1e6, 1e7]: T in [5e6, 5.25e6]."""
    t = min_horizon_s(np.array([5e6]), np.ones(1), np.ones(1), 1)
    assert 5e6 <= t <= 5.25e6


def test_shares_finish_every_job_by_the_horizon() -> None:
    view = make_view([J(rem=100), J(rem=300)], num_gpus=1)
    shares = MinTotalDuration().allocate(view)
    assert_feasible(shares, view)
    t = min_horizon_s(np.array([100.0, 300.0]), np.ones(2), np.ones(2), 1)
    assert shares[0] >= 100 / t and shares[1] >= 300 / t


def test_single_job_gets_the_centre_of_its_interval() -> None:
    """One job, lower bound l = rem/T: x maximises log(x-l) + log(x) + 2 log(1-x) (the
    x <= 1 and sf x <= G rows coincide), so 1/(x-l) + 1/x = 2/(1-x)."""
    view = make_view([J(rem=1000)], num_gpus=1)
    x = MinTotalDuration().allocate(view)[0]
    t = min_horizon_s(np.array([1000.0]), np.ones(1), np.ones(1), 1)
    low = 1000 / t
    assert 1 / (x - low) + 1 / x == pytest.approx(2 / (1 - x), rel=1e-8)


def test_zero_throughput_job_gets_nothing() -> None:
    view = make_view([J(thr=0.0), J(thr=1.0)], num_gpus=1)
    assert MinTotalDuration().allocate(view)[0] == 0.0


def test_registry_alias() -> None:
    assert isinstance(make_policy("ossp"), MinTotalDuration)


@settings(max_examples=60, deadline=None)
@given(
    jobs=st.lists(
        st.builds(
            J, thr=st.floats(0.1, 100.0), rem=st.floats(1.0, 1e6), gpus=st.sampled_from([1, 2, 4])
        ),
        min_size=1,
        max_size=10,
    ),
    num_gpus=st.sampled_from([4, 8, 16]),
)
def test_shares_meet_the_horizon(jobs: list[J], num_gpus: int) -> None:
    view = make_view(jobs, num_gpus=num_gpus)
    shares = MinTotalDuration().allocate(view)
    assert_feasible(shares, view)
    rem = np.array([j.rem for j in jobs])
    thr = np.array([j.thr for j in jobs])
    t = min_horizon_s(rem, thr, np.array([j.gpus for j in jobs], dtype=float), num_gpus)
    for i, j in enumerate(jobs):
        assert shares[i] * j.thr * t >= j.rem * (1 - 1e-9)


def test_the_bisection_returns_the_first_horizon_found_in_each_decade() -> None:
    """Feasible from 2e6 s: nothing in [100, 1e6], so the next decade [1e6, 1e7] is halved
    until its ends are within 5 %, and the witness of the last feasible horizon comes back."""
    horizon, witness = bisect_horizon(lambda t: ("ok", t) if t >= 2e6 else None)
    assert 2e6 <= horizon < 2e6 * 1.05 and witness == ("ok", horizon)


def test_the_bisection_gives_up_when_no_finite_horizon_is_feasible() -> None:
    """It used to move on to the next decade forever."""
    with pytest.raises(SolverError):
        bisect_horizon(lambda t: None)
