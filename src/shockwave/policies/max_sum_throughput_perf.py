"""Max-sum-throughput, heterogeneity-aware (``ThroughputNormalizedByCostSumWithPerf`` in the
published ``scheduler/policies/max_sum_throughput.py``, Gavel's only MST): maximise the cluster's
total iterations/s

    sum_j sum_t rates[j, t] X[j, t]

under the base constraints. As in the reference, the rates are raw (the per-job normalisation it
computes is unused, and every instance cost is 1) and the gang width is not in the objective. On
one type this is the homogeneous LP.

Tie-break: HiGHS returns an optimal vertex; ties (equal rates per GPU competing for the last GPUs
of a type) are rare with measured rates, and the priority mechanism fills any GPU left idle.

Fallback: the isolated split when the solve fails (the LP is always feasible: X = 0).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np

from shockwave.errors import SolverError
from shockwave.policies.heterogeneous import TypedInputs, TypedProgram
from shockwave.policies.max_sum_throughput import MaxSumThroughput

if TYPE_CHECKING:
    from shockwave.policies.base import ClusterView, Shares, TypedShares


def max_sum_throughput_perf_shares(
    rates: np.ndarray, gpus: np.ndarray, counts: np.ndarray
) -> np.ndarray:
    """Shares ``X[j, t]`` maximising ``sum_j throughput(j, X)`` under the base constraints.

    Raises:
        SolverError: the LP fails (time limit, numerical trouble).
    """
    program = TypedProgram.build(rates, gpus, counts)
    cost = -program.rates[program.job_of, program.type_of]
    return program.unflatten(program.solve(cost))


class MaxSumThroughputPerf(MaxSumThroughput):
    """Heterogeneity-aware MST; on a one-type cluster, exactly
    :class:`~shockwave.policies.max_sum_throughput.MaxSumThroughput` (flat shares)."""

    name: ClassVar[str] = "max_sum_throughput_perf"

    def allocate(self, view: ClusterView) -> Shares | TypedShares:
        if not view.jobs or not view.cluster.is_heterogeneous:
            return super().allocate(view)
        inputs = TypedInputs.of(view)
        try:
            x = max_sum_throughput_perf_shares(inputs.rates, inputs.gpus, inputs.counts)
        except SolverError:
            return inputs.isolated()
        return inputs.shares(x)
