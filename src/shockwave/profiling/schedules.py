"""Learned batch-size schedules: what an adaptive job of a trace really does, epoch by epoch.

``shockwave profile --trace`` runs each distinct adaptive job of the trace (workload, mode,
initial batch size, gang) once, standalone and to its end, through the same launch as the
service, with the job library's own adaptation deciding (standalone, a job approves its own
proposals within its bounds). The exit report's batch-size history, in samples, becomes rows
``[start_epoch, batch_size]`` of the workload-facts file, which the simulator follows
(``--workload-facts``) and ``serve --workload-facts`` gives Shockwave's estimator.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shockwave.protocol import BatchSizeChange


@dataclass(frozen=True)
class AdaptiveJob:
    """One distinct adaptive job of a trace: its schedule key and the longest run it needs."""

    workload: str
    mode: str
    batch_size: int
    gpus: int
    min_batch_size: int
    max_batch_size: int
    samples_per_epoch: int
    epochs: int

    @property
    def key(self) -> str:
        """``model|mode|initial batch size|GPUs``, as a facts file keys a schedule."""
        return f"{self.workload}|{self.mode}|{self.batch_size}|{self.gpus}"


def adaptive_jobs(specs: Sequence[Mapping[str, Any]]) -> list[AdaptiveJob]:
    """The distinct adaptive jobs among job specs (``POST /v1/jobs`` bodies with ``model``),
    each with the most epochs any of its trace jobs trains; sorted by key."""
    found: dict[str, AdaptiveJob] = {}
    for spec in specs:
        if spec.get("adaptation", "static") == "static":
            continue
        per_epoch = int(spec["samples_per_epoch"])
        job = AdaptiveJob(
            workload=str(spec.get("model") or spec["name"]), mode=str(spec["adaptation"]),
            batch_size=int(spec["batch_size"]), gpus=int(spec.get("gpus", 1)),
            min_batch_size=int(spec.get("min_batch_size") or spec["batch_size"]),
            max_batch_size=int(spec.get("max_batch_size") or spec["batch_size"]),
            samples_per_epoch=per_epoch,
            epochs=max(1, math.ceil(int(spec["total_samples"]) / per_epoch)))
        known = found.get(job.key)
        if known is None or job.epochs > known.epochs:
            found[job.key] = job
    return [found[key] for key in sorted(found)]


def schedule_rows(changes: Sequence[BatchSizeChange], samples_per_epoch: int,
                  initial: int) -> list[list[int]]:
    """A batch-size history (samples at each change) as ``[start_epoch, batch_size]`` rows: a
    change counts from the epoch boundary nearest to it (the simulator changes sizes at epoch
    boundaries); of several changes near one boundary the last wins, and a row that repeats
    the size before it is dropped. The first row is ``[0, initial]`` unless the history
    changed the size before the first epoch ended half-way."""
    by_epoch: dict[int, int] = {0: initial}
    for change in sorted(changes, key=lambda c: c.samples):
        epoch = math.floor(change.samples / samples_per_epoch + 0.5)
        by_epoch[epoch] = change.batch_size
    rows: list[list[int]] = []
    for epoch in sorted(by_epoch):
        if not rows or rows[-1][1] != by_epoch[epoch]:
            rows.append([epoch, by_epoch[epoch]])
    return rows
