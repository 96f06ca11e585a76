"""Heterogeneity-aware FIFO: the queue head takes the fastest type with room, the first job
without room blocks the rest, the allocation is recomputed every call, and on one GPU type it is
FIFO."""

from __future__ import annotations

import dataclasses

import numpy as np
from hetero_helpers import TJ, as_matrix, typed_problems, typed_view
from hypothesis import given, settings
from policy_helpers import J, make_view

from shockwave.policies import make_policy
from shockwave.policies.fifo import Fifo
from shockwave.policies.fifo_perf import FifoPerf, fifo_perf_shares

TYPES = [("v100", 1), ("k80", 1)]


def test_the_head_takes_the_fastest_type_with_room_and_blocks_when_none_has() -> None:
    """(v100: 2, k80: 2). Job 0 (2 GPUs) takes both v100s; job 1 (1 GPU), faster on v100, finds
    room only on the k80s; job 2 (2 GPUs) finds no type with 2 free GPUs and blocks job 3, though
    a k80 is free for it."""
    rates = np.array([[4.0, 2.0], [3.0, 1.0], [1.0, 1.0], [2.0, 1.0]])
    x = fifo_perf_shares(rates, np.array([2, 1, 2, 1]), np.array([2, 2]))
    assert x.tolist() == [[1.0, 0.0], [0.0, 1.0], [0.0, 0.0], [0.0, 0.0]]


def test_a_job_that_cannot_use_the_type_with_room_is_skipped_not_blocking() -> None:
    """As in the reference: job 1 runs only on the (taken) v100, so its best type with room is
    the k80 at rate 0; it is skipped and job 2 takes the k80."""
    rates = np.array([[2.0, 1.0], [5.0, 0.0], [1.0, 1.0]])
    x = fifo_perf_shares(rates, np.ones(3), np.array([1, 1]))
    assert x.tolist() == [[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]]


def test_ties_go_to_the_cluster_order() -> None:
    x = fifo_perf_shares(np.array([[2.0, 2.0]]), np.ones(1), np.array([1, 1]))
    assert x.tolist() == [[1.0, 0.0]]


def test_the_allocation_is_recomputed_so_jobs_move_to_freed_fast_gpus() -> None:
    """Job 1 waits on the k80 while job 0 holds the v100; once job 0 is gone, job 1 moves to the
    v100 and job 2 gets the k80."""
    policy = FifoPerf()
    jobs = [TJ((4.0, 1.0)), TJ((3.0, 1.0)), TJ((2.0, 1.0))]
    first = policy.allocate(typed_view(jobs, TYPES))
    assert as_matrix(first, ["v100", "k80"]).tolist() == [[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]
    everyone = typed_view(jobs, TYPES)
    second = policy.allocate(dataclasses.replace(everyone, jobs={1: everyone.jobs[1],
                                                                 2: everyone.jobs[2]}))
    assert second == {1: {"v100": 1.0, "k80": 0.0}, 2: {"v100": 0.0, "k80": 1.0}}


def test_the_policy_is_fifo_on_one_type_and_not_work_conserving() -> None:
    jobs = [TJ((2.0,), gpus=2), TJ((1.0,), gpus=1), TJ((3.0,), gpus=4), TJ((1.0,), gpus=1)]
    flat = Fifo().allocate(make_view([J(thr=j.rates[0], gpus=j.gpus) for j in jobs], num_gpus=4))
    assert FifoPerf().allocate(typed_view(jobs, [("v100", 4)])) == flat
    assert FifoPerf.work_conserving is False


def test_registry_name() -> None:
    assert isinstance(make_policy("fifo_perf"), FifoPerf)


@settings(max_examples=60, deadline=None)
@given(problem=typed_problems())
def test_whole_gangs_within_each_type_in_queue_order(problem) -> None:
    """Each job gets all or nothing on one type it can run on; no type is over-committed; and
    once a job finds no type with room, no later job runs."""
    rates, gpus, counts = problem
    x = fifo_perf_shares(rates, gpus, counts)
    assert set(np.unique(x).tolist()) <= {0.0, 1.0} and np.all(x.sum(axis=1) <= 1)
    assert np.all(gpus @ x <= counts) and np.all(rates[x == 1.0] > 0)
    free = counts.copy()
    for j in range(len(gpus)):
        if not np.any(free >= gpus[j]):
            assert not x[j:].any()
            break
        free -= gpus[j] * x[j]


@settings(max_examples=60, deadline=None)
@given(problem=typed_problems(types=(1, 1), fit=True))
def test_on_one_type_it_is_a_fresh_fifo(problem) -> None:
    rates, gpus, counts = problem
    jobs = [J(thr=float(r), gpus=int(g)) for r, g in zip(rates[:, 0], gpus, strict=True)]
    flat = Fifo().allocate(make_view(jobs, num_gpus=int(counts[0])))
    assert fifo_perf_shares(rates, gpus, counts)[:, 0].tolist() == [flat[j] for j in sorted(flat)]
