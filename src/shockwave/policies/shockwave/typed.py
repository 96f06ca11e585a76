"""Shockwave on a cluster of several GPU types (docs/policies.md, "Shockwave on heterogeneous
clusters"): how long a job's epochs take on each type, the fair share it would get from an
isolated 1/N of every type, which type each job plans on in the window (its "home"), and the
per-type packing of the planned rounds. Pure functions of arrays; the policy holds the state.

Types are indices into the cluster's ``gpu_types`` (cluster order). A job's *reference* type is
the one its profile was measured on: the simulator gives a policy the profile on the job's
fastest type (least total run time), and every time of the planning program (``dbar_j``,
``R_j``, the finish-time estimate) stays in that type's seconds; ``slowdown[j, t]`` converts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from shockwave.policies.shockwave.packing import fallback_plan, rank_rounds


def epoch_seconds_by_type(
    sizes: Sequence[int], samples_per_epoch: int, rates: Sequence[Mapping[int, float]]
) -> np.ndarray:
    """``(K, E)``: seconds of each profiled epoch on each type, ``ceil(S / b_e) / rate_t(b_e)``
    at the epoch's planned batch size ``b_e`` (``inf`` where a rate is missing or 0: the job
    cannot run that epoch there)."""
    sizes = np.asarray(sizes, dtype=np.int64)
    iterations = -(-samples_per_epoch // sizes)
    distinct, index = np.unique(sizes, return_inverse=True)  # a few batch sizes, many epochs
    table = np.array([[float(by_size.get(int(b), 0.0)) for b in distinct.tolist()]
                      for by_size in rates]).reshape(len(rates), len(distinct))
    # row-major like the per-epoch table it replaces: the sums over epochs keep their order
    table = np.ascontiguousarray(table[:, index])
    with np.errstate(divide="ignore"):
        return np.where(table > 0, iterations[None, :] / np.where(table > 0, table, 1.0), np.inf)


def reference_type(epoch_s: np.ndarray) -> int:
    """The type with the least total run time (first in cluster order on ties): the type the
    simulator measured the job's profile on (``sim.loop.admitted_job``)."""
    return int(np.argmin(epoch_s.sum(axis=1)))


def slowdowns(epoch_s: np.ndarray, ref: int, progress: int) -> np.ndarray:
    """``(K,)``: how many times longer the job's remaining epochs (``progress`` onwards, at their
    planned batch sizes) take on each type than on its reference type; ``inf`` where it cannot
    run. Once every epoch is done, the last epoch's ratio."""
    start = min(max(progress, 0), epoch_s.shape[1] - 1)
    rest = epoch_s[:, start:].sum(axis=1)
    return rest / rest[ref]


def typed_fair_share(slowdown: np.ndarray, counts: np.ndarray, num_jobs: int) -> np.ndarray:
    """``(J,)``: each job's speed, relative to running alone on its reference type, when it holds
    ``1/N`` of every type (Gavel's isolated split, as Shockwave's share ``min(1, G/N)`` is
    undivided by gang width): ``x_t = G_t / N`` scaled so that ``sum_t x_t <= 1``, and the share
    ``min(1, sum_t x_t / slowdown[j, t])`` over the types the job can run on. On one type this
    is ``min(1, G / N)``."""
    counts = np.asarray(counts, dtype=float)
    x = counts / max(num_jobs, 1)
    x = x / max(1.0, float(x.sum()))
    with np.errstate(divide="ignore"):
        speed = np.where(np.isfinite(slowdown), 1.0 / slowdown, 0.0)
    return np.minimum(1.0, speed @ x)


def home_asks(
    slowdown: np.ndarray, remaining_s: np.ndarray, rounds: int, round_s: float
) -> np.ndarray:
    """``(J, K)``: the rounds job j asks of type t in the window, enough to finish there,
    ``min(T, ceil(R_j slowdown[j, t] / Delta))`` (0 where it cannot run)."""
    with np.errstate(invalid="ignore"):
        need = np.ceil(np.asarray(remaining_s, dtype=float)[:, None] * slowdown / round_s)
    return np.where(np.isfinite(slowdown), np.minimum(rounds, np.nan_to_num(need, posinf=rounds)),
                    0).astype(np.int64)


