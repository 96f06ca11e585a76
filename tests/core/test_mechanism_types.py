"""The heterogeneous round (Gavel, OSDI '20, section 5, keyed by (job, type)): spreading flat
shares, per-(job, type) priorities, one type per gang, the round planners' type choice, and
that on one type everything is the single-type mechanism exactly."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shockwave import make_sim_config
from shockwave.mechanism import (
    PriorityAccounting,
    TypedAccounting,
    fastest_types,
    place_gangs,
    priority_order,
    select_gangs,
    select_typed_gangs,
    selectable_pairs,
    typed_shares,
)
from shockwave.model import Cluster, JobSpec
from shockwave.planner import RoundPlanner
from shockwave.policies.base import ClusterView, JobView
from shockwave.workload.adaptation import JobProfile
from shockwave.workload.throughput import load_throughputs

V100_K80 = Cluster.of_types([("v100", 1, 1), ("k80", 1, 1)])


def job(job_id: int, rates: dict[str, float], gpus: int = 1) -> JobView:
    spec = JobSpec(job_id=job_id, model="ResNet-18", batch_size=32, gpus=gpus, mode="static",
                   total_steps=1000, arrival_s=0.0, duration_s=1000.0)
    profile = JobProfile(1, 1000, (32,), np.array([1000.0]))
    first = next(rate for rate in rates.values() if rate > 0)
    return JobView(spec=spec, profile=profile, batch_size=32, throughput=first,
                   total_steps=1000.0, steps_done=0.0, admitted_s=0.0, rounds_received=0,
                   attained_s=0.0, ran_last_round=False, throughputs_by_type=rates)


def view(cluster: Cluster, jobs: list[JobView], now_s: float, round_index: int) -> ClusterView:
    return ClusterView(now_s=now_s, round_index=round_index, round_s=120.0, cluster=cluster,
                       jobs={j.job_id: j for j in jobs}, throughputs=load_throughputs())


class FixedShares:
    """A policy answering the same shares every time (typed or flat)."""

    name: ClassVar[str] = "fixed"

    def __init__(self, shares: dict, plans_rounds: bool = False) -> None:
        self.shares, self.plans_rounds = shares, plans_rounds

    def allocate(self, v: ClusterView) -> dict:
        return {j: x for j, x in self.shares.items() if j in v.jobs}


def test_flat_shares_spread_over_types_by_gpu_count() -> None:
    cluster = Cluster.of_types([("v100", 2, 1), ("k80", 6, 2)])
    assert typed_shares({0: 0.8, 1: 0.0}, cluster) == {
        0: {"v100": 0.8 * (2 / 8), "k80": 0.8 * (6 / 8)}, 1: {"v100": 0.0, "k80": 0.0}}
    assert typed_shares({0: 0.8}, cluster)[0] == pytest.approx({"v100": 0.2, "k80": 0.6})


def test_typed_shares_are_kept_and_missing_types_are_zero() -> None:
    cluster = Cluster.of_types([("v100", 2, 1), ("k80", 6, 2)])
    assert typed_shares({0: {"k80": 0.5}, 1: 0.5}, cluster) == {
        0: {"v100": 0.0, "k80": 0.5}, 1: {"v100": 0.125, "k80": 0.375}}
    with pytest.raises(ValueError, match=r"job 0: a share on GPU type\(s\) \['p100'\]"):
        typed_shares({0: {"p100": 1.0}}, cluster)


def test_typed_shares_in_cluster_order_equal_the_general_path() -> None:
    """The fast path (a dict listing every type in cluster order) against the same shares in
    another key order (the general path), on random shares: equal values, types and key order."""
    cluster = Cluster.of_types([("v100", 4, 2), ("p100", 3, 1), ("k80", 6, 2)])
    rng = np.random.default_rng(3)
    for _ in range(50):
        rows = rng.random((7, 3)) * (rng.random((7, 3)) > 0.3)
        fast = {j: dict(zip(cluster.gpu_types, row.tolist(), strict=True))
                for j, row in enumerate(rows)}
        slow = {j: dict(reversed(list(share.items()))) for j, share in fast.items()}
        got, want = typed_shares(fast, cluster), typed_shares(slow, cluster)
        assert got == want
        assert all(list(got[j]) == list(want[j]) == list(cluster.gpu_types) for j in got)
        assert all(type(x) is float for share in got.values() for x in share.values())


def test_on_one_type_a_flat_share_is_unchanged_to_the_bit() -> None:
    for share in (0.1, 1 / 3, 0.7, 2 / 7, 1.0, 0.0):
        assert typed_shares({0: share}, Cluster(12)) == {0: {"v100": share}}


def test_two_types_three_jobs_typed_shares_give_these_rounds() -> None:
    """Hand-computed (120 s rounds; every job starts with 60 s received on each type):
    round 0: priorities v100 (1.5, 1.5, 0), k80 (0, 1.5, 1.5); ties keep type then job order:
    job 0 takes the v100, job 1 the k80. Round 1: v100 received 180/60/60 of 300 s -> job 1
    (2.5) beats job 0 (0.83); k80 60/180/60 -> job 2 (2.5). Round 2 is round 0 again (all
    priorities 7/6 or 0, ties by order), and so on: every job gets exactly its shares."""
    shares = {0: {"v100": 0.5}, 1: {"v100": 0.5, "k80": 0.5}, 2: {"k80": 0.5}}
    planner = RoundPlanner(FixedShares(shares), V100_K80, make_sim_config("fixed"))
    jobs = [job(j, {"v100": 2.0, "k80": 1.0}) for j in range(3)]
    for j in range(3):
        planner.job_added(j)
    plans = []
    for r in range(4):
        plan = planner.next_round(view(V100_K80, jobs, now_s=120.0 * r, round_index=r))
        plans.append(dict(plan.placements))
        for job_id, gpus in plan.placements.items():
            planner.job_ran(job_id, 120.0, V100_K80.type_of(gpus[0]))
    assert plans == [{0: (0,), 1: (1,)}, {1: (0,), 2: (1,)}, {0: (0,), 1: (1,)}, {1: (0,), 2: (1,)}]
    assert planner.allocations_computed == 1


def test_a_job_never_runs_on_a_type_where_its_rate_is_zero() -> None:
    # Job 0 cannot run on the k80 (rate 0): it waits for the v100 rather than take the k80.
    planner = RoundPlanner(FixedShares({0: 1.0, 1: 1.0}), V100_K80, make_sim_config("fixed"))
    jobs = [job(0, {"v100": 2.0, "k80": 0.0}), job(1, {"v100": 2.0, "k80": 1.0})]
    for j in range(2):
        planner.job_added(j)
    for r in range(6):
        plan = planner.next_round(view(V100_K80, jobs, now_s=120.0 * r, round_index=r))
        assert V100_K80.type_of(plan.placements[1][0]) in ("v100", "k80")
        if 0 in plan.placements:
            assert plan.placements[0] == (0,)
        for job_id, gpus in plan.placements.items():
            planner.job_ran(job_id, 120.0, V100_K80.type_of(gpus[0]))


def test_round_planners_get_the_fastest_type_with_room() -> None:
    cluster = Cluster.of_types([("v100", 1, 1), ("p100", 1, 1), ("k80", 2, 2)])
    planner = RoundPlanner(FixedShares({0: 1.0, 1: 1.0, 2: 1.0, 3: 1.0, 4: 0.0}, True), cluster,
                           make_sim_config("fixed"))
    rates = {"v100": 3.0, "p100": 2.0, "k80": 1.0}
    jobs = [job(0, rates), job(1, rates), job(2, rates, gpus=2), job(3, rates), job(4, rates)]
    plan = planner.next_round(view(cluster, jobs, 0.0, 0))
    # job 0: v100; job 1: p100 (v100 full); job 2 (2 GPUs): only the k80 server holds it;
    # job 3: no room left; job 4: share 0.
    assert dict(plan.placements) == {0: (0,), 1: (1,), 2: (2, 3)}


def test_a_round_planners_typed_share_names_the_types_it_may_run_on() -> None:
    cluster = Cluster.of_types([("v100", 1, 1), ("k80", 1, 1)])
    planner = RoundPlanner(FixedShares({0: {"k80": 1.0}, 1: {"v100": 0.4, "k80": 0.6}}, True),
                           cluster, make_sim_config("fixed"))
    rates = {"v100": 3.0, "k80": 1.0}
    plan = planner.next_round(view(cluster, [job(0, rates), job(1, rates)], 0.0, 0))
    assert dict(plan.placements) == {0: (1,)}  # job 1 wants the k80 too, which job 0 took


def test_fastest_types_break_ties_in_cluster_order_and_skip_types_without_rate() -> None:
    capacity = {"v100": 1, "p100": 1, "k80": 1}
    rates = {0: {"v100": 1.0, "p100": 1.0, "k80": 1.0}, 1: {"v100": 0.0, "p100": 0.0, "k80": 0.5},
             2: {"v100": 9.0, "p100": 0.0, "k80": 0.0}}
    chosen = fastest_types([0, 1, 2], {0: 1, 1: 1, 2: 1}, rates, capacity)
    assert chosen == {"v100": [0], "p100": [], "k80": [1]}  # job 2 runs only on the v100: taken


def test_typed_selection_takes_a_job_once_and_skips_what_does_not_fit() -> None:
    pairs = [(1, "k80"), (1, "v100"), (2, "v100"), (3, "v100"), (3, "k80"), (4, "k80")]
    gpus = {1: 2, 2: 4, 3: 2, 4: 1}
    chosen = select_typed_gangs(pairs, gpus, {"v100": 4, "k80": 2})
    assert chosen == {"v100": [2], "k80": [1]}
    chosen = select_typed_gangs(pairs, gpus, {"v100": 4, "k80": 3},
                                eligible=lambda j, t: (j, t) != (2, "v100"))
    assert chosen == {"v100": [3], "k80": [1, 4]}


def test_a_fresh_gang_goes_on_one_server_when_one_has_room() -> None:
    # Gang 1 kept GPUs 3-4 (it straddles two servers); gang 2 takes 0-1; gang 3 would get the
    # lowest free ids 2 and 5 across servers, but server 1 has room for it whole.
    servers = [[0, 1, 2, 3], [4, 5, 6, 7]]
    placed = place_gangs([1, 2, 3], {1: 2, 2: 2, 3: 2}, servers, {1: (3, 4)})
    assert placed == {1: (3, 4), 2: (0, 1), 3: (5, 6)}


def test_a_gang_wider_than_any_server_takes_the_lowest_free_ids() -> None:
    placed = place_gangs([1, 2], {1: 3, 2: 1}, [[0, 1], [2, 3]], {2: (0,)})
    assert placed == {1: (0, 1, 2), 2: (3,)}


@settings(max_examples=150, deadline=None)
@given(
    shares=st.lists(st.sampled_from([0.0, 0.1, 0.25, 1 / 3, 0.5, 0.7, 1.0]), min_size=1,
                    max_size=10),
    rates=st.lists(st.sampled_from([0.0, 1.0, 2.5]), min_size=10, max_size=10),
    widths=st.lists(st.sampled_from([1, 2, 4]), min_size=10, max_size=10),
    runs=st.lists(st.tuples(st.integers(0, 9), st.sampled_from([0.0, 30.0, 100.0, 120.0])),
                  max_size=25),
    num_gpus=st.integers(min_value=1, max_value=12),
)
def test_on_one_type_the_typed_round_is_the_single_type_round(shares, rates, widths, runs,
                                                              num_gpus) -> None:
    """Same priorities, same order, same selection: the homogeneous path is unchanged."""
    jobs = list(range(len(shares)))
    flat = PriorityAccounting(round_s=120.0)
    typed = TypedAccounting(round_s=120.0, gpu_types=("v100",))
    for j in jobs:
        flat.add_job(j)
        typed.add_job(j)
    allocation = dict(zip(jobs, shares, strict=False))
    flat.reset(0.0, allocation)
    typed.reset(0.0, typed_shares(allocation, Cluster(num_gpus)))
    for j, seconds in runs:
        if j in allocation:
            flat.record_run(j, seconds)
            typed.record_run(j, "v100", seconds)
    flat.reset(480.0, allocation)
    typed.reset(480.0, typed_shares(allocation, Cluster(num_gpus)))
    throughput = {j: rates[j] for j in jobs}
    order = priority_order(flat, throughput)
    typed_rates = {j: {"v100": rates[j]} for j in jobs}
    pairs = _typed_priority_order_plain(typed, typed_rates)
    assert [(j, "v100") for j in order] == [(j, t) for j, t, _ in pairs]
    prio = flat.priorities(throughput)
    assert [prio[j] for j in order] == [p for _, _, p in pairs]
    assert selectable_pairs(typed, typed_rates, unallocated=True, zero_priority=True) == \
        [(j, "v100") for j in order if rates[j] > 0]
    gpus = dict(zip(jobs, widths, strict=False))
    eligible = {j: rates[j] > 0 for j in jobs}
    assert select_gangs(order, gpus, num_gpus, eligible=eligible) == select_typed_gangs(
        [(j, t) for j, t, _ in pairs], gpus, {"v100": num_gpus},
        lambda j, t: eligible[j])["v100"]


def _walk_every_pair(pairs, gpus, capacity, eligible):
    """``select_typed_gangs`` as first written: every pair is looked at, none skipped."""
    left = dict(capacity)
    chosen = {t: [] for t in capacity}
    taken = set()
    for job_id, gpu_type in pairs:
        if job_id in taken or not eligible(job_id, gpu_type) or gpus[job_id] > left[gpu_type]:
            continue
        chosen[gpu_type].append(job_id)
        taken.add(job_id)
        left[gpu_type] -= gpus[job_id]
    return chosen


@settings(max_examples=200, deadline=None)
@given(widths=st.lists(st.sampled_from([1, 2, 4, 8]), min_size=1, max_size=30),
       capacity=st.fixed_dictionaries({"v100": st.integers(0, 16), "k80": st.integers(0, 8)}),
       seed=st.integers(0, 2**16))
def test_the_walk_stops_when_full_without_changing_the_choice(widths, capacity, seed):
    """Stopping once every GPU is taken chooses what the walk over every pair chooses."""
    rng = np.random.default_rng(seed)
    jobs = list(range(len(widths)))
    pairs = [(int(j), t) for j in rng.permutation(jobs) for t in ("v100", "k80")]
    pairs = [pairs[i] for i in rng.permutation(len(pairs))]
    gpus = dict(zip(jobs, widths, strict=True))
    banned = {(j, t) for j, t in pairs if rng.random() < 0.2}

    def eligible(j, t):
        return (j, t) not in banned

    assert select_typed_gangs(pairs, gpus, capacity, eligible) == _walk_every_pair(
        pairs, gpus, capacity, eligible)


def _typed_priority_order_plain(accounting: TypedAccounting, rates: dict) -> list:
    """Every (job, type, priority) by (priority, deficit, share), highest first, as first
    written: each type's ``priorities`` from a rate dictionary, one stable sort (the order
    ``selectable_pairs`` keeps the selectable pairs of)."""
    entries = []
    for gpu_type, acc in accounting.by_type.items():
        prio = acc.priorities({j: by_type.get(gpu_type, 0.0) for j, by_type in rates.items()})
        entries.extend(((prio[j], acc.deficits[j], acc.allocation.get(j, 0.0)), j, gpu_type)
                       for j in prio)
    entries.sort(key=lambda entry: entry[0], reverse=True)
    return [(job_id, gpu_type, key[0]) for key, job_id, gpu_type in entries]


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_the_inlined_typed_priorities_are_the_per_type_priorities(data) -> None:
    """Random histories (jobs added and removed, shares adopted, runs recorded, some jobs
    without a rate or a share, ties): the selectable pairs in the per-type priorities' order,
    bit for bit."""
    types = ("v100", "p100", "k80")[: data.draw(st.integers(1, 3))]
    accounting = TypedAccounting(round_s=120.0, gpu_types=types)
    share = st.sampled_from([0.0, 0.25, 0.5, 1.0 / 3.0, 1.0])
    rates: dict[int, dict[str, float]] = {}
    for step in range(data.draw(st.integers(1, 6))):
        for job_id in data.draw(st.lists(st.integers(0, 9), max_size=4, unique=True)):
            if job_id in rates:
                accounting.remove_job(job_id)
                del rates[job_id]
            else:
                accounting.add_job(job_id)
                rates[job_id] = {t: data.draw(st.sampled_from([0.0, 1.0, 2.5])) for t in types}
        if data.draw(st.booleans()):
            allocation = {j: {t: data.draw(share) for t in types} for j in rates
                          if data.draw(st.booleans())}
            accounting.reset(120.0 * step, allocation)
        for job_id in list(rates):
            if data.draw(st.booleans()):
                accounting.record_run(job_id, data.draw(st.sampled_from(types)),
                                      data.draw(st.sampled_from([0.0, 60.0, 120.0])))
        listed = {j: r for j, r in rates.items() if data.draw(st.booleans())}
        assert selectable_pairs(accounting, listed, unallocated=True, zero_priority=True) == \
            [(j, t) for j, t, _ in _typed_priority_order_plain(accounting, listed)
             if listed.get(j, {}).get(t, 0.0) > 0]


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_the_selectable_pairs_are_the_eligible_pairs_of_the_priority_order(data) -> None:
    """``selectable_pairs`` is the per-type priority order less the pairs the round could not
    choose (no rate, no share unless ``unallocated``, priority 0 unless ``zero_priority``), in
    the same order: random histories with zero and negative shares and ties."""
    types = ("v100", "p100", "k80")[: data.draw(st.integers(1, 3))]
    accounting = TypedAccounting(round_s=120.0, gpu_types=types)
    share = st.sampled_from([0.0, -0.0, 0.25, 0.5, 1.0 / 3.0, 1.0, -0.25, 5e-324])
    jobs = data.draw(st.lists(st.integers(0, 9), max_size=10, unique=True))
    for job_id in jobs:
        accounting.add_job(job_id)
    rates = {j: {t: data.draw(st.sampled_from([0.0, 1.0])) for t in types} for j in jobs}
    for step in range(data.draw(st.integers(1, 3))):
        accounting.reset(120.0 * step, {j: {t: data.draw(share) for t in types} for j in jobs
                                        if data.draw(st.booleans())})
        for job_id in jobs:
            accounting.record_run(job_id, data.draw(st.sampled_from(types)),
                                  data.draw(st.sampled_from([0.0, 60.0, 1e300])))
    unallocated, zero_priority = data.draw(st.booleans()), data.draw(st.booleans())
    allocated = accounting.allocated_jobs()
    want = [(j, t) for j, t, prio in _typed_priority_order_plain(accounting, rates)
            if rates[j][t] > 0 and (zero_priority or prio > 0)
            and (unallocated or j in allocated)]
    assert selectable_pairs(accounting, rates, unallocated=unallocated,
                            zero_priority=zero_priority) == want
