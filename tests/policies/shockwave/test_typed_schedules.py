"""``typed_schedules`` (the typed plan's per-round pairs and work-conserving fill) against its
definition written plainly: planned jobs on their home type, then the others in decreasing
remaining time, each on its fastest type with room. The policy's version works on lists and
stops once no gang fits anywhere; both must give the same pairs in the same order."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from shockwave.policies.shockwave.typed import epoch_seconds_by_type, typed_schedules


def plain_typed_schedules(plan, homes, gpus, remaining_s, slowdown, type_counts):
    by_remaining = np.argsort(-remaining_s, kind="stable")
    preference = np.argsort(slowdown, axis=1, kind="stable")
    schedules = []
    for t in range(plan.shape[1]):
        chosen = plan[:, t]
        pairs = [(int(j), int(homes[j])) for j in np.flatnonzero(chosen)]
        free = np.asarray(type_counts, dtype=np.int64).copy()
        for j, kind in pairs:
            free[kind] -= gpus[j]
        for j in by_remaining:
            if chosen[j]:
                continue
            for kind in preference[j]:
                if np.isfinite(slowdown[j, kind]) and gpus[j] <= free[kind]:
                    pairs.append((int(j), int(kind)))
                    free[kind] -= gpus[j]
                    break
        schedules.append(pairs)
    return schedules


@st.composite
def typed_plans(draw):
    jobs = draw(st.integers(1, 12))
    types = draw(st.integers(1, 3))
    rounds = draw(st.integers(1, 6))
    counts = np.array(draw(st.lists(st.integers(1, 8), min_size=types, max_size=types)))
    gpus = np.array(draw(st.lists(st.sampled_from([1, 1, 2, 4]), min_size=jobs, max_size=jobs)))
    slowdown = np.array(draw(st.lists(st.sampled_from([1.0, 1.5, 3.0, np.inf]),
                                      min_size=jobs * types, max_size=jobs * types)))
    slowdown = slowdown.reshape(jobs, types)
    remaining = np.array(draw(st.lists(st.sampled_from([10.0, 100.0, 500.0, 1e4]),
                                       min_size=jobs, max_size=jobs)))
    homes = np.array([int(np.argmin(row)) for row in slowdown])
    # a plan that respects each home type's capacity round by round
    plan = np.zeros((jobs, rounds), dtype=bool)
    for t in range(rounds):
        free = counts.copy()
        for j in range(jobs):
            if draw(st.booleans()) and gpus[j] <= free[homes[j]]:
                plan[j, t] = True
                free[homes[j]] -= gpus[j]
    return plan, homes, gpus, remaining, slowdown, counts


@settings(max_examples=300, deadline=None)
@given(case=typed_plans())
def test_the_fast_version_gives_the_plain_version_s_pairs(case):
    assert typed_schedules(*case) == plain_typed_schedules(*case)


def plain_epoch_seconds_by_type(sizes, samples_per_epoch, rates):
    sizes = np.asarray(sizes, dtype=np.int64)
    iterations = -(-samples_per_epoch // sizes)
    table = np.array([[float(by_size.get(int(b), 0.0)) for b in sizes] for by_size in rates])
    with np.errstate(divide="ignore"):
        return np.where(table > 0, iterations[None, :] / np.where(table > 0, table, 1.0), np.inf)


@settings(max_examples=200, deadline=None)
@given(sizes=st.lists(st.sampled_from([16, 32, 64, 128, 256]), min_size=1, max_size=40),
       rates=st.lists(st.dictionaries(st.sampled_from([16, 32, 64, 128, 256]),
                                      st.one_of(st.just(0.0), st.floats(0.01, 50.0)),
                                      max_size=5), min_size=1, max_size=3),
       samples=st.integers(1, 60_000))
def test_epoch_seconds_are_the_per_epoch_table_bit_for_bit(sizes, rates, samples):
    """Same bytes and the same (row-major) layout: the policy sums these rows, and a sum over a
    column-major copy adds in another order and can differ in the last bit."""
    fast = epoch_seconds_by_type(sizes, samples, rates)
    plain = plain_epoch_seconds_by_type(sizes, samples, rates)
    assert fast.flags.c_contiguous and fast.tobytes() == plain.tobytes()
