"""Batch-size adaptation: the per-epoch profiles of static, Accordion and GNS jobs (the
published ``utils.generate_pickle_file``, ``get_accordion_bs_pattern``, ``get_gns_bs_pattern``)
and the rules the simulator uses to change a running job's batch size (the published
``Scheduler._simulate_accordion`` / ``_simulate_gns``)."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources

import numpy as np

from shockwave.errors import InputError
from shockwave.limits import MAX_EPOCHS, MAX_STEPS
from shockwave.model import JobSpec, job_type_name
from shockwave.workload.throughput import ThroughputTable

ScheduleKey = tuple[str, str, int, int]
"""(model, adaptation mode, initial batch size, GPUs): whose batch-size schedule it is."""
Schedule = tuple[tuple[int, int], ...]
"""``((start_epoch, batch_size), ...)`` from epoch 0, starts increasing."""


@dataclass(frozen=True)
class WorkloadFacts:
    """Dataset sizes, batch-size limits and adaptation tables, loaded from ``data/workload.json``
    (and a ``--workload-facts`` file merged over them: ``shockwave.workload.facts``).

    ``schedules`` are learned batch-size schedules (from real runs): a job whose key has one
    follows it epoch by epoch in the default mode, instead of the Accordion or GNS rule."""

    dataset_samples: dict[str, int]
    max_batch_size: dict[str, int]
    min_batch_size: dict[str, int]
    accordion: dict[str, dict]
    accordion_profile_warmup_fraction: float
    gns: dict[tuple[str, int, int], tuple[tuple[int, int], ...]]
    schedules: dict[ScheduleKey, Schedule] = field(default_factory=dict)
    _sizes: dict[tuple[str, str, int, int, int], tuple[int, tuple[int, ...]]] = field(
        default_factory=dict, init=False, repr=False, compare=False)
    """Profiles' (epochs, batch size of each epoch) found so far, by (model, mode, initial
    batch size, GPUs, total steps): a trace's jobs are checked before a run and profiled
    again when admitted. The facts are never changed after they are built."""

    def without_schedules(self) -> WorkloadFacts:
        """These facts with no learned schedules (the reference mode follows its own rules)."""
        return replace(self, schedules={}) if self.schedules else self

    def samples_per_epoch(self, model: str) -> int:
        try:
            return self.dataset_samples[model]
        except KeyError:
            raise InputError(
                f"unknown model '{model}'; known: {', '.join(sorted(self.dataset_samples))}",
                field="job_type",
            ) from None

    def iterations_per_epoch(self, model: str, batch_size: int) -> int:
        return math.ceil(self.samples_per_epoch(model) / batch_size)

    def num_epochs(self, model: str, batch_size: int, total_steps: int) -> int:
        """Epochs of a job of ``total_steps`` iterations at ``batch_size`` (the reference's
        rounding: a started epoch counts)."""
        return math.ceil(total_steps / self.iterations_per_epoch(model, batch_size))

    def epochs_problem(self, model: str, batch_size: int, total_steps: int) -> str | None:
        """Why a job of ``total_steps`` iterations is too long to profile, or ``None``: its
        profile holds one entry per epoch, so the epochs are bounded by ``MAX_EPOCHS``."""
        if not 1 <= total_steps <= MAX_STEPS:
            return f"must be between 1 and {MAX_STEPS:g}, got {total_steps}"
        epochs = self.num_epochs(model, batch_size, total_steps)
        if epochs > MAX_EPOCHS:
            return (f"{total_steps} steps are {epochs} epochs of {model} at batch size "
                    f"{batch_size}; a job may have at most {MAX_EPOCHS:g} epochs")
        return None

    def is_max_batch_size(self, model: str, batch_size: int) -> bool:
        return batch_size == self.max_batch_size.get(model)

    def is_min_batch_size(self, model: str, batch_size: int) -> bool:
        return batch_size == self.min_batch_size.get(model)


@cache
def load_workload_facts() -> WorkloadFacts:
    """The bundled workload tables (read once; the result is immutable by convention)."""
    raw = json.loads((resources.files("shockwave") / "data" / "workload.json").read_text())
    gns = {}
    for key, rows in raw["gns"].items():
        model, bs0, gpus = key.split("|")
        gns[(model, int(bs0), int(gpus))] = tuple((int(s), int(b)) for s, b in rows)
    return WorkloadFacts(
        dataset_samples=raw["dataset_samples"],
        max_batch_size=raw["max_batch_size"],
        min_batch_size=raw["min_batch_size"],
        accordion=raw["accordion"],
        accordion_profile_warmup_fraction=raw["accordion_profile_warmup_fraction"],
        gns=gns,
    )


def accordion_is_critical(
    facts: WorkloadFacts, model: str, bs0: int, epoch: int, *, runtime: bool = False
) -> bool:
    """Whether ``epoch`` is in the Accordion critical regime, where the small batch size is kept.

    ``runtime=True`` gives the reference simulator's own (narrower) regimes, which differ from
    the profile's for Recommendation (no late critical ranges) and ResNet-50 (no end epoch).
    """
    rule = facts.accordion.get(model)
    if rule is None or rule.get("fixed"):
        return True
    periodic = rule.get("periodic")
    if periodic is not None:
        until = rule.get("runtime_periodic_until", periodic["until"]) if runtime else periodic["until"]
        in_window = until is None or epoch < until
        return in_window and epoch % periodic["period"] < periodic["critical"]
    warmup = rule["warmup_epochs"]
    if epoch < warmup.get(str(bs0), warmup.get("*", 0)):
        return True
    ranges = rule.get("runtime_critical_ranges", rule["critical_ranges"]) if runtime else rule["critical_ranges"]
    return any(lo <= epoch < hi for lo, hi in ranges)


def accordion_is_fixed(facts: WorkloadFacts, model: str) -> bool:
    rule = facts.accordion.get(model)
    return rule is None or bool(rule.get("fixed"))


def accordion_critical_mask(
    facts: WorkloadFacts, model: str, bs0: int, num_epochs: int, *, runtime: bool = False
) -> np.ndarray:
    """``accordion_is_critical`` for epochs ``0 .. num_epochs-1`` at once."""
    epochs = np.arange(num_epochs)
    rule = facts.accordion.get(model)
    if rule is None or rule.get("fixed"):
        return np.ones(num_epochs, dtype=bool)
    periodic = rule.get("periodic")
    if periodic is not None:
        until = rule.get("runtime_periodic_until", periodic["until"]) if runtime else periodic["until"]
        mask = epochs % periodic["period"] < periodic["critical"]
        return mask if until is None else mask & (epochs < until)
    warmup = rule["warmup_epochs"]
    mask = epochs < warmup.get(str(bs0), warmup.get("*", 0))
    ranges = rule.get("runtime_critical_ranges", rule["critical_ranges"]) if runtime else rule["critical_ranges"]
    for lo, hi in ranges:
        mask |= (epochs >= lo) & (epochs < hi)
    return mask


def accordion_profile_batch_sizes(
    facts: WorkloadFacts, model: str, bs0: int, num_epochs: int
) -> list[int]:
    """Profile batch sizes: the model maximum outside the critical regime after the warm-up share."""
    if accordion_is_fixed(facts, model):
        return [bs0] * num_epochs
    warm = facts.accordion_profile_warmup_fraction * num_epochs
    big = ~accordion_critical_mask(facts, model, bs0, num_epochs) & (np.arange(num_epochs) > warm)
    return np.where(big, facts.max_batch_size[model], bs0).tolist()


def gns_batch_size(
    facts: WorkloadFacts, model: str, bs0: int, gpus: int, epoch: int, num_epochs: int
) -> int:
    """The GNS batch size of one epoch of a job with ``num_epochs`` epochs (the
    published ``utils.get_gns_bs_pattern``).

    The reference fills the first two ranges of a table row up to the job's last epoch, but from
    the third range on it stops *before* the last epoch, which then keeps ``bs0`` (checked
    against the published per-job run times). Values are capped at the model's maximum.
    """
    rows = facts.gns.get((model, bs0, gpus))
    if rows is None:
        return bs0
    index = max(i for i, (start, _) in enumerate(rows) if start <= epoch)
    if index >= 2 and epoch == num_epochs - 1:
        return bs0
    return min(rows[index][1], facts.max_batch_size.get(model, bs0))


def gns_pattern(facts: WorkloadFacts, model: str, bs0: int, num_epochs: int, gpus: int) -> list[int]:
    """The GNS batch size of each of ``num_epochs`` epochs (see ``gns_batch_size``)."""
    rows = facts.gns.get((model, bs0, gpus))
    if rows is None or num_epochs == 0:
        return [bs0] * num_epochs
    starts = np.array([start for start, _ in rows])
    sizes = np.minimum([size for _, size in rows], facts.max_batch_size.get(model, bs0))
    index = np.searchsorted(starts, np.arange(num_epochs), side="right") - 1
    pattern = sizes[index]
    if index[-1] >= 2:
        pattern[-1] = bs0
    return pattern.tolist()


GNS_LOOKAHEAD_EPOCHS = 760
"""The reference evaluates the GNS table over at least this many epochs."""


def reference_target_batch_size(
    facts: WorkloadFacts, mode: str, model: str, bs0: int, gpus: int, batch_size: int, epoch: int
) -> int | None:
    """The batch size the reference's run-time rules ask for at an epoch boundary, or ``None``.

    ``epoch`` is the number of epochs done. GNS doubles one step at a time when the table says a
    larger size is due now or next epoch; Accordion jumps to the model maximum outside its
    critical regime (no 30 % warm-up rule here) and back to the initial size ``bs0`` inside it.
    The simulator (``sim/batch_size.py``) and the job library's ``reference`` policy both call it.
    """
    if mode == "gns":
        horizon = max(GNS_LOOKAHEAD_EPOCHS, epoch + 2)
        grows = any(
            gns_batch_size(facts, model, bs0, gpus, e, horizon) > batch_size for e in (epoch, epoch + 1)
        )
        return 2 * batch_size if grows and not facts.is_max_batch_size(model, batch_size) else None
    if mode == "accordion" and not accordion_is_fixed(facts, model):
        critical = accordion_is_critical(facts, model, bs0, epoch, runtime=True)
        if batch_size == bs0 and not critical and not facts.is_max_batch_size(model, batch_size):
            return facts.max_batch_size[model]
        if batch_size != bs0 and critical and not facts.is_min_batch_size(model, batch_size):
            return bs0
    return None


def batch_size_runs(sizes: Sequence[int]) -> list[tuple[int, int, int]]:
    """Run-length encoding ``[(first_epoch, end_epoch, batch_size), ...]`` of a per-epoch list.

    Found with one vector comparison of neighbours rather than an epoch-by-epoch loop: profiles
    run to thousands of epochs, and every admitted job needs its runs."""
    array = np.asarray(sizes, dtype=np.int64)
    if array.size == 0:
        return []
    starts = np.concatenate(([0], np.flatnonzero(array[1:] != array[:-1]) + 1))
    ends = np.append(starts[1:], array.size)
    return list(zip(starts.tolist(), ends.tolist(), array[starts].tolist(), strict=True))


@dataclass(frozen=True)
class JobProfile:
    """A job's exclusive run, epoch by epoch, with the batch-size adaptation its mode applies."""

    num_epochs: int
    samples_per_epoch: int
    batch_size_every_epoch: tuple[int, ...]
    duration_every_epoch: np.ndarray

    @property
    def run_time_s(self) -> float:
        """Exclusive, adaptation-aware run time T_j: the finish-time-fairness denominator."""
        return float(self.duration_every_epoch.sum())


