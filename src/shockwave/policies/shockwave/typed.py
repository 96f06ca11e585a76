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
    table = np.array([[float(by_size.get(int(b), 0.0)) for b in sizes] for by_size in rates])
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


def home_types(
    slowdown: np.ndarray, gpus: np.ndarray, remaining_s: np.ndarray, priorities: np.ndarray,
    counts: np.ndarray, rounds: int, round_s: float,
) -> np.ndarray:
    """``(J,)``: the type each job plans on in this window (Vogel's approximation method for
    the transportation problem of jobs to types).

    Job j asks ``d[j, t] = w_j min(T, ceil(R_j slowdown[j, t] / Delta))`` GPU-rounds of type t
    (enough to finish, at most the window); type t offers ``G_t T``. Jobs are taken in
    decreasing ``pi_j * regret_j``, where the regret is what the job loses per round if it
    does not get its fastest type, ``1 / slowdown_best - 1 / slowdown_second`` (1 / slowdown
    of its only type if it has one): jobs for which the type matters most choose first. Each
    takes its fastest type whose remaining offer covers its ask, else its fastest type with
    any offer left, else its fastest type. So on a lightly loaded cluster every job plans on
    its fastest type, and under load the jobs that are nearly as fast on a slower type are
    the ones moved there.
    """
    jobs, kinds = slowdown.shape
    with np.errstate(divide="ignore"):
        speed = np.where(np.isfinite(slowdown), 1.0 / slowdown, 0.0)
    ranked = np.sort(speed, axis=1)[:, ::-1]
    second = ranked[:, 1] if kinds > 1 else np.zeros(jobs)
    regret = ranked[:, 0] - second
    with np.errstate(invalid="ignore"):
        need = np.ceil(np.asarray(remaining_s, dtype=float)[:, None] * slowdown / round_s)
    asks = np.asarray(gpus, dtype=float)[:, None] * np.minimum(rounds, np.nan_to_num(
        need, posinf=rounds))
    room = np.asarray(counts, dtype=float) * rounds
    homes = np.zeros(jobs, dtype=np.int64)
    for j in np.lexsort((np.arange(jobs), -np.asarray(priorities) * regret)):
        runnable = np.flatnonzero(speed[j] > 0)
        fastest = runnable[np.argsort(-speed[j, runnable], kind="stable")]
        covered = fastest[room[fastest] >= asks[j, fastest]]
        some = fastest[room[fastest] > 0]
        home = covered[0] if len(covered) else some[0] if len(some) else fastest[0]
        room[home] -= min(room[home], asks[j, home])
        homes[j] = home
    return homes


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
    by_remaining = np.argsort(-remaining_s, kind="stable")
    preference = np.argsort(slowdown, axis=1, kind="stable")
    schedules: list[list[tuple[int, int]]] = []
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
