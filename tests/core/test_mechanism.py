"""The Gavel mechanism: priorities from shares, greedy gang selection, placement (SPEC 3.6)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from shockwave.mechanism import PriorityAccounting, place_gangs, priority_order, select_gangs

SERVERS_8 = [[g] for g in range(8)]


def test_selection_skips_a_gang_that_does_not_fit_and_goes_on():
    gpus = {1: 4, 2: 4, 3: 2, 4: 1}
    assert select_gangs([1, 2, 3, 4], gpus, 6) == [1, 3]
    assert select_gangs([1, 3, 2, 4], gpus, 7) == [1, 3, 4]


def test_selection_passes_over_ineligible_jobs():
    assert select_gangs([1, 2], {1: 1, 2: 1}, 2, eligible={1: False}) == [2]


def test_widest_gang_is_placed_first_on_the_lowest_free_gpus():
    placed = place_gangs([5, 6], {5: 1, 6: 4}, SERVERS_8, previous={})
    assert placed == {6: (0, 1, 2, 3), 5: (4,)}


def test_a_job_keeps_last_rounds_gpus_when_no_wider_gang_took_them():
    previous = {1: (5,), 2: (6,)}
    placed = place_gangs([1, 2, 3], {1: 1, 2: 1, 3: 1}, SERVERS_8, previous)
    assert placed == {1: (5,), 2: (6,), 3: (0,)}


def test_a_wider_new_gang_displaces_narrower_jobs():
    # As in the reference's round 10: the 4-GPU gang takes 0-3 first.
    previous = {1: (1,), 2: (2,)}
    placed = place_gangs([1, 2, 9], {1: 1, 2: 1, 9: 4}, SERVERS_8, previous)
    assert placed[9] == (0, 1, 2, 3)
    assert placed[1] == (4,) and placed[2] == (5,)


def test_priorities_are_share_over_fraction_of_time_received():
    acc = PriorityAccounting(round_s=120)
    for job in (1, 2):
        acc.add_job(job)
    acc.reset(0.0, {1: 0.5, 2: 0.5})
    acc.record_run(1, 120.0)  # job 1: 60 + 120 = 180 s; job 2: 60 s; total 240 s
    prio = acc.priorities({1: 1.0, 2: 1.0})
    assert prio[1] == 0.5 / (180 / 240)
    assert prio[2] == 0.5 / (60 / 240)
    assert priority_order(acc, {1: 1.0, 2: 1.0}) == [2, 1]


def test_reset_turns_time_received_into_deficits():
    acc = PriorityAccounting(round_s=120)
    acc.add_job(1)
    acc.reset(0.0, {1: 0.5})
    acc.record_run(1, 100.0)
    acc.reset(1000.0, {1: 0.5})
    assert acc.deficits[1] == 0.5 * 1000 - 100
    assert acc.job_time_s[1] == 60 and acc.worker_time_s == 60


def test_jobs_without_allocation_or_throughput_have_zero_priority():
    acc = PriorityAccounting(round_s=120)
    for job in (1, 2, 3):
        acc.add_job(job)
    acc.reset(0.0, {1: 1.0, 2: 1.0})
    prio = acc.priorities({1: 1.0, 2: 0.0, 3: 1.0})
    assert prio[2] == 0.0 and prio[3] == 0.0 and prio[1] > 0


@settings(max_examples=200, deadline=None)
@given(
    widths=st.lists(st.sampled_from([1, 2, 4, 8]), min_size=1, max_size=20),
    num_gpus=st.integers(min_value=8, max_value=40),
    per_server=st.sampled_from([1, 2, 4]),
    data=st.data(),
)
def test_placement_never_overcommits_and_keeps_gangs_whole(widths, num_gpus, per_server, data):
    gpus = dict(enumerate(widths))
    order = data.draw(st.permutations(list(gpus)))
    selected = select_gangs(order, gpus, num_gpus)
    servers = [list(range(s, min(s + per_server, num_gpus))) for s in range(0, num_gpus, per_server)]
    previous_ids = data.draw(st.permutations(range(num_gpus)))
    previous, cursor = {}, 0
    for job in data.draw(st.lists(st.sampled_from(list(gpus)), unique=True)):
        if cursor + gpus[job] <= num_gpus:
            previous[job] = tuple(previous_ids[cursor:cursor + gpus[job]])
            cursor += gpus[job]
    placed = place_gangs(selected, gpus, servers, previous)
    used = [g for ids in placed.values() for g in ids]
    assert sum(gpus[j] for j in selected) <= num_gpus
    assert len(used) == len(set(used)) and all(0 <= g < num_gpus for g in used)
    assert set(placed) == set(selected)
    assert all(len(placed[j]) == gpus[j] for j in selected)