def schedule_pattern(schedule: Schedule, num_epochs: int) -> list[int]:
    """The batch size of each of ``num_epochs`` epochs under a learned schedule: epoch ``e``
    runs at the size of the last row starting at or before ``e``."""
    if num_epochs == 0:
        return []
    starts = np.array([start for start, _ in schedule])
    sizes = np.array([size for _, size in schedule])
    return sizes[np.searchsorted(starts, np.arange(num_epochs), side="right") - 1].tolist()


def profile_batch_sizes(facts: WorkloadFacts, spec: JobSpec, num_epochs: int) -> list[int]:
    """The batch size of each epoch of ``spec``: its learned schedule if the facts have one,
    else its mode's rule (Accordion's profile, the GNS table, or static)."""
    schedule = facts.schedules.get((spec.model, spec.mode, spec.batch_size, spec.gpus))
    if schedule is not None:
        return schedule_pattern(schedule, num_epochs)
    if spec.mode == "accordion":
        return accordion_profile_batch_sizes(facts, spec.model, spec.batch_size, num_epochs)
    if spec.mode == "gns":
        return gns_pattern(facts, spec.model, spec.batch_size, num_epochs, spec.gpus)
    return [spec.batch_size] * num_epochs


def build_profile(
    spec: JobSpec, throughputs: ThroughputTable, facts: WorkloadFacts | None = None,
    gpu_type: str = "v100",
) -> JobProfile:
    """Rebuild the reference's per-job dynamic profile (the published
    ``utils.generate_pickle_file``) from the trace line."""
    facts = facts or load_workload_facts()
    num_epochs, sizes = _profile_sizes(spec, facts)
    rates = {b: throughputs.lookup(spec.model, b, spec.gpus, gpu_type) for b in set(sizes)}
    for b, rate in rates.items():
        if not rate > 0:  # NaN included
            raise InputError(
                f"throughput of {spec.model} at batch size {b} on {spec.gpus} GPUs is zero",
                path=throughputs.source, field="throughput",
            )
    return _profile(num_epochs, facts.samples_per_epoch(spec.model), sizes, rates)


