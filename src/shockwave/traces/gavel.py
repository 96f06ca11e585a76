"""Importer for Gavel's Philly-derived traces (stanford-futuredata/gavel, ``scheduler/traces/msr``).

Seven tab-separated fields per line: ``job_type, command, num_steps_arg, needs_data_dir,
total_steps, arrival_time_s, scale_factor``. Jobs are static; a job's duration is its
total steps divided by its isolated throughput. Jobs the throughput table cannot run
(no entry, or a zero one) are skipped and listed, or are an error with ``strict``.
"""

from __future__ import annotations

import re

from shockwave.errors import InputError
from shockwave.model import JobSpec
from shockwave.traces.fields import parse_number
from shockwave.traces.importing import ImportResult, Skipped, no_jobs_error, positive_rate
from shockwave.traces.trace import Trace
from shockwave.workload.throughput import ThroughputTable

FIELDS = ("job_type", "command", "num_steps_arg", "needs_data_dir", "total_steps",
          "arrival_time", "scale_factor")
_JOB_TYPE = re.compile(r"^(\S+) \(batch size (\d+)\)$")
# Job types Gavel writes without a batch size, with the one its job table gives them.
BARE_JOB_TYPES = {"A3C": 4, "CycleGAN": 1}


def _model_and_batch(raw: str, source: str, line: int) -> tuple[str, int]:
    match = _JOB_TYPE.match(raw)
    if match is not None and int(match.group(2)) > 0:
        return match.group(1), int(match.group(2))
    if raw in BARE_JOB_TYPES:
        return raw, BARE_JOB_TYPES[raw]
    raise InputError(f"expected 'Model (batch size N)' or one of {', '.join(BARE_JOB_TYPES)}, "
                     f"got {raw!r}", path=source, line=line, field="job_type")


def _number(raw: str, kind: type, name: str, source: str, line: int) -> float:
    return parse_number(raw, kind, path=source, line=line, field=name,
                        minimum=1 if kind is int else 0)


class _GavelLine:
    """One parsed line, before it is checked against the throughput table."""

    def __init__(self, values: list[str], source: str, line: int) -> None:
        self.model, self.batch_size = _model_and_batch(values[0], source, line)
        self.command, self.num_steps_arg = values[1], values[2]
        if values[3] not in ("0", "1"):
            raise InputError(f"expected 0 or 1, got {values[3]!r}", path=source, line=line,
                             field="needs_data_dir")
        self.needs_data_dir = values[3] == "1"
        self.total_steps = int(_number(values[4], int, "total_steps", source, line))
        self.arrival_s = float(_number(values[5], float, "arrival_time", source, line))
        self.gpus = int(_number(values[6], int, "scale_factor", source, line))

    def to_spec(self, job_id: int, rate: float) -> JobSpec:
        return JobSpec(
            job_id=job_id, model=self.model, batch_size=self.batch_size, gpus=self.gpus,
            mode="static", total_steps=self.total_steps, arrival_s=self.arrival_s,
            duration_s=self.total_steps / rate, command=self.command,
            num_steps_arg=self.num_steps_arg, needs_data_dir=self.needs_data_dir,
        )


def import_gavel(
    text: str, throughputs: ThroughputTable, source: str = "<memory>", *, strict: bool = False,
    gpu_type: str = "v100",
) -> ImportResult:
    """Read a Gavel Philly-derived trace; jobs must be sorted by arrival."""
    jobs: list[JobSpec] = []
    lines: list[int] = []
    skipped: list[Skipped] = []
    previous = 0.0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        values = raw.split("\t")
        if len(values) != len(FIELDS):
            raise InputError(f"expected {len(FIELDS)} tab-separated fields, got {len(values)}",
                             path=source, line=number, field="line")
        parsed = _GavelLine(values, source, number)
        if parsed.arrival_s < previous:
            raise InputError(
                f"arrival {parsed.arrival_s:g} s is before the previous job's {previous:g} s; "
                "traces must be sorted by arrival", path=source, line=number, field="arrival_time")
        previous = parsed.arrival_s
        rate = positive_rate(throughputs, parsed.model, parsed.batch_size, parsed.gpus, gpu_type)
        if rate is None:
            reason = (f"no positive throughput for '{values[0]}' on {parsed.gpus} x {gpu_type} "
                      f"in {throughputs.source}")
            if strict:
                raise InputError(reason, path=source, line=number, field="job_type")
            skipped.append(Skipped(number, reason))
            continue
        jobs.append(parsed.to_spec(len(jobs), rate))
        lines.append(number)
    if not jobs:
        raise no_jobs_error(source, skipped)
    return ImportResult(Trace(tuple(jobs), source, tuple(lines)), tuple(skipped))
