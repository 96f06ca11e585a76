"""Gandiva-Fair with a choice of GPU type: the share the Shockwave reference gives every job
(``gandiva_fair``: ``min(1, G/m)``, not divided by the gang width), placed wholly on the job's
fastest type.

Gandiva_fair (Chaudhary et al., EuroSys '20) gives each user an equal share of every GPU type and
then trades: users whose jobs speed up most on fast GPUs buy fast-GPU time with their slow-GPU
time. The trading is out of scope here; this variant keeps
the two things the reference's evaluation relies on, an equal share for every job and contention
left to the priority mechanism, and adds the one decision a typed cluster needs: each job asks for
its fastest type (ties: the cluster's type order). As with ``gandiva_fair``, the shares may ask for
more GPUs of a type than it has; the mechanism decides who runs, and fills what is left (of any
type) work-conservingly. A job that can run on no type gets nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np

from shockwave.policies.gandiva_fair import GandivaFair
from shockwave.policies.heterogeneous import TypedInputs, runnable_rates

if TYPE_CHECKING:
    from shockwave.policies.base import ClusterView, Shares, TypedShares


def gandiva_fair_perf_shares(
    rates: np.ndarray, gpus: np.ndarray, counts: np.ndarray
) -> np.ndarray:
    """``X[j, fastest_j] = min(1, G/m)``, 0 elsewhere; ``fastest_j`` the job's fastest type among
    those it can run on (first in type order on ties)."""
    runnable = runnable_rates(rates, gpus, counts)
    m = runnable.shape[0]
    x = np.zeros_like(runnable)
    if m == 0:
        return x
    share = min(1.0, float(np.asarray(counts, dtype=float).sum()) / m)
    fastest = np.argmax(runnable, axis=1)
    rows = np.flatnonzero(runnable[np.arange(m), fastest] > 0)
    x[rows, fastest[rows]] = share
    return x


class GandivaFairPerf(GandivaFair):
    """Gandiva-Fair's equal shares on each job's fastest type; on a one-type cluster, exactly
    :class:`~shockwave.policies.gandiva_fair.GandivaFair` (flat shares)."""

    name: ClassVar[str] = "gandiva_fair_perf"

    def allocate(self, view: ClusterView) -> Shares | TypedShares:
        if not view.jobs or not view.cluster.is_heterogeneous:
            return super().allocate(view)
        inputs = TypedInputs.of(view)
        return inputs.shares(gandiva_fair_perf_shares(inputs.rates, inputs.gpus, inputs.counts))
