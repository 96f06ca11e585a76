"""Max-sum-throughput ("MST", SPEC 4.6): maximise the cluster's total iterations/s
``sum_j thr_j x_j`` subject to ``0 <= x <= 1`` and ``sum_j sf_j x_j <= G``.

This LP is a fractional knapsack: jobs are filled in decreasing ``thr_j / sf_j``. Tie-break: when
several jobs share the critical ratio (identical job types), the optimum is not unique and the
reference's interior-point solver returns a point near the analytic centre of the optimal face, so
we split the remaining GPUs among the tied jobs at that centre.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from shockwave.policies.base import ClusterView, Shares
from shockwave.solver import central_point


def _center_on_slice(weights: np.ndarray, budget: float) -> np.ndarray:
    """The analytic centre of ``{0 <= x <= 1, weights @ x = budget}``."""
    n = weights.size
    x0 = np.full(n, budget / float(weights.sum()))
    eye = np.eye(n)
    g = np.vstack([-eye, eye])
    h = np.concatenate([np.zeros(n), np.ones(n)])
    return central_point(g, h, x0, a_eq=weights[None, :])


def max_sum_throughput_shares(
    throughputs: np.ndarray, gpus: np.ndarray, num_gpus: int
) -> np.ndarray:
    """Optimal shares of the MST LP, centred among jobs tied at the critical ratio."""
    x = np.zeros_like(throughputs)
    if gpus.sum() <= num_gpus:
        return np.ones_like(throughputs)
    ratio = throughputs / gpus
    left = float(num_gpus)
    for level in sorted(set(ratio.tolist()), reverse=True):
        group = ratio == level
        need = float(gpus[group].sum())
        if need <= left:
            x[group] = 1.0
            left -= need
            continue
        if left > 0:
            if group.sum() == 1:
                x[group] = left / need
            else:
                x[group] = _center_on_slice(gpus[group], left)
        break
    return np.clip(x, 0.0, 1.0)


class MaxSumThroughput:
    """Throughput-greedy time shares: the highest step rates per GPU run first."""

    name: ClassVar[str] = "max_sum_throughput"
    plans_rounds: ClassVar[bool] = False

    def allocate(self, view: ClusterView) -> Shares:
        if not view.jobs:
            return {}
        ids = list(view.jobs)
        thr = np.array([view.jobs[j].throughput for j in ids], dtype=float)
        gpus = np.array([view.jobs[j].gpus for j in ids], dtype=float)
        x = max_sum_throughput_shares(thr, gpus, view.num_gpus)
        return {j: float(v) for j, v in zip(ids, x, strict=True)}
