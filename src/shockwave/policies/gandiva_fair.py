"""Gandiva-Fair as the Shockwave reference runs it: an equal time share for every job (the published
``scheduler/policies/gandiva_fair_proportional.py``)."""

from __future__ import annotations

from typing import ClassVar

from shockwave.policies.base import ClusterView, Shares
from shockwave.policies.params import ParamInfo


class GandivaFair:
    """``x_j = min(1, G/m)`` for each of the m active jobs, not divided by the job's GPU count:
    the total may exceed the cluster and the priority mechanism resolves the contention."""

    name: ClassVar[str] = "gandiva_fair"
    plans_rounds: ClassVar[bool] = False
    PARAMS: ClassVar[tuple[ParamInfo, ...]] = ()
    """No parameters."""

    def allocate(self, view: ClusterView) -> Shares:
        if not view.jobs:
            return {}
        share = min(1.0, view.num_gpus / len(view.jobs))
        return {job_id: share for job_id in view.jobs}
