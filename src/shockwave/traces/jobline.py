"""One job as every trace reader accepts it: the types and bounds both formats share.

The JSON Lines reader validates each object as a ``JobLine``; the reference (TSV) reader and
the importers turn their text fields into the same ``JobLine``, so a value one format accepts
the other accepts too, and ``trace convert`` never writes a file shockwave would refuse. The
bounds come from ``shockwave.limits`` and every message names the one a value breaks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from shockwave.errors import InputError
from shockwave.jsonfile import error_message, json_path, shown
from shockwave.limits import (
    MAX_BATCH_SIZE,
    MAX_GPUS,
    MAX_NAME_CHARS,
    MAX_PRIORITY_WEIGHT,
    MAX_SECONDS,
    MAX_SLO,
    MAX_STEPS,
)
from shockwave.model import ADAPTATION_MODES, JobSpec

MODEL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._+-]*$"
# Text that must survive the tab-separated reference format: no tab, no line boundary.
TEXT_PATTERN = "^[^\t\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]*$"
_Text = Annotated[str, Field(pattern=TEXT_PATTERN)]
_SECONDS = ("arrival_s", "duration_s")


class JobLine(BaseModel):
    """One job of a trace; field names are the JSON Lines format's keys."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)

    id: int | None = Field(default=None, ge=0, description="must equal the line's job index")
    model: Annotated[str, Field(pattern=MODEL_PATTERN, max_length=MAX_NAME_CHARS)]
    batch_size: int = Field(ge=1, le=MAX_BATCH_SIZE)
    gpus: int = Field(default=1, ge=1, le=MAX_GPUS)
    mode: Literal["static", "accordion", "gns"] = "static"
    total_steps: int | None = Field(default=None, ge=1, le=MAX_STEPS)
    duration_s: float | None = Field(default=None, ge=0, le=MAX_SECONDS)
    arrival_s: float = Field(ge=0, le=MAX_SECONDS)
    priority_weight: float = Field(default=1.0, gt=0, le=MAX_PRIORITY_WEIGHT)
    slo: float | None = Field(default=None, le=MAX_SLO)
    command: _Text = ""
    working_directory: _Text = ""
    num_steps_arg: _Text = ""
    needs_data_dir: bool = False

    @model_validator(mode="after")
    def _has_length(self) -> JobLine:
        if self.total_steps is None and self.duration_s is None:
            raise ValueError("give total_steps, duration_s or both")
        return self


def _message(error: Mapping[str, Any], name: str) -> str:
    """Our wording of one pydantic error about JobLine field ``name``."""
    if error["type"] == "extra_forbidden":
        return f"unknown key; known: {', '.join(JobLine.model_fields)}"
    if error["type"] == "string_pattern_mismatch":
        if name == "model":
            return ("the model name must be one word of letters, digits and . _ + -, "
                    f"got {shown(error.get('input'))}")
        return "must not contain tabs or line breaks"
    if error["type"] == "literal_error" and name == "mode":
        return f"expected one of {', '.join(ADAPTATION_MODES)}, got {shown(error.get('input'))}"
    return error_message(error, " s" if name in _SECONDS else "")


def located(exc: ValidationError, source: str, line: int,
            names: Mapping[str, str] | None = None) -> InputError:
    """The first error of ``exc`` as an ``InputError`` at ``source:line``; ``names`` renames
    JobLine fields to the reader's own (e.g. ``arrival_s`` -> ``arrival_time``)."""
    first = exc.errors(include_url=False)[0]
    name = json_path(first["loc"]) or "line"
    field = (names or {}).get(name, name)
    message = _message(first, name)
    if name == "batch_size" and field != name:  # one part of a column such as job_type
        message = f"the batch size {message}"
    return InputError(message, path=source, line=line, field=field)


def validate_job(data: Mapping[str, object], *, source: str, line: int,
                 names: Mapping[str, str] | None = None) -> JobLine:
    """``data`` as a ``JobLine``, or a located ``InputError`` in the reader's field names."""
    try:
        return JobLine.model_validate(data)
    except ValidationError as exc:
        raise located(exc, source, line, names) from None


def to_spec(job: JobLine, job_id: int, rate: float | None, *, source: str, line: int,
            names: Mapping[str, str] | None = None) -> JobSpec:
    """The ``JobSpec`` of ``job``; a missing ``total_steps`` or ``duration_s`` comes from
    ``rate`` (the job's positive isolated throughput, iterations/s), within the same bounds."""
    names = names or {}
    total_steps, duration_s = job.total_steps, job.duration_s
    if total_steps is None:
        steps = duration_s * rate  # type: ignore[operator]
        if not steps <= MAX_STEPS:
            raise InputError(f"{duration_s:g} s at {rate:g} iterations/s is {steps:g} steps; "
                             f"total_steps must be at most {MAX_STEPS:g}", path=source,
                             line=line, field=names.get("duration_s", "duration_s"))
        total_steps = max(1, int(steps))
    if duration_s is None:
        duration_s = total_steps / rate  # type: ignore[operator]
        if not duration_s <= MAX_SECONDS:
            raise InputError(f"{total_steps} steps at {rate:g} iterations/s take "
                             f"{duration_s:g} s; the duration must be at most {MAX_SECONDS:g} s",
                             path=source, line=line, field=names.get("total_steps", "total_steps"))
    return JobSpec(
        job_id=job_id, model=job.model, batch_size=job.batch_size, gpus=job.gpus, mode=job.mode,
        total_steps=total_steps, arrival_s=float(job.arrival_s), duration_s=float(duration_s),
        priority_weight=float(job.priority_weight),
        slo=None if job.slo is None or job.slo < 0 else float(job.slo),
        command=job.command, working_directory=job.working_directory,
        num_steps_arg=job.num_steps_arg, needs_data_dir=job.needs_data_dir,
    )