def build_profiles(
    spec: JobSpec, throughputs: ThroughputTable, facts: WorkloadFacts | None,
    gpu_types: Sequence[str],
) -> dict[str, JobProfile]:
    """The job's profile on each of ``gpu_types`` where it can run: every batch size its profile
    reaches has a positive throughput there (on a type where one has none the job could start
    but not finish). When it can run on none, ``build_profile``'s error for the first type."""
    facts = facts or load_workload_facts()
    num_epochs, sizes = _profile_sizes(spec, facts)
    samples = facts.samples_per_epoch(spec.model)
    # The distinct sizes and their table keys once, not once per type: a profile lists the
    # batch size of each of its (up to thousands of) epochs.
    keys = {b: (job_type_name(spec.model, b), spec.gpus) for b in set(sizes)}
    rates_by_type: dict[str, dict[int, float]] = {}
    for gpu_type in gpu_types:
        by_key = throughputs.table.get(gpu_type, {})
        rates = {b: by_key.get(key, 0.0) for b, key in keys.items()}
        if all(rate > 0 for rate in rates.values()):
            rates_by_type[gpu_type] = rates
    profiles = _profiles(num_epochs, samples, sizes, rates_by_type)
    if not profiles and gpu_types:
        build_profile(spec, throughputs, facts, gpu_types[0])  # raises the reason
    return profiles


