"""The policy interface: a read-only view of the cluster in, shares out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar, Protocol

import numpy as np

from shockwave.model import Cluster, JobId, JobSpec
from shockwave.workload.adaptation import JobProfile
from shockwave.workload.throughput import ThroughputTable

Shares = Mapping[JobId, float]
"""Job id -> share in [0, 1]: the fraction of time the job should hold its gang of GPUs."""

TypedShares = Mapping[JobId, Mapping[str, float]]
"""Job id -> GPU type -> the fraction of time the job should hold a gang of that type (Gavel's
heterogeneity-aware allocation ``X[j][t]``): ``sum_t X[j][t] <= 1`` and
``sum_j X[j][t] * gpus_j <= count(t)``. A type left out is 0."""


@dataclass(frozen=True)
class JobView:
    """One active job as a policy sees it. Throughputs are iterations/s of the whole gang.

    ``throughputs_by_type`` holds the rate at the current batch size on each GPU type of the
    cluster (0.0 where the table has no entry or the job cannot run there: its gang is wider
    than the type's GPUs, or a batch size its profile reaches has no rate there);
    ``throughput`` is the rate on the type it last ran on (before it ran: the first type of the
    cluster it can run on).
    """

    spec: JobSpec
    profile: JobProfile
    batch_size: int
    throughput: float
    total_steps: float
    steps_done: float
    admitted_s: float
    rounds_received: int
    attained_s: float
    ran_last_round: bool
    throughputs_by_type: Mapping[str, float]
    throughput_timeline: tuple[tuple[int, float, int], ...] = ()

    @property
    def job_id(self) -> JobId:
        return self.spec.job_id

    @property
    def gpus(self) -> int:
        return self.spec.gpus

    @property
    def remaining_steps(self) -> float:
        return max(0.0, self.total_steps - self.steps_done)

    @property
    def iterations_per_epoch(self) -> int:
        return -(-self.profile.samples_per_epoch // self.batch_size)

    @property
    def epochs_done(self) -> int:
        """Whole epochs completed at the current batch size."""
        return int(self.steps_done // self.iterations_per_epoch)


def remaining_steps_of(jobs: Sequence[JobView]) -> np.ndarray:
    """``[job.remaining_steps for job in jobs]`` as an array, computed on arrays: where
    ``total_steps - steps_done`` is not positive (NaN included) it is 0, as ``max(0.0, .)``
    gives. For policies that read it for hundreds of jobs at every allocation."""
    left = np.array([job.total_steps for job in jobs], dtype=float) \
        - np.array([job.steps_done for job in jobs], dtype=float)
    return np.where(left > 0.0, left, 0.0)


@dataclass(frozen=True)
class ClusterView:
    """A frozen snapshot of the cluster at a round boundary. ``jobs`` is ordered by job id."""

    now_s: float
    round_index: int
    round_s: float
    cluster: Cluster
    jobs: Mapping[JobId, JobView]
    throughputs: ThroughputTable
    compat: str = "fixed"
    num_trace_jobs: int = 0

    @property
    def num_gpus(self) -> int:
        return self.cluster.num_gpus

    def time_since_arrival_s(self, job_id: JobId) -> float:
        return self.now_s - self.jobs[job_id].spec.arrival_s


class Policy(Protocol):
    """What every scheduling policy implements.

    ``allocate`` returns flat ``Shares`` or, on a heterogeneous cluster, ``TypedShares``. Flat
    shares there (a heterogeneity-agnostic policy) are spread over the types in proportion to
    their GPU counts, ``X[j][t] = x_j * count(t) / num_gpus`` (``mechanism.typed_shares``).

    ``plans_rounds`` says how the planner uses the shares: ``False`` (Gavel-style policies) means
    they are long-run time fractions, recomputed when the job set changes and turned into rounds by
    the priority mechanism; ``True`` means the policy is asked every round and a share of 1 means
    "runs this round" (Shockwave's explicit round plans).
    """

    name: ClassVar[str]
    plans_rounds: ClassVar[bool]

    def allocate(self, view: ClusterView) -> Shares | TypedShares: ...
