"""The re-ranking's fast paths against the from-scratch computation they replace.

``packing.rank_rounds`` places each job's rounds with as few feasibility checks as it can (the
checks are monotone in the free GPUs, so a candidate round that fails once fails for the rest of
the job's placement, and a run of rounds whose combined use keeps the rest placeable is taken in
one check), computes the rest's demand after every job at once, and checks with precomputed
tables (``_RestCheck``). ``_reference_rank_rounds`` below is the former implementation, one
from-scratch check per round taken and the demand updated job by job: the two must give the same
plan on every input, bit for bit.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shockwave.policies.shockwave import packing
from shockwave.policies.shockwave.packing import _RestCheck, rank_order, rank_rounds


def _lower_bound_profile(count: int, gpus: int, rounds: int) -> np.ndarray:
    """``w max(0, n - (T - k))`` for k = 1..T: the GPU-rounds a job with ``n`` rounds must
    place in *any* k rounds of the window."""
    k = np.arange(1, rounds + 1)
    return gpus * np.maximum(0, count - (rounds - k))


def _rest_may_fit(free: np.ndarray, demand: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """The check from its definition, for each row of ``free``: for every gang-size class W and
    every k, the rest's GPU-rounds that must fall into any k rounds fit the k tightest rounds'
    room usable by gangs of W."""
    usable = (free[:, None, :] // classes[None, :, None]) * classes[None, :, None]
    room = np.cumsum(np.sort(usable, axis=2), axis=2)
    return np.all(demand[None] <= room, axis=(1, 2))


def _reference_take_rounds(
    count: int, gpus: int, free: np.ndarray, demand: np.ndarray, classes: np.ndarray
) -> tuple[np.ndarray, bool]:
    """The former ``_take_rounds``: after the all-at-once check, the earliest round whose use
    keeps the rest placeable, re-checking every candidate after each round taken."""
    room = np.flatnonzero(free >= gpus)
    if len(room) <= count or not demand.any():
        chosen = room[:count]
        free[chosen] -= gpus
        return chosen, len(chosen) == count
    first = room[:count]
    trial = free.copy()
    trial[first] -= gpus
    taken = np.zeros(len(free), dtype=bool)
    if len(first) == count and _rest_may_fit(trial[None], demand, classes)[0]:
        taken[first] = True
    elif _rest_may_fit(free[None], demand, classes)[0]:
        while taken.sum() < count:
            candidates = np.flatnonzero((free - gpus * taken >= gpus) & ~taken)
            trials = np.repeat((free - gpus * taken)[None], len(candidates), axis=0)
            trials[np.arange(len(candidates)), candidates] -= gpus
            fits = np.flatnonzero(_rest_may_fit(trials, demand, classes))
            if len(fits) == 0:
                break
            taken[candidates[fits[0]]] = True
    for t in room:
        if taken.sum() >= count:
            break
        taken[t] = True
    free[taken] -= gpus
    chosen = np.flatnonzero(taken)
    return chosen, len(chosen) == count


def _reference_rank_rounds(
    counts: np.ndarray, priorities: np.ndarray, gpus: np.ndarray, num_gpus: int, rounds: int,
    lead: np.ndarray | None = None,
) -> tuple[np.ndarray, bool]:
    """The former ``rank_rounds``, verbatim but for ``_reference_take_rounds``."""
    counts = np.clip(np.asarray(counts, dtype=np.int64), 0, rounds)
    order = rank_order(counts, priorities)
    if lead is not None:
        order = np.concatenate((order[lead[order]], order[~lead[order]]))
    order = np.concatenate((order[counts[order] >= rounds],
                            order[(counts[order] > 0) & (counts[order] < rounds)]))
    classes = np.array(sorted({int(g) for g in gpus[order]}, reverse=True), dtype=np.int64)
    profiles = {int(j): _lower_bound_profile(int(counts[j]), int(gpus[j]), rounds) for j in order}
    member = {int(j): np.array([gpus[j] >= size for size in classes]) for j in order}
    demand = np.zeros((len(classes), rounds))
    for j in order:
        demand[member[int(j)]] += profiles[int(j)]
    free = np.full(rounds, num_gpus, dtype=np.int64)
    plan = np.zeros((len(counts), rounds), dtype=bool)
    complete = True
    for j in order:
        demand[member[int(j)]] -= profiles[int(j)]
        chosen, placed = _reference_take_rounds(int(counts[j]), int(gpus[j]), free, demand,
                                                classes)
        plan[j, chosen] = True
        complete &= placed
    return plan, complete


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_rest_check_equals_the_definition(data):
    """Random states (rows of free GPUs, zero included) and demands, met exactly or missed by one
    GPU-round, against ``_rest_may_fit``."""
    rounds = data.draw(st.integers(1, 20))
    num_gpus = data.draw(st.integers(1, 300))
    classes = np.array(sorted(data.draw(st.sets(st.integers(1, num_gpus), min_size=1,
                                                max_size=4)), reverse=True), dtype=np.int64)
    rows = data.draw(st.integers(1, 6))
    free = np.array(data.draw(st.lists(st.integers(0, num_gpus), min_size=rows * rounds,
                                       max_size=rows * rounds))).reshape(rows, rounds)
    base = np.array(data.draw(st.lists(st.integers(0, num_gpus), min_size=rounds,
                                       max_size=rounds)))
    usable = (base[None, :] // classes[:, None]) * classes[:, None]
    demand = np.cumsum(np.sort(usable, axis=1), axis=1).astype(np.float64)  # tight at ``base``
    demand += np.array(data.draw(st.lists(st.sampled_from([-1, 0, 0, 1]),
                                          min_size=demand.size, max_size=demand.size)),
                       dtype=np.float64).reshape(demand.shape)
    check = _RestCheck(classes, num_gpus, rounds)
    free = np.vstack((free, base[None]))
    assert np.array_equal(check.fits(free, demand), _rest_may_fit(free, demand, classes))


@st.composite
def packing_inputs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
    """Random re-ranking inputs: mixed gangs, counts from none to the whole window (and beyond,
    which is clipped), priorities with ties, and loads from light to far over capacity."""
    rounds = draw(st.integers(1, 12))
    jobs = draw(st.integers(1, 24))
    sizes = draw(st.sampled_from([(1,), (1, 2), (1, 2, 4), (1, 2, 4, 8), (2, 3), (1, 3, 5)]))
    num_gpus = draw(st.integers(max(sizes), 16))
    gpus = np.array(draw(st.lists(st.sampled_from(sizes), min_size=jobs, max_size=jobs)))
    counts = np.array(draw(st.lists(st.integers(0, rounds + 1), min_size=jobs, max_size=jobs)))
    priorities = np.array(draw(st.lists(st.sampled_from([0.5, 1.0, 2.0, 3.0, 7.5, 1e6]),
                                        min_size=jobs, max_size=jobs)))
    return counts, priorities, gpus, num_gpus, rounds


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(packing_inputs())
def test_rank_rounds_equals_the_one_check_per_round_version(case):
    counts, priorities, gpus, num_gpus, rounds = case
    placed, complete = rank_rounds(counts, priorities, gpus, num_gpus, rounds)
    expected, expected_complete = _reference_rank_rounds(counts, priorities, gpus, num_gpus,
                                                         rounds)
    assert np.array_equal(placed, expected)
    assert complete == expected_complete


def test_rank_rounds_equals_the_former_version_on_large_random_windows():
    """Cluster-sized instances (T = 20, 32-128 GPUs, the 1/2/4/8 mix of the generated traces)."""
    rng = np.random.default_rng(5)
    for _ in range(30):
        jobs = int(rng.integers(20, 120))
        num_gpus = int(rng.choice([32, 64, 128]))
        gpus = rng.choice([1, 2, 4, 8], p=[0.6, 0.25, 0.1, 0.05], size=jobs)
        counts = rng.integers(0, 21, size=jobs)
        priorities = np.where(rng.random(jobs) < 0.2, rng.random(jobs) * 1e3, 1.0)
        placed, complete = rank_rounds(counts, priorities, gpus, num_gpus, 20)
        expected, expected_complete = _reference_rank_rounds(counts, priorities, gpus,
                                                             num_gpus, 20)
        assert np.array_equal(placed, expected) and complete == expected_complete


def test_rank_rounds_equals_the_former_version_on_windows_filled_to_capacity(monkeypatch):
    """The level search's counts fill the window (sum of gang x rounds = G T), as at scale: the
    re-ranking's batched first phase ends part-way and the rest goes job by job; both phases
    must give the former version's rounds, with and without the makespan lead."""
    job_by_job = []
    original = packing._take_rounds

    def spy(*args, **kwargs):
        job_by_job.append(kwargs.get("precheck", True))
        return original(*args, **kwargs)

    monkeypatch.setattr(packing, "_take_rounds", spy)
    rng = np.random.default_rng(7)
    for _ in range(12):
        jobs, num_gpus, rounds = int(rng.integers(150, 300)), 128, 20
        gpus = rng.choice([1, 2, 4, 8], p=[0.65, 0.25, 0.08, 0.02], size=jobs)
        counts = rng.integers(1, 21, size=jobs)
        while int(gpus @ counts) > num_gpus * rounds:  # trim the largest until it fits
            counts[int(np.argmax(gpus * counts))] -= 1
        priorities = rng.gamma(2.0, size=jobs)
        lead = rng.random(jobs) < 0.05
        for kept in (None, lead):
            job_by_job.clear()
            placed, complete = rank_rounds(counts, priorities, gpus, num_gpus, rounds, kept)
            expected, expected_complete = _reference_rank_rounds(counts, priorities, gpus,
                                                                 num_gpus, rounds, kept)
            assert np.array_equal(placed, expected) and complete == expected_complete
            assert 0 < len(job_by_job) < jobs  # both phases ran
