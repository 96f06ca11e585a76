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


class _RestCheck:
    """The re-ranking's feasibility check: a necessary condition for the jobs not yet placed to
    fit, for a state of the window's free GPUs. A job with ``n`` rounds and ``w`` GPUs must place
    ``w max(0, n - (T - k))`` GPU-rounds in *any* k rounds of the window; so for every gang-size
    class W and every k, the rest's such GPU-rounds (gangs of >= W GPUs only, ``demand[c, k - 1]``)
    must fit the room usable by such gangs (``floor(f / W) W`` per round) in the k tightest
    rounds. Exact for single-GPU gangs (Gale-Ryser).

    What does not change within one re-ranking is precomputed: the usable room of each class for
    every free count, and prefix sums as a product with a triangular matrix of ones (all values
    are integers far below 2^53, so the float sums are exact; the demand too). The test's from-scratch version
    gives the same answers (tests/policies/shockwave/test_packing_equivalence.py)."""

    def __init__(self, classes: np.ndarray, num_gpus: int, rounds: int) -> None:
        free = np.arange(num_gpus + 1)  # a round's free GPUs never exceed the cluster's
        usable = (free[None, :] // classes[:, None]) * classes[:, None]
        self._usable = usable.astype(np.float64)
        self._prefix = np.triu(np.ones((rounds, rounds)))
        self.taken_before = np.tri(rounds + 1, rounds, -1, dtype=np.int64)
        """Row i: 1 in the first i columns (the states "the first i candidates taken")."""

    def _room(self, free: np.ndarray) -> np.ndarray:
        """The usable room in the k tightest rounds, ``room[c, ..., k - 1]``. The usable room
        is monotone in the free GPUs, so one sort orders the rounds for every class."""
        return self._usable[:, np.sort(free, axis=-1)] @ self._prefix

    def fits(self, free: np.ndarray, demand: np.ndarray) -> np.ndarray:
        """For each row of ``free``: whether the rest (``demand[c, k - 1]``) may still fit."""
        return (self._room(free) >= demand[:, None, :]).all(axis=(0, 2))

    def fits_each(self, free: np.ndarray, demand: np.ndarray) -> np.ndarray:
        """``fits`` with a demand per row (``demand[row, c, k - 1]``)."""
        return (self._room(free) >= demand.transpose(1, 0, 2)).all(axis=(0, 2))

    def fits_one(self, free: np.ndarray, demand: np.ndarray) -> bool:
        """``fits`` for one state of the window."""
        return bool((self._room(free) >= demand).all())


def _take_rounds(
    count: int, gpus: int, free: np.ndarray, demand: np.ndarray | None, check: _RestCheck,
    precheck: bool = True,
) -> tuple[np.ndarray, bool]:
    """The earliest rounds with room for the gang, skipping each round whose use would leave the
    jobs still to be placed (``demand``; ``None``: nobody left) without room; earliest rounds
    with room when nothing keeps them placeable (or to make up the count). Updates ``free``;
    returns the rounds and whether there were ``count`` of them.

    The rounds are those of a single pass in time order that takes a round when the rest still
    fits with it taken. The check is monotone (less free room never helps), so a round that fails
    once fails for the rest of the pass. Hence the earliest ``count`` rounds are taken when the
    rest fits with all of them taken (one check), and otherwise the pass runs in steps of two
    vectorised checks each: the cumulative states "the next 0, 1, .., m candidates taken" give
    the longest run of candidates that keeps the rest placeable (taken; the candidate after it
    fails and is dropped), then each later candidate taken alone on top of that run tells which
    ones fail already (dropped too: they would fail when the pass reaches them). After that the
    first candidate left is one the pass takes, so a step that needs one round takes it without a
    check, and a step that needs more first checks the one state "every step taken": when it
    fits, so does every shorter run, so the step takes them all and the pass ends. That is one
    to a few checks per job instead of one per round taken, for the same rounds
    (tests/policies/shockwave/test_packing_equivalence.py). ``precheck=False`` skips the first
    check, for a caller that expects it to fail: the first step's cumulative check holds the
    same state (its last row), so the rounds are the same."""
    room = (free >= gpus).nonzero()[0]  # flatnonzero on 1-D, without its wrappers
    if len(room) <= count or demand is None:  # no choice to make, or nobody left to protect
        chosen = room[:count]
        free[chosen] -= gpus
        return chosen, len(chosen) == count
    if precheck:
        first = room[:count]
        trial = free.copy()
        trial[first] -= gpus
        if check.fits_one(trial, demand):
            free[first] -= gpus
            return first, True
    taken, need = _pass(count, gpus, free, room, demand, check)
    for t in room:  # fill up with the earliest rounds that still have room
        if need <= 0:
            break
        if not taken[t]:
            taken[t] = True
            need -= 1
    free[taken] -= gpus
    chosen = taken.nonzero()[0]
    return chosen, len(chosen) == count


def _pass(
    count: int, gpus: int, free: np.ndarray, room: np.ndarray, demand: np.ndarray,
    check: _RestCheck,
) -> tuple[np.ndarray, int]:
    """``_take_rounds``'s pass in steps (its docstring): the rounds taken, as a mask, and how
    many of ``count`` are still missing."""
    taken = np.zeros(len(free), dtype=bool)
    state = free.copy()
    candidates = room
    need = count
    while need > 0 and len(candidates) > 0:
        steps = candidates[:need]
        m = len(steps)
        if candidates is not room:  # the first step's all-taken state fails (checked, or skipped)
            if m == 1:  # every candidate left fits alone with the rounds taken: the pass takes it
                taken[steps] = True
                need -= 1
                break
            trial = state.copy()
            trial[steps] -= gpus
            if check.fits_one(trial, demand):  # all taken fits, so does every shorter run
                taken[steps] = True
                need -= m
                break  # ``need`` is left over only when no candidate is left either
        trials = np.repeat(state[None], m + 1, axis=0)
        trials[:, steps] -= gpus * check.taken_before[: m + 1, :m]  # row i: i taken
        fits = check.fits(trials, demand)
        if not fits[0]:  # only possible before the first run: no choice keeps the rest placeable
            break
        run = m if fits.all() else int(np.argmin(fits)) - 1
        taken[steps[:run]] = True
        state[steps[:run]] -= gpus
        need -= run
        later = candidates[run + 1:]
        if need == 0 or len(later) == 0:
            break
        trials = np.repeat(state[None], len(later), axis=0)
        trials[np.arange(len(later)), later] -= gpus  # each later candidate alone, run taken
        candidates = later[check.fits(trials, demand)]
    return taken, need


def rank_rounds(
    counts: np.ndarray, priorities: np.ndarray, gpus: np.ndarray, num_gpus: int, rounds: int,
    lead: np.ndarray | None = None,
) -> tuple[np.ndarray, bool]:
    """The re-ranking step: place ``counts[j]`` rounds per job, high ``pi_j / n_j`` jobs early.

    Jobs that need every round go first, then jobs in decreasing ``pi_j / n_j``; each takes its
    earliest rounds with room, except rounds whose use would leave the jobs still to be placed
    without enough room (``_RestCheck``). For single-GPU gangs this is the optimum of the
    reference's re-ranking MILP ``min sum_j pi_j (sum_t t Y[j, t]) / n_j`` (exchange argument,
    and the check is exact); with mixed gangs it is close to it (docs/policies.md). Returns the
    plan and whether every count was placed (rounds that could not be placed are dropped).
    ``lead`` (a mask) places those jobs right after the ones that need every round (makespan
    protection: a plan is re-made nearly every round at scale, so only its first rounds run, and
    a job ranked late would keep losing them).
    """
    counts = np.clip(np.asarray(counts, dtype=np.int64), 0, rounds)
    order = rank_order(counts, priorities)
    if lead is not None:
        order = np.concatenate((order[lead[order]], order[~lead[order]]))
    order = np.concatenate((order[counts[order] >= rounds],
                            order[(counts[order] > 0) & (counts[order] < rounds)]))
    plan = np.zeros((len(counts), rounds), dtype=bool)
    if len(order) == 0:
        return plan, True
    sizes = gpus[order].astype(np.int64)
    classes = np.unique(sizes)[::-1]
    # The rest's demand after each job, all at once: row i holds the jobs after order[i].
    profiles = sizes[:, None] * np.maximum(
        0, counts[order][:, None] - (rounds - np.arange(1, rounds + 1))[None, :])
    member = sizes[:, None] >= classes[None, :]
    parts = member[:, :, None] * profiles[:, None, :]
    after = np.zeros_like(parts, dtype=np.float64)
    after[:-1] = np.cumsum(parts[:0:-1], axis=0)[::-1]
    check = _RestCheck(classes, num_gpus, rounds)
    free = np.full(rounds, num_gpus, dtype=np.int64)
    jobs, wanted, widths = order.tolist(), counts[order].tolist(), sizes.tolist()
    start, complete = _place_earliest_while_safe(jobs, wanted, widths, after, free, check, plan)
    last = len(jobs) - 1
    for i in range(start, len(jobs)):
        chosen, placed = _take_rounds(wanted[i], widths[i], free,
                                      after[i] if i < last else None, check, precheck=False)
        plan[jobs[i], chosen] = True
        complete &= placed
    return plan, complete


def _place_earliest_while_safe(
    jobs: list[int], wanted: list[int], widths: list[int], after: np.ndarray, free: np.ndarray,
    check: _RestCheck, plan: np.ndarray,
) -> tuple[int, bool]:
    """The re-ranking's first phase: jobs in order take their earliest rounds with room for as
    long as the rest still fits after each (``_take_rounds``'s first check passes). That is a
    long run at the start of nearly every re-ranking (the window is loose), so the jobs go in
    batches that double in size: placed one after another, then every state checked at once,
    and the batch committed up to the first job whose check fails. Updates ``free`` and
    ``plan``; returns that job's position (``len(jobs)``: none failed) and whether every job
    placed so far got its count."""
    start, batch, complete, last = 0, 8, True, len(jobs) - 1
    while start < len(jobs):
        stop = min(len(jobs), start + batch)
        state = free.copy()
        taken: list[np.ndarray] = []
        states: list[np.ndarray] = []
        checked: list[int] = []
        for i in range(start, stop):
            room = (state >= widths[i]).nonzero()[0]  # 1-D: flatnonzero's answer
            chosen = room[: wanted[i]]
            state[chosen] -= widths[i]
            taken.append(chosen)
            if len(room) > wanted[i] and i < last:  # a choice, and someone left to protect
                states.append(state.copy())
                checked.append(i)
        failed = stop
        if checked:
            fits = check.fits_each(np.array(states), after[checked])
            if not fits.all():
                failed = checked[int(np.argmin(fits))]
        for i in range(start, failed):
            chosen = taken[i - start]
            plan[jobs[i], chosen] = True
            free[chosen] -= widths[i]
            complete &= len(chosen) == wanted[i]
        if failed < stop:
            return failed, complete
        start, batch = stop, min(2 * batch, 64)
    return start, complete


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
