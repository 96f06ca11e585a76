"""FIFO: whole gangs in arrival order, persistent until completion, head-of-line blocking."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from policy_helpers import J, assert_feasible, make_view

from shockwave.policies.fifo import Fifo


def test_first_jobs_get_the_gpus() -> None:
    assert Fifo().allocate(make_view([J(), J(), J()], num_gpus=2)) == {0: 1.0, 1: 1.0, 2: 0.0}


def test_allocation_persists_and_a_finished_slot_goes_to_the_next_job() -> None:
    policy = Fifo()
    policy.allocate(make_view([J(), J(), J()], num_gpus=2))
    assert policy.allocate(make_view([J(), J(), J()], num_gpus=2)) == {0: 1.0, 1: 1.0, 2: 0.0}
    shares = policy.allocate(make_view([J(), J()], num_gpus=2, ids=[1, 2]))
    assert shares == {1: 1.0, 2: 1.0}


def test_a_wide_head_blocks_later_jobs() -> None:
    """Job 1 needs 2 GPUs but only 1 is free: it waits, and so does job 2 behind it."""
    shares = Fifo().allocate(make_view([J(), J(gpus=2), J()], num_gpus=2))
    assert shares == {0: 1.0, 1: 0.0, 2: 0.0}


def test_newcomers_do_not_preempt_running_jobs() -> None:
    policy = Fifo()
    policy.allocate(make_view([J(), J()], num_gpus=2, ids=[5, 6]))
    shares = policy.allocate(make_view([J(), J(), J()], num_gpus=2, ids=[1, 5, 6]))
    assert shares == {1: 0.0, 5: 1.0, 6: 1.0}


def test_reference_mode_keeps_the_reference_count() -> None:
    """Job 0 (first in id order) completes while jobs 1 and 2 wait behind a 4-GPU head: the
    reference counts only GPUs seen free so far (4), hands them all to job 2 and over-commits."""
    from dataclasses import replace

    policy = Fifo()
    policy.allocate(make_view([J(), J(), J(gpus=4)], num_gpus=4))
    view = replace(make_view([J(), J(gpus=4)], num_gpus=4, ids=[1, 2]), compat="reference")
    assert policy.allocate(view) == {1: 1.0, 2: 1.0}
    fixed = Fifo()
    fixed.allocate(make_view([J(), J(), J(gpus=4)], num_gpus=4))
    assert fixed.allocate(make_view([J(), J(gpus=4)], num_gpus=4, ids=[1, 2])) == {1: 1.0, 2: 0.0}


@settings(max_examples=50, deadline=None)
@given(
    gpus=st.lists(st.sampled_from([1, 2, 4]), min_size=1, max_size=10),
    num_gpus=st.sampled_from([4, 8]),
    finished=st.sets(st.integers(0, 9)),
)
def test_never_over_commits_across_calls(gpus: list[int], num_gpus: int, finished: set[int]) -> None:
    policy = Fifo()
    view = make_view([J(gpus=g) for g in gpus], num_gpus=num_gpus)
    assert_feasible(policy.allocate(view), view)
    left = [i for i in range(len(gpus)) if i not in finished]
    view = make_view([J(gpus=gpus[i]) for i in left], num_gpus=num_gpus, ids=left)
    shares = policy.allocate(view)
    assert set(shares) == set(left)
    assert sum(view.jobs[j].gpus * x for j, x in shares.items()) <= num_gpus
