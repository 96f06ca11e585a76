"""Measurements as the simulator's inputs: a throughputs file in Gavel's format (what
``--throughputs`` reads) and a workload-facts file (what ``--workload-facts`` reads)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from shockwave.model import job_type_name
from shockwave.profiling.measure import Measurement
from shockwave.profiling.targets import ProfileTarget
from shockwave.workload.facts import facts_to_json
from shockwave.workload.throughput import ThroughputTable


def throughputs_json(measurements: Sequence[Measurement], gpu_type: str) -> dict[str, Any]:
    """``{gpu_type: {"('digits (batch size 64)', 2)": {"null": iterations/s}}}``: one entry per
    measurement (iterations/s of the whole gang), sorted by workload, GPUs and batch size;
    checked as ``load_throughputs`` checks a file."""
    ordered = sorted(measurements, key=lambda m: (m.workload, m.gpus, m.batch_size))
    table = {(job_type_name(m.workload, m.batch_size), m.gpus): m.iterations_per_s
             for m in ordered}
    ThroughputTable({gpu_type: table}, source="shockwave profile")
    return {gpu_type: {f"('{job_type}', {gpus})": {"null": rate}
                       for (job_type, gpus), rate in table.items()}}


def facts_json(targets: Sequence[ProfileTarget], measurements: Sequence[Measurement],
               about: str, *, schedules: Mapping[str, Sequence[Sequence[int]]] | None = None,
               jobs: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """The workload facts of the profiled ``targets``: each one's dataset size (as its runs
    reported it, else its spec's), its spec's batch-size bounds (widened to hold the bounds of
    a trace's ``jobs``, as ``shockwave replay`` widens them) and the learned ``schedules``."""
    reported = {m.workload: m.samples_per_epoch for m in measurements if m.samples_per_epoch}
    low = {t.name: t.min_batch_size for t in targets}
    high = {t.name: t.max_batch_size for t in targets}
    for job in jobs:
        name = str(job["model"])
        low[name] = min(low.get(name, job["min_batch_size"]), int(job["min_batch_size"]))
        high[name] = max(high.get(name, job["max_batch_size"]), int(job["max_batch_size"]))
    return facts_to_json(
        dataset_samples={t.name: reported.get(t.name, t.samples_per_epoch) for t in targets},
        min_batch_size=low, max_batch_size=high, about=about, schedules=schedules)
