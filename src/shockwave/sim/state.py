"""The simulator's mutable state: one ``JobState`` per admitted job, owned by ``sim/loop.py``."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from shockwave.model import JobSpec
from shockwave.policies.base import JobView
from shockwave.workload.adaptation import JobProfile


@dataclass
class JobState:
    """Progress of one admitted job. Steps count iterations at the current batch size.

    ``rates`` holds its throughput at the current batch size on every GPU type of the cluster
    (0.0 on a type it cannot run on, i.e. one not in ``runnable_types``); ``throughput`` is the
    rate on ``gpu_type``, the type it runs on (last ran on; before its first round, the first
    type of the cluster it can run on). ``profile`` is its profile on its fastest type, so
    ``profile.run_time_s`` is T_j; ``longest_run_time_s`` is its run time on its slowest type,
    what the forced-completion rule allows for (T_j on one type).
    """

    spec: JobSpec
    profile: JobProfile
    batch_size: int
    throughput: float
    total_steps: float
    admitted_s: float
    steps_done: float = 0.0
    rounds_received: int = 0
    attained_s: float = 0.0
    last_round: int | None = None
    """The last round the job ran in; ``None`` before its first."""
    pending_batch_size: int | None = None
    failed_tasks: int = 0
    epochs_done: float = 0.0
    total_epochs: float = 0.0
    runs: tuple[tuple[int, int, int], ...] = ()
    """(first epoch, end epoch, batch size) runs of the profile, set at the first launch."""
    run_starts: tuple[int, ...] = ()
    """The first epochs of ``runs``, set with them."""
    timeline: list[tuple[int, float, int]] = field(default_factory=list)
    batch_size_timeline: list[tuple[float, int]] = field(default_factory=list)
    gpu_type: str = "v100"
    rates: dict[str, float] = field(default_factory=dict)
    runnable_types: tuple[str, ...] = ()
    longest_run_time_s: float = 0.0

    @property
    def job_id(self) -> int:
        return self.spec.job_id

    @property
    def remaining_steps(self) -> float:
        return self.total_steps - self.steps_done

    @property
    def iterations_per_epoch(self) -> int:
        return math.ceil(self.profile.samples_per_epoch / self.batch_size)

    def view(self, round_index: int) -> JobView:
        return frozen_view(
            spec=self.spec,
            profile=self.profile,
            batch_size=self.batch_size,
            throughput=self.throughput,
            total_steps=self.total_steps,
            steps_done=self.steps_done,
            admitted_s=self.admitted_s,
            rounds_received=self.rounds_received,
            attained_s=self.attained_s,
            ran_last_round=self.last_round == round_index - 1,
            throughputs_by_type=dict(self.rates),
            throughput_timeline=tuple(self.timeline),
        )


def frozen_view(**fields: Any) -> JobView:
    """``JobView(**fields)`` for every field of ``JobView``, at a sixth of the cost: the frozen
    dataclass's ``__init__`` sets each field through ``object.__setattr__``, and the simulator
    builds hundreds of views a round. ``JobView`` has no ``__post_init__`` (nothing to check),
    and the result is the same frozen object (tests/sim/test_frozen_view)."""
    view = object.__new__(JobView)
    view.__dict__.update(fields)
    return view


class Task(NamedTuple):
    """One job's work in one round: ``steps`` iterations on ``gpus``, from ``start_s`` (after
    ``overhead_s`` of restart cost) until ``finish_s``. In the default mode ``segments`` splits
    the work at the epochs where the batch size changes. (A named tuple: a round makes
    hundreds, and a frozen dataclass took four times as long to build.)"""

    finish_s: float
    job_id: int
    gpus: tuple[int, ...]
    steps: float
    start_s: float
    overhead_s: float = 0.0
    segments: tuple[Any, ...] = ()
