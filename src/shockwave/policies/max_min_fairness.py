"""Gavel's max-min fairness on a homogeneous cluster (Narayanan et al., OSDI '20,
section 4.1; the published ``scheduler/policies/max_min_fairness.py``): maximise the least
weighted GPU share ``min_j sf_j x_j / w_j``.

Tie-break: when the optimum is not unique (fewer jobs than GPUs, so the 1-GPU jobs are the
bottleneck and the wider jobs have slack), the reference's interior-point solver (ECOS) returns a
point near the analytic centre of the optimal face. We return that centre exactly, with one barrier
term per constraint of the reference's LP (``sf_j x_j >= t``, ``x_j >= 0``, ``x_j <= 1``,
``sum sf x <= G``).

Fallback: when the centring does not converge, the point it starts from (also optimal, only not
centred); should the solve fail otherwise, Isolated's shares.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from shockwave.errors import SolverError
from shockwave.policies.base import ClusterView, Shares
from shockwave.policies.isolated import Isolated
from shockwave.policies.params import ParamInfo
from shockwave.solver import box_knapsack_interior


def max_min_shares(gpus: np.ndarray, weights: np.ndarray, num_gpus: int) -> np.ndarray:
    """Time shares that maximise ``min_j gpus_j x_j / weights_j`` subject to ``0 <= x <= 1`` and
    ``gpus @ x <= num_gpus``; the analytic centre of the optimal face when it is not a point."""
    ratio = gpus / weights
    even = num_gpus / float(weights.sum())
    level = min(float(ratio.min()), even)
    lower = level * weights / gpus
    if even <= level:
        return np.clip(lower, 0.0, 1.0)
    fixed = ratio == level
    x = np.ones_like(lower)
    free = ~fixed
    if free.any():
        capacity = num_gpus - float(gpus[fixed].sum())
        x[free] = box_knapsack_interior(lower[free], gpus[free], capacity)
    return np.clip(x, 0.0, 1.0)


class MaxMinFairness:
    """Least-attained-service GPU shares, weighted by each job's priority weight."""

    name: ClassVar[str] = "max_min_fairness"
    plans_rounds: ClassVar[bool] = False
    PARAMS: ClassVar[tuple[ParamInfo, ...]] = ()
    """No parameters."""

    def allocate(self, view: ClusterView) -> Shares:
        if not view.jobs:
            return {}
        ids = list(view.jobs)
        gpus = np.array([view.jobs[j].gpus for j in ids], dtype=float)
        weights = np.array([view.jobs[j].spec.priority_weight for j in ids], dtype=float)
        try:
            x = max_min_shares(gpus, weights, view.num_gpus)
        except SolverError:
            return Isolated().allocate(view)
        return {j: float(v) for j, v in zip(ids, x, strict=True)}
