"""Min-total-duration ("OSSP"), heterogeneity-aware (``MinTotalDurationPolicyWithPerf`` in the
published ``scheduler/policies/min_total_duration.py``): the smallest horizon T (within 5 %, by the
reference's bisection, shared with the homogeneous policy) for which some shares within the base
constraints give every job

    sum_t rates[j, t] X[j, t] >= rem_j / T,

and shares that achieve it. A bisection step's LP is feasible exactly when T is at least
``T* = 1 / y*``, ``y*`` the largest ``y`` with ``throughput(j, X) / rem_j >= y`` for every job (one
LP), so the bisection is replayed against ``T >= T*`` and only its last horizon gets an LP (for the
shares): two LPs instead of ~15, the same horizon and shares. Where a step lies within solver
tolerance of ``T*`` (or that last LP is infeasible) it bisects with one LP per step as the
reference does. On one type the steps decide exactly what the homogeneous policy's closed-form
test decides, so both walk the same horizons.

Tie-break: the reference's feasibility LP has a constant objective (any feasible point). Ours
maximises ``sum_j throughput(j, X) / rem_j``, the summed rate at which jobs work off what they
have left, so that the slack of the 5 % bisection goes to finishing jobs sooner, not to idling.

Jobs that can run on no type are left out (they get nothing), as the homogeneous policy leaves out
jobs without throughput: with them no horizon is feasible and the reference never returns.

Fallback: the isolated split when a solve fails.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np

from shockwave.errors import SolverError
from shockwave.policies.heterogeneous import (
    BasisMemory,
    LevelProgram,
    TypedInputs,
    TypedProgram,
    WarmStart,
)
from shockwave.policies.min_total_duration import MinTotalDuration, bisect_horizon
from shockwave.solver import InfeasibleError

if TYPE_CHECKING:
    from shockwave.policies.base import ClusterView, Shares, TypedShares

_REPLAY_MARGIN = 1e-6
"""How close (relative) to the exact smallest horizon a bisection step may lie before the replay
defers to the LP-per-step bisection (solver tolerances are ~1e-9 relative here)."""


def min_total_duration_perf(
    rates: np.ndarray,
    gpus: np.ndarray,
    counts: np.ndarray,
    steps: np.ndarray,
    *,
    warm: WarmStart | None = None,
) -> tuple[float, np.ndarray]:
    """The bisected horizon T (s) and shares ``X[j, t]`` with
    ``throughput(j, X) >= steps_j / T`` for every job that can run somewhere. Both LPs are one
    :class:`~shockwave.policies.heterogeneous.LevelProgram` with rows
    ``throughput(j, X) / rem_j >= y``: ``y* = 1 / T*`` is its largest level, and the shares at a
    horizon T are its most efficient point with ``y >= 1 / T``. Given ``warm``, the first LP
    starts from the last call's basis.

    The rows are held in units of :func:`_horizon_unit` ``U``, ``U throughput(j, X) / rem_j >=
    U y``, so that the level is at most 1 and usually not far below: HiGHS's feasibility tolerance
    is absolute (1e-7), and against ``y`` itself (~1e-6 for a job of a week) it let shares pass
    for a horizon 3 % short of the smallest feasible one.

    Raises:
        SolverError: an LP fails otherwise than by being infeasible.
    """
    program = TypedProgram.build(rates, gpus, counts)
    steps = np.where(program.runs_somewhere, np.asarray(steps, dtype=float), 0.0)
    unit = _horizon_unit(program, steps)
    scale = np.divide(unit, steps, out=np.zeros(steps.shape), where=steps > 0)
    levels = LevelProgram(program, scale, warm=warm)

    def attempt(horizon_s: float, *, primal: bool = False) -> np.ndarray | None:
        try:
            return levels.shares(levels.most_efficient(unit / horizon_s, primal=primal))
        except InfeasibleError:
            return None

    shortcut = _replayed_horizon(levels, unit)
    if shortcut is not None:  # (1 / shortcut <= the level just found: only the costs change)
        found = attempt(shortcut, primal=True)
        if found is not None:
            return shortcut, found
    return bisect_horizon(attempt)


def _horizon_unit(program: TypedProgram, steps: np.ndarray) -> float:
    """A lower bound on the smallest feasible horizon (s), the larger of the longest job's time
    alone on its fastest type and all jobs' GPU time there spread over every GPU; 1 when no job
    has work left. The level program's rows are held in this unit
    (:func:`min_total_duration_perf`)."""
    work = steps > 0
    if not work.any():
        return 1.0
    alone = steps[work] / program.rates[work].max(axis=1)
    unit = max(float(alone.max()),
               float((alone * program.gpus[work]).sum()) / float(program.counts.sum()))
    return unit if np.isfinite(unit) and unit > 0 else 1.0


def _replayed_horizon(levels: LevelProgram, unit: float = 1.0) -> float | None:
    """The horizon :func:`bisect_horizon` ends on, found with one LP instead of one per step, or
    ``None`` when that shortcut cannot be trusted.

    Feasibility of a horizon T (rows ``throughput(j, X) T / rem_j >= 1``) is monotone in T: it
    holds exactly when ``T >= T* = 1 / y*``, ``y*`` the largest ``y`` with
    ``throughput(j, X) / rem_j >= y`` for every job, one LP. The bisection's path depends only on
    those yes/no answers, so it is replayed here against ``T >= T*``. Where a step lies within
    ``_REPLAY_MARGIN`` (relative) of ``T*``, a solver's tolerance could answer either way there, so
    the caller bisects with LPs as before; it does too if the last LP, at the horizon returned,
    turns out infeasible."""
    t_star = 0.0  # no job with work left: every horizon is feasible
    if levels.jobs.size > 0:
        try:
            y, _ = levels.max_level()
        except SolverError:
            return None
        levels.keep_basis()  # (the next allocation's first LP is this one)
        if not (np.isfinite(y) and y > 0):
            return None
        t_star = unit / y  # (the rows are in units of ``unit``)
    close = False

    def oracle(horizon_s: float) -> bool | None:
        nonlocal close
        if abs(horizon_s - t_star) <= _REPLAY_MARGIN * t_star:
            close = True
        return True if horizon_s >= t_star else None

    try:
        horizon, _ = bisect_horizon(oracle)
    except SolverError:
        return None
    return None if close else horizon


class MinTotalDurationPerf(MinTotalDuration):
    """Heterogeneity-aware OSSP; on a one-type cluster, exactly
    :class:`~shockwave.policies.min_total_duration.MinTotalDuration` (flat shares)."""

    name: ClassVar[str] = "min_total_duration_perf"

    def __init__(self) -> None:
        self._basis = BasisMemory()

    def allocate(self, view: ClusterView) -> Shares | TypedShares:
        if not view.jobs or not view.cluster.is_heterogeneous:
            return super().allocate(view)
        inputs = TypedInputs.of(view)
        steps = np.array([view.jobs[j].remaining_steps for j in inputs.ids], dtype=float)
        try:
            _, x = min_total_duration_perf(inputs.rates, inputs.gpus, inputs.counts, steps,
                                           warm=WarmStart(inputs.ids, self._basis))
        except SolverError:
            return inputs.isolated()
        return inputs.shares(x)
