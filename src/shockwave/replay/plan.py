"""A replay's plan: a trace read and checked, each job mapped to a bundled workload and made
the job spec the service is sent (``shockwave replay --real`` submits them; ``shockwave profile
--trace`` measures what they will run)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from shockwave.errors import InputError
from shockwave.model import job_type_name
from shockwave.replay.mapping import (
    Submission,
    parse_map,
    submissions,
    trace_format,
    workload_table,
    workloads_of,
)
from shockwave.service.jobspec import load_job_file
from shockwave.traces.trace import Trace, parse_trace_text, read_text
from shockwave.workload.throughput import ThroughputTable, load_throughputs
from shockwave.workloads import spec_path

if TYPE_CHECKING:
    from shockwave.replay.records import RateOf

GPU_TYPE = "v100"
"""The GPU type a profile table is read at: the simulator's (so one table serves both)."""


@dataclass(frozen=True)
class ReplayPlan:
    """A checked replay: the trace and its format, each job's submission, which workload runs
    each model, and the profile table's rate of a job at a batch size (None without a
    table)."""

    trace: Trace
    fmt: str
    jobs: list[Submission]
    models: dict[str, str]
    rate_of: RateOf | None


def plan_replay(path: Path, maps: Sequence[str], work_scale: float,
                throughputs: str | Path | None = None) -> ReplayPlan:
    """The trace at ``path`` as the submissions a replay makes, everything checked before a
    service is asked anything (``InputError`` naming the file, line and field)."""
    models = workload_table(parse_map(maps))
    text = read_text(path)
    table = load_throughputs(throughputs) if throughputs is not None else None
    trace = parse_trace_text(text, source=str(path), throughputs=_for_lengths(table))
    if not len(trace):
        raise InputError("the trace has no jobs", path=path)
    fmt = trace_format(text)
    workloads = workloads_of(trace, models, fmt)
    specs = {name: load_job_file(spec_path(name))[0] for name in sorted(set(workloads))}
    rate_of, speeds = None, None
    if table is not None:
        rate_of, speeds = _rates(trace, workloads, table)
    jobs = submissions(trace, workloads, specs, work_scale=work_scale, speeds=speeds, fmt=fmt)
    used = {job.model: workload for job, workload in zip(trace.jobs, workloads, strict=True)}
    return ReplayPlan(trace, fmt, jobs, dict(sorted(used.items())), rate_of)


def _for_lengths(profile: ThroughputTable | None) -> ThroughputTable | None:
    """The table a trace line's missing ``total_steps`` or ``duration_s`` is derived from: the
    bundled one (the reference's models), with the profile's entries (the workloads) added."""
    if profile is None:
        return None
    bundled = load_throughputs()
    merged = {gpu: {**bundled.table.get(gpu, {}), **profile.table.get(gpu, {})}
              for gpu in {*bundled.table, *profile.table}}
    return ThroughputTable(merged, source=f"{profile.source} or {bundled.source}")


def _rates(trace: Trace, workloads: Sequence[str],
           table: ThroughputTable) -> tuple[RateOf, list[float]]:
    """The profile table's rate of each job (iterations/s of its gang at a batch size, or None
    where the table lacks it), and each job's speed hint in samples/s at its trace batch size.
    The table must hold every job's workload at its trace batch size and gang."""
    def rate_of(index: int, batch_size: int) -> float | None:
        key = (job_type_name(workloads[index], batch_size), trace.jobs[index].gpus)
        return table.table.get(GPU_TYPE, {}).get(key) or None

    speeds = []
    for index, job in enumerate(trace.jobs):
        rate = rate_of(index, job.batch_size)
        if rate is None:
            raise InputError(f"{table.source} has no positive {GPU_TYPE} throughput for "
                             f"'{job_type_name(workloads[index], job.batch_size)}' on "
                             f"{job.gpus} GPU(s), the workload of trace job {index} (line "
                             f"{trace.line_of(index)})", field="--throughputs")
        speeds.append(rate * job.batch_size)

    return rate_of, speeds
