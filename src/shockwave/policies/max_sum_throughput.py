"""Max-sum-throughput ("MST"; the published
``scheduler/policies/max_sum_throughput.py``): maximise the cluster's total iterations/s
``sum_j thr_j x_j`` subject to ``0 <= x <= 1`` and ``sum_j sf_j x_j <= G``.

This LP is a fractional knapsack: jobs are filled in decreasing ``thr_j / sf_j``. The reference
solved it with an interior-point method (ECOS), which stops just short of the optimum: every job
keeps a small positive share, larger for jobs closer to the critical ratio, and jobs tied at the
critical ratio split the remaining GPUs evenly. Gavel's priorities (share / time received) see
those small shares when idle GPUs are filled, so we return the same kind of point: the LP's
central-path point at a barrier weight ``mu`` of ``CENTRAL_PATH_MU_REL`` times the optimal
objective (within ~1e-9 of the exact optimum), computed in closed form.

Fallback: when the centring of jobs tied at the critical ratio does not converge, each of them gets
the same share, the GPUs left over their total gang size (also optimal).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from shockwave.errors import SolverError
from shockwave.policies.base import ClusterView, Shares
from shockwave.policies.params import ParamInfo
from shockwave.solver import central_point

CENTRAL_PATH_MU_REL = 1e-11
_BISECTION_STEPS = 200


def _center_on_slice(weights: np.ndarray, budget: float) -> np.ndarray:
    """The analytic centre of ``{0 <= x <= 1, weights @ x = budget}``.

    With equal weights (jobs tied at one step rate per GPU nearly always have equal gangs) the
    set is symmetric in its coordinates, so its centre is the even point ``budget / sum(w)``:
    no Newton solve, whose dense system cost O(n^3) for the hundreds of tied jobs of a large
    trace."""
    n = weights.size
    x0 = np.full(n, budget / float(weights.sum()))
    if np.all(weights == weights[0]):
        return x0
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
                try:
                    x[group] = _center_on_slice(gpus[group], left)
                except SolverError:  # the slice's start point: an optimum, not centred
                    x[group] = left / need
        break
    return np.clip(x, 0.0, 1.0)


def _barrier_share(a: np.ndarray) -> np.ndarray:
    """The root x in (0, 1) of ``1/(1-x) - 1/x = a``, without cancellation for large ``|a|``.

    ``root + |a| >= 2``, so nothing divides by zero (the bisection calls this a hundred times
    per allocation: no error-state context, and the common sum computed once)."""
    root = np.sqrt(a * a + 4.0)
    spread = root + np.abs(a)
    return np.where(a >= 0, 1.0 / (1.0 + 2.0 / spread), 2.0 / (spread + 2.0))


def critical_ratio(throughputs: np.ndarray, gpus: np.ndarray, num_gpus: int) -> float:
    """The step rate per GPU at which the knapsack runs out of GPUs (0 if every job fits)."""
    if gpus.sum() <= num_gpus:
        return 0.0
    ratio = throughputs / gpus
    left = float(num_gpus)
    for level in sorted(set(ratio.tolist()), reverse=True):
        left -= float(gpus[ratio == level].sum())
        if left <= 0:
            return float(level)
    return 0.0


def central_path_shares(
    throughputs: np.ndarray, gpus: np.ndarray, num_gpus: int, mu: float
) -> np.ndarray:
    """The minimiser of ``-thr @ x / mu - sum(log x) - sum(log(1-x)) - log(G - gpus @ x)``.

    Its optimality conditions are ``1/(1-x_j) - 1/x_j = thr_j/mu - gpus_j * lam`` with
    ``lam = 1/(G - gpus @ x)``. Writing ``lam = r/mu - eps`` around the critical ratio ``r``
    avoids cancelling large numbers: each ``x_j`` is explicit given ``eps``, and ``eps`` is found
    by bisection (the implied spare capacity falls as ``eps`` grows)."""
    r = critical_ratio(throughputs, gpus, num_gpus)
    base = (throughputs - gpus * r) / mu
    lo = -(1.0 + float(np.abs(base).max()) + num_gpus) * 1e3
    hi = r / mu
    for _ in range(_BISECTION_STEPS):
        mid = (lo + hi) / 2.0
        if mid in (lo, hi):
            break
        x = _barrier_share(base + gpus * mid)
        if num_gpus - float(gpus @ x) > 1.0 / (r / mu - mid):
            lo = mid
        else:
            hi = mid
    return _barrier_share(base + gpus * lo)


class MaxSumThroughput:
    """Throughput-greedy time shares: the highest step rates per GPU run first."""

    name: ClassVar[str] = "max_sum_throughput"
    plans_rounds: ClassVar[bool] = False
    PARAMS: ClassVar[tuple[ParamInfo, ...]] = ()
    """No parameters."""

    def allocate(self, view: ClusterView) -> Shares:
        if not view.jobs:
            return {}
        ids = list(view.jobs)
        thr = np.array([view.jobs[j].throughput for j in ids], dtype=float)
        gpus = np.array([view.jobs[j].gpus for j in ids], dtype=float)
        exact = max_sum_throughput_shares(thr, gpus, view.num_gpus)
        mu = CENTRAL_PATH_MU_REL * max(1.0, float(thr @ exact))
        x = central_path_shares(thr, gpus, view.num_gpus, mu) if mu > 0 else exact
        return {j: float(v) for j, v in zip(ids, x, strict=True)}
