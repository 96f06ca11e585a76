"""First-in, first-out, heterogeneity-aware (``FIFOPolicyWithPerf`` in the published
``scheduler/policies/fifo.py``, the ``perf`` mode): at every call the allocation starts afresh, and
jobs in arrival (id) order each get their whole gang (``X = 1``) on the fastest type that still
has room for it. The first job for which no type has room blocks every later job.

As in the reference, a job whose fastest type with room is one it cannot run on (rate 0) is
skipped without blocking the queue; and because the allocation is recomputed, a job may move to a
faster type when one frees up. Ties between equally fast types go to the cluster's type order (the
reference took the first in sorted name order).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np

from shockwave.policies.fifo import Fifo
from shockwave.policies.heterogeneous import TypedInputs

if TYPE_CHECKING:
    from shockwave.policies.base import ClusterView, Shares, TypedShares


def fifo_perf_shares(rates: np.ndarray, gpus: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``X[j, t] = 1`` for each job (rows in arrival order) on the fastest type with room when its
    turn comes, until a job finds no type with room."""
    rates = np.asarray(rates, dtype=float)
    free = np.asarray(counts, dtype=float).copy()
    x = np.zeros_like(rates)
    for j, width in enumerate(np.asarray(gpus, dtype=float)):
        room = free >= width
        if not room.any():
            break
        best = int(np.argmax(np.where(room, rates[j], -np.inf)))
        if rates[j, best] > 0:
            x[j, best] = 1.0
            free[best] -= width
    return x


class FifoPerf(Fifo):
    """Heterogeneity-aware FIFO, recomputed at every call; on a one-type cluster, exactly
    :class:`~shockwave.policies.fifo.Fifo` (whose allocation persists until completion)."""

    name: ClassVar[str] = "fifo_perf"

    def allocate(self, view: ClusterView) -> Shares | TypedShares:
        if not view.jobs or not view.cluster.is_heterogeneous:
            return super().allocate(view)
        inputs = TypedInputs.of(view)
        return inputs.shares(fifo_perf_shares(inputs.rates, inputs.gpus, inputs.counts))
