"""Plot-ready series derived from a ``SimResult``'s fields: gang segments, per-round allocation,
batch-size steps, CDF points and baseline normalization.

Nothing here is a headline metric (those live in ``shockwave.metrics``); these are the shapes
the report draws, each a pure function of the result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from shockwave.model import JobId
from shockwave.sim.result import JobRecord, SimResult

_GAP_S = 1e-6
"""Rounds further apart than this are not consecutive: a lease across them is two segments."""


@dataclass(frozen=True)
class GangSegment:
    """A job holding the same GPUs over consecutive rounds, from ``start_s`` to ``end_s``."""

    job_id: JobId
    gpus: tuple[int, ...]
    start_s: float
    end_s: float


def gang_segments(result: SimResult) -> list[GangSegment]:
    """Every (job, GPU set) lease in ``result.schedule``, consecutive rounds on the same GPUs merged.

    A segment ends at the job's completion when the job finished inside its last round.
    """
    completion = {r.job_id: r.completion_s for r in result.records}
    open_: dict[JobId, GangSegment] = {}
    done: list[GangSegment] = []
    rounds = zip(result.schedule, result.round_start_s, result.round_end_s, strict=False)
    for plan, start, end in rounds:
        for job, seg in list(open_.items()):
            if tuple(plan.get(job, ())) != seg.gpus or seg.end_s < start - _GAP_S:
                done.append(open_.pop(job))
        for job, gpus in plan.items():
            seg_end = max(start, min(end, completion.get(job, end)))
            seg = open_.get(job)
            open_[job] = (
                GangSegment(job, seg.gpus, seg.start_s, seg_end)
                if seg
                else GangSegment(job, tuple(gpus), start, seg_end)
            )
    done.extend(open_.values())
    return sorted(done, key=lambda seg: (seg.start_s, seg.job_id))


def contiguous_runs(gpus: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted GPU ids grouped into inclusive runs of consecutive ids: (0, 1, 3) -> [(0, 1), (3, 3)]."""
    runs: list[tuple[int, int]] = []
    for gpu in sorted(gpus):
        if runs and gpu == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], gpu)
        else:
            runs.append((gpu, gpu))
    return runs


def type_groups(gpu_types: Sequence[str]) -> list[tuple[str, int, int]]:
    """GPU ids grouped into runs of one type: ``(type, first id, last id)`` in id order (a
    cluster's types are contiguous, so each type is one run)."""
    groups: list[tuple[str, int, int]] = []
    for gpu, gpu_type in enumerate(gpu_types):
        if groups and groups[-1][0] == gpu_type:
            groups[-1] = (gpu_type, groups[-1][1], gpu)
        else:
            groups.append((gpu_type, gpu, gpu))
    return groups


def allocated_fraction(result: SimResult) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per round: start (s), end (s) and the fraction of the cluster's GPUs that were allocated."""
    n = min(len(result.schedule), len(result.round_start_s), len(result.round_end_s))
    held = np.array(
        [sum(len(g) for g in plan.values()) for plan in result.schedule[:n]], dtype=float
    )
    starts = np.asarray(result.round_start_s[:n], dtype=float)
    ends = np.asarray(result.round_end_s[:n], dtype=float)
    return starts, ends, held / max(result.num_gpus, 1)


def is_adaptive(record: JobRecord) -> bool:
    """Whether the job changes its batch size (an Accordion or GNS job, or any recorded change)."""
    return record.mode != "static" or len({bs for _, bs in record.batch_size_timeline}) > 1


def batch_size_steps(record: JobRecord) -> tuple[list[float], list[int]]:
    """The job's batch size as a step function: change points, extended to its completion."""
    timeline = record.batch_size_timeline or ((record.arrival_s, record.batch_size),)
    times = [t for t, _ in timeline]
    sizes = [bs for _, bs in timeline]
    if record.completion_s > times[-1]:
        times.append(record.completion_s)
        sizes.append(sizes[-1])
    return times, sizes


def cdf_points(values: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Sorted values and their empirical cumulative fraction (in %), for a step plot."""
    xs = np.sort(np.asarray(values, dtype=float))
    ys = 100.0 * np.arange(1, len(xs) + 1) / max(len(xs), 1)
    return xs, ys


def normalized(values: Mapping[str, float], baseline: str) -> dict[str, float] | None:
    """Each value divided by the baseline's, or ``None`` when the baseline's value is zero."""
    base = values[baseline]
    if base == 0:
        return None
    return {key: value / base for key, value in values.items()}
