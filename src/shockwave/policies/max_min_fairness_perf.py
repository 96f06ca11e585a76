"""Gavel's heterogeneity-aware max-min fairness (``MaxMinFairnessPolicyWithPerf`` in the published
``scheduler/policies/max_min_fairness.py``; Narayanan et al., OSDI '20, section 4.1): maximise the
least normalised effective throughput

    min_j  gpus_j * sum_t rates[j, t] X[j, t] / (w_j * thr_prop_j)

where ``thr_prop_j`` is the job's effective throughput under Gavel's proportional split (every
job ``counts[t] / G`` of each type, so ``thr_prop_j`` is its count-weighted mean rate), subject to
the base constraints. The agnostic split ``X[j, t] = x_j counts[t] / G`` scores exactly
``gpus_j x_j / w_j`` here, the homogeneous objective, so this optimum is never worse than the
agnostic policy's under this measure. On one type it is the homogeneous LP.

Tie-break: when the max-min optimum is not unique (the reference's interior-point solver returned
an arbitrary interior point there), the shares keep every job at the optimal level and maximise
the sum of the normalised throughputs: the Pareto-efficient optimum, which leaves no GPU idle that
some job could use. Both are found by one solve of ``level + 1e-3 * efficiency``, whose basis is
then checked to be optimal for the level alone and, among the level's optima, for the efficiency
(``LevelProgram.lexicographic``); where that check fails, by two LPs: the level, then a second
LP keeping every job at that level (less a relative ``LEVEL_SLACK``, so that the solver's
tolerance cannot make it infeasible) that maximises the efficiency.

Jobs that can run on no type score 0 whatever they get; they are left out of the minimum (and get
nothing), instead of pinning it at 0 as they would in the reference's LP.

Fallback: when the second LP fails, the first one's optimum; when the first fails, the isolated
split (:func:`shockwave.policies.heterogeneous.isolated_perf_shares`). (The one-solve path falls
back to the two LPs when its solve fails.)
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
    clip_feasible,
    runnable_rates,
)
from shockwave.policies.max_min_fairness import MaxMinFairness

if TYPE_CHECKING:
    from shockwave.policies.base import ClusterView, Shares, TypedShares

LEVEL_SLACK = 1e-9


def normalised_level_scale(
    rates: np.ndarray, gpus: np.ndarray, counts: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    """Per job, the factor ``gpus_j / (w_j thr_prop_j)`` that turns its effective throughput into
    the max-min objective's measure (0 for a job that can run nowhere)."""
    return _level_scale(runnable_rates(rates, gpus, counts), gpus, counts, weights)


def _level_scale(runnable: np.ndarray, gpus: np.ndarray, counts: np.ndarray,
                 weights: np.ndarray) -> np.ndarray:
    """:func:`normalised_level_scale` given the runnable rates (a typed program holds them):
    the proportional split's rows are all ``counts / G``, so they are broadcast, not tiled."""
    counts = np.asarray(counts, dtype=float)
    prop = (runnable * (counts / counts.sum())).sum(axis=1)
    denominator = np.asarray(weights, dtype=float) * prop
    return np.divide(np.asarray(gpus, dtype=float), denominator,
                     out=np.zeros(prop.shape), where=prop > 0)


def max_min_fairness_perf_shares(
    rates: np.ndarray,
    gpus: np.ndarray,
    counts: np.ndarray,
    weights: np.ndarray,
    *,
    warm: WarmStart | None = None,
    classes: bool = True,
) -> np.ndarray:
    """Shares ``X[j, t]`` that maximise ``min_j scale_j * throughput(j, X)`` (scale from
    :func:`normalised_level_scale`) under the base constraints, the most efficient such optimum:
    one certified lexicographic solve, or the level LP and the tie-break LP in turn. Given
    ``warm``, the first LP starts from the last call's basis
    (:class:`~shockwave.policies.heterogeneous.LevelProgram`).

    With ``classes`` (the default), jobs with the same runnable rates, gang width and weight
    (hence the same scale) are one LP row and share its answer equally
    (:func:`job_classes`): the same level and efficiency as the per-job LP (symmetry and
    convexity), in about half the variables; where the per-job optimum is not unique, identical
    jobs now get identical shares.

    Raises:
        SolverError: the first LP fails (time limit, numerical trouble).
    """
    rates = np.asarray(rates, dtype=float)
    gpus, weights = np.asarray(gpus, dtype=float), np.asarray(weights, dtype=float)
    members, class_of, reps = None, None, None
    if classes:  # (by the rates as given: alike there, alike where runnable)
        reps, class_of, sizes = job_classes(rates, gpus, weights)
        if len(reps) < rates.shape[0]:
            members = np.array(sizes, dtype=float)
            rates, gpus, weights = rates[reps], gpus[reps], weights[reps]
            if warm is not None:
                warm = WarmStart(tuple(warm.ids[r] for r in reps), warm.memory)
        else:
            reps = None
    program = TypedProgram.build(rates, gpus, counts)
    scale = _level_scale(program.rates, program.gpus, program.counts, weights)
    levels = LevelProgram(program, scale, warm=warm, members=members)
    if levels.jobs.size == 0:
        v = np.zeros(program.size)
    else:
        found = levels.lexicographic()
        if found is not None:
            v = found[1]
        else:
            level, first = levels.max_level()
            try:
                v = levels.most_efficient(level * (1.0 - LEVEL_SLACK), primal=True)
            except SolverError:
                v = first
    if reps is None:
        return program.unflatten(v)
    z = np.zeros(program.rates.shape)
    z[program.job_of, program.type_of] = v[: program.size]
    return clip_feasible(z[class_of], gpus[class_of], program.counts)


def job_classes(rates: np.ndarray, gpus: np.ndarray, weights: np.ndarray
                ) -> tuple[list[int], list[int], list[int]]:
    """Jobs with identical LP data (rates row, gang width, weight): each class's first job (its
    representative, increasing), each job's class, each class's size."""
    first: dict[tuple, int] = {}
    reps: list[int] = []
    sizes: list[int] = []
    class_of: list[int] = []
    for j, key in enumerate(zip(map(tuple, rates.tolist()), gpus.tolist(), weights.tolist(),
                                strict=True)):
        c = first.setdefault(key, len(reps))
        if c == len(reps):
            reps.append(j)
            sizes.append(0)
        sizes[c] += 1
        class_of.append(c)
    return reps, class_of, sizes


class MaxMinFairnessPerf(MaxMinFairness):
    """Heterogeneity-aware max-min fairness; on a one-type cluster, exactly
    :class:`~shockwave.policies.max_min_fairness.MaxMinFairness` (flat shares)."""

    name: ClassVar[str] = "max_min_fairness_perf"

    def __init__(self) -> None:
        self._basis = BasisMemory()

    def allocate(self, view: ClusterView) -> Shares | TypedShares:
        if not view.jobs or not view.cluster.is_heterogeneous:
            return super().allocate(view)
        inputs = TypedInputs.of(view)
        weights = np.array([view.jobs[j].spec.priority_weight for j in inputs.ids], dtype=float)
        try:
            x = max_min_fairness_perf_shares(inputs.rates, inputs.gpus, inputs.counts, weights,
                                             warm=WarmStart(inputs.ids, self._basis))
        except SolverError:
            return inputs.isolated()
        return inputs.shares(x)
