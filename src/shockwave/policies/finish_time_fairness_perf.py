"""Themis's finish-time fairness, heterogeneity-aware (``FinishTimeFairnessPolicyWithPerf`` in the
published ``scheduler/policies/finish_time_fairness.py``): minimise the largest predicted
finish-time ratio

    rho_j(X) = (t_j + rem_j / throughput(j, X)) / (C_j + rem_j / thr_iso_j)

with ``throughput(j, X) = sum_t rates[j, t] X[j, t]``, ``t_j`` the time since arrival,
``thr_iso_j`` the effective throughput under Gavel's isolated split (an equal ``1/m`` of every type
in GPU terms) and ``C_j`` the isolated time consumed so far, accumulated across calls exactly as
the homogeneous policy does.

The reference states this as an SOCP (``inv_pos`` of the effective throughput) and needs Gurobi.
Here it is solved with LPs, to the same optimum: ``rho_j`` falls as the job's effective throughput
grows, so a ratio ``rho`` is attainable iff some X within the base constraints gives every job
``throughput(j, X) >= need_j(rho) = rem_j / (rho (C_j + rem_j / thr_iso_j) - t_j)``, linear for
a fixed ``rho``. Rather than bisecting on that yes/no test, each LP finds the largest factor by
which all jobs can exceed their needs at the best ratio found so far; its answer gives both a
better ratio and a lower bound (:func:`finish_time_fairness_perf_shares`), and the bracket closes
to a relative ``RHO_TOLERANCE`` in a few LPs.

Tie-break: a last LP, at the optimal ratio, maximises ``sum_j throughput(j, X) / need_j`` (each
job's speed relative to what the ratio requires of it), so that jobs off the bottleneck use what
is left.

Fallback, as the reference's: the isolated split when a job has no isolated throughput (it can run
on no type), when a denominator ``C_j + rem_j / thr_iso_j`` is not positive (the program is not
convex: the reference's SOCP raises a DCPError), or when a solve fails.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np

from shockwave.errors import SolverError
from shockwave.model import JobId
from shockwave.policies.finish_time_fairness import FinishTimeFairness
from shockwave.policies.heterogeneous import (
    TypedInputs,
    TypedProgram,
    effective_throughputs,
    isolated_perf_shares,
    isolated_throughputs_perf,
)
from shockwave.solver import InfeasibleError

if TYPE_CHECKING:
    from shockwave.policies.base import ClusterView, Shares, TypedShares

RHO_TOLERANCE = 1e-8
_MAX_STEPS = 100


def finish_time_ratios(
    rates: np.ndarray, shares: np.ndarray, steps: np.ndarray, since: np.ndarray, den: np.ndarray
) -> np.ndarray:
    """``rho_j(X)`` for every job (infinite for a job with work left and no throughput)."""
    eff = effective_throughputs(rates, shares)
    with np.errstate(divide="ignore", invalid="ignore"):
        finish = np.where(steps > 0, steps / eff, 0.0)
    return (since + finish) / den


def _needs(rho: float, steps: np.ndarray, since: np.ndarray, den: np.ndarray) -> np.ndarray:
    """The effective throughput each job needs for ``rho_j <= rho`` (``rho`` above every
    ``since_j / den_j``, as every ``rho`` tried is)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        need = steps / (rho * den - since)
    return np.where(steps > 0, need, 0.0)


