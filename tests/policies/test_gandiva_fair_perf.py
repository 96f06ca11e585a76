"""Gandiva-Fair with a type choice: the reference's equal share, on each job's fastest type."""

from __future__ import annotations

import numpy as np
import pytest
from hetero_helpers import TJ, as_matrix, typed_view
from policy_helpers import J, make_view

from shockwave.policies import make_policy
from shockwave.policies.gandiva_fair import GandivaFair
from shockwave.policies.gandiva_fair_perf import GandivaFairPerf, gandiva_fair_perf_shares


def test_each_job_asks_for_its_fastest_type() -> None:
    """(v100: 2, k80: 2), three jobs: share min(1, 4/3) = 1 each, on v100, k80 and (a tie)
    the first type."""
    rates = np.array([[3.0, 1.0], [1.0, 2.0], [1.0, 1.0]])
    x = gandiva_fair_perf_shares(rates, np.array([1, 2, 1]), np.array([2, 2]))
    assert x.tolist() == [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]


def test_the_share_is_the_reference_equal_share() -> None:
    """Eight jobs on (v100: 4, k80: 2): G/m = 3/4 each, not divided by the gang width; the k80s
    are too small for the 4-GPU job, which asks for the v100s although its k80 rate is higher;
    a job that runs nowhere gets nothing."""
    rates = np.array([[1.0, 5.0]] + [[2.0, 1.0]] * 6 + [[0.0, 0.0]])
    gpus = np.array([4] + [1] * 7)
    x = gandiva_fair_perf_shares(rates, gpus, np.array([4, 2]))
    assert x[0].tolist() == [0.75, 0.0] and x[-1].tolist() == [0.0, 0.0]
    assert x[1:-1].tolist() == [[0.75, 0.0]] * 6


def test_the_policy_returns_typed_shares_and_is_gandiva_fair_on_one_type() -> None:
    view = typed_view([TJ((3.0, 1.0)), TJ((1.0, 2.0))], [("v100", 1), ("k80", 1)])
    assert as_matrix(GandivaFairPerf().allocate(view), ["v100", "k80"]).tolist() == \
        [[1.0, 0.0], [0.0, 1.0]]
    jobs = [TJ((2.0,)), TJ((1.0,), gpus=2), TJ((4.0,))]
    flat = GandivaFair().allocate(make_view([J(thr=j.rates[0], gpus=j.gpus) for j in jobs],
                                            num_gpus=2))
    assert GandivaFairPerf().allocate(typed_view(jobs, [("v100", 2)])) == flat
    assert flat == pytest.approx({0: 2 / 3, 1: 2 / 3, 2: 2 / 3})


def test_registry_name() -> None:
    assert isinstance(make_policy("gandiva_fair_perf"), GandivaFairPerf)
