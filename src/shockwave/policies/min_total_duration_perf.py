"""Min-total-duration ("OSSP"), heterogeneity-aware (``MinTotalDurationPolicyWithPerf`` in the
published ``scheduler/policies/min_total_duration.py``): the smallest horizon T (within 5 %, by the
reference's bisection, shared with the homogeneous policy) for which some shares within the base
constraints give every job

    sum_t rates[j, t] X[j, t] >= rem_j / T,

and shares that achieve it. Each bisection step is one LP; on one type they decide exactly what
the homogeneous policy's closed-form test decides, so both walk the same horizons.

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
from shockwave.policies.heterogeneous import TypedInputs, TypedProgram
from shockwave.policies.min_total_duration import MinTotalDuration, bisect_horizon
from shockwave.solver import InfeasibleError

if TYPE_CHECKING:
    from shockwave.policies.base import ClusterView, Shares, TypedShares


def min_total_duration_perf(
    rates: np.ndarray, gpus: np.ndarray, counts: np.ndarray, steps: np.ndarray
) -> tuple[float, np.ndarray]:
    """The bisected horizon T (s) and shares ``X[j, t]`` with
    ``throughput(j, X) >= steps_j / T`` for every job that can run somewhere.

    Raises:
        SolverError: an LP fails otherwise than by being infeasible.
    """
    program = TypedProgram.build(rates, gpus, counts)
    steps = np.where(program.runs_somewhere, np.asarray(steps, dtype=float), 0.0)
    bound = np.flatnonzero(steps > 0)
    weight = np.zeros_like(steps)
    weight[bound] = 1.0 / steps[bound]
    cost = -np.asarray(program.throughput_rows(weight).sum(axis=0)).ravel()
    cost = cost / max(1e-300, float(np.abs(cost).max(initial=0.0)))
    # Rows throughput(j, X) T / rem_j >= 1: the solver's absolute tolerance is then relative to
    # each job's need, however small.
    rows = program.throughput_rows(weight)[bound]

    def attempt(horizon_s: float) -> np.ndarray | None:
        try:
            return program.unflatten(program.solve(cost, -horizon_s * rows, -np.ones(bound.size)))
        except InfeasibleError:
            return None

    return bisect_horizon(attempt)


class MinTotalDurationPerf(MinTotalDuration):
    """Heterogeneity-aware OSSP; on a one-type cluster, exactly
    :class:`~shockwave.policies.min_total_duration.MinTotalDuration` (flat shares)."""

    name: ClassVar[str] = "min_total_duration_perf"

    def allocate(self, view: ClusterView) -> Shares | TypedShares:
        if not view.jobs or not view.cluster.is_heterogeneous:
            return super().allocate(view)
        inputs = TypedInputs.of(view)
        steps = np.array([view.jobs[j].remaining_steps for j in inputs.ids], dtype=float)
        try:
            _, x = min_total_duration_perf(inputs.rates, inputs.gpus, inputs.counts, steps)
        except SolverError:
            return inputs.isolated()
        return inputs.shares(x)
