"""Shockwave's planning program (the published ``scheduler/shockwave.py``,
``dynamic_eisenberg_gale_scheduling``; docs/policies.md) in an exact, smaller form.

The reference maximises, over binary ``X[j, t]`` (job j runs in round r + t of a T-round window),
``sum_j pi_j U_j / (n T) - k max_j max(0, R_j - dbar_j p_j)`` where ``U_j`` is the piecewise-linear
log of the normalised progress ``(e_j + p_j) / E_j``, subject to ``sum_j w_j X[j, t] <= G`` for every
round and ``dbar_j p_j <= round_s * sum_t X[j, t]``.

Two exact reductions make it small:

* The log interpolation is concave and maximised with ``pi_j > 0``, so its hypograph
  ``U_j <= a_i (e_j + p_j) / E_j + b_i`` (one row per segment) replaces the SOS2 binaries.
* The objective and every constraint except capacity see ``X`` only through ``n_j = sum_t X[j, t]``,
  so the program is solved over integers ``0 <= n_j <= T`` with the aggregated capacity
  ``sum_j w_j n_j <= G T`` (a relaxation). ``packing.py`` then places the rounds; when it places
  every ``n_j`` (checked on every solve and counted), the relaxation's optimum is achievable
  round by round and is therefore the optimum of the reference's program.

Variables, in order: ``n`` (J, integer), ``p`` (J), ``U`` (J), ``M`` (1, the max-remaining term).

By default the aggregated program is not handed to a MILP solver: ``solve_round_counts`` solves it
by a search over the level of the max term with a knapsack greedy per level (same optimum on random
programs, about ten times faster); ``build_program`` is used with ``milp_program`` / Gurobi.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from shockwave.policies.shockwave.backend import Milp

if TYPE_CHECKING:
    from scipy import sparse


@dataclass(frozen=True)
class PlanInput:
    """The per-job numbers the program needs, as arrays in one job order."""

    gpus: np.ndarray  # w_j, GPUs of the gang
    epochs: np.ndarray  # E_j
    progress: np.ndarray  # e_j, whole epochs done
    remaining_s: np.ndarray  # R_j, Dirichlet-posterior remaining run time
    mean_epoch_s: np.ndarray  # dbar_j
    num_gpus: int  # G
    rounds: int  # T
    round_s: float  # Delta
    k: float

    @property
    def num_jobs(self) -> int:
        return len(self.gpus)


def log_segments(bases: tuple[float, ...], origin: float) -> tuple[np.ndarray, np.ndarray]:
    """Slopes and intercepts of the piecewise-linear ``ln`` through ``bases`` (``ln 0 := ln origin``).

    Raises ``ValueError`` if the interpolation is not concave (the hypograph would then be wrong).
    """
    xs = np.asarray(bases, dtype=float)
    ys = np.array([math.log(b) if b > 0 else math.log(origin) for b in bases])
    slopes = np.diff(ys) / np.diff(xs)
    if np.any(np.diff(slopes) > 1e-12):
        raise ValueError("the log interpolation must be concave")
    return slopes, ys[:-1] - slopes * xs[:-1]


def build_program(
    plan: PlanInput, priorities: np.ndarray, segments: tuple[np.ndarray, np.ndarray],
    min_progress: np.ndarray | None = None,
) -> Milp:
    """The aggregated program; ``min_progress`` adds the finish-time constraints as lower bounds."""
    from scipy import sparse  # only the MILP paths build programs (backend.py: import cost)

    jobs = plan.num_jobs
    slopes, intercepts = segments
    nseg = len(slopes)
    n_at, p_at, u_at, m_at = 0, jobs, 2 * jobs, 3 * jobs
    idx = np.arange(jobs)
    rows: list[sparse.coo_array] = []
    lo: list[np.ndarray] = []
    hi: list[np.ndarray] = []
    width = 3 * jobs + 1

    def block(r: np.ndarray, c: np.ndarray, v: np.ndarray, nrows: int,
              lower: np.ndarray, upper: np.ndarray) -> None:
        rows.append(sparse.coo_array((v, (r, c)), shape=(nrows, width)))
        lo.append(lower)
        hi.append(upper)

    # Aggregated capacity: sum_j w_j n_j <= G T.
    block(np.zeros(jobs, dtype=np.int64), n_at + idx, plan.gpus.astype(float), 1,
          np.array([-np.inf]), np.array([float(plan.num_gpus * plan.rounds)]))
    # Time budget: dbar_j p_j - Delta n_j <= 0.
    block(np.concatenate((idx, idx)), np.concatenate((p_at + idx, n_at + idx)),
          np.concatenate((plan.mean_epoch_s, np.full(jobs, -plan.round_s))), jobs,
          np.full(jobs, -np.inf), np.zeros(jobs))
    # Hypograph: U_j - a_i p_j / E_j <= a_i e_j / E_j + b_i, for every segment i.
    seg_rows = np.arange(jobs * nseg)
    job_of = np.repeat(idx, nseg)
    a = np.tile(slopes, jobs)
    b = np.tile(intercepts, jobs)
    block(np.concatenate((seg_rows, seg_rows)), np.concatenate((u_at + job_of, p_at + job_of)),
          np.concatenate((np.ones(jobs * nseg), -a / plan.epochs[job_of])), jobs * nseg,
          np.full(jobs * nseg, -np.inf), a * plan.progress[job_of] / plan.epochs[job_of] + b)
    # Max remaining time: M + dbar_j p_j >= R_j.
    block(np.concatenate((idx, idx)), np.concatenate((np.full(jobs, m_at), p_at + idx)),
          np.concatenate((np.ones(jobs), plan.mean_epoch_s)), jobs,
          plan.remaining_s.astype(float), np.full(jobs, np.inf))

    c = np.zeros(width)
    c[u_at:u_at + jobs] = -priorities / (jobs * plan.rounds)
    c[m_at] = plan.k
    lower = np.zeros(width)
    upper = np.full(width, np.inf)
    upper[n_at:n_at + jobs] = plan.rounds
    upper[p_at:p_at + jobs] = np.maximum(plan.epochs - plan.progress, 0)
    if min_progress is not None:
        lower[p_at:p_at + jobs] = min_progress
    lower[u_at:u_at + jobs] = intercepts[0]  # ln(origin): the value at zero progress
    upper[u_at:u_at + jobs] = 0.0
    integrality = np.zeros(width, dtype=np.int64)
    integrality[n_at:n_at + jobs] = 1
    return Milp(
        c=c, integrality=integrality, lb=lower, ub=upper,
        a=sparse.vstack(rows, format="csr"),
        row_lb=np.concatenate(lo), row_ub=np.concatenate(hi),
    )


def planned_rounds(x: np.ndarray, num_jobs: int, rounds: int) -> np.ndarray:
    """The integer ``n_j`` of a solution vector."""
    return np.clip(np.rint(x[:num_jobs]), 0, rounds).astype(np.int64)


def finish_time_min_progress(
    plan: PlanInput, fair_finish_s: np.ndarray, share: float, window_end_s: float, rho_max: float,
    origin_s: np.ndarray | None = None,
) -> np.ndarray | None:
    """Lower bounds on ``p_j`` equivalent to the finish-time constraints
    ``window_end + max(0, R_j - dbar_j p_j) / share - o_j <= rho_max * (FTbar_j - o_j)``, or
    ``None`` when a cheap exact check shows them infeasible (the reference then pays for a
    useless MILP). ``o_j`` is where job j's ratio is measured from (its arrival; 0 in reference
    mode); with ``rho_max`` 1 it cancels out.

    The ``max(0, .)`` makes the constraint two: ``window_end <= rho_max FTbar_j`` (independent of
    the plan) and ``dbar_j p_j >= R_j - share (rho_max FTbar_j - window_end)``. A job also needs
    ``ceil(dbar_j p_j / Delta) <= T`` rounds, ``p_j <= E_j - e_j``, and all jobs together at most
    ``G T`` GPU-rounds; each is necessary, so failing any one proves infeasibility.
    """
    origin = np.zeros_like(fair_finish_s) if origin_s is None else origin_s
    slack = rho_max * (fair_finish_s - origin) - (window_end_s - origin)
    if np.any(slack < 0):
        return None
    need = np.maximum(0.0, (plan.remaining_s - share * slack) / plan.mean_epoch_s)
    if np.any(need > plan.epochs - plan.progress + 1e-9):
        return None
    need_rounds = np.ceil(plan.mean_epoch_s * need / plan.round_s - 1e-9)
    if np.any(need_rounds > plan.rounds):
        return None
    if float(np.dot(plan.gpus, need_rounds)) > plan.num_gpus * plan.rounds:
        return None
    return np.minimum(need, plan.epochs - plan.progress)


def makespan_min_progress(plan: PlanInput, slack: float, protect: float) -> np.ndarray:
    """Lower bounds on ``p_j`` that keep the long jobs on course to finish within
    ``(1 + slack) H``, ``H = max(max_j R_j, sum_j w_j R_j / G)`` the makespan bound of the jobs
    present (each at its own gang's speed; all of them at full capacity). A job is protected when
    its remaining time is at least ``protect * H`` (the jobs that would otherwise run alone at
    the tail); its fluid rate ``R_j / ((1 + slack) H)`` asks for ``T R_j / ((1 + slack) H)``
    rounds of the window, rounded down. Other jobs get 0 (left to the objective). The bounds fit
    the window: ``sum_j w_j n_j <= G T / (1 + slack)``."""
    remaining = np.maximum(plan.remaining_s, 0.0)
    if remaining.size == 0:
        return remaining
    horizon = (1.0 + slack) * max(float(remaining.max()),
                                  float(plan.gpus @ remaining) / plan.num_gpus)
    if horizon <= 0:
        return np.zeros_like(remaining)
    rounds = np.floor(plan.rounds * remaining / horizon + 1e-9)
    rounds[remaining < protect * horizon] = 0.0
    need = rounds * plan.round_s / np.maximum(plan.mean_epoch_s, 1e-12)
    return np.minimum(need, plan.epochs - plan.progress)


def per_round_program(aggregated: Milp, plan: PlanInput) -> Milp:
    """The reference's program over binaries ``X[j, t]`` (hypograph form): the aggregated program
    with ``n_j = sum_t X[j, t]`` substituted and its one capacity row replaced by one per round.
    Used when the aggregated optimum cannot be placed round by round."""
    from scipy import sparse

    jobs, rounds = plan.num_jobs, plan.rounds
    rest = 2 * jobs + 1
    # [X (J*T), p, U, M] -> [n, p, U, M]
    expand = sparse.block_diag((
        sparse.kron(sparse.eye_array(jobs), np.ones((1, rounds))),
        sparse.eye_array(rest),
    ), format="csr")
    body = (aggregated.a[1:] @ expand).tocsr()
    cols = np.arange(jobs * rounds)
    capacity = sparse.csr_array(
        (np.repeat(plan.gpus.astype(float), rounds), (cols % rounds, cols)),
        shape=(rounds, jobs * rounds + rest),
    )
    c = np.concatenate((np.zeros(jobs * rounds), aggregated.c[jobs:]))
    lb = np.concatenate((np.zeros(jobs * rounds), aggregated.lb[jobs:]))
    ub = np.concatenate((np.ones(jobs * rounds), aggregated.ub[jobs:]))
    integrality = np.concatenate((np.ones(jobs * rounds, dtype=np.int64), np.zeros(rest, dtype=np.int64)))
    return Milp(
        c=c, integrality=integrality, lb=lb, ub=ub,
        a=sparse.vstack((capacity, body), format="csr"),
        row_lb=np.concatenate((np.full(rounds, -np.inf), aggregated.row_lb[1:])),
        row_ub=np.concatenate((np.full(rounds, float(plan.num_gpus)), aggregated.row_ub[1:])),
    )


def round_plan(x: np.ndarray, num_jobs: int, rounds: int) -> np.ndarray:
    """``X[j, t]`` of a per-round program's solution."""
    return np.rint(x[: num_jobs * rounds]).reshape(num_jobs, rounds) > 0.5


# -- the aggregated program without a MILP solver ---------------------------------------------


@dataclass(frozen=True)
class _RoundTables:
    """Per job j and round count n = 0..T: ``value[j, n] = pi_j U_j / (J T)`` and the remaining
    time after the window ``left[j, n] = max(0, R_j - dbar_j p_j)``, with the best ``p_j`` for n
    rounds, ``min(E_j - e_j, Delta n / dbar_j)``; and the greedy's order of single rounds."""

    value: np.ndarray
    left: np.ndarray
    rows: np.ndarray  # job of each round offer, best value per GPU first
    cols: np.ndarray  # the offer is the job's (cols + 1)-th round
    useful: np.ndarray  # the offer adds value


def _round_tables(
    plan: PlanInput, priorities: np.ndarray, segments: tuple[np.ndarray, np.ndarray],
    slowdown: np.ndarray | None = None,
) -> _RoundTables:
    """``slowdown[j]`` (typed program): job j's rounds are on a type where an epoch takes
    ``slowdown[j]`` times its reference duration ``dbar_j``, so n rounds progress
    ``Delta n / (dbar_j slowdown[j])`` epochs; the remaining time ``left`` stays in reference
    seconds. ``None``: every round on the reference type (the homogeneous program)."""
    jobs, rounds = plan.num_jobs, plan.rounds
    value, epochs = _round_values(plan, priorities, segments, slowdown)
    left = np.maximum(0.0, plan.remaining_s[:, None] - plan.mean_epoch_s[:, None] * epochs)
    per_gpu = (np.diff(value, axis=1) / plan.gpus[:, None]).ravel()
    rows, cols = np.divmod(np.arange(jobs * rounds), rounds)
    order = np.lexsort((cols, -per_gpu))
    return _RoundTables(value, left, rows[order], cols[order], per_gpu[order] > 1e-15)


def _round_values(
    plan: PlanInput, priorities: np.ndarray, segments: tuple[np.ndarray, np.ndarray],
    slowdown: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """``value[j, n]`` of ``_round_tables`` and the epochs n rounds progress: all that
    ``typed_gains`` needs, without the greedy's order of offers."""
    slopes, intercepts = segments
    count = np.arange(plan.rounds + 1)
    todo = np.maximum(plan.epochs - plan.progress, 0.0)
    epoch_s = plan.mean_epoch_s if slowdown is None else plan.mean_epoch_s * slowdown
    epochs = np.minimum(todo[:, None], plan.round_s * count[None, :] / epoch_s[:, None])
    share = (plan.progress[:, None] + epochs) / plan.epochs[:, None]
    utility = np.min(slopes[None, None, :] * share[:, :, None] + intercepts[None, None, :], axis=2)
    return (priorities / (plan.num_jobs * plan.rounds))[:, None] * utility, epochs


def _counts_at_level(
    tables: _RoundTables, gpus: np.ndarray, capacity: int, lower: np.ndarray, level: float
) -> np.ndarray | None:
    """Round counts when every job's remaining time after the window must be <= ``level``: the
    minimum counts for that, then single rounds by decreasing value per GPU while they fit
    (``None`` if the minimum counts exceed the capacity)."""
    return _counts_from_base(tables, gpus, capacity, _level_base(tables, lower, level))


def _level_base(tables: _RoundTables, lower: np.ndarray, level: float) -> np.ndarray:
    """The minimum round counts for every remaining time after the window to be <= ``level``
    (at least ``lower``)."""
    return np.maximum(lower, (tables.left > level + 1e-9).sum(axis=1))


def _counts_from_base(
    tables: _RoundTables, gpus: np.ndarray, capacity: int, base: np.ndarray
) -> np.ndarray | None:
    """``_counts_at_level`` from the minimum counts ``base``: single rounds by decreasing value
    per GPU added while they fit (``None`` if ``base`` exceeds the capacity)."""
    spare = capacity - int(gpus @ base)
    if spare < 0:
        return None
    offer = tables.useful & (tables.cols >= base[tables.rows])
    rows = tables.rows[offer]
    sizes = gpus[rows]
    taken = int(np.searchsorted(np.cumsum(sizes), spare, side="right"))
    counts = base + np.bincount(rows[:taken], minlength=len(base))
    spare -= int(sizes[:taken].sum())
    blocked = np.zeros(len(base), dtype=bool)
    for job, size in zip(rows[taken:], sizes[taken:], strict=True):
        if spare <= 0:
            break
        if not blocked[job] and size <= spare:
            counts[job] += 1
            spare -= int(size)
        else:
            blocked[job] = True  # a job's later rounds never jump its skipped earlier one
    return counts


def solve_round_counts(
    plan: PlanInput, priorities: np.ndarray, segments: tuple[np.ndarray, np.ndarray],
    min_progress: np.ndarray | None = None, grid: int = 16, capacity: int | None = None,
) -> np.ndarray | None:
    """The aggregated program's round counts without a MILP solver (``None``: infeasible).

    With ``p_j`` at its best for ``n_j`` rounds, the program is ``max sum_j v_j(n_j) - k max_j
    l_j(n_j)`` over integers with ``sum_j w_j n_j <= G T``: each ``v_j`` is concave and each
    ``l_j`` convex and nonincreasing. For a level L of the max term, ``l_j(n_j) <= L`` is a lower
    bound on ``n_j`` and the rest is a separable concave knapsack, solved by taking single rounds
    in decreasing value per GPU (exact for equal gang sizes, a knapsack greedy otherwise). L is
    searched over the values the ``l_j`` take: the smallest feasible one by bisection, then a grid
    over the feasible ones refined once around the best. ``min_progress`` (the finish-time
    constraints) adds lower bounds ``n_j >= dbar_j p_min_j / Delta``. ``capacity`` replaces the
    window's ``G T`` GPU-rounds (the policy lowers it when the counts could not all be packed).
    """
    capacity = plan.num_gpus * plan.rounds if capacity is None else capacity
    gpus = plan.gpus.astype(np.int64)
    lower = np.zeros(plan.num_jobs, dtype=np.int64)
    if min_progress is not None:
        lower = np.ceil(plan.mean_epoch_s * min_progress / plan.round_s - 1e-9).astype(np.int64)
        if np.any(lower > plan.rounds) or int(gpus @ lower) > capacity:
            return None
    tables = _round_tables(plan, priorities, segments)
    return _level_search(
        tables, plan.k, grid,
        lambda level: _counts_at_level(tables, gpus, capacity, lower, level))


def _level_search(
    tables: _RoundTables, k: float, grid: int,
    counts_at: Callable[[float], np.ndarray | None],
) -> np.ndarray | None:
    """The search over the levels the ``l_j`` take (one capacity or one per GPU type, as
    ``counts_at`` does the knapsack step): the smallest level whose minimum counts fit, by
    bisection, then ``_best_level`` from there; ``counts_at`` is memoised for the search."""
    counts_at = _memoized(counts_at)
    levels = np.unique(tables.left)
    levels = levels[levels >= tables.left[:, -1].max() - 1e-9]
    low, high = 0, len(levels) - 1
    while low < high:  # the smallest level whose minimum counts fit
        mid = (low + high) // 2
        if counts_at(levels[mid]) is None:
            low = mid + 1
        else:
            high = mid
    return _best_level(tables, levels[low:], k, grid, counts_at)


def _memoized(
    counts_at: Callable[[float], np.ndarray | None],
) -> Callable[[float], np.ndarray | None]:
    """``counts_at`` remembering its answers: the level search asks for some levels more than
    once (the bisection's last level is the grid's first; each refinement re-visits the best
    point and its old neighbours). The answers are not modified by the callers."""
    seen: dict[float, np.ndarray | None] = {}

    def cached(level: float) -> np.ndarray | None:
        key = float(level)
        if key not in seen:
            seen[key] = counts_at(key)
        return seen[key]

    return cached


def _best_level(
    tables: _RoundTables, levels: np.ndarray, k: float, grid: int,
    counts_at: Callable[[float], np.ndarray | None],
) -> np.ndarray | None:
    """A grid over ``levels``, refined around the best point until neighbours are evaluated.
    ``counts_at(level)`` is the knapsack step (one capacity, or one per GPU type)."""
    jobs = np.arange(tables.value.shape[0])
    best, best_value, best_at = None, -np.inf, 0
    step = max(1, -(-(len(levels) - 1) // max(1, grid - 1)))
    picks = np.arange(0, len(levels), step)
    while True:
        for at in picks:
            counts = counts_at(levels[at])
            if counts is None:
                continue
            value = float(tables.value[jobs, counts].sum() - k * tables.left[jobs, counts].max())
            if value > best_value:
                best, best_value, best_at = counts, value, int(at)
        if step == 1:
            return None if best is None else best.copy()
        span, step = step, max(1, step // grid)
        picks = np.arange(max(0, best_at - span), min(len(levels), best_at + span + 1), step)


# -- the typed program (heterogeneous clusters) -----------------------------------------------


def _subset_tables(tables: _RoundTables, jobs: np.ndarray) -> _RoundTables:
    """The tables of ``jobs`` only (renumbered 0..), offers kept in their global order, so a
    per-type greedy takes them in the order the whole greedy would."""
    index = np.full(tables.value.shape[0], -1, dtype=np.int64)
    index[jobs] = np.arange(len(jobs))
    keep = index[tables.rows] >= 0
    return _RoundTables(tables.value[jobs], tables.left[jobs], index[tables.rows[keep]],
                        tables.cols[keep], tables.useful[keep])


@dataclass(frozen=True)
class _TypePart:
    """One type's knapsack in the typed program: the jobs homed there (``jobs``, global
    indices), the type's GPU-rounds, their tables, gang sizes and lower bounds."""

    jobs: np.ndarray
    capacity: int
    tables: _RoundTables
    gpus: np.ndarray
    lower: np.ndarray
    known: dict[bytes, np.ndarray | None] = field(default_factory=dict)
    """Counts by minimum counts: a level only matters through the minimum counts it sets, and
    most levels of the search (the remaining times of every type's jobs) set the same ones
    for this type's jobs as another level did. The answers are not modified by the callers."""

    def counts_at(self, level: float) -> np.ndarray | None:
        """``_counts_at_level`` on this type's jobs."""
        base = _level_base(self.tables, self.lower, level)
        key = base.tobytes()
        if key not in self.known:
            self.known[key] = _counts_from_base(self.tables, self.gpus, self.capacity, base)
        return self.known[key]


def solve_typed_round_counts(
    plan: PlanInput, priorities: np.ndarray, segments: tuple[np.ndarray, np.ndarray],
    homes: np.ndarray, slowdown: np.ndarray, capacities: np.ndarray,
    min_progress: np.ndarray | None = None, grid: int = 16,
) -> np.ndarray | None:
    """Round counts of the typed program with each job's rounds on one type, ``homes[j]``
    (docs/policies.md, "Shockwave on heterogeneous clusters"); ``None``: infeasible.

    ``plan`` holds the reference-type numbers (``dbar_j``, ``R_j`` on the type the job's profile
    was measured on); on its home type job j's epochs take ``slowdown[j]`` times as long.
    ``capacities[t]`` is type t's GPU-rounds in the window (``G_t T``, less what did not pack).
    With homes fixed, the program is the homogeneous one with one knapsack per type coupled
    only by the level L of the max term, so the same level search applies: for each L, each
    type's knapsack is solved by the same greedy over its jobs' offers.
    """
    gpus = plan.gpus.astype(np.int64)
    caps = np.asarray(capacities, dtype=np.int64)
    kinds = np.unique(homes)
    lower = np.zeros(plan.num_jobs, dtype=np.int64)
    if min_progress is not None:
        lower = np.ceil(plan.mean_epoch_s * slowdown * min_progress / plan.round_s - 1e-9
                        ).astype(np.int64)
        if np.any(lower > plan.rounds) or any(
                int(gpus[homes == t] @ lower[homes == t]) > caps[t] for t in kinds):
            return None
    tables = _round_tables(plan, priorities, segments, slowdown)
    parts = [_TypePart(jobs, int(caps[t]), _subset_tables(tables, jobs), gpus[jobs], lower[jobs])
             for t in kinds for jobs in [np.flatnonzero(homes == t)]]

    def counts_at(level: float) -> np.ndarray | None:
        counts = np.zeros(plan.num_jobs, dtype=np.int64)
        for part in parts:
            some = part.counts_at(level)
            if some is None:
                return None
            counts[part.jobs] = some
        return counts

    return _level_search(tables, plan.k, grid, counts_at)


def typed_gains(
    plan: PlanInput, priorities: np.ndarray, segments: tuple[np.ndarray, np.ndarray],
    slowdown: np.ndarray, asks: np.ndarray,
) -> np.ndarray:
    """``(J, K)``: the program's value per GPU-round of ``asks[j, t]`` rounds of job j on type t,
    ``(v_j(asks) - v_j(0)) / (w_j asks)`` with ``v_j`` at type t's speed (``-inf`` where the
    job cannot run on t; 0 for an ask of 0 rounds). What ``typed.home_types`` ranks jobs by."""
    jobs = np.arange(plan.num_jobs)
    gains = np.full(slowdown.shape, -np.inf)
    for t in range(slowdown.shape[1]):
        runnable = np.isfinite(slowdown[:, t])
        if not runnable.any():
            continue
        value, _ = _round_values(plan, priorities, segments,
                                 np.where(runnable, slowdown[:, t], 1.0))
        ask = asks[:, t]
        gain = (value[jobs, ask] - value[:, 0]) / (plan.gpus * np.maximum(ask, 1))
        gains[:, t] = np.where(runnable, gain, -np.inf)
    return gains