def profile_problem(spec: JobSpec, throughputs: ThroughputTable, facts: WorkloadFacts,
                    gpu_type: str) -> str | None:
    """Why the job cannot run its whole profile on ``gpu_type`` (a batch size it reaches has no
    positive throughput there), or ``None``."""
    _, sizes = _profile_sizes(spec, facts)
    for b in sorted(set(sizes)):
        key = f"'{job_type_name(spec.model, b)}' on {spec.gpus} x {gpu_type}"
        if not throughputs.has(spec.model, b, spec.gpus, gpu_type):
            return f"its batch-size profile reaches batch size {b}; no throughput for {key} " \
                   f"in {throughputs.source}"
        if not throughputs.lookup(spec.model, b, spec.gpus, gpu_type) > 0:
            return f"its batch-size profile reaches batch size {b}; {key} has zero " \
                   f"throughput in {throughputs.source}"
    return None


def _profile_sizes(spec: JobSpec, facts: WorkloadFacts) -> tuple[int, tuple[int, ...]]:
    """(epochs, batch size of each epoch) of ``spec``; an error for an unknown model or too
    many epochs. Remembered in ``facts`` (only answers, not errors)."""
    key = (spec.model, spec.mode, spec.batch_size, spec.gpus, spec.total_steps)
    found = facts._sizes.get(key)
    if found is not None:
        return found
    facts.samples_per_epoch(spec.model)
    too_long = facts.epochs_problem(spec.model, spec.batch_size, spec.total_steps)
    if too_long is not None:
        raise InputError(too_long, field="total_steps")
    num_epochs = facts.num_epochs(spec.model, spec.batch_size, spec.total_steps)
    found = facts._sizes[key] = (num_epochs, tuple(profile_batch_sizes(facts, spec, num_epochs)))
    return found


def _profile(num_epochs: int, samples: int, sizes: Sequence[int],
             rates: dict[int, float]) -> JobProfile:
    return _profiles(num_epochs, samples, sizes, {"": rates})[""]


def _profiles(num_epochs: int, samples: int, sizes: list[int],
              rates_by_key: dict[str, dict[int, float]]) -> dict[str, JobProfile]:
    """One profile per entry of ``rates_by_key`` (each a rate per batch size the profile
    reaches), the epochs converted once for all of them."""
    size_array = np.asarray(sizes, dtype=float)
    per_epoch = samples / size_array
    every_epoch = tuple(sizes)
    profiles: dict[str, JobProfile] = {}
    # Each epoch's index among the distinct sizes, searched once for the types that reach the
    # same sizes (all of them, from ``build_profiles``).
    index_of: dict[tuple[int, ...], np.ndarray] = {}
    for key, rates in rates_by_key.items():
        distinct = tuple(sorted(rates))
        rate_of = np.asarray([rates[b] for b in distinct], dtype=float)
        # Batch sizes are integers, exact as floats: searching the array found the same
        # indices as searching the list, without converting the thousands of epochs again.
        if distinct not in index_of:
            index_of[distinct] = np.searchsorted(distinct, size_array)
        rate_array = rate_of[index_of[distinct]] if sizes else np.zeros(0)
        profiles[key] = JobProfile(num_epochs, samples, every_epoch, per_epoch / rate_array)
    return profiles
