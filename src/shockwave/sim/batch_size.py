"""Batch-size changes of running jobs inside the simulator (SPEC 3.5 and its fixed variant)."""

from __future__ import annotations

import math

from shockwave.sim.state import JobState
from shockwave.workload.adaptation import (
    WorkloadFacts,
    accordion_is_critical,
    accordion_is_fixed,
    gns_pattern,
)
from shockwave.workload.throughput import ThroughputTable

GNS_LOOKAHEAD_EPOCHS = 760
"""The reference evaluates the GNS table over at least this many epochs."""


def reference_target(job: JobState, facts: WorkloadFacts) -> int | None:
    """The batch size the reference's run-time rules ask for at this boundary, or ``None``.

    GNS doubles one step at a time when the table says a larger size is due now or next epoch;
    Accordion jumps to the model maximum outside its critical regime (no 30 % warm-up rule here)
    and back to the initial size inside it.
    """
    spec = job.spec
    model, bs, bs0 = spec.model, job.batch_size, spec.batch_size
    epoch = math.ceil(job.steps_done / job.iterations_per_epoch)
    if spec.mode == "gns":
        pattern = gns_pattern(facts, model, bs0, max(GNS_LOOKAHEAD_EPOCHS, epoch + 2), spec.gpus)
        grows = pattern[epoch] > bs or pattern[epoch + 1] > bs
        return 2 * bs if grows and not facts.is_max_batch_size(model, bs) else None
    if spec.mode == "accordion" and not accordion_is_fixed(facts, model):
        critical = accordion_is_critical(facts, model, bs0, epoch, runtime=True)
        if bs == bs0 and not critical and not facts.is_max_batch_size(model, bs):
            return facts.max_batch_size[model]
        if bs != bs0 and critical and not facts.is_min_batch_size(model, bs):
            return bs0
    return None


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


def apply_profile_schedule(
    job: JobState, throughputs: ThroughputTable, gpu_type: str, now_s: float
) -> bool:
    """The default mode's rule: run each epoch at the batch size the job's profile gives it,
    switching at the first round boundary inside that epoch and keeping fractional progress."""
    profile = job.profile
    epoch = min(int(job.steps_done / job.iterations_per_epoch), profile.num_epochs - 1)
    target = profile.batch_size_every_epoch[epoch]
    if target == job.batch_size or not throughputs.has(job.spec.model, target, job.spec.gpus, gpu_type):
        return False
    ratio = math.ceil(profile.samples_per_epoch / target) / job.iterations_per_epoch
    job.steps_done *= ratio
    job.total_steps *= ratio
    _switch(job, target, throughputs, gpu_type, now_s)
    return True


def _switch(job: JobState, new_bs: int, throughputs: ThroughputTable, gpu_type: str, now_s: float) -> None:
    job.batch_size = new_bs
    job.throughput = throughputs.lookup(job.spec.model, new_bs, job.spec.gpus, gpu_type)
    job.batch_size_timeline.append((now_s, new_bs))
