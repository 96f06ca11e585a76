"""Shockwave's fallback packing by hand: the greedy packer (earliest or most-free rounds, jobs
that need the whole window first), the no-incumbent demand and plan, and the work-conserving
fill of each round (docs/policies.md, Shockwave fallbacks)."""

from __future__ import annotations

import numpy as np

from shockwave.policies.shockwave.packing import (
    construct_schedules,
    fallback_counts,
    fallback_plan,
    greedy_pack,
    order_rounds,
    rank_order,
)


def rows(plan: np.ndarray) -> list[list[int]]:
    return [[int(t) for t in np.flatnonzero(row)] for row in plan]


def test_greedy_pack_gives_each_job_the_earliest_rounds_with_room():
    counts = np.array([2, 3, 1])
    gpus = np.array([2, 1, 2])
    plan, complete = greedy_pack(counts, gpus, [0, 1, 2], num_gpus=3, rounds=4)
    # Job 0 (2 GPUs) takes rounds 0-1; job 1 (1 GPU) fits beside it in 0-2 (free: 0, 0, 2, 3);
    # job 2 (2 GPUs) takes the earliest round with 2 free: round 2, not round 3.
    assert rows(plan) == [[0, 1], [0, 1, 2], [2]]
    assert complete
    assert plan.dtype == bool and plan.shape == (3, 4)


def test_greedy_pack_reports_counts_it_could_not_place():
    counts = np.array([2, 2])
    gpus = np.array([2, 2])
    plan, complete = greedy_pack(counts, gpus, [0, 1], num_gpus=3, rounds=3)
    assert rows(plan) == [[0, 1], [2]]
    assert not complete


def test_greedy_pack_places_jobs_that_need_the_whole_window_first():
    counts = np.array([1, 3])
    gpus = np.array([2, 2])
    plan, complete = greedy_pack(counts, gpus, [0, 1], num_gpus=2, rounds=3)
    # Job 1 needs all 3 rounds: it goes first even though job 0 comes first in the order.
    assert rows(plan) == [[], [0, 1, 2]]
    assert not complete
    # A count above the window is also forced (and takes the whole window).
    plan, complete = greedy_pack(np.array([1, 5]), gpus, [0, 1], num_gpus=4, rounds=3)
    assert rows(plan) == [[0], [0, 1, 2]]
    assert not complete  # 5 rounds asked, 3 exist


def test_greedy_pack_skips_jobs_with_no_rounds_and_follows_the_order():
    counts = np.array([0, 1, 1])
    gpus = np.array([1, 1, 1])
    plan, complete = greedy_pack(counts, gpus, [2, 1, 0], num_gpus=1, rounds=2)
    assert rows(plan) == [[], [1], [0]]
    assert complete


def test_balanced_packing_takes_the_rounds_with_most_free_gpus_ties_to_the_earliest():
    counts = np.array([1, 1, 2])
    gpus = np.array([2, 1, 1])
    plan, complete = greedy_pack(counts, gpus, [0, 1, 2], num_gpus=3, rounds=3, balanced=True)
    # Job 0 -> round 0 (free then 1, 3, 3); job 1 -> round 1, the earliest of the most free
    # (free 1, 2, 3); job 2 -> rounds 2 and 1 (3 and 2 free) rather than round 0 (1 free).
    assert rows(plan) == [[0], [1], [1, 2]]
    assert complete
    unbalanced, _ = greedy_pack(counts, gpus, [0, 1, 2], num_gpus=3, rounds=3)
    assert rows(unbalanced) == [[0], [0], [1, 2]]


def test_fallback_counts_are_the_rounds_needed_to_finish_capped_by_the_window():
    remaining = np.array([0.0, -5.0, 1.0, 120.0, 121.0, 10_000.0])
    assert list(fallback_counts(remaining, 120.0, 4)) == [0, 0, 1, 1, 2, 4]
    assert fallback_counts(remaining, 120.0, 4).dtype == np.int64


def test_fallback_plan_goes_by_priority_then_longest_remaining_time():
    remaining = np.array([240.0, 240.0, 480.0])
    priorities = np.array([1.0, 2.0, 1.0])
    gpus = np.array([1, 1, 1])
    plan = fallback_plan(remaining, priorities, gpus, num_gpus=1, rounds=5, round_s=120.0)
    # Counts 2, 2, 4. Job 1 (highest priority) takes rounds 0-1; among equal priorities job 2
    # (480 s) comes before job 0 and takes what is left, rounds 2-4; nothing for job 0.
    assert rows(plan) == [[], [0, 1], [2, 3, 4]]
    # In a 4-round window job 2 needs every round, so it is placed before any priority.
    plan = fallback_plan(remaining, priorities, gpus, num_gpus=1, rounds=4, round_s=120.0)
    assert rows(plan) == [[], [], [0, 1, 2, 3]]


def test_rank_order_is_by_priority_per_planned_round():
    counts = np.array([2, 1, 0, 4])
    priorities = np.array([4.0, 3.0, 100.0, 4.0])
    # Weights 2, 3, 0 (no rounds), 1.
    assert list(rank_order(counts, priorities)) == [1, 0, 3, 2]


def test_order_rounds_puts_the_heaviest_round_first_and_keeps_ties_in_place():
    plan = np.array([[True, False, True], [False, True, True]])
    ordered = order_rounds(plan, np.array([1.0, 5.0]))
    # Column weights 1, 5, 6 -> order 2, 1, 0.
    assert ordered.tolist() == [[True, False, True], [True, True, False]]
    same = order_rounds(plan, np.array([1.0, 1.0]))
    assert same.tolist() == [[True, True, False], [True, False, True]]


def test_schedules_fill_idle_gpus_with_unplanned_jobs_longest_first():
    plan = np.array([[True, False], [False, False], [False, False], [False, True]])
    gpus = np.array([2, 1, 2, 4])
    remaining = np.array([100.0, 50.0, 300.0, 10.0])
    schedules = construct_schedules(plan, ["a", "b", "c", "d"], gpus, remaining, num_gpus=4)
    # Round 0: a (2 GPUs) planned; c (300 s, 2 GPUs) fills the rest; b does not fit.
    # Round 1: d takes all 4 GPUs; nothing else fits.
    assert schedules == [["a", "c"], ["d"]]
    schedules = construct_schedules(plan[:, :1], ["a", "b", "c", "d"], gpus,
                                    np.array([100.0, 50.0, 30.0, 10.0]), num_gpus=4)
    # c is now shorter than b: b (1 GPU) fills first, c no longer fits.
    assert schedules == [["a", "b"]]
