"""The reference trace format: 12 tab-separated fields per job, one job per line
(docs/traces.md; the published ``scheduler/utils.py``, ``parse_trace``)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from shockwave.errors import InputError
from shockwave.model import JobSpec
from shockwave.traces.fields import ascii_int, parse_number, shown, strip_bom
from shockwave.traces.jobline import to_spec, validate_job
from shockwave.traces.trace import Trace

FIELDS = (
    "job_type", "command", "working_directory", "num_steps_arg", "needs_data_dir",
    "total_steps", "scale_factor", "mode", "priority_weight", "SLO", "duration", "arrival_time",
)
NAMES = {"model": "job_type", "batch_size": "job_type", "gpus": "scale_factor",
         "duration_s": "duration", "arrival_s": "arrival_time", "slo": "SLO"}
"""JobLine field -> the column it comes from, for messages."""
_NUMBERS = (("total_steps", "total_steps", int), ("scale_factor", "gpus", int),
            ("priority_weight", "priority_weight", float), ("SLO", "slo", float),
            ("duration", "duration_s", float), ("arrival_time", "arrival_s", float))
_JOB_TYPE = re.compile(r"^(\S+) \(batch size (\S+)\)$")
_TEXTS = ("command", "working_directory", "num_steps_arg")


class _Line:
    """Field access for one line that turns every conversion failure into a located error."""

    def __init__(self, source: str, number: int, values: list[str]) -> None:
        self.source, self.number, self.values = source, number, values

    def error(self, name: str, message: str) -> InputError:
        return InputError(message, path=self.source, line=self.number, field=name)

    def text(self, name: str) -> str:
        return self.values[FIELDS.index(name)]

    def value(self, name: str, kind: type) -> float:
        return parse_number(self.text(name), kind, path=self.source, line=self.number,
                            field=name)

    def model_and_batch_size(self) -> tuple[str, int]:
        raw = self.text("job_type")
        match = _JOB_TYPE.match(raw)
        batch_size = ascii_int(match.group(2)) if match else None
        if match is None or batch_size is None:
            raise self.error("job_type", f"expected 'Model (batch size N)', got {shown(raw)}")
        return match.group(1), batch_size

    def needs_data_dir(self) -> bool:
        needs = self.text("needs_data_dir")
        if needs not in ("0", "1"):
            raise self.error("needs_data_dir", f"expected 0 or 1, got {shown(needs)}")
        return needs == "1"


def _parse_line(line: _Line, job_id: int) -> JobSpec:
    """The line's fields, typed, validated as the JSON Lines reader validates a job."""
    model, batch_size = line.model_and_batch_size()
    data: dict[str, object] = {
        "model": model, "batch_size": batch_size, "mode": line.text("mode"),
        "needs_data_dir": line.needs_data_dir(),
        **{name: line.text(name) for name in _TEXTS},
        **{key: line.value(column, kind) for column, key, kind in _NUMBERS},
    }
    job = validate_job(data, source=line.source, line=line.number, names=NAMES)
    return to_spec(job, job_id, None, source=line.source, line=line.number, names=NAMES)


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
    for number, raw in enumerate(strip_bom(text).splitlines(), start=1):
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


def _exact(value: float) -> str:
    """A number as the reference writes it (``%d``) when it is whole, else exactly (``repr``)."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _slo(slo: float | None) -> str:
    """The SLO as the reference writes it (``%f``, ``-1.000000`` for none) when that is exact."""
    if slo is None:
        return "-1.000000"
    fixed = f"{slo:f}"
    return fixed if float(fixed) == slo else repr(float(slo))


def format_tsv_line(job: JobSpec) -> str:
    """One reference-format line, written as the reference's writer writes it (whole numbers
    as integers, the SLO with six decimals) except that no value is rounded: a fraction the
    reference would truncate is written exactly, so reading the line back gives ``job``."""
    return "\t".join([
        job.job_type, job.command, job.working_directory, job.num_steps_arg,
        "1" if job.needs_data_dir else "0", str(int(job.total_steps)), str(job.gpus), job.mode,
        _exact(job.priority_weight), _slo(job.slo), _exact(job.duration_s),
        _exact(job.arrival_s),
    ])


def format_tsv(jobs: Iterable[JobSpec]) -> str:
    return "".join(format_tsv_line(job) + "\n" for job in jobs)
