"""First-in, first-out (the published ``scheduler/policies/fifo.py``): jobs
get their whole gang (``x = 1``) in arrival order, keep it
until they complete, and the head of the queue blocks every later job.

When a running job completes, its slot goes to the queue head at once if the head fits. In
``compat="reference"`` views the reference's count is kept as is: the head must fit in the GPUs
counted free *so far* in a pass over the running jobs in id order, which can over-commit the
cluster (the mechanism then leaves someone out); otherwise every still-running job is counted
first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from shockwave.model import JobId
from shockwave.policies.base import ClusterView, Shares
from shockwave.policies.params import ParamInfo


@dataclass
class Fifo:
    """Whole-gang shares in arrival order; the set of running jobs persists across calls."""

    name: ClassVar[str] = "fifo"
    plans_rounds: ClassVar[bool] = False
    PARAMS: ClassVar[tuple[ParamInfo, ...]] = ()
    """No parameters."""
    work_conserving: ClassVar[bool] = False
    """Jobs without a share never fill idle GPUs: the queue order is the policy."""

    running: dict[JobId, int] = field(default_factory=dict)

    def _replace_completed(self, view: ClusterView, queue: list[JobId]) -> int:
        """Drop completed jobs, handing each one's slot to the queue head; the free GPUs left."""
        running_first = getattr(view, "compat", "fixed") != "reference"
        free = view.num_gpus
        if running_first:
            free -= sum(g for j, g in self.running.items() if j in view.jobs)
        for job_id in sorted(self.running):
            if job_id in view.jobs:
                if not running_first:
                    free -= self.running[job_id]
                continue
            if queue:
                head = view.jobs[queue[0]]
                if head.gpus <= free and head.throughput > 0.0:
                    queue.pop(0)
                    self.running[head.job_id] = head.gpus
                    free -= head.gpus
            del self.running[job_id]
        return free

    def allocate(self, view: ClusterView) -> Shares:
        queue = sorted(j for j in view.jobs if j not in self.running)
        free = self._replace_completed(view, queue)
        while queue and free > 0:
            job = view.jobs[queue.pop(0)]
            if job.gpus > free:
                break
            if job.throughput > 0.0:
                self.running[job.job_id] = job.gpus
                free -= job.gpus
        return {j: (1.0 if j in self.running else 0.0) for j in view.jobs}