def home_types(
    gains: np.ndarray, slowdown: np.ndarray, asks: np.ndarray, gpus: np.ndarray,
    counts: np.ndarray, rounds: int,
) -> np.ndarray:
    """``(J,)``: the type each job plans on in this window, by Vogel's approximation method
    for the transportation problem of jobs to types.

    ``gains[j, t]``: the program's value per GPU-round of job j's ``asks[j, t]`` rounds on type
    t (``-inf`` where it cannot run); type t offers ``G_t T`` GPU-rounds. Jobs are taken in
    decreasing regret, the value a round loses when the job moves from its best type b to its
    next fastest type s: ``gain_b (1 - slowdown_b / slowdown_s)`` (``gain_b`` when it can run on
    one type only). The gains themselves compress speed differences (the log utility values
    the first 20 % of progress most), so the regret is the speed lost, priced at the job's
    value per round. Jobs that lose most choose first; each takes the type where the part of
    its ask still on offer is worth most, ``gain[j, t] * min(ask, offer left)``, and uses up to
    its ask of it; when no type has offer left, the least oversubscribed type (most offer left
    relative to its size). So on a lightly loaded cluster every job plans on its best type, and
    under load the jobs that lose least on a slower type are moved.
    """
    jobs = gains.shape[0]
    best_type = np.argmax(gains, axis=1)
    rows = np.arange(jobs)
    best_gain = gains[rows, best_type]
    others = np.where(np.arange(gains.shape[1])[None, :] == best_type[:, None], np.inf, slowdown)
    next_slow = others.min(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        lost = np.where(np.isfinite(next_slow), 1.0 - slowdown[rows, best_type] / next_slow, 1.0)
    regret = best_gain * np.maximum(lost, 0.0)
    wanted = (np.asarray(gpus, dtype=float)[:, None] * asks).tolist()
    size = (np.asarray(counts, dtype=float) * rounds).tolist()
    room = size.copy()
    # Each job's choice is among a few types: Python floats (the same IEEE operations as the
    # arrays, one at a time) instead of a handful of array calls per job.
    types_of = [[t for t, finite in enumerate(row) if finite]
                for row in np.isfinite(gains).tolist()]
    gain_rows = gains.tolist()
    homes = np.zeros(jobs, dtype=np.int64)
    for j in np.lexsort((np.arange(jobs), -regret)).tolist():
        runnable, gain, want = types_of[j], gain_rows[j], wanted[j]
        expected = [gain[t] * min(want[t], max(room[t], 0.0)) for t in runnable]
        if max(expected) > 0:
            home = runnable[_first_max(expected)]
        else:
            home = runnable[_first_max([room[t] / size[t] for t in runnable])]
        room[home] -= want[home]
        homes[j] = home
    return homes


def protected_homes(homes: np.ndarray, slowdown: np.ndarray, protected: np.ndarray
                    ) -> np.ndarray:
    """``homes`` with each protected job (makespan protection) on its fastest type for the jobs'
    remaining epochs (least ``slowdown``; the first such type on ties). A protected job asks for
    the rounds that keep it on course to finish within ``(1 + slack) H``, at its reference
    speed; on a slower home that is more rounds than the window has, so the protection could
    not hold. The others keep the homes ``home_types`` gave them: a fast type wanted by a
    protected job and by others is shared by the program's own rounds and priorities."""
    return np.where(protected, np.asarray(slowdown).argmin(axis=1), homes)


def _first_max(values: list[float]) -> int:
    """The index of the largest value, the first on ties (``np.argmax``)."""
    return max(range(len(values)), key=values.__getitem__)


def rank_typed_rounds(
    counts: np.ndarray, homes: np.ndarray, priorities: np.ndarray, gpus: np.ndarray,
    type_counts: np.ndarray, rounds: int, memo: dict[tuple[int, bytes], np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The re-ranking (``packing.rank_rounds``) type by type, each type's jobs on its
    ``G_t`` GPUs. Returns the plan ``X[j, t]`` and, per type, the GPU-rounds that did not fit
    (all 0: every count was placed). A job has one home type, so it never runs on two types
    in one round. ``memo`` keeps each type's placement by its counts, so a re-solve that
    changed one type's counts re-ranks that type only (the ranking is deterministic)."""
    plan = np.zeros((len(counts), rounds), dtype=bool)
    unplaced = np.zeros(len(type_counts), dtype=np.int64)
    for t, size in enumerate(type_counts):
        mine = np.where(homes == t, counts, 0)
        if not mine.any():
            continue
        key = (t, mine.tobytes())
        placed = None if memo is None else memo.get(key)
        if placed is None:
            placed, _ = rank_rounds(mine, priorities, gpus, int(size), rounds)
            if memo is not None:
                memo[key] = placed
        plan |= placed
        unplaced[t] = int(gpus @ (mine - placed.sum(axis=1)))
    return plan, unplaced


def typed_fallback_plan(
    remaining_s: np.ndarray, priorities: np.ndarray, gpus: np.ndarray, homes: np.ndarray,
    slowdown: np.ndarray, type_counts: np.ndarray, rounds: int, round_s: float,
) -> np.ndarray:
    """``packing.fallback_plan`` on each type for the jobs homed there, each asking the rounds
    it needs to finish at its home type's speed."""
    plan = np.zeros((len(gpus), rounds), dtype=bool)
    for t, size in enumerate(type_counts):
        mine = homes == t
        if mine.any():
            need = np.where(mine, remaining_s * slowdown, 0.0)
            plan |= fallback_plan(need, priorities, gpus, int(size), rounds, round_s)
    return plan


def typed_schedules(
    plan: np.ndarray, homes: np.ndarray, gpus: np.ndarray, remaining_s: np.ndarray,
    slowdown: np.ndarray, type_counts: np.ndarray,
) -> list[list[tuple[int, int]]]:
    """Per round, ``(job, type)`` pairs: the planned jobs on their home type, then (work
    conservation) the others in decreasing remaining time, each on its fastest type that still
    has room for its gang (the planner's rule for a flat share)."""
    by_remaining = np.argsort(-remaining_s, kind="stable").tolist()
    preference = np.argsort(slowdown, axis=1, kind="stable")
    # per job, the types it can run on, fastest first (plain lists: this loop is per round)
    options = [[k for k in order if runs[k]]
               for order, runs in zip(preference.tolist(), np.isfinite(slowdown).tolist(),
                                      strict=True)]
    width = [int(g) for g in gpus]
    home = [int(h) for h in homes]
    counts = [int(c) for c in type_counts]
    narrowest = min(width, default=0)
    schedules: list[list[tuple[int, int]]] = []
    for t in range(plan.shape[1]):
        chosen = plan[:, t]
        planned = np.flatnonzero(chosen).tolist()
        pairs = [(j, home[j]) for j in planned]
        free = counts.copy()
        for j, kind in pairs:
            free[kind] -= width[j]
        taken = set(planned)
        for j in by_remaining:
            if max(free) < narrowest:  # no gang fits anywhere any more
                break
            if j in taken:
                continue
            for kind in options[j]:
                if width[j] <= free[kind]:
                    pairs.append((j, kind))
                    free[kind] -= width[j]
                    break
        schedules.append(pairs)
    return schedules


def reference_samples(
    timeline: Sequence[tuple[int, float, int]], round_s: float,
    rates: Sequence[Mapping[int, float]], ref: int,
) -> float:
    """Samples the measured rounds would have processed on the reference type: each entry's
    throughput is scaled by ``rate_ref(b) / rate_t(b)`` for the type t whose rate at batch size
    b is closest to it (in ratio). The calibration compares them with the profile (measured on
    the reference type), so a round on a slower type is not mistaken for a mis-profiled job."""
    samples = 0.0
    for _, throughput, batch_size in timeline:
        scale = 1.0
        ref_rate = rates[ref].get(batch_size, 0.0)
        known = [r.get(batch_size, 0.0) for r in rates]
        known = [r for r in known if r > 0]
        if throughput > 0 and ref_rate > 0 and known:
            nearest = min(known, key=lambda r: abs(np.log(throughput / r)))
            scale = ref_rate / nearest
        samples += throughput * scale * round_s * batch_size
    return samples
