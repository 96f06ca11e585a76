"""Importer for Gavel's Philly-derived traces (stanford-futuredata/gavel, ``scheduler/traces/msr``).

Seven tab-separated fields per line: ``job_type, command, num_steps_arg, needs_data_dir,
total_steps, arrival_time_s, scale_factor``. Jobs are static; a job's duration is its
total steps divided by its isolated throughput. Jobs the throughput table cannot run
(no entry, or a zero one) are skipped and listed, or are an error with ``strict``.

Gavel counted these traces' steps with its own measured table, so ``trace import gavel``
divides by that table's v100 throughputs (the bundled ``gavel_throughputs.json``) unless
``--throughputs`` says otherwise; every one of its job types, bare ``A3C`` and ``CycleGAN``
included, has a model and batch size here.
"""

from __future__ import annotations

import re

from shockwave.errors import InputError
from shockwave.model import JobSpec
from shockwave.traces.fields import ascii_int, parse_number, shown, strip_bom
from shockwave.traces.importing import ImportResult, Skipped, no_jobs_error, positive_rate
from shockwave.traces.jobline import JobFields, to_spec, validate_job
from shockwave.traces.trace import Trace
from shockwave.workload.throughput import BARE_JOB_TYPES, ThroughputTable

FIELDS = ("job_type", "command", "num_steps_arg", "needs_data_dir", "total_steps",
          "arrival_time", "scale_factor")
NAMES = {"model": "job_type", "batch_size": "job_type", "gpus": "scale_factor",
         "arrival_s": "arrival_time"}
"""JobLine field -> the column it comes from, for messages."""
_JOB_TYPE = re.compile(r"^(\S+) \(batch size (\S+)\)$")


def _model_and_batch(raw: str, source: str, line: int) -> tuple[str, int]:
    match = _JOB_TYPE.match(raw)
    batch_size = ascii_int(match.group(2)) if match else None
    if match is not None and batch_size is not None:
        return match.group(1), batch_size
    if raw in BARE_JOB_TYPES:
        return raw, BARE_JOB_TYPES[raw]
    raise InputError(f"expected 'Model (batch size N)' or one of {', '.join(BARE_JOB_TYPES)}, "
                     f"got {shown(raw)}", path=source, line=line, field="job_type")


def _parse_line(values: list[str], source: str, line: int) -> JobFields:
    """One line as a validated job of unknown duration (it comes from the throughput table)."""
    model, batch_size = _model_and_batch(values[0], source, line)
    if values[3] not in ("0", "1"):
        raise InputError(f"expected 0 or 1, got {shown(values[3])}", path=source, line=line,
                         field="needs_data_dir")
    data = {
        "model": model, "batch_size": batch_size, "command": values[1],
        "num_steps_arg": values[2], "needs_data_dir": values[3] == "1",
        "total_steps": parse_number(values[4], int, path=source, line=line, field="total_steps"),
        "arrival_s": parse_number(values[5], float, path=source, line=line,
                                  field="arrival_time"),
        "gpus": parse_number(values[6], int, path=source, line=line, field="scale_factor"),
    }
    return validate_job(data, source=source, line=line, names=NAMES)


def import_gavel(
    text: str, throughputs: ThroughputTable, source: str = "<memory>", *, strict: bool = False,
    gpu_type: str = "v100",
) -> ImportResult:
    """Read a Gavel Philly-derived trace; jobs must be sorted by arrival."""
    jobs: list[JobSpec] = []
    lines: list[int] = []
    skipped: list[Skipped] = []
    previous = 0.0
    for number, raw in enumerate(strip_bom(text).splitlines(), start=1):
        if not raw.strip():
            continue
        values = raw.split("\t")
        if len(values) != len(FIELDS):
            raise InputError(f"expected {len(FIELDS)} tab-separated fields, got {len(values)}",
                             path=source, line=number, field="line")
        parsed = _parse_line(values, source, number)
        if parsed.arrival_s < previous:
            raise InputError(
                f"arrival {parsed.arrival_s:g} s is before the previous job's {previous:g} s; "
                "traces must be sorted by arrival", path=source, line=number, field="arrival_time")
        previous = parsed.arrival_s
        rate = positive_rate(throughputs, parsed.model, parsed.batch_size, parsed.gpus, gpu_type)
        if rate is None:
            reason = (f"no positive throughput for {shown(values[0])} on {parsed.gpus} x {gpu_type} "
                      f"in {throughputs.source}")
            if strict:
                raise InputError(reason, path=source, line=number, field="job_type")
            skipped.append(Skipped(number, reason))
            continue
        jobs.append(to_spec(parsed, len(jobs), rate, source=source, line=number, names=NAMES))
        lines.append(number)
    if not jobs:
        raise no_jobs_error(source, skipped)
    return ImportResult(Trace(tuple(jobs), source, tuple(lines)), tuple(skipped))
