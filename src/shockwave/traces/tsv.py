"""The reference trace format: 12 tab-separated fields per job, one job per line (SPEC 1.2)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from shockwave.errors import InputError
from shockwave.model import ADAPTATION_MODES, JobSpec
from shockwave.traces.fields import parse_number
from shockwave.traces.trace import Trace

FIELDS = (
    "job_type", "command", "working_directory", "num_steps_arg", "needs_data_dir",
    "total_steps", "scale_factor", "mode", "priority_weight", "SLO", "duration", "arrival_time",
)
_JOB_TYPE = re.compile(r"^(\S+) .*\(batch size (\d+)\)$")


class _Line:
    """Field access for one line that turns every conversion failure into a located error."""

    def __init__(self, source: str, number: int, values: list[str]) -> None:
        self.source, self.number, self.values = source, number, values

    def error(self, name: str, message: str) -> InputError:
        return InputError(message, path=self.source, line=self.number, field=name)

    def text(self, name: str) -> str:
        return self.values[FIELDS.index(name)]

    def number_of(self, name: str, kind: type, minimum: float | None = None) -> float:
        return parse_number(self.text(name), kind, path=self.source, line=self.number,
                            field=name, minimum=minimum)


def _parse_line(line: _Line, job_id: int) -> JobSpec:
    match = _JOB_TYPE.match(line.text("job_type"))
    if match is None:
        raise line.error("job_type", f"expected 'Model (batch size N)', got {line.text('job_type')!r}")
    mode = line.text("mode")
    if mode not in ADAPTATION_MODES:
        raise line.error("mode", f"expected one of {', '.join(ADAPTATION_MODES)}, got {mode!r}")
    needs = line.text("needs_data_dir")
    if needs not in ("0", "1"):
        raise line.error("needs_data_dir", f"expected 0 or 1, got {needs!r}")
    batch_size = int(match.group(2))
    if batch_size <= 0:
        raise line.error("job_type", "batch size must be positive")
    slo = line.number_of("SLO", float)
    return JobSpec(
        job_id=job_id,
        model=match.group(1),
        batch_size=batch_size,
        gpus=int(line.number_of("scale_factor", int, minimum=1)),
        mode=mode,  # type: ignore[arg-type]
        total_steps=int(line.number_of("total_steps", int, minimum=1)),
        arrival_s=float(line.number_of("arrival_time", float, minimum=0)),
        duration_s=float(line.number_of("duration", float, minimum=0)),
        priority_weight=float(line.number_of("priority_weight", float, minimum=0)),
        slo=None if slo < 0 else slo,
        command=line.text("command"),
        working_directory=line.text("working_directory"),
        num_steps_arg=line.text("num_steps_arg"),
        needs_data_dir=needs == "1",
    )


def _format_hint(raw: str, num_fields: int) -> str:
    """A pointer to the importer when a line looks like another public trace format."""
    if num_fields == 7:
        return " (this looks like a Gavel/Philly trace: use 'shockwave trace import gavel')"
    if raw.replace(" ", "").lower().startswith("name,time,application"):
        return " (this looks like a Pollux/Sia CSV: use 'shockwave trace import pollux')"
    return ""


def parse_tsv(text: str, source: str = "<memory>") -> Trace:
    """Parse reference-format text. Blank lines are skipped; anything else malformed is an error."""
    jobs: list[JobSpec] = []
    lines: list[int] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        values = raw.split("\t")
        if len(values) != len(FIELDS):
            raise InputError(
                f"expected {len(FIELDS)} tab-separated fields, got {len(values)}"
                + _format_hint(raw, len(values)),
                path=source, line=number, field="line",
            )
        job = _parse_line(_Line(source, number, values), job_id=len(jobs))
        if jobs and job.arrival_s < jobs[-1].arrival_s:
            raise InputError(
                f"arrival {job.arrival_s:g} s is before the previous job's "
                f"{jobs[-1].arrival_s:g} s; traces must be sorted by arrival",
                path=source, line=number, field="arrival_time",
            )
        jobs.append(job)
        lines.append(number)
    if not jobs:
        raise InputError("the trace has no jobs", path=source)
    return Trace(jobs=tuple(jobs), source=source, lines=tuple(lines))


def format_tsv_line(job: JobSpec) -> str:
    """One reference-format line (times written as integers, as the reference writer does)."""
    slo = -1.0 if job.slo is None else job.slo
    return "\t".join([
        job.job_type, job.command, job.working_directory, job.num_steps_arg,
        "1" if job.needs_data_dir else "0", str(int(job.total_steps)), str(job.gpus), job.mode,
        str(int(job.priority_weight)), f"{slo:f}", str(int(job.duration_s)), str(int(job.arrival_s)),
    ])


def format_tsv(jobs: Iterable[JobSpec]) -> str:
    return "".join(format_tsv_line(job) + "\n" for job in jobs)
