"""Min-total-duration ("OSSP"; the published
``scheduler/policies/min_total_duration.py``): the smallest horizon T (within 5 %, by the
reference's bisection) by which every job can finish, and time shares that achieve it.

For a fixed T the feasibility LP is ``lower_j = rem_j / (thr_j T) <= x_j <= 1``,
``sum_j sf_j x_j <= G``; it is feasible exactly when every ``lower_j <= 1`` and
``sum_j sf_j lower_j <= G``, so each bisection step is decided in closed form.

Tie-break: the reference's feasibility LP has a constant objective, so its interior-point solver
returns (close to) the analytic centre of the feasible set at the last feasible T. We return that
centre exactly, with one barrier term per constraint of the reference's LP (``thr_j x_j >= rem_j/T``,
``x_j >= 0``, ``x_j <= 1``, ``sum sf x <= G``).

Fallback: when the centring does not converge, the point it starts from (also feasible for the
horizon, so also optimal); should the solve fail otherwise, Isolated's shares.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import ClassVar, TypeVar

import numpy as np

from shockwave.errors import SolverError
from shockwave.policies.base import ClusterView, Shares, remaining_steps_of
from shockwave.policies.isolated import Isolated
from shockwave.policies.params import ParamInfo
from shockwave.solver import box_knapsack_interior

MIN_HORIZON_S = 100.0
MAX_HORIZON_S = 1e6
HORIZON_TOLERANCE = 1.05

W = TypeVar("W")


def _lower_shares(steps: np.ndarray, throughputs: np.ndarray, horizon_s: float) -> np.ndarray:
    return steps / (throughputs * horizon_s)


def _feasible(lower: np.ndarray, gpus: np.ndarray, num_gpus: int) -> bool:
    return bool((lower <= 1.0).all()) and float(gpus @ lower) <= num_gpus


def bisect_horizon(attempt: Callable[[float], W | None]) -> tuple[float, W]:
    """The reference's bisection: halve ``[100, 1e6]`` s until its ends are within 5 %; if no
    horizon there is feasible, move on to ``[1e6, 1e7]``, ``[1e7, 1e8]``, ...

    ``attempt(T)`` returns a witness that every job can finish within T s (the shares), or
    ``None``; the result is the last feasible horizon and its witness. Shared with the
    heterogeneity-aware variant, so that both walk the same horizons.

    Raises:
        SolverError: no finite horizon is feasible.
    """
    lo, hi = MIN_HORIZON_S, MAX_HORIZON_S
    while math.isfinite(hi):
        best: tuple[float, W] | None = None
        while HORIZON_TOLERANCE * lo < hi:
            mid = (lo + hi) / 2.0
            found = attempt(mid)
            if found is not None:
                hi, best = mid, (mid, found)
            else:
                lo = mid
        if best is not None:
            return best
        lo, hi = hi, hi * 10
    raise SolverError("min total duration: no finite horizon is feasible")


def min_horizon_s(
    steps: np.ndarray, throughputs: np.ndarray, gpus: np.ndarray, num_gpus: int
) -> float:
    """The smallest horizon :func:`bisect_horizon` finds for the one-type feasibility test."""
    def attempt(horizon_s: float) -> bool | None:
        lower = _lower_shares(steps, throughputs, horizon_s)
        return True if _feasible(lower, gpus, num_gpus) else None

    return bisect_horizon(attempt)[0]


def min_total_duration_shares(
    steps: np.ndarray, throughputs: np.ndarray, gpus: np.ndarray, num_gpus: int
) -> np.ndarray:
    """Shares that finish every job within the bisected horizon: the analytic centre of the
    feasible set of the last feasible LP."""
    horizon = min_horizon_s(steps, throughputs, gpus, num_gpus)
    lower = _lower_shares(steps, throughputs, horizon)
    x = np.ones_like(lower)
    free = lower < 1.0
    capacity = num_gpus - float(gpus[~free].sum())
    if float(gpus[free] @ lower[free]) >= capacity:
        return np.clip(np.where(free, lower, 1.0), 0.0, 1.0)
    x[free] = box_knapsack_interior(lower[free], gpus[free], capacity)
    return np.clip(x, 0.0, 1.0)


class MinTotalDuration:
    """Makespan-minimising time shares: every job progresses just fast enough to finish by T."""

    name: ClassVar[str] = "min_total_duration"
    plans_rounds: ClassVar[bool] = False
    PARAMS: ClassVar[tuple[ParamInfo, ...]] = ()
    """No parameters."""

    def allocate(self, view: ClusterView) -> Shares:
        ids = [j for j, job in view.jobs.items() if job.throughput > 0]
        shares: dict[int, float] = dict.fromkeys(view.jobs, 0.0)
        if not ids:
            return shares
        running = [view.jobs[j] for j in ids]
        steps = remaining_steps_of(running)
        thr = np.array([job.throughput for job in running], dtype=float)
        gpus = np.array([job.spec.gpus for job in running], dtype=float)
        try:
            x = min_total_duration_shares(steps, thr, gpus, view.num_gpus)
        except SolverError:
            return Isolated().allocate(view)
        # tolist() gives the Python floats float(v) would, in one call.
        shares.update(zip(ids, x.tolist(), strict=True))
        return shares
