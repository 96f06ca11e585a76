"""Themis's finish-time fairness (Mahajan et al., NSDI '20; the published
``scheduler/policies/finish_time_fairness.py``): minimise the largest predicted finish-time ratio
``rho_j(x) = (t_j + rem_j / (thr_j x_j)) / (C_j + rem_j / thr_iso_j)``.

Solved exactly, without an SOCP: ``rho_j`` falls as ``x_j`` grows, so ``rho`` is attainable iff
every job can get ``x_j >= L_j(rho) = rem_j / (thr_j (rho den_j - t_j))`` within ``x_j <= 1`` and
``sum sf_j x_j <= G``. The smallest such ``rho`` is either ``max_j rho_j(1)`` (a job that cannot
go faster than its whole gang is the bottleneck) or the root of ``sum_j sf_j L_j(rho) = G``,
found by bisection to machine precision. In the second case the optimum is unique; in the first,
the other jobs have slack and we return the analytic centre of the optimal face (the documented
tie-break shared with the other Gavel-family LPs, close to what an interior-point solver returns).

``C_j`` is the job's isolated time consumed so far, accumulated across calls. The reference counts
progress in iterations at the current batch size; the default mode counts samples, so that a
batch-size change between two calls neither inflates nor (when the batch shrinks) reverses it.

Numerics and fallback: a job whose lower share at the optimum is within ``THIN_BOX`` of 1 is at
its bound (ties up to rounding between full-speed ratios are ties). In the reference mode ``C_j``
can drop across a batch-size change, even below zero; when some denominator ``C_j + rem_j /
thr_iso_j`` is not positive the program is not convex (the reference's SOCP raises a DCPError),
and then, as in the reference, and whenever the solve fails, the shares are Isolated's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from shockwave.errors import SolverError
from shockwave.model import JobId
from shockwave.policies.base import ClusterView, Shares
from shockwave.policies.isolated import Isolated
from shockwave.policies.params import ParamInfo
from shockwave.solver import THIN_BOX, box_knapsack_interior

_BISECTION_STEPS = 200
LOWER_BARRIER_WEIGHT = 2.0
ZERO_BARRIER_WEIGHT = 0.0


def _lower(rho: float, steps: np.ndarray, thr: np.ndarray, since: np.ndarray, den: np.ndarray):
    gap = rho * den - since
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(gap > 0, steps / (thr * np.maximum(gap, 1e-300)), np.inf)
    return np.where(steps > 0, out, 0.0)


def min_max_rho_shares(
    steps: np.ndarray,
    thr: np.ndarray,
    since: np.ndarray,
    den: np.ndarray,
    gpus: np.ndarray,
    num_gpus: int,
) -> np.ndarray:
    """Shares minimising ``max_j (since_j + steps_j / (thr_j x_j)) / den_j`` under the base
    constraints; ``thr`` and ``den`` must be positive."""
    full = (since + steps / thr) / den
    rho_lo = float(full.max())
    lower = _lower(rho_lo, steps, thr, since, den)
    if float(gpus @ np.minimum(lower, 1.0)) < num_gpus:
        # Jobs at their bound: the maximiser, and any job tied with it up to rounding (its
        # lower share within THIN_BOX of 1 leaves no interval to centre in).
        fixed = (full == rho_lo) | (lower >= 1.0 - THIN_BOX)
        x = np.ones_like(steps)
        free = ~fixed
        if free.any():
            capacity = num_gpus - float(gpus[fixed].sum())
            x[free] = box_knapsack_interior(
                np.minimum(lower[free], 1.0), gpus[free], capacity,
                lower_weight=LOWER_BARRIER_WEIGHT, zero_weight=ZERO_BARRIER_WEIGHT,
            )
        return np.clip(x, 0.0, 1.0)
    lo, hi = rho_lo, max(2.0 * rho_lo, 1.0)
    while float(gpus @ _lower(hi, steps, thr, since, den)) > num_gpus:
        lo, hi = hi, 2.0 * hi
        if not math.isfinite(hi):
            raise SolverError("finish-time fairness: no finite rho fits the cluster")
    for _ in range(_BISECTION_STEPS):
        mid = (lo + hi) / 2.0
        if mid in (lo, hi):
            break
        if float(gpus @ _lower(mid, steps, thr, since, den)) > num_gpus:
            lo = mid
        else:
            hi = mid
    return np.clip(_lower(hi, steps, thr, since, den), 0.0, 1.0)


@dataclass
class FinishTimeFairness:
    """Min-max finish-time-fairness shares, with isolated time accumulated across calls."""

    name: ClassVar[str] = "finish_time_fairness"
    plans_rounds: ClassVar[bool] = False
    PARAMS: ClassVar[tuple[ParamInfo, ...]] = ()
    """No parameters."""

    isolated_time_s: dict[JobId, float] = field(default_factory=dict)
    _prev_steps: dict[JobId, float] = field(default_factory=dict, repr=False)
    _prev_isolated_thr: dict[JobId, float] = field(default_factory=dict, repr=False)
    _prev_batch: dict[JobId, int] = field(default_factory=dict, repr=False)

    def _isolated_throughputs(self, view: ClusterView) -> dict[JobId, float]:
        m, num_gpus = len(view.jobs), view.num_gpus
        return {
            j: job.throughput * min(1.0, num_gpus / (m * job.spec.gpus))
            for j, job in view.jobs.items()
        }

    def _accumulate(self, view: ClusterView, remaining: dict[JobId, float]) -> None:
        """Add each job's progress since the last call, in isolated seconds. The reference counts
        progress in iterations at the current batch size, so a batch-size change between calls
        distorts it (negative when the batch shrinks); the default mode counts samples.
        ``remaining`` is each job's ``remaining_steps``."""
        reference = view.compat == "reference"
        isolated, prev_steps = self.isolated_time_s, self._prev_steps
        prev_thr, prev_batch = self._prev_isolated_thr, self._prev_batch
        for j, job in view.jobs.items():
            total = isolated.setdefault(j, 0.0)
            if j in prev_steps and prev_thr[j] > 0:
                if reference:
                    done = prev_steps[j] - remaining[j]
                else:  # iterations at the previous batch size, from samples
                    samples = prev_steps[j] * prev_batch[j] - remaining[j] * job.batch_size
                    done = samples / prev_batch[j]
                isolated[j] = total + done / prev_thr[j]

    def allocate(self, view: ClusterView) -> Shares:
        if not view.jobs:
            self._prev_steps, self._prev_isolated_thr, self._prev_batch = {}, {}, {}
            return {}
        iso = self._isolated_throughputs(view)
        remaining = {j: job.remaining_steps for j, job in view.jobs.items()}
        self._accumulate(view, remaining)
        self._prev_steps = remaining
        self._prev_batch = {j: job.batch_size for j, job in view.jobs.items()}
        self._prev_isolated_thr = iso
        return self._solve(view, iso)

    def _solve(self, view: ClusterView, iso: dict[JobId, float]) -> Shares:
        """The min-max-rho shares, given each job's isolated throughput (the accumulated isolated
        time ``isolated_time_s`` is up to date)."""
        ids, jobs = list(view.jobs), list(view.jobs.values())
        thr = np.array([job.throughput for job in jobs], dtype=float)
        if np.any(thr <= 0):
            return Isolated().allocate(view)
        steps = np.array([job.remaining_steps for job in jobs], dtype=float)
        now_s = view.now_s  # view.time_since_arrival_s, job by job
        since = np.array([now_s - job.spec.arrival_s for job in jobs], dtype=float)
        iso_thr = np.array([iso[j] for j in ids], dtype=float)
        den = np.array([self.isolated_time_s[j] for j in ids]) + steps / iso_thr
        gpus = np.array([job.spec.gpus for job in jobs], dtype=float)
        if not np.all(np.isfinite(den) & (den > 0)):
            return Isolated().allocate(view)
        try:
            x = min_max_rho_shares(steps, thr, since, den, gpus, view.num_gpus)
        except SolverError:
            return Isolated().allocate(view)
        return dict(zip(ids, x.tolist(), strict=True))  # tolist: the floats float(v) gives
