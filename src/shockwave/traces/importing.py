"""What the importers share: their result, and choosing a job type the throughput table has."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from shockwave.errors import InputError
from shockwave.traces.trace import Trace
from shockwave.workload.throughput import ThroughputTable

_JOB_TYPE = re.compile(r"^(\S+) \(batch size (\d+)\)$")


@dataclass(frozen=True)
class Skipped:
    """A source line that did not become a job, and why."""

    line: int
    reason: str


@dataclass(frozen=True)
class ImportResult:
    """The imported trace, the lines left out, and notes on approximations made."""

    trace: Trace
    skipped: tuple[Skipped, ...] = ()
    notes: tuple[str, ...] = ()


def positive_rate(table: ThroughputTable, model: str, batch_size: int, gpus: int,
                  gpu_type: str) -> float | None:
    """The throughput if the table has a positive one, else ``None``."""
    if not table.has(model, batch_size, gpus, gpu_type):
        return None
    rate = table.lookup(model, batch_size, gpus, gpu_type)
    return rate if rate > 0 else None


def supported_shapes(table: ThroughputTable, model: str, gpu_type: str) -> dict[int, list[int]]:
    """For ``model``: GPU count -> the batch sizes with a positive throughput, both sorted."""
    shapes: dict[int, list[int]] = {}
    for (job_type, gpus), rate in table.table.get(gpu_type, {}).items():
        match = _JOB_TYPE.match(job_type)
        if match and match.group(1) == model and rate > 0:
            shapes.setdefault(gpus, []).append(int(match.group(2)))
    return {g: sorted(sizes) for g, sizes in sorted(shapes.items())}


def nearest_batch_size(candidates: list[int], wanted: float) -> int:
    """The candidate closest to ``wanted`` on a log scale (ties go to the smaller)."""
    return min(candidates, key=lambda b: (abs(math.log(b) - math.log(wanted)), b))


def no_jobs_error(source: str, skipped: list[Skipped]) -> InputError:
    reason = f" ({len(skipped)} skipped; first: line {skipped[0].line}: {skipped[0].reason})" \
        if skipped else ""
    return InputError(f"the trace has no jobs{reason}", path=source)
