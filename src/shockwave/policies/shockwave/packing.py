"""From planned round counts to per-round job lists: the re-ranking step (which rounds of the window
each job gets), the work-conserving fill (``construct_schedules``) and the no-solver fallback."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from shockwave.model import JobId


def greedy_pack(
    counts: np.ndarray, gpus: np.ndarray, order: Sequence[int], num_gpus: int, rounds: int,
    balanced: bool = False,
) -> tuple[np.ndarray, bool]:
    """Give each job, in ``order``, ``counts[j]`` rounds that still have room for its gang: the
    earliest ones, or (``balanced``) those with the most free GPUs, ties to the earliest. Jobs
    that need every round of the window have no choice and are placed first. Returns the plan
    ``X[j, t]`` and whether every count was placed."""
    plan = np.zeros((len(counts), rounds), dtype=bool)
    free = np.full(rounds, num_gpus, dtype=np.int64)
    complete = True
    forced = [j for j in order if counts[j] >= rounds]
    for j in forced + [j for j in order if 0 < counts[j] < rounds]:
        candidates = np.argsort(-free, kind="stable") if balanced else np.arange(rounds)
        chosen = candidates[free[candidates] >= gpus[j]][: int(counts[j])]
        plan[j, chosen] = True
        free[chosen] -= gpus[j]
        complete &= len(chosen) == counts[j]
    return plan, complete


def rank_order(counts: np.ndarray, priorities: np.ndarray) -> np.ndarray:
    """Jobs by decreasing ``pi_j / n_j``: the weight of job j's mean planned round in the
    reference's re-ranking objective ``min sum_j pi_j (sum_t t Y[j, t]) / n_j``."""
    weight = np.where(counts > 0, priorities / np.maximum(counts, 1), 0.0)
    return np.argsort(-weight, kind="stable")


def order_rounds(plan: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Permute the window's rounds (columns) so the heaviest come first: the optimal permutation
    for ``min sum_j w_j sum_t t X[j, t]`` (rearrangement inequality); capacity is unchanged."""
    column_weight = weights @ plan
    return plan[:, np.argsort(-column_weight, kind="stable")]


def rank_rounds(
    counts: np.ndarray, priorities: np.ndarray, gpus: np.ndarray, num_gpus: int, rounds: int
) -> tuple[np.ndarray, bool]:
    """The re-ranking step: place ``counts[j]`` rounds per job, high ``pi_j / n_j`` jobs early.

    First the greedy in decreasing ``pi_j / n_j``, each job in its earliest rounds with room: for
    single-GPU gangs it is optimal for the reference's re-ranking objective (an exchange argument:
    swapping a later round of a heavier job with an earlier round of a lighter one never increases
    the cost). It can strand a job that needs many rounds once early rounds are full; then the
    feasibility-first packing is used and its rounds are reordered by weight.
    """
    weights = np.where(counts > 0, priorities / np.maximum(counts, 1), 0.0)
    order = rank_order(counts, priorities)
    plan, complete = greedy_pack(counts, gpus, order, num_gpus, rounds)
    if complete:
        return plan, True
    balanced, complete = greedy_pack(counts, gpus, order, num_gpus, rounds, balanced=True)
    if complete or (gpus @ balanced).sum() > (gpus @ plan).sum():
        return order_rounds(balanced, weights), complete
    return plan, False


def fallback_counts(remaining_s: np.ndarray, round_s: float, rounds: int) -> np.ndarray:
    """The no-incumbent heuristic's demand: enough rounds to finish, capped by the window."""
    return np.minimum(rounds, np.ceil(np.maximum(remaining_s, 0.0) / round_s)).astype(np.int64)


def fallback_plan(
    remaining_s: np.ndarray, priorities: np.ndarray, gpus: np.ndarray, num_gpus: int,
    rounds: int, round_s: float,
) -> np.ndarray:
    """Greedy by priority (then longest remaining time): each job asks for the rounds it needs to
    finish and takes the earliest ones with room; used when a solve returns no incumbent."""
    counts = fallback_counts(remaining_s, round_s, rounds)
    order = np.lexsort((-remaining_s, -priorities))
    plan, _ = greedy_pack(counts, gpus, order, num_gpus, rounds)
    return plan


def construct_schedules(
    plan: np.ndarray, job_ids: Sequence[JobId], gpus: np.ndarray, remaining_s: np.ndarray,
    num_gpus: int,
) -> list[list[JobId]]:
    """Per-round job lists: the planned jobs, then (work conservation) the unplanned jobs in
    decreasing remaining time whenever their gang fits the idle GPUs."""
    by_remaining = np.argsort(-remaining_s, kind="stable")
    schedules: list[list[JobId]] = []
    for t in range(plan.shape[1]):
        chosen = plan[:, t]
        jobs = [job_ids[j] for j in np.flatnonzero(chosen)]
        idle = num_gpus - int(gpus[chosen].sum())
        for j in by_remaining:
            if idle <= 0:
                break
            if not chosen[j] and gpus[j] <= idle:
                jobs.append(job_ids[j])
                idle -= int(gpus[j])
        schedules.append(jobs)
    return schedules
