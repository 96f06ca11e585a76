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
which all jobs can exceed their needs at a ratio; its answer gives a ratio achieved, a lower
bound, and (from its duals) a Newton step toward the optimum
(:func:`finish_time_fairness_perf_shares`): the bracket closes to a relative ``RHO_TOLERANCE``
in ~4 LPs. Its basis also gives the ratio where that basis reaches factor 1 without another LP
(only the level's column moves with the ratio); where the basis is still feasible there, that
ratio is the optimum.

Tie-break: at the optimal ratio, the shares maximise ``sum_j throughput(j, X) / need_j`` (each
job's speed relative to what the ratio requires of it), so that jobs off the bottleneck use what
is left: each factor LP breaks ties itself (``LevelProgram.lexicographic``), so that an optimum
read off its basis comes with them; otherwise a last LP at the optimal ratio.

Fallback, as the reference's: the isolated split when a job has no isolated throughput (it can run
on no type), when a denominator ``C_j + rem_j / thr_iso_j`` is not positive (the program is not
convex: the reference's SOCP raises a DCPError), or when a solve fails.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from shockwave.errors import SolverError
from shockwave.model import JobId
from shockwave.policies.finish_time_fairness import FinishTimeFairness
from shockwave.policies.heterogeneous import (
    BasisMemory,
    LevelProgram,
    TypedInputs,
    TypedProgram,
    WarmStart,
    effective_throughputs,
    isolated_throughputs_perf,
)
from shockwave.solver import InfeasibleError

if TYPE_CHECKING:
    from shockwave.policies.base import ClusterView, Shares, TypedShares

RHO_TOLERANCE = 1e-8
_MAX_STEPS = 100
_LEVEL_AT_ROOT = 1e-9
"""How close to 1 the factor read off the basis at the computed root must be to take it."""


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


def _scales(rho: float, steps: np.ndarray, since: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``1 / need_j(rho)`` for the jobs with steps left, 0 for the others (no row): the level
    program's rows then read ``throughput(j, X) / need_j >= s``, each relative to its need, so
    that the solver's absolute tolerance is relative too."""
    need = _needs(rho, steps, since, den)
    return np.divide(1.0, need, out=np.zeros(need.shape), where=need > 0)


def finish_time_fairness_perf_shares(
    rates: np.ndarray,
    gpus: np.ndarray,
    counts: np.ndarray,
    steps: np.ndarray,
    since: np.ndarray,
    den: np.ndarray,
    *,
    warm: WarmStart | None = None,
    start: float | None = None,
) -> np.ndarray:
    """Shares ``X[j, t]`` minimising ``max_j (since_j + steps_j / throughput(j, X)) / den_j``
    under the base constraints; ``den`` must be positive.

    Each step solves, at a ratio ``rho``, the LP for the largest factor ``f(rho)`` by which
    every job can exceed its need ``rem_j / (rho den_j - t_j)``
    (:class:`~shockwave.policies.heterogeneous.LevelProgram`, one HiGHS model re-solved from
    its last basis). Its shares give an upper bound, the ratio they achieve. Since no shares
    give every job more than ``f`` times its need, some job's ratio is at least
    ``rho / f + (1 - 1/f) t_j / den_j`` under any shares: the smallest of these is a lower bound
    (above ``rho`` when ``f < 1``). The next ``rho`` is a Newton step on ``f(rho) = 1``, with
    ``f'(rho) = f * sum_j w_j den_j / (rho den_j - t_j)`` from the LP's duals ``w`` (normalised
    to sum 1; the envelope theorem), kept inside the bracket and at least half a tolerance above
    its lower end so that a step can also close it from above; a step that would leave the
    bracket bisects instead. The bracket closes to a relative ``RHO_TOLERANCE`` in ~3-4 LPs (with
    every ``t_j = 0``, in 1). Should ``_MAX_STEPS`` LPs not close it, the best shares found are
    returned (feasible, within the bracket). Given ``warm``, the first LP starts from the last
    call's basis. ``start`` (e.g. the last call's optimum) is the
    first ratio tried when it lies inside the initial bracket, instead of its upper end: between
    two allocations the optimum moves by ~0.4 %, and the LPs per allocation fall from 3.9 to 2.9.

    Each LP solves the factor with its tie-break (``LevelProgram.lexicographic``; the factor
    alone where that is not certified). Before a Newton step, :func:`_fixed_basis_root` finds
    the ratio where the LP's basis gives factor 1, and ``LevelProgram.level_at`` reads the
    shares there off that basis: if it is still feasible, that ratio is the optimum and, the
    basis being lexicographic, those shares are the tie-break's (returned with no further LP);
    if not, the root is the next ratio tried. Once the bracket has closed, a lexicographic LP's
    root is still tried, in the closed bracket widened by the tolerance, before the last LP.
    About 1.6 LPs per allocation instead of 3.9.

    Raises:
        SolverError: a job with steps left can run on no type, or an LP fails.
    """
    program = TypedProgram.build(rates, gpus, counts)
    if ((steps > 0) & ~program.runs_somewhere).any():
        raise SolverError("finish-time fairness: a job with work left can run on no GPU type")
    fastest = program.rates.max(axis=1, initial=0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        lo = float(((since + np.where(steps > 0, steps / fastest, 0.0)) / den).max())
    best = program.isolated()
    hi = float(finish_time_ratios(program.rates, best, steps, since, den).max())
    if not (steps > 0).any():
        return best
    rho = hi if start is None or not lo < start < hi else start
    levels = LevelProgram(program, _scales(rho, steps, since, den), warm=warm)
    jobs = levels.jobs
    for step in range(_MAX_STEPS):
        if hi - lo <= RHO_TOLERANCE * hi:
            break
        if step > 0:
            levels.rescale(_scales(rho, steps, since, den))
        # each LP also breaks ties, so that at a root read off its basis the shares are final
        lexicographic = levels.lexicographic()
        factor, v = levels.max_level() if lexicographic is None else lexicographic
        found = levels.shares(v)
        achieved = float(finish_time_ratios(program.rates, found, steps, since, den).max())
        if achieved < hi:
            best, hi = found, achieved
        if factor > 0:
            floor = rho / factor + (1.0 - 1.0 / factor) * since[jobs] / den[jobs]
            lo = max(lo, float(floor.min()))
        weights = levels.level_duals()
        # (with the bracket closed, a lexicographic LP's root still spares the tie-break LP)
        closed = hi - lo <= RHO_TOLERANCE * hi
        bracket = (lo * (1.0 - RHO_TOLERANCE), hi * (1.0 + RHO_TOLERANCE)) if closed else (lo, hi)
        root = None if closed and lexicographic is None else _fixed_basis_root(
            weights, factor, rho, bracket, since[jobs], den[jobs])
        at_root = None if root is None else levels.level_at(_scales(root, steps, since, den))
        if at_root is not None and abs(at_root[0] - 1.0) <= _LEVEL_AT_ROOT:
            # the ratio where this basis gives factor 1 is optimal there: no LP needed
            level, found = at_root[0], levels.shares(at_root[1])
            if lexicographic is not None:
                return found
            achieved = float(finish_time_ratios(program.rates, found, steps, since, den).max())
            if achieved < hi:
                best, hi = found, achieved
            floor = root / level + (1.0 - 1.0 / level) * since[jobs] / den[jobs]
            lo, rho = max(lo, float(floor.min())), root
            continue
        slope = factor * float((weights * den[jobs] / (rho * den[jobs] - since[jobs])).sum())
        newton = rho - (factor - 1.0) / slope if slope > 0 else hi
        newton = newton if root is None else root  # (the basis changes before it)
        newton = max(newton, lo + 0.5 * RHO_TOLERANCE * hi)
        rho = newton if lo < newton < hi else (lo + hi) / 2
    # Tie-break: at the optimal ratio, the most efficient shares (every row >= 1).
    levels.rescale(_scales(hi, steps, since, den))
    try:
        return levels.shares(levels.most_efficient(1.0))
    except InfeasibleError:
        return best


def _fixed_basis_root(weights: np.ndarray, factor: float, rho: float,
                      bracket: tuple[float, float], since: np.ndarray, den: np.ndarray
                      ) -> float | None:
    """The ratio in ``bracket`` where the factor LP solved at ``rho`` (factor ``factor``, level
    duals ``weights`` normalised to sum 1), with the same basis, gives factor 1; ``None`` when
    there is none. With the basis fixed, the factor at ``r`` is ``factor / F(r)``,
    ``F(r) = sum_j w_j (rho den_j - t_j) / (r den_j - t_j)`` (``LevelProgram.level_at``: the
    level's column is ``need_j(r) / need_j(rho)`` times what it was), ``F`` decreasing: the root
    of ``F(r) = factor`` by Newton steps, kept in the bracket (bisecting otherwise)."""
    live = weights > 0
    if not (factor > 0 and live.any()):
        return None
    w, t, d = weights[live], since[live], den[live]
    a = w * (rho * d - t)
    ad = a * d  # (the slope's numerators, the same at every step)
    left, right = bracket
    if not (left * d > t).all():  # the bracket reaches a pole (a ratio no shares can give)
        return None

    def excess(r: float) -> float:
        return float((a / (r * d - t)).sum()) - factor

    if not (excess(left) >= 0.0 >= excess(right)):
        return None
    r = min(max(rho, left), right)
    for _ in range(_MAX_STEPS):
        gap = r * d - t  # (the value and the slope share it)
        value = float((a / gap).sum()) - factor
        if value == 0.0:
            break
        left, right = (r, right) if value > 0 else (left, r)
        slope = -float((ad / gap ** 2).sum())
        nxt = r - value / slope if slope < 0 else (left + right) / 2
        nxt = nxt if left < nxt < right else (left + right) / 2
        if abs(nxt - r) <= 1e-15 * r:
            return nxt
        r = nxt
    return r


@dataclass
class FinishTimeFairnessPerf(FinishTimeFairness):
    """Heterogeneity-aware finish-time fairness; on a one-type cluster, exactly
    :class:`~shockwave.policies.finish_time_fairness.FinishTimeFairness` (flat shares). The
    accumulated isolated time is the same state either way."""

    name: ClassVar[str] = "finish_time_fairness_perf"
    _basis: BasisMemory = field(default_factory=BasisMemory, repr=False)
    _last_ratio: float | None = field(default=None, repr=False)
    """The optimal worst ratio of the last allocation: the next one's first trial ratio."""
    _inputs: tuple[ClusterView, TypedInputs] | None = field(default=None, repr=False,
                                                          compare=False)
    """The view of the allocation under way and its arrays, read once for both steps."""

    def _typed_inputs(self, view: ClusterView) -> TypedInputs:
        if self._inputs is None or self._inputs[0] is not view:
            self._inputs = (view, TypedInputs.of(view))
        return self._inputs[1]

    def _isolated_throughputs(self, view: ClusterView) -> dict[JobId, float]:
        if not view.cluster.is_heterogeneous:
            return super()._isolated_throughputs(view)
        inputs = self._typed_inputs(view)
        iso = isolated_throughputs_perf(inputs.rates, inputs.gpus, inputs.counts)
        return {j: float(v) for j, v in zip(inputs.ids, iso, strict=True)}

    def _solve(self, view: ClusterView, iso: dict[JobId, float]) -> Shares | TypedShares:
        if not view.cluster.is_heterogeneous:
            return super()._solve(view, iso)
        inputs = self._typed_inputs(view)
        self._inputs = None  # the view's allocation is made: hold nothing of it
        iso_thr = np.array([iso[j] for j in inputs.ids], dtype=float)
        if (iso_thr <= 0).any():
            return inputs.isolated()
        steps = np.array([view.jobs[j].remaining_steps for j in inputs.ids], dtype=float)
        since = np.array([view.time_since_arrival_s(j) for j in inputs.ids], dtype=float)
        den = np.array([self.isolated_time_s[j] for j in inputs.ids]) + steps / iso_thr
        if not (np.isfinite(den) & (den > 0)).all():
            return inputs.isolated()
        try:
            x = finish_time_fairness_perf_shares(
                inputs.rates, inputs.gpus, inputs.counts, steps, since, den,
                warm=WarmStart(inputs.ids, self._basis), start=self._last_ratio)
        except SolverError:
            return inputs.isolated()
        self._last_ratio = float(finish_time_ratios(inputs.rates, x, steps, since, den).max())
        return inputs.shares(x)