def _relative_rows(
    program: TypedProgram, need: np.ndarray
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The jobs with a need, and the rows ``throughput(j, X) / need_j`` (so that every
    constraint reads ``>= 1``: the solver's absolute tolerance becomes relative to each need), as
    (row, column, value) triplets."""
    bound = np.flatnonzero(need > 0)
    weight = np.zeros_like(need)
    weight[bound] = 1.0 / need[bound]
    return bound, program.throughput_triplets(weight, bound)


def _best_factor(program: TypedProgram, need: np.ndarray) -> tuple[float, np.ndarray]:
    """The largest ``s`` such that some shares give every job ``s * need_j``, and those shares."""
    bound, (rows, cols, values) = _relative_rows(program, need)
    cost = np.zeros(program.size + 1)
    cost[-1] = -1.0
    level = np.arange(bound.size)  # + s in every row
    a = (np.concatenate([rows, level]), np.concatenate([cols, np.full(bound.size, program.size)]),
         np.concatenate([-values, np.ones(bound.size)]))
    v = program.solve(cost, a, np.zeros(bound.size), extra_vars=1)
    return float(v[-1]), program.unflatten(v)


def _most_efficient(program: TypedProgram, need: np.ndarray) -> np.ndarray | None:
    """Among shares giving every job its need, those maximising ``sum_j throughput / need_j``;
    ``None`` if the solver finds none."""
    bound, (rows, cols, values) = _relative_rows(program, need)
    cost = np.zeros(program.size)
    cost[cols] = -values  # one job per pair: each column's sum is its one entry
    try:
        return program.unflatten(program.solve(cost, (rows, cols, -values), -np.ones(bound.size)))
    except InfeasibleError:
        return None


def finish_time_fairness_perf_shares(
    rates: np.ndarray,
    gpus: np.ndarray,
    counts: np.ndarray,
    steps: np.ndarray,
    since: np.ndarray,
    den: np.ndarray,
) -> np.ndarray:
    """Shares ``X[j, t]`` minimising ``max_j (since_j + steps_j / throughput(j, X)) / den_j``
    under the base constraints; ``den`` must be positive.

    Each step solves, at the best ratio ``rho`` found so far, the LP for the largest factor
    ``s`` by which every job can exceed its need ``rem_j / (rho den_j - t_j)``. Its shares
    achieve a ratio no larger than ``rho`` (the new upper bound), and since no shares give every
    job more than ``s`` times its need, some job's ratio is at least
    ``rho / s + (1 - 1/s) t_j / den_j`` under any shares: the smallest of these over the jobs is
    a lower bound. Stepping from the best ratio (a Dinkelbach-style scheme, safeguarded by
    bisection steps when it slows down) closes the bracket to ``RHO_TOLERANCE`` in a few LPs;
    with every ``t_j = 0`` in one. Should ``_MAX_STEPS`` LPs not close it, the best shares found
    are returned (feasible, within the bracket).

    Raises:
        SolverError: a job with steps left can run on no type, or an LP fails.
    """
    program = TypedProgram.build(rates, gpus, counts)
    if np.any((steps > 0) & ~program.runs_somewhere):
        raise SolverError("finish-time fairness: a job with work left can run on no GPU type")
    fastest = program.rates.max(axis=1, initial=0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        lo = float(((since + np.where(steps > 0, steps / fastest, 0.0)) / den).max())
    best = isolated_perf_shares(rates, gpus, counts)
    hi = float(finish_time_ratios(program.rates, best, steps, since, den).max())
    bound = steps > 0
    rho, width = hi, hi - lo
    for _ in range(_MAX_STEPS):
        if hi - lo <= RHO_TOLERANCE * hi or not bound.any():
            break
        factor, found = _best_factor(program, _needs(rho, steps, since, den))
        if factor > 0:
            floor = rho / factor + (1.0 - 1.0 / factor) * since[bound] / den[bound]
            lo = max(lo, float(floor.min()))
        achieved = float(finish_time_ratios(program.rates, found, steps, since, den).max())
        if achieved < hi:
            best, hi = found, achieved
        # The step from the best ratio converges fast but can crawl; a step from the middle
        # halves the bracket at least (a factor below 1 there proves the middle unattainable).
        rho = hi if hi - lo <= width / 2 else (lo + hi) / 2
        width = hi - lo
    efficient = _most_efficient(program, _needs(hi, steps, since, den))
    return best if efficient is None else efficient


class FinishTimeFairnessPerf(FinishTimeFairness):
    """Heterogeneity-aware finish-time fairness; on a one-type cluster, exactly
    :class:`~shockwave.policies.finish_time_fairness.FinishTimeFairness` (flat shares). The
    accumulated isolated time is the same state either way."""

    name: ClassVar[str] = "finish_time_fairness_perf"

    def _isolated_throughputs(self, view: ClusterView) -> dict[JobId, float]:
        if not view.cluster.is_heterogeneous:
            return super()._isolated_throughputs(view)
        inputs = TypedInputs.of(view)
        iso = isolated_throughputs_perf(inputs.rates, inputs.gpus, inputs.counts)
        return {j: float(v) for j, v in zip(inputs.ids, iso, strict=True)}

    def _solve(self, view: ClusterView, iso: dict[JobId, float]) -> Shares | TypedShares:
        if not view.cluster.is_heterogeneous:
            return super()._solve(view, iso)
        inputs = TypedInputs.of(view)
        iso_thr = np.array([iso[j] for j in inputs.ids], dtype=float)
        if np.any(iso_thr <= 0):
            return inputs.isolated()
        steps = np.array([view.jobs[j].remaining_steps for j in inputs.ids], dtype=float)
        since = np.array([view.time_since_arrival_s(j) for j in inputs.ids], dtype=float)
        den = np.array([self.isolated_time_s[j] for j in inputs.ids]) + steps / iso_thr
        if not np.all(np.isfinite(den) & (den > 0)):
            return inputs.isolated()
        try:
            x = finish_time_fairness_perf_shares(
                inputs.rates, inputs.gpus, inputs.counts, steps, since, den)
        except SolverError:
            return inputs.isolated()
        return inputs.shares(x)
