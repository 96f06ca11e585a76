"""Batch-size changes of running jobs inside the simulator (the published
``Scheduler._scale_bs_and_iters`` and the default mode's rule; docs/simulator.md, rows 5-7)."""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from typing import NamedTuple

from shockwave.sim.state import JobState
from shockwave.workload.adaptation import (
    WorkloadFacts,
    batch_size_runs,
    reference_target_batch_size,
)
from shockwave.workload.throughput import ThroughputTable


def reference_target(job: JobState, facts: WorkloadFacts) -> int | None:
    """The batch size the reference's run-time rules ask for at this boundary, or ``None``
    (``workload.adaptation.reference_target_batch_size`` at the job's epoch, rounded up)."""
    spec = job.spec
    epoch = math.ceil(job.steps_done / job.iterations_per_epoch)
    return reference_target_batch_size(
        facts, spec.mode, spec.model, spec.batch_size, spec.gpus, job.batch_size, epoch
    )


def apply_reference_change(
    job: JobState, new_bs: int, throughputs: ThroughputTable, gpu_type: str, now_s: float
) -> bool:
    """Switch to ``new_bs`` as the reference does: keep the epoch count, round progress up to
    whole epochs. Returns whether the change happened (it is refused when the initial batch
    size is the model maximum or the new size has no throughput)."""
    spec = job.spec
    if not throughputs.has(spec.model, new_bs, spec.gpus, gpu_type):
        return False
    samples = job.profile.samples_per_epoch
    old_ipe, new_ipe = math.ceil(samples / job.batch_size), math.ceil(samples / new_bs)
    old_epochs = math.ceil(job.total_steps / old_ipe)
    scaled = math.ceil(job.total_steps * job.batch_size / new_bs)
    job.total_steps = scaled if math.ceil(scaled / new_ipe) == old_epochs else new_ipe * old_epochs
    job.steps_done = math.ceil(job.steps_done / old_ipe) * new_ipe
    _switch(job, new_bs, throughputs, gpu_type, now_s)
    return True


class Segment(NamedTuple):
    """Part of a task run at one batch size: ``steps`` iterations taking ``duration_s``."""

    batch_size: int
    throughput: float
    steps: float
    duration_s: float


def plan_segments(
    job: JobState, budget_s: float, throughputs: ThroughputTable, gpu_type: str
) -> list[Segment]:
    """The default mode's rule: run each epoch at the batch size the job's profile gives it,
    switching exactly at epoch boundaries, for at most ``budget_s`` seconds of work."""
    if not job.runs:
        job.runs = tuple(batch_size_runs(job.profile.batch_size_every_epoch))
        job.run_starts = tuple(run[0] for run in job.runs)
    runs, total_epochs = job.runs, job.total_epochs
    segments: list[Segment] = []
    epochs = job.epochs_done
    left = budget_s
    index = max(0, bisect_right(job.run_starts, epochs) - 1)
    while left > 1e-9 and epochs < total_epochs - 1e-12 and index < len(runs):
        _, end_epoch, bs = runs[index]
        rate = throughputs.lookup(job.spec.model, bs, job.spec.gpus, gpu_type)
        ipe = math.ceil(job.profile.samples_per_epoch / bs)
        last = index == len(runs) - 1
        end = total_epochs if last else min(end_epoch, total_epochs)
        steps = min((end - epochs) * ipe, left * rate)
        segments.append(Segment(bs, rate, steps, steps / rate))
        left -= steps / rate
        epochs += steps / ipe
        index += 1
    return segments


def apply_segments(job: JobState, segments: Sequence[Segment], start_s: float) -> int:
    """Record the progress of ``segments`` (run from ``start_s``); returns batch-size changes."""
    changes = 0
    clock = start_s
    for segment in segments:
        if segment.batch_size != job.batch_size:
            job.batch_size, job.throughput = segment.batch_size, segment.throughput
            job.batch_size_timeline.append((clock, segment.batch_size))
            changes += 1
        job.epochs_done += segment.steps / job.iterations_per_epoch
        clock += segment.duration_s
    job.steps_done = job.epochs_done * job.iterations_per_epoch
    job.total_steps = job.total_epochs * job.iterations_per_epoch
    return changes


def _switch(job: JobState, new_bs: int, throughputs: ThroughputTable, gpu_type: str, now_s: float) -> None:
    job.batch_size = new_bs
    job.throughput = throughputs.lookup(job.spec.model, new_bs, job.spec.gpus, gpu_type)
    refresh_rates(job, throughputs)
    job.batch_size_timeline.append((now_s, new_bs))


def refresh_rates(job: JobState, throughputs: ThroughputTable) -> None:
    """The job's rate on every type at its current batch size (0.0 on a type it cannot run
    on), after a batch-size change; ``throughput`` follows the rate on its own type."""
    spec = job.spec
    for gpu_type in job.rates:
        job.rates[gpu_type] = (throughputs.lookup(spec.model, job.batch_size, spec.gpus, gpu_type)
                               if gpu_type in job.runnable_types else 0.0)
    job.throughput = job.rates.get(job.gpu_type, job.throughput)


def exclusive_run_time_s(job: JobState, throughputs: ThroughputTable, gpu_type: str = "v100") -> float:
    """How long the default mode needs to run ``job`` from its current progress with its gang to
    itself and no round boundaries: the lower bound on its remaining time to completion."""
    return sum(s.duration_s for s in plan_segments(job, float("inf"), throughputs, gpu_type))
