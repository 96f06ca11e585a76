"""Isolated: an equal 1/m split of the cluster in GPU terms (the published
``scheduler/policies/isolated.py``); also Themis's reference point."""

from __future__ import annotations

from typing import ClassVar

from shockwave.policies.base import ClusterView, Shares
from shockwave.policies.params import ParamInfo


class Isolated:
    """``x_j = min(1, (G/m) / gpus_j)``."""

    name: ClassVar[str] = "isolated"
    plans_rounds: ClassVar[bool] = False
    PARAMS: ClassVar[tuple[ParamInfo, ...]] = ()
    """No parameters."""

    def allocate(self, view: ClusterView) -> Shares:
        if not view.jobs:
            return {}
        per_job = view.num_gpus / len(view.jobs)
        return {job_id: min(1.0, per_job / job.gpus) for job_id, job in view.jobs.items()}
