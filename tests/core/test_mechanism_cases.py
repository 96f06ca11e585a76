"""The Gavel mechanism by hand, case by case: credit, deficits, priority ties, exact fits,
lease extensions that cannot be kept, and the over-commit guard (docs/simulator.md, step 4)."""

from __future__ import annotations

import pytest

from shockwave.mechanism import PriorityAccounting, place_gangs, priority_order, select_gangs

SERVERS_8 = [[g] for g in range(8)]


def test_a_new_job_starts_with_half_a_round_of_credit_and_no_deficit():
    acc = PriorityAccounting(round_s=100.0)
    acc.add_job(7)
    assert acc.job_time_s == {7: 50.0}
    assert acc.deficits == {7: 0.0}
    assert acc.worker_time_s == 0.0 and acc.last_reset_s == 0.0 and acc.allocation == {}


def test_removing_a_job_forgets_it_and_unknown_jobs_are_ignored():
    acc = PriorityAccounting(round_s=100.0)
    acc.add_job(1)
    acc.add_job(2)
    acc.remove_job(1)
    acc.remove_job(99)
    assert acc.job_time_s == {2: 50.0} and acc.deficits == {2: 0.0}


def test_time_of_an_unknown_job_still_counts_as_worker_time():
    acc = PriorityAccounting(round_s=100.0)
    acc.add_job(1)
    acc.record_run(1, 30.0)
    acc.record_run(5, 20.0)
    assert acc.job_time_s == {1: 80.0}
    assert acc.worker_time_s == 50.0


def test_reset_measures_elapsed_time_from_the_last_reset():
    acc = PriorityAccounting(round_s=100.0)
    acc.add_job(1)
    acc.add_job(2)
    acc.reset(200.0, {1: 0.5, 2: 0.25})
    # No allocation before the first reset: no deficit yet.
    assert acc.deficits == {1: 0.0, 2: 0.0}
    assert acc.last_reset_s == 200.0
    assert acc.worker_time_s == 100.0  # half a round of credit per job
    acc.record_run(1, 300.0)
    acc.record_run(2, 10.0)
    acc.reset(1000.0, {1: 1.0})
    # elapsed 800 s: job 1 was owed 0.5 * 800 = 400, got 300 -> +100; job 2 owed 200, got 10.
    assert acc.deficits == {1: 100.0, 2: 190.0}
    assert acc.job_time_s == {1: 50.0, 2: 50.0}
    assert acc.worker_time_s == 100.0
    assert acc.last_reset_s == 1000.0
    acc.reset(1100.0, {1: 1.0})
    # Job 2 had no allocation since the last reset: its deficit stays.
    assert acc.deficits == {1: 100.0 + 100.0, 2: 190.0}


def test_the_allocation_is_copied_not_shared():
    acc = PriorityAccounting(round_s=100.0)
    acc.add_job(1)
    shares = {1: 0.5}
    acc.reset(0.0, shares)
    shares[1] = 0.0
    assert acc.allocation == {1: 0.5}


def test_a_job_with_a_share_and_no_recorded_time_comes_first():
    acc = PriorityAccounting(round_s=100.0)
    acc.add_job(1)
    acc.reset(0.0, {1: 0.5})
    acc.worker_time_s = 0.0
    assert acc.priorities({1: 2.0}) == {1: 0.5 * 1e9}
    acc.job_time_s[1] = 0.0
    acc.worker_time_s = 10.0
    assert acc.priorities({1: 2.0}) == {1: 0.5 * 1e9}


def test_a_zero_share_or_missing_throughput_gives_priority_zero():
    acc = PriorityAccounting(round_s=100.0)
    for job in (1, 2, 3):
        acc.add_job(job)
    acc.reset(0.0, {1: 0.0, 2: 0.4, 3: 0.6})
    prio = acc.priorities({1: 1.0, 3: 1.0})
    assert prio[1] == 0.0 and prio[2] == 0.0
    assert prio[3] == pytest.approx(0.6 / (50.0 / 150.0))


def test_priority_ties_go_to_the_larger_deficit_then_the_larger_share_then_job_order():
    acc = PriorityAccounting(round_s=100.0)
    for job in (1, 2, 3, 4):
        acc.add_job(job)
    acc.reset(0.0, {1: 0.5, 2: 0.5, 3: 0.5, 4: 0.5})
    acc.deficits.update({1: 0.0, 2: 5.0, 3: 0.0, 4: 0.0})
    rates = {1: 1.0, 2: 1.0, 3: 1.0, 4: 1.0}
    assert priority_order(acc, rates) == [2, 1, 3, 4]
    # Equal priority needs share/fraction equal; a larger share with a larger fraction ties.
    acc.reset(0.0, {1: 0.25, 2: 0.5, 3: 0.5, 4: 0.5})
    acc.deficits.update({1: 0.0, 2: 0.0, 3: 0.0, 4: 0.0})
    acc.job_time_s.update({1: 25.0, 2: 50.0, 3: 50.0, 4: 50.0})
    acc.worker_time_s = 175.0
    acc.allocation[1] = 0.25
    assert priority_order(acc, rates) == [2, 3, 4, 1]


