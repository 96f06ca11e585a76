"""Finish-time fairness (Themis): exact min-max rho, the isolated-time state, the fallback."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from policy_helpers import J, assert_feasible, make_view

from shockwave.policies import make_policy
from shockwave.policies.finish_time_fairness import FinishTimeFairness


def _rhos(policy: FinishTimeFairness, view, shares) -> dict[int, float]:
    m = len(view.jobs)
    out = {}
    for j, job in view.jobs.items():
        iso = job.throughput * min(1.0, view.num_gpus / (m * job.gpus))
        den = policy.isolated_time_s[j] + job.remaining_steps / iso
        t = view.time_since_arrival_s(j)
        out[j] = (t + job.remaining_steps / (job.throughput * shares[j])) / den
    return out


def test_identical_jobs_split_the_gpu() -> None:
    """rho_j = 1 / (2 x_j) for two fresh identical jobs on one GPU: x = 1/2, rho = 1."""
    policy = FinishTimeFairness()
    view = make_view([J(), J()], num_gpus=1)
    shares = policy.allocate(view)
    assert shares == pytest.approx({0: 0.5, 1: 0.5})
    assert max(_rhos(policy, view, shares).values()) == pytest.approx(1.0)


def test_a_job_that_waited_gets_more() -> None:
    """Job 0 waited 100 s: rho_0 = (100 + 100/x0)/200, rho_1 = (100/x1)/200 with x0 + x1 = 1.
    Equal rho gives 2 rho = a with a^2 - 3a + 1 = 0: x1 = 1/a, x0 = 1/(a-1)."""
    a = (3 + math.sqrt(5)) / 2
    shares = FinishTimeFairness().allocate(
        make_view([J(arrival_s=-100.0), J()], num_gpus=1, now_s=0.0)
    )
    assert shares == pytest.approx({0: 1 / (a - 1), 1: 1 / a}, rel=1e-12)


def test_a_job_capped_at_its_gang_is_the_bottleneck() -> None:
    """A 1-GPU job (isolated share 1) and a 2-GPU job (isolated share 3/4) on 3 GPUs: job 0 must
    run all the time (rho 1); job 1 needs only x >= 3/4 and takes the centre of its slack."""
    policy = FinishTimeFairness()
    view = make_view([J(gpus=1), J(gpus=2)], num_gpus=3)
    shares = policy.allocate(view)
    assert shares[0] == pytest.approx(1.0)
    assert 0.75 < shares[1] < 1.0
    assert max(_rhos(policy, view, shares).values()) == pytest.approx(1.0)


def test_isolated_time_accumulates_across_calls() -> None:
    """C_j += steps done since the last call / the isolated throughput of the last call."""
    policy = FinishTimeFairness()
    policy.allocate(make_view([J(rem=100), J(rem=100)], num_gpus=1))
    policy.allocate(make_view([J(rem=60, done=40), J(rem=100)], num_gpus=1, now_s=100.0))
    assert policy.isolated_time_s == pytest.approx({0: 80.0, 1: 0.0})
    policy.allocate(make_view([J(rem=50, done=50)], num_gpus=1, now_s=200.0))
    assert policy.isolated_time_s[0] == pytest.approx(100.0)


def test_zero_throughput_falls_back_to_isolated() -> None:
    shares = FinishTimeFairness().allocate(make_view([J(thr=0.0), J()], num_gpus=1))
    assert shares == {0: 0.5, 1: 0.5}


def test_registry_alias() -> None:
    assert isinstance(make_policy("themis"), FinishTimeFairness)


@settings(max_examples=60, deadline=None)
@given(
    jobs=st.lists(
        st.builds(
            J, thr=st.floats(0.1, 100.0), rem=st.floats(1.0, 1e5), gpus=st.sampled_from([1, 2, 4]),
            arrival_s=st.floats(0.0, 3000.0),
        ),
        min_size=1,
        max_size=10,
    ),
    num_gpus=st.sampled_from([2, 4, 8]),
)
def test_no_feasible_point_has_a_lower_max_rho(jobs: list[J], num_gpus: int) -> None:
    """Feasible, and no random feasible allocation beats its worst rho."""
    policy = FinishTimeFairness()
    view = make_view(jobs, num_gpus=num_gpus, now_s=3000.0)
    shares = policy.allocate(view)
    assert_feasible(shares, view)
    best = max(_rhos(policy, view, shares).values())
    rng = np.random.default_rng(0)
    gpus = np.array([j.gpus for j in jobs], dtype=float)
    for _ in range(50):
        x = rng.uniform(0.01, 1.0, len(jobs))
        x *= min(1.0, num_gpus / float(gpus @ x))
        other = max(_rhos(policy, view, dict(enumerate(x))).values())
        assert other >= best * (1 - 1e-9)
