"""This project's own trace format: JSON Lines, one job per line (documented in docs/traces.md).

Every line is an object validated with pydantic. A job gives ``total_steps`` (iterations of the
whole gang at its initial batch size), ``duration_s`` (its static run time alone on ``gpus``
GPUs), or both; a missing one is derived from the throughput table. The optional command
fields make conversion to the reference format lossless.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from shockwave.errors import InputError
from shockwave.model import JobSpec
from shockwave.traces.trace import Trace
from shockwave.workload.throughput import ThroughputTable, load_throughputs

# Bounds that keep every derived number finite (about 31,700 years; 10^15 iterations).
MAX_SECONDS = 1e12
MAX_STEPS = 10**15
MODEL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._+-]*$"
# Text that must survive the tab-separated reference format: no tab, no line boundary.
_Text = Annotated[str, Field(pattern="^[^\t\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]*$")]


class JobLine(BaseModel):
    """One job of a JSON Lines trace; field names are the format's keys."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)

    id: int | None = Field(default=None, ge=0, description="must equal the line's job index")
    model: Annotated[str, Field(pattern=MODEL_PATTERN)]
    batch_size: int = Field(ge=1)
    gpus: int = Field(default=1, ge=1)
    mode: Literal["static", "accordion", "gns"] = "static"
    total_steps: int | None = Field(default=None, ge=1, le=MAX_STEPS)
    duration_s: float | None = Field(default=None, ge=0, le=MAX_SECONDS)
    arrival_s: float = Field(ge=0, le=MAX_SECONDS)
    priority_weight: float = Field(default=1.0, ge=0)
    slo: float | None = None
    command: _Text = ""
    working_directory: _Text = ""
    num_steps_arg: _Text = ""
    needs_data_dir: bool = False

    @model_validator(mode="after")
    def _has_length(self) -> JobLine:
        if self.total_steps is None and self.duration_s is None:
            raise ValueError("give total_steps, duration_s or both")
        return self


def _located(exc: ValidationError, source: str, line: int) -> InputError:
    first = exc.errors(include_url=False)[0]
    field = ".".join(str(part) for part in first["loc"]) or "line"
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        message = f"unknown key; known: {', '.join(JobLine.model_fields)}"
    elif first["type"] == "string_pattern_mismatch":
        message = ("must be one word of letters, digits and . _ + -" if field == "model"
                   else "must not contain tabs or line breaks")
    return InputError(message, path=source, line=line, field=field)


def _to_spec(job: JobLine, job_id: int, rate: float | None) -> JobSpec:
    total_steps = job.total_steps
    duration_s = job.duration_s
    if total_steps is None:
        total_steps = max(1, int(duration_s * rate))  # type: ignore[operator]
    if duration_s is None:
        duration_s = total_steps / rate  # type: ignore[operator]
    return JobSpec(
        job_id=job_id, model=job.model, batch_size=job.batch_size, gpus=job.gpus, mode=job.mode,
        total_steps=total_steps, arrival_s=float(job.arrival_s), duration_s=float(duration_s),
        priority_weight=float(job.priority_weight),
        slo=None if job.slo is None or job.slo < 0 else float(job.slo),
        command=job.command, working_directory=job.working_directory,
        num_steps_arg=job.num_steps_arg, needs_data_dir=job.needs_data_dir,
    )


class _Rates:
    """Throughputs, loaded only when some line leaves out its length."""

    def __init__(self, table: ThroughputTable | None, gpu_type: str) -> None:
        self.table, self.gpu_type = table, gpu_type

    def of(self, job: JobLine, source: str, line: int) -> float | None:
        if job.total_steps is not None and job.duration_s is not None:
            return None
        if self.table is None:
            self.table = load_throughputs()
        field = "duration_s" if job.total_steps is None else "total_steps"
        if not self.table.has(job.model, job.batch_size, job.gpus, self.gpu_type) or (
            self.table.lookup(job.model, job.batch_size, job.gpus, self.gpu_type) <= 0
        ):
            raise InputError(
                f"cannot derive the missing length: no throughput for {job.model} at batch size "
                f"{job.batch_size} on {job.gpus} x {self.gpu_type} in {self.table.source}",
                path=source, line=line, field=field,
            )
        return self.table.lookup(job.model, job.batch_size, job.gpus, self.gpu_type)


def _parse_object(raw: str, source: str, number: int) -> JobLine:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg} (column {exc.colno})",
                         path=source, line=number, field="line") from None
    except RecursionError:
        raise InputError("JSON nested too deeply", path=source, line=number, field="line") from None
    if not isinstance(data, dict):
        raise InputError("each line must be a JSON object", path=source, line=number, field="line")
    try:
        return JobLine.model_validate(data)
    except ValidationError as exc:
        raise _located(exc, source, number) from None


def parse_jsonl(
    text: str, source: str = "<memory>", throughputs: ThroughputTable | None = None,
    gpu_type: str = "v100",
) -> Trace:
    """Parse JSON Lines text; blank lines are skipped, jobs must be sorted by arrival."""
    rates = _Rates(throughputs, gpu_type)
    jobs: list[JobSpec] = []
    lines: list[int] = []
    # JSON Lines separates records by "\n" only; a string may hold other line separators.
    for number, raw in enumerate(text.split("\n"), start=1):
        if not raw.strip():
            continue
        job = _parse_object(raw, source, number)
        if job.id is not None and job.id != len(jobs):
            raise InputError(f"expected {len(jobs)}: ids count 0, 1, 2, ... in line order",
                             path=source, line=number, field="id")
        if jobs and job.arrival_s < jobs[-1].arrival_s:
            raise InputError(
                f"arrival {job.arrival_s:g} s is before the previous job's "
                f"{jobs[-1].arrival_s:g} s; traces must be sorted by arrival",
                path=source, line=number, field="arrival_s",
            )
        jobs.append(_to_spec(job, len(jobs), rates.of(job, source, number)))
        lines.append(number)
    if not jobs:
        raise InputError("the trace has no jobs", path=source)
    return Trace(jobs=tuple(jobs), source=source, lines=tuple(lines))


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def job_to_dict(job: JobSpec) -> dict[str, object]:
    """A job as its JSON Lines object, keys in the documented order."""
    return {
        "id": job.job_id, "model": job.model, "batch_size": job.batch_size, "gpus": job.gpus,
        "mode": job.mode, "total_steps": job.total_steps,
        "duration_s": _number(job.duration_s), "arrival_s": _number(job.arrival_s),
        "priority_weight": _number(job.priority_weight),
        "slo": None if job.slo is None else _number(job.slo),
        "command": job.command, "working_directory": job.working_directory,
        "num_steps_arg": job.num_steps_arg, "needs_data_dir": job.needs_data_dir,
    }


def format_jsonl(jobs: Iterable[JobSpec]) -> str:
    """JSON Lines text, one job per line, ids renumbered 0, 1, 2, ... in order."""
    out = []
    for index, job in enumerate(jobs):
        row = job_to_dict(job)
        row["id"] = index
        out.append(json.dumps(row) + "\n")
    return "".join(out)