@pytest.mark.parametrize(("resolution", "order"), [(0.0, [2, 1]), (1e-6, [1, 2])])
def test_deficits_equal_but_for_rounding_tie_at_a_resolution(resolution, order):
    """Both jobs were owed 0.3 s and got it, job 1 as 0.1 + 0.2 (0.30000000000000004). Compared
    exactly (the reference), job 2's deficit of 0 beats job 1's -5.6e-17; kept to 1e-6 s (the
    default mode) both are 0 and job order decides."""
    acc = PriorityAccounting(round_s=100.0, deficit_resolution_s=resolution)
    acc.add_job(1)
    acc.add_job(2)
    acc.reset(0.0, {1: 0.5, 2: 0.5})
    acc.record_run(1, 0.1)
    acc.record_run(1, 0.2)
    acc.record_run(2, 0.3)
    acc.reset(0.6, {1: 0.5, 2: 0.5})
    assert (acc.deficits[1] == acc.deficits[2]) == (resolution > 0)
    assert priority_order(acc, {1: 1.0, 2: 1.0}) == order


def test_deficits_are_kept_as_multiples_of_the_resolution():
    acc = PriorityAccounting(round_s=100.0, deficit_resolution_s=0.5)
    acc.add_job(1)
    acc.reset(0.0, {1: 1.0})
    acc.record_run(1, 7.3)
    acc.reset(10.0, {1: 1.0})
    assert acc.deficits == {1: 2.5}  # owed 10, got 7.3: 2.7 kept as 5 x 0.5


def test_a_gang_that_fits_exactly_is_taken():
    assert select_gangs([1, 2], {1: 3, 2: 5}, 8) == [1, 2]
    assert select_gangs([1, 2, 3], {1: 3, 2: 5, 3: 1}, 8) == [1, 2]
    assert select_gangs([1], {1: 9}, 8) == []


def test_jobs_missing_from_the_eligibility_map_are_eligible():
    assert select_gangs([1, 2, 3], {1: 1, 2: 1, 3: 1}, 8, eligible={2: False, 3: True}) == [1, 3]


def test_last_rounds_gpus_of_another_width_are_not_kept():
    # Job 1 ran on (4, 5) as a 2-GPU job; now it is listed as 1 GPU: it gets the lowest free id.
    placed = place_gangs([1], {1: 1}, SERVERS_8, previous={1: (4, 5)})
    assert placed == {1: (0,)}


def test_a_lease_is_not_kept_when_one_of_its_gpus_is_taken():
    # Job 2 (width 2) had (2, 3); the wider job 9 keeps (0, 1, 2, 3) first, so job 2 moves on.
    previous = {9: (0, 1, 2, 3), 2: (2, 3), 3: (6, 7)}
    placed = place_gangs([2, 3, 9], {2: 2, 3: 2, 9: 4}, SERVERS_8, previous)
    assert placed == {9: (0, 1, 2, 3), 3: (6, 7), 2: (4, 5)}


def test_new_jobs_take_free_gpus_in_selection_order_from_a_forward_cursor():
    previous = {1: (1,)}
    placed = place_gangs([3, 1, 2], {1: 1, 2: 1, 3: 1}, SERVERS_8, previous)
    assert placed == {1: (1,), 3: (0,), 2: (2,)}
    # Servers are walked in the order given, GPU ids as listed in each server.
    servers = [[4, 5], [0, 1]]
    assert place_gangs([1, 2], {1: 2, 2: 1}, servers, {}) == {1: (4, 5), 2: (0,)}


def test_the_cursor_never_goes_back_to_a_gpu_freed_behind_it():
    # Width 2 first: job 5 takes (0, 1), job 6 keeps (2, 3); width 1: job 7 keeps (4,),
    # job 8 must take 5 (the cursor is past 0 and 1, which are taken anyway).
    previous = {6: (2, 3), 7: (4,)}
    placed = place_gangs([5, 6, 7, 8], {5: 2, 6: 2, 7: 1, 8: 1}, SERVERS_8, previous)
    assert placed == {6: (2, 3), 5: (0, 1), 7: (4,), 8: (5,)}


def test_more_gpus_than_the_cluster_has_is_refused():
    with pytest.raises(ValueError, match="job 3 needs 4 GPUs; the round is over-committed"):
        place_gangs([1, 3], {1: 4, 3: 4}, [[0, 1, 2, 3], [4, 5]], {})
    with pytest.raises(ValueError, match="job 2 needs 1 GPUs"):
        place_gangs([1, 2], {1: 1, 2: 1}, [[0]], {})
